package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.ServiceRows;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaOrchestrator;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestInfrastructure;
import dev.outboxsaga.testkit.TestKafka;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the console's pictures read, on a real PostgreSQL with the project's migrations: the shape a real
 * {@link SagaOrchestrator} records when it starts (and replaces when a definition changes), a shape derived from
 * history for a type without one (also on a schema older than V13), the sagas at each step now, the sagas ended and
 * dead letters parked per minute, and the query plans that keep those reads cheap on big tables.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SagaPicturesDataTest {

    private static final Instant T0 = Instant.parse("2024-05-01T10:00:00.123456Z");
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** The saga data. */
    record Payment(String id, String bank, long amount) {
    }

    private TestDatabase db;
    private ServiceRows rows;
    private ServiceDatabase service;
    private String suffix;

    @BeforeAll
    void migrate(TestDatabase db) {
        this.db = db;
        rows = new ServiceRows(db);
        OutboxSchema.migrate(db.dataSource());
        service = ServiceDatabase.over("payments", db.dataSource());
    }

    @AfterAll
    void close() {
        service.close();
    }

    @BeforeEach
    void name() {
        suffix = UUID.randomUUID().toString().substring(0, 8);
    }

    private static SagaDefinition<Payment> payment(String type, Duration chargeTimeout) {
        return SagaDefinition.builder(type, 1, Payment.class)
                .deadline(Duration.ofMinutes(5))
                .parallel("checks", checks -> checks
                    .step("fraudCheck")
                        .invoke(Payment::bank, "CheckFraud", p -> p)
                        .compensateWith("ForgetCheck", p -> p)
                    .step("limitCheck")
                        .invoke("limits", "HoldLimit", p -> p)
                        .compensateWith("ReleaseLimit", p -> p)
                        .when(p -> p.amount() > 100))
                .step("charge")
                    .invoke("cards", "Charge", p -> p)
                    .compensateWith("Refund", p -> p)
                    .timeout(chargeTimeout)
                    .retry(RetryPolicy.exponential(4, Duration.ofMillis(100), Duration.ofSeconds(1)))
                .step("receipt")
                    .local((connection, p) -> p)
                    .when(p -> p.amount() > 0)
                .build();
    }

    @Test
    void aStartedOrchestratorRecordsItsDefinitionsShapeAndAChangedDefinitionReplacesIt(TestKafka kafka) {
        String type = "payment-" + suffix;
        SagaDefinition<Payment> definition = payment(type, Duration.ofSeconds(10));
        try (SagaOrchestrator orchestrator = orchestrator(kafka, definition)) {
            await().atMost(WAIT).until(() -> service.sagaType(type, 1).isPresent());
        }

        SagaTypeDetail detail = service.sagaType(type, 1).orElseThrow();
        assertThat(detail.derived()).isFalse();
        assertThat(detail.recordedAt()).isNotNull();
        assertThat(detail.inFlight()).isEmpty();
        SagaShape shape = detail.shape();
        assertThat(shape.type()).isEqualTo(type);
        assertThat(shape.deadline()).isEqualTo(Duration.ofMinutes(5));
        assertThat(shape.steps()).extracting(SagaShape.Step::name)
                .containsExactlyElementsOf(definition.steps().stream().map(s -> s.name()).toList());
        assertThat(shape.elements()).hasSize(3);
        assertThat(shape.elements().get(0)).isInstanceOfSatisfying(SagaShape.Group.class, group -> {
            assertThat(group.name()).isEqualTo("checks");
            assertThat(group.branches()).containsExactly(
                    new SagaShape.Step(0, "fraudCheck", SagaShape.Kind.PARTICIPANT, "dynamic", "CheckFraud",
                            SagaShape.Compensation.COMMAND, "ForgetCheck", SagaDefinition.DEFAULT_TIMEOUT,
                            SagaDefinition.DEFAULT_RETRY.maxAttempts(), false),
                    new SagaShape.Step(1, "limitCheck", SagaShape.Kind.PARTICIPANT, "limits", "HoldLimit",
                            SagaShape.Compensation.COMMAND, "ReleaseLimit", SagaDefinition.DEFAULT_TIMEOUT,
                            SagaDefinition.DEFAULT_RETRY.maxAttempts(), true));
        });
        assertThat(shape.elements().get(1)).isEqualTo(new SagaShape.Step(2, "charge", SagaShape.Kind.PARTICIPANT, "cards",
                "Charge", SagaShape.Compensation.COMMAND, "Refund", Duration.ofSeconds(10), 4, false));
        assertThat(shape.elements().get(2)).isEqualTo(new SagaShape.Step(3, "receipt", SagaShape.Kind.LOCAL, null, null,
                SagaShape.Compensation.NONE, null, null, null, true));

        // A second orchestrator of the same type and version with a changed step: its start replaces the shape.
        try (SagaOrchestrator second = orchestrator(kafka, payment(type, Duration.ofSeconds(20)))) {
            await().atMost(WAIT).until(() -> ((SagaShape.Step) service.sagaType(type, 1).orElseThrow().shape()
                    .elements().get(1)).timeout().equals(Duration.ofSeconds(20)));
        }
        assertThat(rows.scalar("SELECT count(*) FROM saga_definition WHERE saga_type = ?", type)).isEqualTo(1L);
    }

    @Test
    void withoutARecordedShapeItIsDerivedFromTheHistoryOfTheTypesSagas() {
        String type = "old-" + suffix;
        UUID completed = rows.saga(type, 1, "COMPLETED", T0, null);
        Instant t = T0;
        rows.event(completed, 0, "limitCheck", "STARTED", type + " v1", t);
        rows.event(completed, 0, "limitCheck", "COMMAND_SENT", "HoldLimit to bank-a, attempt 1, id " + UUID.randomUUID(), t);
        rows.event(completed, 1, "payeeCheck", "COMMAND_SENT", "ScreenPayee to bank-b, attempt 1, id " + UUID.randomUUID(), t);
        rows.event(completed, 1, "payeeCheck", "SUCCEEDED", null, t.plusMillis(5));
        rows.event(completed, 0, "limitCheck", "SUCCEEDED", null, t.plusMillis(6));
        rows.event(completed, 2, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 1, id " + UUID.randomUUID(),
                t.plusMillis(6));
        rows.event(completed, 2, "debit", "SUCCEEDED", null, t.plusMillis(9));
        rows.event(completed, 3, "announce", "SUCCEEDED", "local step", t.plusMillis(9));
        rows.event(completed, 3, "announce", "COMPLETED", null, t.plusMillis(9));
        UUID compensated = rows.saga(type, 1, "COMPENSATED", T0.plusSeconds(1), null);
        t = T0.plusSeconds(1);
        rows.event(compensated, 0, "limitCheck", "STARTED", type + " v1", t);
        rows.event(compensated, 0, "limitCheck", "COMMAND_SENT", "HoldLimit to bank-a, attempt 1, id " + UUID.randomUUID(), t);
        rows.event(compensated, 1, "payeeCheck", "SKIPPED", "its condition does not hold", t);
        rows.event(compensated, 0, "limitCheck", "SUCCEEDED", null, t.plusMillis(4));
        rows.event(compensated, 2, "debit", "COMMAND_SENT", "Debit to bank-c, attempt 1, id " + UUID.randomUUID(),
                t.plusMillis(4));
        rows.event(compensated, 2, "debit", "FAILED", "insufficient funds", t.plusMillis(7));
        rows.event(compensated, 0, "limitCheck", "COMPENSATION_SENT", "ReleaseLimit to bank-a, attempt 1, id "
                + UUID.randomUUID(), t.plusMillis(7));
        rows.event(compensated, 0, "limitCheck", "COMPENSATED", null, t.plusMillis(8));
        rows.event(compensated, 0, "limitCheck", "ENDED_COMPENSATED", null, t.plusMillis(8));
        // Sagas in flight: one at the debit, one parked compensating the limit check, one awaiting the payee check of
        // its parallel group (the limit check answered).
        db.execute("UPDATE saga_instance SET step_index = 2 WHERE id = '" + rows.saga(type, 1, "RUNNING", T0, null) + "'");
        db.execute("UPDATE saga_instance SET step_index = 0 WHERE id = '" + rows.saga(type, 1, "PARKED", T0, null) + "'");
        UUID inGroup = rows.saga(type, 1, "RUNNING", T0, null);
        db.execute("UPDATE saga_instance SET step_index = 0 WHERE id = '" + inGroup + "'");
        rows.branches(inGroup, "[{\"step\": 0, \"status\": \"SUCCEEDED\", \"attempt\": 1}, {\"step\": 1, \"status\": "
                + "\"PENDING\", \"attempt\": 1, \"command\": \"" + UUID.randomUUID() + "\", \"due\": \"2030-01-01T00:00:00Z\"}]");

        SagaTypeDetail detail = service.sagaType(type, 1).orElseThrow();

        assertThat(detail.derived()).isTrue();
        assertThat(detail.sagasRead()).as("the sagas with a history").isEqualTo(2);
        assertThat(detail.shape().deadline()).isNull();
        assertThat(detail.shape().elements()).containsExactly(
                new SagaShape.Group("parallel", List.of(
                        new SagaShape.Step(0, "limitCheck", SagaShape.Kind.PARTICIPANT, "bank-a", "HoldLimit",
                                SagaShape.Compensation.COMMAND, "ReleaseLimit", null, null, null),
                        new SagaShape.Step(1, "payeeCheck", SagaShape.Kind.PARTICIPANT, "bank-b", "ScreenPayee",
                                SagaShape.Compensation.UNKNOWN, null, null, null, true))),
                new SagaShape.Step(2, "debit", SagaShape.Kind.PARTICIPANT, "dynamic: bank-a, bank-c", "Debit",
                        SagaShape.Compensation.UNKNOWN, null, null, null, null),
                new SagaShape.Step(3, "announce", SagaShape.Kind.LOCAL, null, null, SagaShape.Compensation.UNKNOWN, null,
                        null, null, null));
        assertThat(detail.inFlight()).containsExactlyInAnyOrderEntriesOf(Map.of(
                0, new SagaTypeDetail.InFlight(0, 0, 1),
                1, new SagaTypeDetail.InFlight(1, 0, 0),
                2, new SagaTypeDetail.InFlight(1, 0, 0)));
        String page = SagaPages.sagaType("payments", detail, new Sessions.Session("s", "alice", ConsoleConfig.Role.VIEWER,
                "t", T0));
        assertThat(page).contains("Derived from the history of the latest 2 sagas", "data-step=\"payeeCheck\"");
        assertThat(service.sagaType(type, 2)).isEmpty();
        assertThat(service.sagaType("none-" + suffix, 1)).isEmpty();
    }

    @Test
    void aSchemaOlderThanV13HasOnlyHistoryAndStillItsActivity(TestInfrastructure infra) {
        try (TestDatabase old = TestDatabase.create(infra.postgres());
                ServiceDatabase oldService = ServiceDatabase.over("old", old.dataSource())) {
            for (String script : OutboxSchema.SCRIPTS) {
                if (!script.startsWith("V13")) {
                    old.execute(OutboxSchema.script(script));
                }
            }
            ServiceRows oldRows = new ServiceRows(old);
            UUID saga = oldRows.saga("transfer", 1, "COMPLETED", Instant.now().minusSeconds(60), null);
            oldRows.event(saga, 0, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 1, id " + UUID.randomUUID());
            oldRows.event(saga, 0, "debit", "SUCCEEDED", null);

            SagaTypeDetail detail = oldService.sagaType("transfer", 1).orElseThrow();

            assertThat(detail.derived()).isTrue();
            assertThat(detail.shape().steps()).extracting(SagaShape.Step::name).containsExactly("debit");
            assertThat(oldService.activity(Duration.ofHours(3)).ended().values())
                    .containsExactly(new ServiceActivity.Ended(1, 0, 0));
        }
    }

    @Test
    void sagasEndedAndDeadLettersParkedAreCountedPerMinuteWithinTheWindow() {
        String type = "activity-" + suffix;
        Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofMinutes(10));
        // rows.saga ends a saga a second after it began.
        rows.saga(type, 1, "COMPLETED", minute.plusSeconds(4), null);
        rows.saga(type, 1, "COMPLETED", minute.plusSeconds(39), null);
        rows.saga(type, 1, "COMPENSATED", minute.plusSeconds(19), null);
        rows.saga(type, 1, "FAILED", minute.plusSeconds(60), null);
        rows.saga(type, 1, "COMPLETED", minute.minus(Duration.ofHours(5)), null);
        rows.saga(type, 1, "PARKED", minute, null);
        rows.saga(type, 1, "RUNNING", minute, null);
        String consumer = "activity-" + suffix;
        rows.deadLetter(consumer, "orders", "X", "boom", minute.plusSeconds(3), true);
        long discarded = rows.deadLetter(consumer, "orders", "X", "boom", minute.plusSeconds(59), true);
        service.discard(discarded, "console:alice", "parked all the same");
        rows.deadLetter(consumer, "orders", "X", "boom", minute.minus(Duration.ofHours(4)), true);

        ServiceActivity activity = service.activity(Duration.ofHours(3));

        assertThat(activity.failure()).isNull();
        assertThat(activity.window()).isEqualTo(Duration.ofHours(3));
        assertThat(activity.to()).isAfter(minute.plus(Duration.ofMinutes(10)));
        assertThat(activity.ended()).containsExactly(
                Map.entry(minute, new ServiceActivity.Ended(2, 1, 0)),
                Map.entry(minute.plus(Duration.ofMinutes(1)), new ServiceActivity.Ended(0, 0, 1)));
        assertThat(activity.parked()).containsExactly(Map.entry(minute, 2L));
        assertThat(service.activity(Duration.ofHours(6)).ended()).hasSize(3);
        assertThatThrownBy(() -> service.activity(Duration.ofSeconds(90))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> service.activity(Duration.ofDays(2))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theReadsWalkIndexesOnBigTables() throws SQLException {
        String type = "big-" + suffix;
        // 20,000 sagas of four types, ended over the month before yesterday but a few hundred in flight, and as many
        // dead letters.
        db.execute("INSERT INTO saga_instance (id, saga_type, saga_version, state, step_index, attempt, data, created_at, "
                + "updated_at, ended_at) SELECT gen_random_uuid(), '" + type + "-' || i % 4, 1, CASE WHEN i % 100 = 0 THEN 'RUNNING' "
                + "WHEN i % 7 = 0 THEN 'COMPENSATED' ELSE 'COMPLETED' END, 1, 1, '{}'::jsonb, "
                + "now() - interval '31 days' + i * interval '1 minute', now() - interval '31 days' + i * interval '1 minute', "
                + "CASE WHEN i % 100 <> 0 THEN now() - interval '31 days' + i * interval '1 minute' END "
                + "FROM generate_series(1, 20000) i");
        db.execute("INSERT INTO dead_letter (consumer, topic, kafka_partition, kafka_offset, error_class, attempts, "
                + "parked_at) SELECT 'big-" + suffix + "', 'orders', 0, i, 'X', 3, now() - interval '31 days' "
                + "+ i * interval '1 minute' FROM generate_series(1, 20000) i");
        db.execute("ANALYZE saga_instance; ANALYZE dead_letter; ANALYZE saga_event");

        List<Sql.Statement> activity = service.activityStatements(Duration.ofHours(3));
        assertThat(explain(activity.get(0))).contains("saga_instance_ended_idx").doesNotContain("Seq Scan");
        assertThat(explain(activity.get(1))).contains("dead_letter_parked_idx").doesNotContain("Seq Scan");
        assertThat(explain(new Sql.Statement(Sql.SAGA_TYPE_IN_FLIGHT, List.of(type + "-1", 1))))
                .containsPattern("Index (Only )?Scan|Bitmap Index Scan").doesNotContain("Seq Scan on saga_instance");
        // The latest sagas of the type, a page of an index in creation order: a Limit over an index scan.
        assertThat(explain(new Sql.Statement(Sql.SAGA_TYPE_HISTORY, List.of(type + "-1", 1,
                ServiceDatabase.DERIVED_FROM_SAGAS)))).containsPattern("Limit.*\\n.*Index (Only )?Scan( Backward)? using "
                        + "saga_instance_(type_)?created_idx").doesNotContain("Seq Scan on saga_instance");
    }

    // ---------------------------------------------------------------------------------------------

    private SagaOrchestrator orchestrator(TestKafka kafka, SagaDefinition<?> definition) {
        return SagaOrchestrator.builder().service("payments-" + suffix).dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers()).timerInterval(Duration.ofMillis(50)).definition(definition)
                .build().start();
    }

    private String explain(Sql.Statement statement) throws SQLException {
        return QueryPlans.explain(db, statement);
    }
}
