package dev.outboxsaga.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.core.DatabaseTransactions;
import dev.outboxsaga.saga.PendingCommand;
import dev.outboxsaga.saga.PendingReplies;
import dev.outboxsaga.saga.SagaMessages;
import dev.outboxsaga.template.SagaSide.SagaReply;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The template end to end: the app's components in this JVM with the relay embedded, a real
 * PostgreSQL and Kafka, and the test in the orchestrator's place.
 */
@ExtendWith(OutboxSagaExtension.class)
class InventoryParticipantTest {

    private TestDatabase db;
    private ParticipantApp app;
    private SagaSide saga;

    @BeforeEach
    void start(TestDatabase db, TestKafka kafka) throws Exception {
        this.db = db;
        // Unique per test: the name is also the relay's, whose replication slot is server-wide.
        String name = "inventory-" + UUID.randomUUID().toString().substring(0, 8);
        saga = new SagaSide(kafka, name);
        app = ParticipantApp.start(ParticipantConfig.builder()
                .set(ParticipantConfig.PARTICIPANT_NAME, name)
                .set(ParticipantConfig.DATABASE_URL, db.jdbcUrl())
                .set(ParticipantConfig.DATABASE_USER, db.username())
                .set(ParticipantConfig.DATABASE_PASSWORD, db.password())
                .set(ParticipantConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers())
                .set(ParticipantConfig.RELAY_EMBEDDED, true)
                .set(ParticipantConfig.APPROVAL_ABOVE, 5)
                .build());
        db.execute("INSERT INTO inventory_item (item, available) VALUES ('widget', 10)");
        // inventory_reservation's primary key (saga, step) refuses a second reservation of a step: a
        // handler that ran twice would throw, be retried and parked, and its reply would never come.
        // Fail at once then, rather than after the reply's timeout.
        saga.failFastWhen(() -> app.participant().consumer().stats().retries() > 0
                || app.participant().consumer().stats().parked() > 0, () -> "the participant retried or parked a "
                + "command (a handler ran twice?): " + app.participant().consumer().stats() + ", dead letters "
                + app.participant().consumer().deadLetters().parked(10));
    }

    /**
     * Every test: no handler ran twice. With the reservation's primary key, a second run shows as a
     * retried and parked command, so none may be.
     */
    @AfterEach
    void stop() {
        try {
            if (app != null) {
                assertThat(app.participant().consumer().stats()).as("participant's inbox counts")
                        .satisfies(stats -> {
                            assertThat(stats.retries()).as("retries").isZero();
                            assertThat(stats.parked()).as("parked").isZero();
                        });
                assertThat(app.participant().consumer().deadLetters().parked(10)).as("dead letters").isEmpty();
            }
        } finally {
            if (app != null) {
                app.close();
            }
            if (saga != null) {
                saga.close();
            }
        }
    }

    @Test
    void reserveSucceedsAndTakesTheStock() throws Exception {
        UUID sagaId = UUID.randomUUID();

        UUID command = saga.send(sagaId, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":3}");
        SagaReply reply = saga.replyTo(command);

        assertThat(reply.outcome()).isEqualTo("SUCCESS");
        assertThat(reply.type()).isEqualTo(SagaMessages.REPLY_TYPE);
        assertThat(reply.key()).isEqualTo(sagaId.toString());
        assertThat(reply.correlationId()).isEqualTo(sagaId.toString());
        assertThat(reply.step()).isEqualTo("0");
        assertThat(json(reply.payload())).isEqualTo(json("{\"item\":\"widget\",\"quantity\":3,\"remaining\":7}"));
        assertThat(stock("widget")).isEqualTo(7);
        assertThat(count("SELECT count(*) FROM inventory_reservation WHERE saga_id = '" + sagaId
                + "' AND step_index = 0 AND quantity = 3 AND released_at IS NULL")).isEqualTo(1);
    }

    @Test
    void insufficientStockFailsAndChangesNothing() throws Exception {
        UUID command = saga.send(UUID.randomUUID(), 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":11}");
        SagaReply reply = saga.replyTo(command);

        assertThat(reply.outcome()).isEqualTo("FAILURE");
        assertThat(reply.retryable()).isEqualTo("false");
        assertThat(reply.reason()).isEqualTo("insufficient stock for widget");
        assertThat(stock("widget")).isEqualTo(10);
        assertThat(count("SELECT count(*) FROM inventory_reservation")).isZero();
    }

