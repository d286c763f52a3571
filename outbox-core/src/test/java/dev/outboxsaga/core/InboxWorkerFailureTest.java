package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Inbox workers survive what a handler throws, and a consumer that can no longer work says so: its
 * {@link InboxConsumer#status()} and {@link InboxConsumer#isRunning()} are what a health check reads.
 */
@ExtendWith(OutboxSagaExtension.class)
class InboxWorkerFailureTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final RetryPolicy FAST_RETRIES =
            RetryPolicy.exponential(3, Duration.ofMillis(10), Duration.ofMillis(50));

    private TestDatabase db;
    private TestKafka kafka;
    private String topic;
    private KafkaProducer<byte[], byte[]> producer;
    private final List<InboxConsumer> consumers = new ArrayList<>();

    @BeforeEach
    void setUp(TestDatabase db, TestKafka kafka) {
        this.db = db;
        this.kafka = kafka;
        OutboxSchema.migrate(db.dataSource());
        db.execute("CREATE TABLE applied (seq bigserial PRIMARY KEY, message_id uuid NOT NULL)");
        topic = kafka.uniqueTopic("failure");
        Map<String, Object> config = new HashMap<>(kafka.producerConfig());
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(config);
    }

    @AfterEach
    void tearDown() {
        consumers.forEach(InboxConsumer::close);
        producer.close();
    }

    /** Throws {@code error} for the messages in {@code poison}, else records one application. */
    private static MessageHandler throwingFor(Set<UUID> poison, Error error) {
        return (message, context) -> {
            if (poison.contains(message.id())) {
                throw error;
            }
            try (PreparedStatement insert = context.connection().prepareStatement(
                    "INSERT INTO applied (message_id) VALUES (?)")) {
                insert.setObject(1, message.id());
                insert.executeUpdate();
            }
        };
    }

    private InboxConsumer.Builder consumer(String name, MessageHandler handler) {
        return InboxConsumer.builder()
                .name(name)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topics(topic)
                .handler(handler)
                .retryPolicy(FAST_RETRIES);
    }

    private InboxConsumer started(InboxConsumer.Builder builder) {
        InboxConsumer consumer = builder.build();
        consumers.add(consumer);
        return consumer.start();
    }

    private UUID send(String key) throws Exception {
        UUID id = UUID.randomUUID();
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
                "{}".getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();
        return id;
    }

    private long appliedOf(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM applied WHERE message_id = :id")
                .bind("id", id).mapTo(Long.class).one());
    }

    private long inboxRowsOf(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM inbox_message WHERE message_id = :id")
                .bind("id", id).mapTo(Long.class).one());
    }

    @Test
    void aHandlerThrowingAnErrorIsRetriedThenParkedAndEveryWorkerLivesOn() throws Exception {
        Set<UUID> poison = ConcurrentHashMap.newKeySet();
        InboxConsumer consumer = started(consumer("errors", throwingFor(poison,
                new AssertionError("handler bug"))).concurrency(2));
        // More poison messages than workers, on keys spread over the partitions: each used to end a thread.
        List<UUID> bad = new ArrayList<>();
        List<UUID> good = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            UUID id = UUID.randomUUID();
            poison.add(id);
            bad.add(sendWithId(id, "key-" + k));
            good.add(send("key-" + k));
        }

        await().atMost(PATIENCE).until(() -> good.stream().allMatch(id -> appliedOf(id) == 1));
        await().atMost(PATIENCE).until(() -> consumer.deadLetters().countParked() == bad.size());
        for (DeadLetter letter : consumer.deadLetters().parked(100)) {
            assertThat(letter.errorClass()).isEqualTo(AssertionError.class.getName());
            assertThat(letter.errorMessage()).isEqualTo("handler bug");
            assertThat(letter.attempts()).as("retried like any failure").isEqualTo(3);
        }
        assertThat(bad).allMatch(id -> appliedOf(id) == 0);
        assertThat(consumer.isRunning()).isTrue();
        InboxConsumer.Status status = consumer.status();
        assertThat(status.state()).isEqualTo(InboxConsumer.State.RUNNING);
        assertThat(status.workers()).isEqualTo(2);
        assertThat(status.workersAlive()).isEqualTo(2);
        assertThat(status.healthy()).isTrue();
        assertThat(status.workerFailures()).isZero();
    }

    private UUID sendWithId(UUID id, String key) throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
                "{}".getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();
        return id;
    }

    @Test
    void anOutOfMemoryErrorStopsTheWholeConsumerLoudlyAndLeavesTheRecordForTheNextStart() throws Exception {
        Set<UUID> poison = ConcurrentHashMap.newKeySet();
        InboxConsumer consumer = started(consumer("oom", throwingFor(poison,
                new OutOfMemoryError("simulated: Java heap space"))).concurrency(2));
        UUID healthy = send("a");
        await().atMost(PATIENCE).until(() -> appliedOf(healthy) == 1);
        assertThat(consumer.status().healthy()).isTrue();

        UUID fatal = UUID.randomUUID();
        poison.add(fatal);
        sendWithId(fatal, "b");

        await().atMost(PATIENCE).until(() -> !consumer.isRunning());
        await().atMost(PATIENCE).until(() -> consumer.status().workersAlive() == 0);
        InboxConsumer.Status status = consumer.status();
        assertThat(status.state()).isEqualTo(InboxConsumer.State.FAILED);
        assertThat(status.healthy()).isFalse();
        assertThat(status.workerFailures()).isEqualTo(1);
        assertThat(status.lastFailure()).contains("OutOfMemoryError").contains("simulated: Java heap space");
        assertThat(status.lastFailureAt()).isNotNull();
        assertThat(consumer.deadLetters().countParked()).as("not parked: the JVM may be unable to").isZero();
        assertThat(inboxRowsOf(fatal)).isZero();

        // The next start (the process restarted by its supervisor) gets the record again.
        poison.clear();
        started(consumer("oom", throwingFor(poison, new AssertionError())));
        await().atMost(PATIENCE).until(() -> appliedOf(fatal) == 1);
    }

    @Test
    void aPollThatFailsForGoodStopsTheConsumerLoudly() {
        // No committed offset and auto.offset.reset=none: every poll fails with NoOffsetForPartitionException.
        InboxConsumer consumer = started(consumer("no-offset", throwingFor(Set.of(), new AssertionError()))
                .kafkaProperties(Map.of("auto.offset.reset", "none")).concurrency(2));

        await().atMost(PATIENCE).until(() -> !consumer.isRunning());
        await().atMost(PATIENCE).until(() -> consumer.status().workersAlive() == 0);
        InboxConsumer.Status status = consumer.status();
        assertThat(status.state()).isEqualTo(InboxConsumer.State.FAILED);
        assertThat(status.lastFailure()).contains("NoOffsetForPartitionException");
        assertThat(status.workerFailures()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void statusFollowsTheLifecycle() {
        InboxConsumer consumer = consumer("lifecycle", throwingFor(Set.of(), new AssertionError())).build();
        consumers.add(consumer);
        assertThat(consumer.status().state()).isEqualTo(InboxConsumer.State.NEW);
        assertThat(consumer.isRunning()).isFalse();
        consumer.start();
        assertThat(consumer.status().state()).isEqualTo(InboxConsumer.State.RUNNING);
        assertThat(consumer.isRunning()).isTrue();
        consumer.close();
        assertThat(consumer.status()).isEqualTo(new InboxConsumer.Status(InboxConsumer.State.CLOSED, 1, 0, 0, 0,
                null, null));
        assertThat(consumer.isRunning()).isFalse();
    }
}
