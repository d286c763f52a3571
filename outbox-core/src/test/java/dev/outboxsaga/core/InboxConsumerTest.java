package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.internal.InboxHooks;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(OutboxSagaExtension.class)
class InboxConsumerTest {

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
        // The handler's business effect: one row per application, with the order it was applied in.
        // tx: the top-level transaction that applied it (savepoints included), to see what committed together.
        db.execute("CREATE TABLE applied (seq bigserial PRIMARY KEY, message_id uuid NOT NULL, aggregate text, n int, "
                + "tx bigint NOT NULL DEFAULT txid_current())");
        topic = kafka.uniqueTopic("inbox");
        Map<String, Object> config = new java.util.HashMap<>(kafka.producerConfig());
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(config);
    }

    @AfterEach
    void tearDown() {
        consumers.forEach(InboxConsumer::close);
        producer.close();
    }

    /** Records the message as applied; the inbox makes sure that happens once per message id. */
    private static final MessageHandler APPLY = (message, context) -> {
        try (PreparedStatement insert = context.connection().prepareStatement(
                "INSERT INTO applied (message_id, aggregate, n) VALUES (?, ?, ?)")) {
            insert.setObject(1, message.id());
            insert.setString(2, message.key());
            insert.setInt(3, Integer.parseInt(message.payload().replaceAll("\\D", "")));
            insert.executeUpdate();
        }
    };

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

    private UUID send(UUID id, String key, int n) throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
                ("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8));
        if (id != null) {
            record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
            record.headers().add(MessageHeaders.TYPE, "Counted".getBytes(StandardCharsets.UTF_8));
        }
        producer.send(record).get();
        return id;
    }

    private long applied() {
        return scalar("SELECT count(*) FROM applied");
    }

    /**
     * Waits until {@link #applied()} has not changed for two seconds: a message applied a second time
     * (a redelivery after the rebalance) would come after the expected count was reached.
     */
    private void awaitQuiet() {
        long[] last = {-1};
        long[] since = {System.nanoTime()};
        await().atMost(PATIENCE).pollInterval(Duration.ofMillis(200)).until(() -> {
            long now = applied();
            if (now != last[0]) {
                last[0] = now;
                since[0] = System.nanoTime();
                return false;
            }
            return System.nanoTime() - since[0] >= java.util.concurrent.TimeUnit.SECONDS.toNanos(2);
        });
    }

    private long scalar(String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    private long appliedOf(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM applied WHERE message_id = :id")
                .bind("id", id).mapTo(Long.class).one());
    }

    @Test
    void aMessageDeliveredTwiceTakesEffectOnce() throws Exception {
        InboxConsumer consumer = started(consumer("once", APPLY));
        UUID id = UUID.randomUUID();
        send(id, "k", 1);
        send(id, "k", 1);
        UUID other = send(UUID.randomUUID(), "k", 2);

        await().atMost(PATIENCE).until(() -> appliedOf(other) == 1);
        assertThat(appliedOf(id)).isEqualTo(1);
        assertThat(consumer.stats()).isEqualTo(new InboxConsumer.Stats(2, 1, 0, 0));
        assertThat(scalar("SELECT count(*) FROM inbox_message WHERE consumer = 'once' AND outcome = 'PROCESSED'"))
                .isEqualTo(2);
    }

    @Test
    void aCrashBetweenDatabaseCommitAndOffsetCommitReplaysTheRecordWithoutASecondEffect() throws Exception {
        UUID id = UUID.randomUUID();
        AtomicBoolean crashed = new AtomicBoolean();
        InboxConsumer first = started(consumer("crashy", APPLY).groupId("crashy-group").hooks(new InboxHooks() {
            @Override
            public void afterDatabaseCommit(ConsumerRecord<byte[], byte[]> record) {
                if (crashed.compareAndSet(false, true)) {
                    throw new IllegalStateException("killed after the database commit");
                }
            }
        }));
        send(id, "k", 1);
        await().atMost(PATIENCE).until(() -> crashed.get() && !first.isRunning());
        assertThat(appliedOf(id)).as("the database transaction committed before the crash").isEqualTo(1);

        InboxConsumer second = started(consumer("crashy", APPLY).groupId("crashy-group"));
        UUID next = send(UUID.randomUUID(), "k", 2);
        await().atMost(PATIENCE).until(() -> appliedOf(next) == 1);
        assertThat(second.stats().duplicates()).as("the replayed record was seen again").isEqualTo(1);
        assertThat(appliedOf(id)).as("but applied once").isEqualTo(1);
    }

    @Test
    void aPoisonRecordIsParkedWithItsReasonAndTheNextRecordIsProcessed() throws Exception {
        UUID poison = UUID.randomUUID();
        AtomicBoolean fixed = new AtomicBoolean();
        MessageHandler handler = (message, context) -> {
            if (message.id().equals(poison) && !fixed.get()) {
                throw new IllegalArgumentException("cannot apply n=" + message.payload());
            }
            APPLY.handle(message, context);
        };
        InboxConsumer consumer = started(consumer("poison", handler));
        send(poison, "k", 1);
        UUID healthy = send(UUID.randomUUID(), "k", 2);

        await().atMost(PATIENCE).until(() -> appliedOf(healthy) == 1);
        assertThat(appliedOf(poison)).isZero();
        List<DeadLetter> parked = consumer.deadLetters().parked(10);
        assertThat(parked).hasSize(1);
        DeadLetter letter = parked.get(0);
        assertThat(letter.messageId()).isEqualTo(poison);
        assertThat(letter.errorClass()).isEqualTo(IllegalArgumentException.class.getName());
        assertThat(letter.errorMessage()).isEqualTo("cannot apply n={\"n\":1}");
        assertThat(letter.errorStack()).contains("InboxConsumerTest");
        assertThat(letter.attempts()).isEqualTo(3);
        assertThat(letter.valueText()).isEqualTo("{\"n\":1}");
        assertThat(new String(letter.key(), StandardCharsets.UTF_8)).isEqualTo("k");
        assertThat(letter.headers()).extracting(DeadLetter.Header::key).containsExactly("id", "eventType");
        assertThat(letter.topic()).isEqualTo(topic);
        assertThat(consumer.stats().parked()).isEqualTo(1);
        assertThat(consumer.stats().retries()).isEqualTo(2);

        // The operator fixes the cause and replays: the effect happens, once.
        fixed.set(true);
        consumer.deadLetters().replay(letter.id());
        assertThat(appliedOf(poison)).isEqualTo(1);
        assertThat(consumer.deadLetters().find(letter.id()).orElseThrow().status()).isEqualTo(DeadLetter.Status.REPLAYED);
        assertThatThrownBy(() -> consumer.deadLetters().replay(letter.id()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no parked dead letter");
        assertThat(appliedOf(poison)).isEqualTo(1);
        assertThat(consumer.deadLetters().countParked()).isZero();
    }

    @Test
    void aReplayThatFailsAgainKeepsTheMessageParkedAndRecordsTheAttempt() throws Exception {
        MessageHandler alwaysFails = (message, context) -> {
            throw new java.io.IOException("downstream still broken");
        };
        InboxConsumer consumer = started(consumer("stubborn", alwaysFails).retryPolicy(RetryPolicy.noRetries()));
        send(UUID.randomUUID(), "k", 1);
        await().atMost(PATIENCE).until(() -> consumer.deadLetters().countParked() == 1);
        DeadLetter letter = consumer.deadLetters().parked(1).get(0);
        assertThat(letter.attempts()).isEqualTo(1);

        assertThatThrownBy(() -> consumer.deadLetters().replay(letter.id()))
                .isInstanceOf(OutboxException.class).hasMessageContaining("downstream still broken");
        DeadLetter after = consumer.deadLetters().find(letter.id()).orElseThrow();
        assertThat(after.status()).isEqualTo(DeadLetter.Status.PARKED);
        assertThat(after.attempts()).isEqualTo(2);

        consumer.deadLetters().discard(letter.id(), "superseded by a manual correction");
        DeadLetter discarded = consumer.deadLetters().find(letter.id()).orElseThrow();
        assertThat(discarded.status()).isEqualTo(DeadLetter.Status.DISCARDED);
        assertThat(discarded.resolutionNote()).isEqualTo("superseded by a manual correction");
        assertThat(discarded.resolvedAt()).isNotNull();
    }

    @Test
    void aRecordWithoutAMessageIdIsParkedUnreadAndDoesNotBlockTheRest() throws Exception {
        InboxConsumer consumer = started(consumer("noid", APPLY));
        send(null, "k", 1);
        UUID healthy = send(UUID.randomUUID(), "k", 2);
        await().atMost(PATIENCE).until(() -> appliedOf(healthy) == 1);
        assertThat(applied()).isEqualTo(1);
        DeadLetter letter = consumer.deadLetters().parked(10).get(0);
        assertThat(letter.messageId()).isNull();
        assertThat(letter.attempts()).isZero();
        assertThat(letter.errorMessage()).contains("has no 'id' header");
        assertThatThrownBy(() -> consumer.deadLetters().replay(letter.id()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("has no message id");
    }

    @Test
    void aTransientFailureIsRetriedThenSucceedsOnce() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        InboxConsumer consumer = started(consumer("flaky", (message, context) -> {
            APPLY.handle(message, context);
            if (calls.incrementAndGet() < 3) {
                throw new java.net.SocketTimeoutException("downstream timed out");
            }
        }));
        UUID id = send(UUID.randomUUID(), "k", 1);
        await().atMost(PATIENCE).until(() -> consumer.stats().processed() == 1);
        assertThat(calls.get()).isEqualTo(3);
        assertThat(appliedOf(id)).as("the failed attempts rolled back with their inbox claim").isEqualTo(1);
        assertThat(consumer.stats().retries()).isEqualTo(2);
    }

    @Test
    void followUpMessagesCommitWithTheHandlersEffectAndCarryCorrelationAndTrace() throws Exception {
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        AtomicBoolean failOnce = new AtomicBoolean(true);
        InboxConsumer consumer = started(consumer("replier", (message, context) -> {
            APPLY.handle(message, context);
            context.send(context.newMessage().aggregate("reply", message.key()).type("Done")
                    .payload("{\"for\": \"" + message.id() + "\"}").build());
            if (failOnce.getAndSet(false)) {
                throw new IllegalStateException("fail after sending: the reply must roll back too");
            }
        }));
        UUID id = UUID.randomUUID();
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8),
                "{\"n\":1}".getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.CORRELATION_ID, "saga-9".getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.TRACEPARENT, traceparent.getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();

        await().atMost(PATIENCE).until(() -> consumer.stats().processed() == 1);
        var reply = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT type, correlationid, headers->>'traceparent' AS tp, payload->>'for' AS for_id FROM outbox_event")
                .mapToMap().list());
        assertThat(reply).hasSize(1);
        assertThat(reply.get(0)).containsEntry("type", "Done").containsEntry("correlationid", "saga-9")
                .containsEntry("tp", traceparent).containsEntry("for_id", id.toString());
    }

    @Test
    void twoConsumersInAGroupShareTheWorkWhileOneLeavesAndEachMessageTakesEffectOnceInKeyOrder() throws Exception {
        InboxConsumer first = started(consumer("shared", APPLY).concurrency(2));
        int keys = 12;
        int perKey = 40;
        for (int n = 0; n < perKey / 2; n++) {
            for (int k = 0; k < keys; k++) {
                send(UUID.randomUUID(), "key-" + k, n);
            }
        }
        InboxConsumer second = started(consumer("shared", APPLY));
        await().atMost(PATIENCE).until(() -> applied() >= keys * perKey / 4);
        first.close();
        for (int n = perKey / 2; n < perKey; n++) {
            for (int k = 0; k < keys; k++) {
                send(UUID.randomUUID(), "key-" + k, n);
            }
        }
        await().atMost(PATIENCE).until(() -> applied() >= (long) keys * perKey);
        awaitQuiet();
        assertThat(applied()).isEqualTo((long) keys * perKey);
        assertThat(scalar("SELECT count(DISTINCT message_id) FROM applied")).isEqualTo((long) keys * perKey);
        for (int k = 0; k < keys; k++) {
            String aggregate = "key-" + k;
            List<Integer> order = db.jdbi().withHandle(h -> h.createQuery(
                    "SELECT n FROM applied WHERE aggregate = :a ORDER BY seq").bind("a", aggregate)
                    .mapTo(Integer.class).list());
            assertThat(order).as("order of %s", aggregate).hasSize(perKey).isSorted();
        }
        assertThat(second.isRunning()).isTrue();
    }

    @Test
    void purgingTheInboxRemovesOnlyThisConsumersOldRows() throws Exception {
        InboxConsumer consumer = started(consumer("purger", APPLY));
        for (int i = 0; i < 7; i++) {
            send(UUID.randomUUID(), "k", i);
        }
        await().atMost(PATIENCE).until(() -> consumer.stats().processed() == 7);
        db.execute("INSERT INTO inbox_message (consumer, message_id, received_at) "
                + "VALUES ('someone-else', gen_random_uuid(), now() - interval '30 days')");
        db.execute("UPDATE inbox_message SET received_at = now() - interval '30 days' WHERE consumer = 'purger' "
                + "AND message_id IN (SELECT message_id FROM inbox_message WHERE consumer = 'purger' LIMIT 5)");
        assertThat(consumer.purgeInbox(Duration.ofDays(14), 2)).isEqualTo(5);
        assertThat(scalar("SELECT count(*) FROM inbox_message WHERE consumer = 'purger'")).isEqualTo(2);
        assertThat(scalar("SELECT count(*) FROM inbox_message WHERE consumer = 'someone-else'")).isEqualTo(1);
    }

    /** Sends to partition 0 of a one-partition topic, so that every record shares one partition. */
    private UUID sendToOnePartition(String key, int n) throws Exception {
        UUID id = UUID.randomUUID();
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, 0, key.getBytes(StandardCharsets.UTF_8),
                ("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.TYPE, "Counted".getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();
        return id;
    }

    private List<Integer> appliedOrderOf(String key) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT n FROM applied WHERE aggregate = :key ORDER BY seq")
                .bind("key", key).mapTo(Integer.class).list());
    }

    @Test
    void aSlowHandlerOnOneKeyDoesNotHoldUpTheOtherKeysOfItsPartition() throws Exception {
        topic = kafka.uniqueTopic("inbox-slow", 1);
        java.util.concurrent.CountDownLatch slowMayFinish = new java.util.concurrent.CountDownLatch(1);
        MessageHandler slowForOneKey = (message, context) -> {
            if (message.key().equals("slow") && !slowMayFinish.await(PATIENCE.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test never let the slow handler finish");
            }
            APPLY.handle(message, context);
        };
        started(consumer("slow-key", slowForOneKey));
        sendToOnePartition("slow", 1);
        for (int n = 1; n <= 20; n++) {
            sendToOnePartition("fast-" + (n % 4), n);
        }
        sendToOnePartition("slow", 2);

        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(scalar("SELECT count(*) FROM applied WHERE aggregate LIKE 'fast-%'")).isEqualTo(20));
        assertThat(appliedOrderOf("slow")).as("the slow key's records wait for its first one").isEmpty();
        for (int k = 0; k < 4; k++) {
            List<Integer> order = appliedOrderOf("fast-" + k);
            assertThat(order).as("each key in its partition order").isSorted().hasSize(5);
        }

        slowMayFinish.countDown();
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(appliedOrderOf("slow")).containsExactly(1, 2));
        awaitQuiet();
        assertThat(applied()).isEqualTo(22);
    }

    @Test
    void partitionOrderingHandlesEveryRecordOfAPartitionInOffsetOrder() throws Exception {
        topic = kafka.uniqueTopic("inbox-partition-order", 1);
        java.util.Random random = new java.util.Random(7);
        MessageHandler jittery = (message, context) -> {
            // Uneven handler times: with key ordering, later keys would overtake earlier ones.
            Thread.sleep(message.key().equals("k0") ? 20 : 0);
            APPLY.handle(message, context);
        };
        for (int n = 1; n <= 40; n++) {
            sendToOnePartition("k" + random.nextInt(4), n);
        }
        started(consumer("partition-order", jittery).ordering(InboxConsumer.Ordering.PARTITION).maxBatchSize(1));
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(applied()).isEqualTo(40));
        List<Integer> order = db.jdbi().withHandle(h -> h.createQuery("SELECT n FROM applied ORDER BY seq")
                .mapTo(Integer.class).list());
        assertThat(order).isSorted();
    }

    @Test
    void aBatchCommitsInOneTransactionAndAFailingRecordRollsBackAloneKeepingItsKeysOrder() throws Exception {
        topic = kafka.uniqueTopic("inbox-batch", 1);
        AtomicInteger failuresLeft = new AtomicInteger(1);
        MessageHandler failsOnceAt13 = (message, context) -> {
            APPLY.handle(message, context);
            // After its own write: that write must be rolled back with the failure, and nothing else.
            if (message.payload().contains(":13}") && failuresLeft.getAndDecrement() > 0) {
                throw new IllegalStateException("injected failure at 13");
            }
        };
        List<UUID> ids = new ArrayList<>();
        for (int n = 1; n <= 30; n++) {
            ids.add(sendToOnePartition("k", n));
        }
        InboxConsumer consumer = started(consumer("batch", failsOnceAt13).parallelism(1).maxBatchSize(50));

        await().atMost(PATIENCE).untilAsserted(() -> assertThat(applied()).isEqualTo(30));
        awaitQuiet();
        assertThat(appliedOrderOf("k")).as("the key's order holds across the failure and its retry")
                .isEqualTo(java.util.stream.IntStream.rangeClosed(1, 30).boxed().toList());
        for (UUID id : ids) {
            assertThat(appliedOf(id)).as("message %s", id).isEqualTo(1);
        }
        // 30 records, one retried alone, in a few transactions rather than one each.
        assertThat(scalar("SELECT count(DISTINCT tx) FROM applied")).isLessThan(10);
        assertThat(consumer.stats()).isEqualTo(new InboxConsumer.Stats(30, 0, 0, 1));
    }

    @Test
    void badSettingsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> InboxConsumer.builder().build()).hasMessageContaining("name");
        assertThatThrownBy(() -> consumer("x", APPLY).topics(" ").build()).hasMessageContaining("topics");
        assertThatThrownBy(() -> consumer("x", APPLY).concurrency(0).build()).hasMessageContaining("concurrency");
        assertThatThrownBy(() -> consumer("x", APPLY).inboxTable("inbox-message"))
                .hasMessageContaining("inboxTable");
        assertThatThrownBy(() -> consumer("x", APPLY).parallelism(0).build()).hasMessageContaining("parallelism");
        assertThatThrownBy(() -> consumer("x", APPLY).maxBatchSize(0).build()).hasMessageContaining("maxBatchSize");
        assertThatThrownBy(() -> InboxConsumer.builder().name("x").dataSource(db.dataSource()).topics("t")
                .handler(APPLY).build()).hasMessageContaining("bootstrapServers");
    }
}
