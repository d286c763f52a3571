package dev.outboxsaga.saga.internal;

import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The saga definitions an orchestrator knows, by type and version. */
public final class Definitions {

    private final Map<String, TreeMap<Integer, SagaDefinition<?>>> byType = new HashMap<>();

    public void add(SagaDefinition<?> definition) {
        TreeMap<Integer, SagaDefinition<?>> versions = byType.computeIfAbsent(definition.type(), t -> new TreeMap<>());
        if (versions.putIfAbsent(definition.version(), definition) != null) {
            throw new IllegalArgumentException("saga " + definition.type() + " version " + definition.version()
                    + " is registered twice");
        }
    }

    /**
     * @throws SagaException when no definition of that type and version is registered
     */
    public SagaDefinition<?> get(String type, int version) {
        TreeMap<Integer, SagaDefinition<?>> versions = byType.get(type);
        if (versions == null) {
            throw new SagaException("unknown saga type '" + type + "'; registered: " + byType.keySet());
        }
        SagaDefinition<?> definition = versions.get(version);
        if (definition == null) {
            throw new SagaException("saga " + type + " has no version " + version + " registered (known: "
                    + versions.keySet() + "); keep old versions registered until their instances end");
        }
        return definition;
    }

    /** Every registered definition as {@code type:version}. */
    public String[] keys() {
        return byType.entrySet().stream()
                .flatMap(e -> e.getValue().keySet().stream().map(v -> e.getKey() + ":" + v))
                .toArray(String[]::new);
    }

    /** Every registered definition, by type, then version. */
    public List<SagaDefinition<?>> all() {
        return byType.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .flatMap(e -> e.getValue().values().stream()).toList();
    }

    /** The registered saga types. */
    public Set<String> types() {
        return Set.copyOf(byType.keySet());
    }

    public boolean contains(SagaDefinition<?> definition) {
        TreeMap<Integer, SagaDefinition<?>> versions = byType.get(definition.type());
        return versions != null && versions.get(definition.version()) == definition;
    }

    public String stepName(String type, int version, int index) {
        try {
            var steps = get(type, version).steps();
            return index >= 0 && index < steps.size() ? steps.get(index).name() : null;
        } catch (SagaException unknown) {
            return null;
        }
    }
}