    @Test
    void theSameCommandTwiceHasOneEffectAndTwoIdenticalReplies() throws Exception {
        UUID sagaId = UUID.randomUUID();
        String payload = "{\"item\":\"widget\",\"quantity\":3}";

        UUID first = saga.send(sagaId, 0, "Reserve", false, 1, payload);
        saga.send(first, sagaId, 0, "Reserve", false, 1, payload);      // Kafka redelivers the same message
        UUID retry = saga.send(sagaId, 0, "Reserve", false, 2, payload); // the orchestrator retries the step
        SagaReply firstReply = saga.replyTo(first);
        SagaReply retryReply = saga.replyTo(retry);

        assertThat(retryReply).usingRecursiveComparison().ignoringFields("commandId").isEqualTo(firstReply);
        assertThat(retryReply.outcome()).isEqualTo("SUCCESS");
        // One saga, one partition, in order: the redelivery was skipped by the inbox before the retry's reply.
        assertThat(saga.replies()).hasSize(2);
        assertThat(app.participant().consumer().stats().duplicates()).isEqualTo(1);
        assertThat(stock("widget")).isEqualTo(7);
        assertThat(count("SELECT count(*) FROM inventory_reservation")).isEqualTo(1);
    }

    @Test
    void releaseGivesTheStockBack() throws Exception {
        UUID sagaId = UUID.randomUUID();
        UUID reserve = saga.send(sagaId, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":4}");
        assertThat(saga.replyTo(reserve).outcome()).isEqualTo("SUCCESS");
        assertThat(stock("widget")).isEqualTo(6);

        UUID release = saga.send(sagaId, 0, "Release", true, 1, "{\"item\":\"widget\",\"quantity\":4}");
        SagaReply reply = saga.replyTo(release);

        assertThat(reply.outcome()).isEqualTo("SUCCESS");
        assertThat(json(reply.payload())).isEqualTo(json("{\"item\":\"widget\",\"quantity\":4}"));
        assertThat(stock("widget")).isEqualTo(10);
        assertThat(count("SELECT count(*) FROM inventory_reservation WHERE released_at IS NOT NULL")).isEqualTo(1);
    }

    @Test
    void compensatingAStepNeverAppliedSucceedsWithoutChange() throws Exception {
        // The forward command never arrived (the saga timed out and gave up).
        UUID neverSent = saga.send(UUID.randomUUID(), 0, "Release", true, 1, "{}");
        // The forward command was refused.
        UUID refusedSaga = UUID.randomUUID();
        UUID refused = saga.send(refusedSaga, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":50}");
        UUID afterRefusal = saga.send(refusedSaga, 0, "Release", true, 1, "{}");

        SagaReply neverSentReply = saga.replyTo(neverSent);
        assertThat(saga.replyTo(refused).outcome()).isEqualTo("FAILURE");
        SagaReply afterRefusalReply = saga.replyTo(afterRefusal);

        assertThat(neverSentReply.outcome()).isEqualTo("SUCCESS");
        assertThat(neverSentReply.reason()).contains("nothing to compensate");
        assertThat(afterRefusalReply.outcome()).isEqualTo("SUCCESS");
        assertThat(afterRefusalReply.reason()).contains("nothing to compensate");
        assertThat(stock("widget")).isEqualTo(10);
        assertThat(count("SELECT count(*) FROM inventory_reservation")).isZero();
    }

    @Test
    void aMalformedReserveIsRefusedNotParked() throws Exception {
        UUID command = saga.send(UUID.randomUUID(), 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":\"many\"}");

        SagaReply reply = saga.replyTo(command);

        assertThat(reply.outcome()).isEqualTo("FAILURE");
        assertThat(reply.reason()).startsWith("malformed Reserve payload");
        assertThat(stock("widget")).isEqualTo(10);
    }

