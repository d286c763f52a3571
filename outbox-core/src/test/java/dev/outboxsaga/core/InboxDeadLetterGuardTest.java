package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The inbox row of a parked message is the guard that makes its later replay (or a redelivery of the
 * original record) take effect once: purging the inbox must keep it while the dead letter is unresolved.
 * The handler's effect is counted in a table without any unique constraint, so a second application
 * would show.
 */
@ExtendWith(OutboxSagaExtension.class)
class InboxDeadLetterGuardTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

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
        topic = kafka.uniqueTopic("guard");
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

    /** Fails while {@code broken} is set, else records one application of the message. */
    private static MessageHandler applyUnless(AtomicBoolean broken) {
        return (message, context) -> {
            if (broken.get()) {
                throw new IllegalStateException("downstream broken");
            }
            try (PreparedStatement insert = context.connection().prepareStatement(
                    "INSERT INTO applied (message_id) VALUES (?)")) {
                insert.setObject(1, message.id());
                insert.executeUpdate();
            }
        };
    }

    private InboxConsumer started(String name, MessageHandler handler) {
        InboxConsumer consumer = InboxConsumer.builder()
                .name(name)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topics(topic)
                .handler(handler)
                .retryPolicy(RetryPolicy.noRetries())
                .build();
        consumers.add(consumer);
        return consumer.start();
    }

    private void send(UUID id) throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8),
                "{\"n\":1}".getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.TYPE, "Counted".getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();
    }

    private long appliedOf(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM applied WHERE message_id = :id")
                .bind("id", id).mapTo(Long.class).one());
    }

    private long inboxRows(String consumer, UUID id, String outcome) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM inbox_message "
                        + "WHERE consumer = :c AND message_id = :id AND outcome = :o")
                .bind("c", consumer).bind("id", id).bind("o", outcome).mapTo(Long.class).one());
    }

    @Test
    void purgeKeepsTheGuardOfAnUnresolvedDeadLetterSoARedeliveryAndAReplayTakeEffectOnce() throws Exception {
        AtomicBoolean broken = new AtomicBoolean(true);
        InboxConsumer consumer = started("guarded", applyUnless(broken));
        UUID poison = UUID.randomUUID();
        send(poison);
        await().atMost(PATIENCE).until(() -> consumer.deadLetters().countParked() == 1);
        DeadLetter letter = consumer.deadLetters().parked(1).get(0);

        consumer.purgeInbox(Duration.ZERO, 100);
        assertThat(inboxRows("guarded", poison, "PARKED")).as("the parked message's inbox row survives the purge")
                .isEqualTo(1);

        // The cause is fixed; the producer (or a consumer-group reset) delivers the original record again.
        broken.set(false);
        send(poison);
        UUID marker = UUID.randomUUID();
        send(marker);
        await().atMost(PATIENCE).until(() -> appliedOf(marker) == 1);
        assertThat(appliedOf(poison)).as("the redelivery of a parked message is a duplicate").isZero();

        // The operator replays the dead letter, twice by mistake: one effect.
        consumer.deadLetters().replay(letter.id());
        assertThatThrownBy(() -> consumer.deadLetters().replay(letter.id()))
                .isInstanceOf(IllegalStateException.class);
        assertThat(appliedOf(poison)).as("redelivered once, replayed twice: applied once").isEqualTo(1);
        assertThat(inboxRows("guarded", poison, "PROCESSED")).isEqualTo(1);
    }

    @Test
    void purgeRemovesTheRowOnceTheDeadLetterIsReplayedOrDiscarded() throws Exception {
        AtomicBoolean broken = new AtomicBoolean(true);
        InboxConsumer consumer = started("resolved", applyUnless(broken));
        UUID replayed = UUID.randomUUID();
        UUID discarded = UUID.randomUUID();
        UUID parked = UUID.randomUUID();
        send(replayed);
        send(discarded);
        send(parked);
        await().atMost(PATIENCE).until(() -> consumer.deadLetters().countParked() == 3);
        Map<UUID, Long> letters = new HashMap<>();
        consumer.deadLetters().parked(3).forEach(letter -> letters.put(letter.messageId(), letter.id()));
        broken.set(false);
        consumer.deadLetters().replay(letters.get(replayed));
        consumer.deadLetters().discard(letters.get(discarded), "not needed");

        assertThat(consumer.purgeInbox(Duration.ZERO, 1)).isEqualTo(2);
        assertThat(inboxRows("resolved", replayed, "PROCESSED")).isZero();
        assertThat(inboxRows("resolved", discarded, "PARKED")).isZero();
        assertThat(inboxRows("resolved", parked, "PARKED")).isEqualTo(1);
    }

    @Test
    void aReplayAfterTheMessageWasProcessedByARedeliveryDoesNotRunTheHandlerAgain() throws Exception {
        // Rows purged by an earlier version of purgeInbox: the parked message was then processed by a redelivery.
        AtomicBoolean broken = new AtomicBoolean(true);
        InboxConsumer consumer = started("legacy", applyUnless(broken));
        UUID poison = UUID.randomUUID();
        send(poison);
        await().atMost(PATIENCE).until(() -> consumer.deadLetters().countParked() == 1);
        DeadLetter letter = consumer.deadLetters().parked(1).get(0);
        db.execute("DELETE FROM inbox_message WHERE consumer = 'legacy'");
        broken.set(false);
        send(poison);
        await().atMost(PATIENCE).until(() -> appliedOf(poison) == 1);

        consumer.deadLetters().replay(letter.id());
        assertThat(appliedOf(poison)).isEqualTo(1);
        DeadLetter resolved = consumer.deadLetters().find(letter.id()).orElseThrow();
        assertThat(resolved.status()).isEqualTo(DeadLetter.Status.REPLAYED);
        assertThat(resolved.resolutionNote()).contains("already processed");
    }
}
