package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The saga timer meets real transient database failures while it fires a deadline: a lock it cannot
 * get within {@code lock_timeout} (55P03), its connection terminated by an administrator (57P01). The
 * saga must stay RUNNING and fire on a later tick; only a deterministic failure parks it.
 *
 * <p>The failure is made by another connection holding {@code LOCK TABLE outbox_event IN SHARE MODE}:
 * the timer's retry of a timed-out step inserts the next command into the outbox and waits on it.
 */
@ExtendWith(OutboxSagaExtension.class)
class SagaTimerTransientFailureTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(1);

    /** The saga data. */
    record Order(String id, boolean brokenRetry) {
    }

    private TestDatabase db;
    private TestKafka kafka;
    private String service;
    private String type;
    private final List<AutoCloseable> closeAfter = new ArrayList<>();

    @BeforeEach
    void setUp(TestDatabase db, TestKafka kafka) throws Exception {
        this.db = db;
        this.kafka = kafka;
        OutboxSchema.migrate(db.dataSource());
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        service = "orders-" + suffix;
        type = "order-" + suffix;
        kafka.admin().createTopics(List.of(new NewTopic(SagaMessages.DEFAULT_TOPIC_PREFIX
                + SagaMessages.replyChannel(service), 1, (short) 1))).all().get();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeAfter.size() - 1; i >= 0; i--) {
            closeAfter.get(i).close();
        }
    }

    /** One step at participant "stock", retried on timeout; its retry command fails for good if asked to. */
    private SagaDefinition<Order> definition() {
        return SagaDefinition.builder(type, 1, Order.class)
                .step("reserve")
                    .invoke("stock", "Reserve", order -> {
                        if (order.brokenRetry()) {
                            throw new IllegalStateException("cannot build the Reserve command of " + order.id());
                        }
                        return order;
                    })
                    .compensateWith("Release", order -> order)
                    .timeout(STEP_TIMEOUT)
                    .retry(RetryPolicy.exponential(5, Duration.ofMillis(100), Duration.ofMillis(100)))
                .build();
    }

    /** Connections of the orchestrator: its own, so that the timer's can be told apart and given a lock_timeout. */
    private DataSource orchestratorDataSource(String options) {
        PGSimpleDataSource source = new PGSimpleDataSource();
        source.setURL(db.jdbcUrl());
        source.setUser(db.username());
        source.setPassword(db.password());
        source.setApplicationName("saga-timer-test");
        if (options != null) {
            source.setOptions(options);
        }
        return source;
    }

    private SagaOrchestrator orchestrator(DataSource dataSource, SagaDefinition<Order> definition) {
        SagaOrchestrator orchestrator = SagaOrchestrator.builder()
                .service(service)
                .dataSource(dataSource)
                .bootstrapServers(kafka.bootstrapServers())
                .definition(definition)
                .timerInterval(Duration.ofMillis(100))
                .build()
                .start();
        closeAfter.add(orchestrator);
        return orchestrator;
    }

    /** Holds {@code LOCK TABLE outbox_event IN SHARE MODE} until closed: outbox inserts wait. */
    private Connection lockOutbox() throws Exception {
        Connection locker = db.openConnection();
        locker.setAutoCommit(false);
        try (Statement statement = locker.createStatement()) {
            statement.execute("LOCK TABLE outbox_event IN SHARE MODE");
        }
        return locker;
    }

    /** Process ids of the orchestrator's connections waiting for a lock on the outbox table. */
    private List<Integer> waitingOnTheOutbox() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        + "JOIN pg_stat_activity a ON a.pid = l.pid WHERE c.relname = 'outbox_event' AND NOT l.granted "
                        + "AND a.application_name = 'saga-timer-test'")
                .mapTo(Integer.class).list());
    }

    private SagaInstance instance(SagaOrchestrator orchestrator, UUID id) {
        return orchestrator.admin().find(id).orElseThrow();
    }

    private List<String> events(SagaOrchestrator orchestrator, UUID id) {
        return orchestrator.admin().history(id).stream().map(SagaEvent::event).toList();
    }

    /** The participant's reply, as its outbox and relay would publish it. */
    private void replySuccess(UUID sagaId, UUID commandId) throws Exception {
        Map<String, Object> config = new HashMap<>(kafka.producerConfig());
        config.put("key.serializer", StringSerializer.class.getName());
        config.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            ProducerRecord<String, String> reply = new ProducerRecord<>(SagaMessages.DEFAULT_TOPIC_PREFIX
                    + SagaMessages.replyChannel(service), sagaId.toString(), "{}");
            header(reply, MessageHeaders.ID, UUID.randomUUID().toString());
            header(reply, MessageHeaders.TYPE, SagaMessages.REPLY_TYPE);
            header(reply, MessageHeaders.CORRELATION_ID, sagaId.toString());
            header(reply, SagaMessages.IN_REPLY_TO, commandId.toString());
            header(reply, SagaMessages.OUTCOME, SagaMessages.SUCCESS);
            producer.send(reply).get();
        }
    }

    private static void header(ProducerRecord<String, String> record, String key, String value) {
        record.headers().add(key, value.getBytes(StandardCharsets.UTF_8));
    }

    private UUID awaitedCommand(UUID sagaId) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT awaiting_command_id FROM saga_instance WHERE id = :id")
                .bind("id", sagaId).mapTo(UUID.class).one());
    }

    @Test
    void aLockTimeoutWhileFiringADeadlineLeavesTheSagaRunningAndItCompletesLater() throws Exception {
        SagaDefinition<Order> definition = definition();
        SagaOrchestrator orchestrator = orchestrator(orchestratorDataSource("-c lock_timeout=200"), definition);
        UUID sagaId = orchestrator.begin(db.dataSource(), definition, new Order("o-1", false));

        try (Connection locker = lockOutbox()) {
            // The deadline passes and the timer's retry waits on the outbox; with lock_timeout=200 ms it fails
            // with 55P03 several times while the saga is watched for 1.5 s.
            await().atMost(PATIENCE).until(() -> !waitingOnTheOutbox().isEmpty());
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                    .until(() -> instance(orchestrator, sagaId).state() == SagaState.RUNNING);
            assertThat(instance(orchestrator, sagaId).attempt()).as("no retry went out").isEqualTo(1);
            assertThat(events(orchestrator, sagaId)).doesNotContain("PARKED");
            locker.rollback();
        }

        // The lock is gone: the deadline fires on a later tick, the retry goes out, and its reply completes the saga.
        await().atMost(PATIENCE).until(() -> instance(orchestrator, sagaId).attempt() == 2);
        replySuccess(sagaId, awaitedCommand(sagaId));
        await().atMost(PATIENCE).until(() -> instance(orchestrator, sagaId).state() == SagaState.COMPLETED);
        assertThat(events(orchestrator, sagaId)).containsSubsequence("COMMAND_SENT", "TIMED_OUT", "COMMAND_SENT",
                "SUCCEEDED", "COMPLETED").doesNotContain("PARKED");
    }

    @Test
    void theTimersConnectionTerminatedWhileFiringADeadlineLeavesTheSagaRunning() throws Exception {
        SagaDefinition<Order> definition = definition();
        SagaOrchestrator orchestrator = orchestrator(orchestratorDataSource(null), definition);
        UUID sagaId = orchestrator.begin(db.dataSource(), definition, new Order("o-2", false));

        try (Connection locker = lockOutbox()) {
            await().atMost(PATIENCE).until(() -> !waitingOnTheOutbox().isEmpty());
            int timer = waitingOnTheOutbox().get(0);
            db.execute("SELECT pg_terminate_backend(" + timer + ")");
            // A new connection on the next tick waits again: the saga was neither advanced nor parked.
            await().atMost(PATIENCE).until(() -> waitingOnTheOutbox().stream().anyMatch(pid -> pid != timer));
            assertThat(instance(orchestrator, sagaId).state()).isEqualTo(SagaState.RUNNING);
            assertThat(instance(orchestrator, sagaId).attempt()).isEqualTo(1);
            locker.rollback();
        }

        await().atMost(PATIENCE).until(() -> instance(orchestrator, sagaId).attempt() == 2);
        assertThat(instance(orchestrator, sagaId).state()).isEqualTo(SagaState.RUNNING);
        assertThat(events(orchestrator, sagaId)).containsSubsequence("COMMAND_SENT", "TIMED_OUT", "COMMAND_SENT")
                .doesNotContain("PARKED");
    }

    @Test
    void aDeterministicFailureStillParksTheSagaWithTheReason() {
        SagaDefinition<Order> definition = definition();
        SagaOrchestrator orchestrator = orchestrator(orchestratorDataSource("-c lock_timeout=200"), definition);
        // The first command is built at begin; the retry's command function fails.
        UUID sagaId = orchestrator.begin(db.dataSource(), definition, new Order("o-3", false));
        db.execute("UPDATE saga_instance SET data = jsonb_set(data, '{brokenRetry}', 'true') WHERE id = '" + sagaId
                + "'");

        await().atMost(PATIENCE).until(() -> instance(orchestrator, sagaId).state() == SagaState.PARKED);
        assertThat(instance(orchestrator, sagaId).lastError()).contains("cannot build the Reserve command of o-3");
        assertThat(events(orchestrator, sagaId)).contains("PARKED");
    }
}
