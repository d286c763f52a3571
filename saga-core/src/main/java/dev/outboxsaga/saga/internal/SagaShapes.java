package dev.outboxsaga.saga.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaStep;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The static shape of a saga definition, as stored in {@code saga_definition} ({@code sql/V13__saga_definition.sql})
 * for the operator console, which has no service's code but draws each saga type as a diagram. Only what the
 * definition says before any saga runs: steps in order, parallel groups with their branches, each step's kind,
 * participant (or {@code dynamic} when chosen from the data), command types, compensation, timeout, attempts,
 * whether it has a condition, and the saga deadline. Never the functions' results.
 */
public final class SagaShapes {

    private static final Logger LOG = LoggerFactory.getLogger(SagaShapes.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The version of the JSON form, for readers of rows written by a later one. */
    static final int FORMAT = 1;

    private SagaShapes() {
    }

    /** The shape of {@code definition} as the JSON text stored in {@code saga_definition.shape}. */
    public static String json(SagaDefinition<?> definition) {
        ObjectNode shape = JSON.createObjectNode();
        shape.put("format", FORMAT);
        shape.put("type", definition.type());
        shape.put("version", definition.version());
        definition.deadline().ifPresentOrElse(deadline -> shape.put("deadlineMillis", deadline.toMillis()),
                () -> shape.putNull("deadlineMillis"));
        ArrayNode steps = shape.putArray("steps");
        List<? extends SagaStep<?>> all = definition.steps();
        for (int index = 0; index < all.size(); index++) {
            SagaStep<?> step = all.get(index);
            if (!step.isBranch()) {
                steps.add(step(index, step));
                continue;
            }
            ObjectNode group = steps.addObject();
            group.put("kind", "parallel");
            group.put("name", step.group());
            ArrayNode branches = group.putArray("branches");
            while (index < all.size() && step.group().equals(all.get(index).group())) {
                branches.add(step(index, all.get(index)));
                index++;
            }
            index--;
        }
        return shape.toString();
    }

    private static ObjectNode step(int index, SagaStep<?> step) {
        ObjectNode node = JSON.createObjectNode();
        node.put("index", index);
        node.put("name", step.name());
        if (step.isLocal()) {
            node.put("kind", "local");
            node.put("compensation", step.localCompensation() != null ? "local" : "none");
        } else {
            node.put("kind", "participant");
            node.put("participant", step.participant() instanceof FixedParticipant<?> fixed ? fixed.name() : "dynamic");
            node.put("commandType", step.commandType());
            node.put("compensation", step.compensationType() != null ? "command" : "none");
            if (step.compensationType() != null) {
                node.put("compensationType", step.compensationType());
            }
            node.put("timeoutMillis", step.timeout().toMillis());
            node.put("retryAttempts", step.retry().maxAttempts());
        }
        node.put("conditional", step.condition() != null);
        return node;
    }

    /**
     * Records the shape of each definition, in the caller's transaction: inserted when new, replaced when it differs
     * from the stored one (logged, as it means a definition changed without a new version), left alone otherwise, so
     * every orchestrator of a service may do it at every start.
     */
    public static void record(Connection connection, List<SagaDefinition<?>> definitions) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(Sql.UPSERT_DEFINITION)) {
            for (SagaDefinition<?> definition : definitions) {
                ps.setString(1, definition.type());
                ps.setInt(2, definition.version());
                ps.setString(3, json(definition));
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && !rs.getBoolean(1)) {
                        LOG.warn("saga {} v{}: the shape stored for the console differed from this process's definition "
                                + "and was replaced; a definition that changes should get a new version",
                                definition.type(), definition.version());
                    }
                }
            }
        }
    }
}