    /**
     * 8 units is more than the approval limit of 5: the stock is held and nothing is answered until a manager
     * approves, from a transaction of its own; the answer then goes out as the handler's would have, once.
     */
    @Test
    void aLargeReservationWaitsForAManagersApprovalAndIsAnsweredOnceApproved() throws Exception {
        UUID sagaId = UUID.randomUUID();
        UUID command = saga.send(sagaId, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":8}");

        PendingCommand waiting = awaitApprovalOf(sagaId);
        assertThat(waiting.commandId()).isEqualTo(command);
        assertThat(waiting.reason()).isEqualTo("awaiting a manager's approval: 8 widget is more than 5");
        assertThat(stock("widget")).as("held").isEqualTo(2);
        assertThat(count("SELECT count(*) FROM outbox_event WHERE aggregateid = '" + sagaId + "'"))
                .as("replies written").isZero();

        InventoryHandlers.Reserved approved = DatabaseTransactions.inTransaction(app.dataSource(),
                connection -> app.handlers().approve(connection, sagaId, 0));
        SagaReply reply = saga.replyTo(command);

        assertThat(approved).isEqualTo(new InventoryHandlers.Reserved("widget", 8, 2));
        assertThat(reply.outcome()).isEqualTo("SUCCESS");
        assertThat(json(reply.payload())).isEqualTo(json("{\"item\":\"widget\",\"quantity\":8,\"remaining\":2}"));
        assertThat(stock("widget")).isEqualTo(2);
        assertThat(awaitingApproval()).isEmpty();
        assertThatThrownBy(() -> DatabaseTransactions.inTransaction(app.dataSource(),
                connection -> app.handlers().approve(connection, sagaId, 0)))
                .isInstanceOf(PendingReplies.NotPendingException.class)
                .hasMessageContaining("answered already");
        assertThat(saga.replies()).hasSize(1);
    }

    /** The manager refuses: the held stock goes back and the step is answered with the refusal. */
    @Test
    void aRejectedReservationGivesTheStockBackAndIsRefused() throws Exception {
        UUID sagaId = UUID.randomUUID();
        UUID command = saga.send(sagaId, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":8}");
        awaitApprovalOf(sagaId);

        DatabaseTransactions.inTransaction(app.dataSource(), connection -> {
            app.handlers().reject(connection, sagaId, 0, "over this month's budget");
            return null;
        });
        SagaReply reply = saga.replyTo(command);

        assertThat(reply.outcome()).isEqualTo("FAILURE");
        assertThat(reply.reason()).isEqualTo("over this month's budget");
        assertThat(stock("widget")).isEqualTo(10);
        assertThat(count("SELECT count(*) FROM inventory_reservation WHERE released_at IS NULL")).isZero();
    }

    /**
     * The saga gives up waiting (its step timed out) and compensates the reservation before the manager decides: the
     * held stock goes back, and the manager's approval afterwards is refused and changes nothing.
     */
    @Test
    void aReservationCompensatedBeforeItsApprovalGivesTheStockBackAndTheApprovalIsRefused() throws Exception {
        UUID sagaId = UUID.randomUUID();
        saga.send(sagaId, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":8}");
        awaitApprovalOf(sagaId);

        SagaReply released = saga.replyTo(saga.send(sagaId, 0, "Release", true, 1, "{}"));

        assertThat(released.outcome()).isEqualTo("SUCCESS");
        assertThat(json(released.payload())).isEqualTo(json("{\"item\":\"widget\",\"quantity\":8}"));
        assertThat(stock("widget")).isEqualTo(10);
        assertThat(awaitingApproval()).isEmpty();
        assertThatThrownBy(() -> DatabaseTransactions.inTransaction(app.dataSource(),
                connection -> app.handlers().approve(connection, sagaId, 0)))
                .isInstanceOfSatisfying(PendingReplies.NotPendingException.class, refused ->
                        assertThat(refused.why()).isEqualTo(PendingReplies.NotPendingException.Why.COMPENSATED));
        assertThat(stock("widget")).isEqualTo(10);
    }

    private PendingCommand awaitApprovalOf(UUID sagaId) {
        return await().atMost(SagaSide.WAIT).until(this::awaitingApproval,
                waiting -> waiting.size() == 1 && waiting.get(0).sagaId().equals(sagaId)).get(0);
    }

    private List<PendingCommand> awaitingApproval() throws SQLException {
        try (Connection connection = db.openConnection()) {
            return app.handlers().awaitingApproval(connection, 10);
        }
    }

    @Test
    void migrationsCanRunAgain() throws Exception {
        ParticipantSchema.migrate(app.dataSource());

        assertThat(stock("widget")).isEqualTo(10);
    }

    /** Payloads pass through jsonb, which normalizes their text; compare them as JSON. */
    private static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    private int stock(String item) throws SQLException {
        try (Connection connection = db.openConnection();
                PreparedStatement query = connection.prepareStatement(
                        "SELECT available FROM inventory_item WHERE item = ?")) {
            query.setString(1, item);
            try (ResultSet row = query.executeQuery()) {
                row.next();
                return row.getInt(1);
            }
        }
    }

    private long count(String sql) throws SQLException {
        try (Connection connection = db.openConnection();
                ResultSet row = connection.createStatement().executeQuery(sql)) {
            row.next();
            return row.getLong(1);
        }
    }
}
