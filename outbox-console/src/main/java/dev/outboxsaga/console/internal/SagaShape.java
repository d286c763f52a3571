package dev.outboxsaga.console.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A saga type's shape as the console draws it: its steps in order, parallel groups with their branches side by side,
 * and what is known of each step. Read from what the orchestrator recorded ({@code saga_definition}, sql/V13), or
 * derived from the history of the type's sagas ({@link DerivedShape}), where some facts are unknown (null).
 *
 * @param type     the saga type
 * @param version  its definition version
 * @param deadline the saga deadline, or null for none (or unknown, when derived)
 * @param elements the steps and parallel groups, in order
 */
public record SagaShape(String type, int version, Duration deadline, List<Element> elements) {

    public SagaShape {
        elements = List.copyOf(elements);
    }

    /** A step or a parallel group. */
    public sealed interface Element permits Step, Group {
    }

    /** What a step does: command a participant, or work locally; unknown when derived from a history without it. */
    public enum Kind { PARTICIPANT, LOCAL, UNKNOWN }

    /** How a step is undone: by a command, locally, not at all; unknown when derived from a history without it. */
    public enum Compensation { COMMAND, LOCAL, NONE, UNKNOWN }

    /**
     * One step.
     *
     * @param index            its step index, as in the history ({@code saga_event.step_index})
     * @param name             its name
     * @param kind             participant or local
     * @param participant      the participant, {@code dynamic} when chosen from the saga data, or null (local, unknown)
     * @param commandType      its command's type, or null
     * @param compensation     how it is undone
     * @param compensationType the compensating command's type, or null
     * @param timeout          how long a reply may take, or null (local, unknown)
     * @param retryAttempts    attempts in all, or null (local, unknown)
     * @param conditional      whether it runs only when a condition holds; null when unknown
     */
    public record Step(int index, String name, Kind kind, String participant, String commandType,
            Compensation compensation, String compensationType, Duration timeout, Integer retryAttempts,
            Boolean conditional) implements Element {
    }

    /**
     * A parallel group: its branches are sent at once and joined.
     *
     * @param name     the group's name
     * @param branches its branches, in declaration order
     */
    public record Group(String name, List<Step> branches) implements Element {
        public Group {
            branches = List.copyOf(branches);
        }
    }

    /** Every step, each group's branches in place, in step order. */
    public List<Step> steps() {
        List<Step> steps = new ArrayList<>();
        for (Element element : elements) {
            if (element instanceof Group group) {
                steps.addAll(group.branches());
            } else {
                steps.add((Step) element);
            }
        }
        return steps;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads the stored form of sql/V13 ({@code saga_definition.shape}); fields a later format adds are ignored.
     *
     * @throws IllegalStateException when the text is not that form
     */
    static SagaShape parse(String json) {
        try {
            JsonNode root = JSON.readTree(json);
            List<Element> elements = new ArrayList<>();
            for (JsonNode node : required(root, "steps")) {
                if ("parallel".equals(node.path("kind").asText())) {
                    List<Step> branches = new ArrayList<>();
                    for (JsonNode branch : required(node, "branches")) {
                        branches.add(step(branch));
                    }
                    elements.add(new Group(node.path("name").asText("parallel"), branches));
                } else {
                    elements.add(step(node));
                }
            }
            JsonNode deadline = root.get("deadlineMillis");
            return new SagaShape(root.path("type").asText(), root.path("version").asInt(),
                    deadline == null || deadline.isNull() ? null : Duration.ofMillis(deadline.asLong()), elements);
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("the stored saga shape is not the form of sql/V13: " + e.getMessage(), e);
        }
    }

    private static JsonNode required(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isArray()) {
            throw new IllegalArgumentException("no array '" + field + "'");
        }
        return value;
    }

    private static Step step(JsonNode node) {
        Kind kind = switch (node.path("kind").asText()) {
            case "participant" -> Kind.PARTICIPANT;
            case "local" -> Kind.LOCAL;
            default -> Kind.UNKNOWN;
        };
        Compensation compensation = switch (node.path("compensation").asText()) {
            case "command" -> Compensation.COMMAND;
            case "local" -> Compensation.LOCAL;
            case "none" -> Compensation.NONE;
            default -> Compensation.UNKNOWN;
        };
        return new Step(node.path("index").asInt(), node.path("name").asText(), kind, text(node, "participant"),
                text(node, "commandType"), compensation, text(node, "compensationType"),
                node.hasNonNull("timeoutMillis") ? Duration.ofMillis(node.get("timeoutMillis").asLong()) : null,
                node.hasNonNull("retryAttempts") ? node.get("retryAttempts").asInt() : null,
                node.hasNonNull("conditional") ? node.get("conditional").asBoolean() : null);
    }

    private static String text(JsonNode node, String field) {
        return node.hasNonNull(field) ? node.get(field).asText() : null;
    }
}
