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
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Dead-letter replays that the console or the CLI queue in {@code operator_action} (written here by hand, as they
 * write them) are carried out by the running consumer they name, in one transaction with their outcome. One
 * consumer serves the whole class; each test parks messages of its own. The handler's effect is counted in a table
 * without a unique constraint, so a second application would show.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeadLetterReplayActionTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final String NAME = "replays";

    private TestDatabase db;
    private String topic;
    private KafkaProducer<byte[], byte[]> producer;
    private InboxConsumer consumer;
    /** Messages whose handler fails. */
    private final Set<UUID> broken = ConcurrentHashMap.newKeySet();

    @BeforeAll
    void startConsumer(TestDatabase db, TestKafka kafka) {
        this.db = db;
        OutboxSchema.migrate(db.dataSource());
        db.execute("CREATE TABLE applied (seq bigserial PRIMARY KEY, message_id uuid NOT NULL)");
        topic = kafka.uniqueTopic("replays");
        Map<String, Object> config = new HashMap<>(kafka.producerConfig());
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(config);
        consumer = InboxConsumer.builder()
                .name(NAME)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topics(topic)
                .retryPolicy(RetryPolicy.noRetries())
                .operatorActionPollInterval(Duration.ofMillis(100))
                .handler((message, context) -> {
                    if (broken.contains(message.id())) {
                        throw new IllegalStateException("downstream broken for " + message.id());
                    }
                    try (PreparedStatement insert = context.connection().prepareStatement(
                            "INSERT INTO applied (message_id) VALUES (?)")) {
                        insert.setObject(1, message.id());
                        insert.executeUpdate();
                    }
                })
                .build()
                .start();
    }

    @AfterAll
    void stopConsumer() {
        consumer.close();
        producer.close();
    }

    @Test
    void aQueuedReplayIsCarriedOutOnceByTheRunningConsumerAndRecordedDone() throws Exception {
        UUID message = UUID.randomUUID();
        long deadLetter = park(message);
        broken.remove(message);

        long first = queue("REPLAY", deadLetter, NAME);
        long twice = queue("REPLAY", deadLetter, NAME);

        Action done = awaitEnded(first);
        assertThat(done.status()).isEqualTo("DONE");
        assertThat(done.outcome()).isEqualTo("replayed dead letter " + deadLetter + ": the handler ran");
        assertThat(done.doneAt()).isAfterOrEqualTo(done.requestedAt());
        Action repeated = awaitEnded(twice);
        assertThat(repeated.status()).as("the same replay queued twice").isEqualTo("FAILED");
        assertThat(repeated.outcome()).isEqualTo("no parked dead letter " + deadLetter + " for consumer " + NAME);
        assertThat(applied(message)).isEqualTo(1);
        assertThat(consumer.deadLetters().find(deadLetter).orElseThrow().status()).isEqualTo(DeadLetter.Status.REPLAYED);
        assertThat(inboxOutcome(message)).isEqualTo("PROCESSED");
    }

    @Test
    void aReplayWhoseHandlerFailsAgainIsFailedWithTheReasonAndTheDeadLetterStaysParked() throws Exception {
        UUID message = UUID.randomUUID();
        long deadLetter = park(message);
        int attempts = consumer.deadLetters().find(deadLetter).orElseThrow().attempts();

        Action failed = awaitEnded(queue("REPLAY", deadLetter, NAME));

        assertThat(failed.status()).isEqualTo("FAILED");
        assertThat(failed.outcome()).isEqualTo("replay of dead letter " + deadLetter + " failed again: "
                + "java.lang.IllegalStateException: downstream broken for " + message);
        assertThat(failed.doneAt()).isNotNull();
        DeadLetter stillParked = consumer.deadLetters().find(deadLetter).orElseThrow();
        assertThat(stillParked.status()).isEqualTo(DeadLetter.Status.PARKED);
        assertThat(stillParked.attempts()).as("the failed replay counts as an attempt").isEqualTo(attempts + 1);
        assertThat(stillParked.errorMessage()).isEqualTo("downstream broken for " + message);
        assertThat(applied(message)).isZero();

        // Once fixed, the operator queues the replay again; the failed action is not retried by itself.
        broken.remove(message);
        assertThat(awaitEnded(queue("REPLAY", deadLetter, NAME)).status()).isEqualTo("DONE");
        assertThat(action(failed.id()).status()).isEqualTo("FAILED");
        assertThat(consumer.deadLetters().find(deadLetter).orElseThrow().attempts()).isEqualTo(attempts + 1);
        assertThat(applied(message)).isEqualTo(1);
    }

    /** The same through the API: a handler's IllegalStateException is its failure, not a refusal of the replay. */
    @Test
    void aDirectReplayWhoseHandlerThrowsIllegalStateIsRecordedAsAFailedAttempt() throws Exception {
        UUID message = UUID.randomUUID();
        long deadLetter = park(message);
        int attempts = consumer.deadLetters().find(deadLetter).orElseThrow().attempts();

        assertThatThrownBy(() -> consumer.deadLetters().replay(deadLetter))
                .isInstanceOf(OutboxException.class)
                .hasMessage("replay of dead letter " + deadLetter + " failed again: "
                        + "java.lang.IllegalStateException: downstream broken for " + message)
                .cause().isInstanceOf(IllegalStateException.class);
        DeadLetter stillParked = consumer.deadLetters().find(deadLetter).orElseThrow();
        assertThat(stillParked.status()).isEqualTo(DeadLetter.Status.PARKED);
        assertThat(stillParked.attempts()).isEqualTo(attempts + 1);
    }

    @Test
    void actionsForAnotherConsumerAreLeftPendingAndUnknownOnesFailNamingTheAction() throws Exception {
        UUID message = UUID.randomUUID();
        long deadLetter = park(message);
        broken.remove(message);

        long otherConsumer = queue("REPLAY", deadLetter, "someone-else");
        long otherKind = insertAction("SAGA", "REPLAY", Long.toString(deadLetter), NAME, null);
        long unknown = queue("DISCARD", deadLetter, NAME);
        long notAnId = insertAction("DEAD_LETTER", "REPLAY", "dl-" + deadLetter, NAME, null);
        // The oldest first: once this one is done, the poller has been past all the others.
        long replay = queue("REPLAY", deadLetter, NAME);

        assertThat(awaitEnded(replay).status()).isEqualTo("DONE");
        assertThat(action(unknown)).satisfies(action -> {
            assertThat(action.status()).isEqualTo("FAILED");
            assertThat(action.outcome()).isEqualTo("unknown action 'DISCARD' for a dead letter: a consumer carries out "
                    + "REPLAY only");
        });
        assertThat(action(notAnId).outcome()).isEqualTo("target_id 'dl-" + deadLetter + "' is not a dead letter id");
        assertThat(action(otherConsumer).status()).isEqualTo("PENDING");
        assertThat(action(otherConsumer).doneAt()).isNull();
        assertThat(action(otherKind).status()).isEqualTo("PENDING");
        assertThat(applied(message)).isEqualTo(1);
    }

    @Test
    void aNegativePollIntervalIsRefusedNamingIt() {
        assertThatThrownBy(() -> InboxConsumer.builder().name("x").dataSource(db.dataSource())
                .bootstrapServers("localhost:1").topics("t").handler((message, context) -> { })
                .operatorActionPollInterval(Duration.ofSeconds(-1)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("operatorActionPollInterval must be zero (off) or positive, but was PT-1S");
    }

    // ---------------------------------------------------------------------------------------------

    /** An {@code operator_action} row. */
    record Action(long id, String status, String outcome, Instant requestedAt, Instant doneAt) {
    }

    /** Sends a message whose handler fails, and waits until it is parked; returns the dead letter's id. */
    private long park(UUID message) throws Exception {
        broken.add(message);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, message.toString().getBytes(
                StandardCharsets.UTF_8), "{}".getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, message.toString().getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.TYPE, "Counted".getBytes(StandardCharsets.UTF_8));
        producer.send(record).get();
        return await().atMost(PATIENCE).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                        "SELECT id FROM dead_letter WHERE consumer = :c AND message_id = :m AND status = 'PARKED'")
                .bind("c", NAME).bind("m", message).mapTo(Long.class).findOne()), found -> found.isPresent()).get();
    }

    private long queue(String action, long deadLetter, String consumerName) {
        return insertAction("DEAD_LETTER", action, Long.toString(deadLetter), consumerName, null);
    }

    private long insertAction(String kind, String action, String target, String scope, String note) {
        return db.jdbi().withHandle(h -> h.createQuery("INSERT INTO operator_action (actor, action, target_kind, "
                        + "target_id, scope, note) VALUES ('console:alice', :action, :kind, :target, :scope, :note) "
                        + "RETURNING id")
                .bind("action", action).bind("kind", kind).bind("target", target).bind("scope", scope)
                .bind("note", note).mapTo(Long.class).one());
    }

    private Action action(long id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT id, status, outcome, requested_at, done_at "
                        + "FROM operator_action WHERE id = :id")
                .bind("id", id)
                .map((rows, context) -> new Action(rows.getLong(1), rows.getString(2), rows.getString(3),
                        rows.getTimestamp(4).toInstant(),
                        rows.getTimestamp(5) == null ? null : rows.getTimestamp(5).toInstant()))
                .one());
    }

    private Action awaitEnded(long id) {
        return await().atMost(PATIENCE).until(() -> action(id), action -> !action.status().equals("PENDING"));
    }

    private long applied(UUID message) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM applied WHERE message_id = :m")
                .bind("m", message).mapTo(Long.class).one());
    }

    private String inboxOutcome(UUID message) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT outcome FROM inbox_message WHERE consumer = :c "
                + "AND message_id = :m").bind("c", NAME).bind("m", message).mapTo(String.class).one());
    }
}
