package dev.outboxsaga.saga.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.core.internal.Transactions;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The shape of a saga definition as the orchestrator records it for the console ({@code sql/V13}): every static
 * fact of each step, parallel groups with their branches, the deadline; and recording it again is harmless, while a
 * changed definition of the same version replaces it.
 */
@ExtendWith(OutboxSagaExtension.class)
class SagaShapesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The saga data. */
    record Order(String id, String fraudService, long amount) {
    }

    private static SagaDefinition<Order> order(String type, Duration reserveTimeout) {
        return SagaDefinition.builder(type, 3, Order.class)
                .deadline(Duration.ofMinutes(2))
                .step("reserve")
                    .invoke("stock", "Reserve", o -> o)
                    .compensateWith("Release", o -> o)
                    .timeout(reserveTimeout)
                    .retry(RetryPolicy.exponential(2, Duration.ofMillis(10), Duration.ofMillis(10)))
                .parallel("checks", checks -> checks
                    .step("fraudCheck")
                        .invoke(Order::fraudService, "CheckFraud", o -> o)
                        .compensateWith("ForgetCheck", o -> o)
                    .step("limitCheck")
                        .invoke("limits", "HoldLimit", o -> o)
                        .compensateWith("ReleaseLimit", o -> o)
                        .when(o -> o.amount() > 100))
                .step("book")
                    .local((connection, o) -> o)
                    .compensateLocally((connection, o) -> o)
                .step("announce")
                    .local((connection, o) -> o)
                    .when(o -> o.amount() > 0)
                .build();
    }

    @Test
    void theShapeHasEveryStaticFactOfEachStepInOrderWithGroupsNested() throws Exception {
        JsonNode shape = JSON.readTree(SagaShapes.json(order("order", Duration.ofSeconds(5))));

        assertThat(shape.path("format").asInt()).isEqualTo(SagaShapes.FORMAT);
        assertThat(shape.path("type").asText()).isEqualTo("order");
        assertThat(shape.path("version").asInt()).isEqualTo(3);
        assertThat(shape.path("deadlineMillis").asLong()).isEqualTo(120_000);
        JsonNode steps = shape.path("steps");
        assertThat(steps).hasSize(4);
        assertThat(steps.get(0).toString()).isEqualTo("{\"index\":0,\"name\":\"reserve\",\"kind\":\"participant\","
                + "\"participant\":\"stock\",\"commandType\":\"Reserve\",\"compensation\":\"command\","
                + "\"compensationType\":\"Release\",\"timeoutMillis\":5000,\"retryAttempts\":2,\"conditional\":false}");
        JsonNode group = steps.get(1);
        assertThat(group.path("kind").asText()).isEqualTo("parallel");
        assertThat(group.path("name").asText()).isEqualTo("checks");
        assertThat(group.path("branches")).extracting(b -> b.path("index").asInt()).containsExactly(1, 2);
        assertThat(group.path("branches").get(0).path("participant").asText()).as("chosen from the data")
                .isEqualTo("dynamic");
        assertThat(group.path("branches").get(0).path("conditional").asBoolean()).isFalse();
        assertThat(group.path("branches").get(1).path("participant").asText()).isEqualTo("limits");
        assertThat(group.path("branches").get(1).path("conditional").asBoolean()).isTrue();
        assertThat(group.path("branches").get(1).path("retryAttempts").asInt())
                .isEqualTo(SagaDefinition.DEFAULT_RETRY.maxAttempts());
        assertThat(steps.get(2).toString()).isEqualTo("{\"index\":3,\"name\":\"book\",\"kind\":\"local\","
                + "\"compensation\":\"local\",\"conditional\":false}");
        assertThat(steps.get(3).toString()).isEqualTo("{\"index\":4,\"name\":\"announce\",\"kind\":\"local\","
                + "\"compensation\":\"none\",\"conditional\":true}");

        SagaDefinition<Order> noDeadline = SagaDefinition.builder("plain", 1, Order.class)
                .step("only").invoke("stock", "Reserve", o -> o).build();
        JsonNode plain = JSON.readTree(SagaShapes.json(noDeadline));
        assertThat(plain.path("deadlineMillis").isNull()).isTrue();
        assertThat(plain.path("steps").get(0).path("compensation").asText()).isEqualTo("none");
        assertThat(plain.path("steps").get(0).has("compensationType")).isFalse();
    }

    @Test
    void recordingAgainChangesNothingAndAChangedDefinitionReplacesTheShape(TestDatabase db) throws Exception {
        OutboxSchema.migrate(db.dataSource());
        String type = "order-" + UUID.randomUUID().toString().substring(0, 8);
        record(db, order(type, Duration.ofSeconds(5)));
        String firstVersion = rowVersion(db, type);
        record(db, order(type, Duration.ofSeconds(5)));

        assertThat(rowVersion(db, type)).as("the same shape is not written again").isEqualTo(firstVersion);
        assertThat(count(db, type)).isEqualTo(1);

        record(db, order(type, Duration.ofSeconds(9)));
        assertThat(rowVersion(db, type)).isNotEqualTo(firstVersion);
        assertThat(count(db, type)).isEqualTo(1);
        assertThat(JSON.readTree(text(db, "SELECT shape::text FROM saga_definition WHERE saga_type = ?", type))
                .path("steps").get(0).path("timeoutMillis").asLong()).isEqualTo(9_000);
    }

    private static void record(TestDatabase db, SagaDefinition<?> definition) {
        Transactions.inTransaction(db.dataSource(), connection -> {
            SagaShapes.record(connection, List.of(definition));
            return null;
        });
    }

    /** The row's xmin: changes whenever the row is written. */
    private static String rowVersion(TestDatabase db, String type) throws SQLException {
        return text(db, "SELECT xmin::text FROM saga_definition WHERE saga_type = ?", type);
    }

    private static long count(TestDatabase db, String type) throws SQLException {
        return Long.parseLong(text(db, "SELECT count(*) FROM saga_definition WHERE saga_type = ?", type));
    }

    private static String text(TestDatabase db, String sql, String parameter) throws SQLException {
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, parameter);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
