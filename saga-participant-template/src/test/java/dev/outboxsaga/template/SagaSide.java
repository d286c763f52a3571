package dev.outboxsaga.template;

import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.saga.SagaMessages;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * Plays the orchestrator: sends saga commands to the participant's command topic as the relay would
 * publish them (the headers {@code SagaParticipant} reads), and reads replies from the reply topic
 * with {@code read_committed}.
 */
final class SagaSide implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(90);

    /** A reply, as the orchestrator sees it. */
    record SagaReply(String key, String commandId, String correlationId, String type, String outcome, String retryable,
            String reason, String step, String payload) {
    }

    final String replyTo;
    private final String commandTopic;
    private final String replyTopic;
    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> reader;
    private final List<SagaReply> replies = new CopyOnWriteArrayList<>();

    SagaSide(TestKafka kafka, String participant) throws Exception {
        this.replyTo = SagaMessages.replyChannel("orders-" + UUID.randomUUID().toString().substring(0, 8));
        this.commandTopic = SagaMessages.DEFAULT_TOPIC_PREFIX + SagaMessages.commandChannel(participant);
        this.replyTopic = SagaMessages.DEFAULT_TOPIC_PREFIX + replyTo;
        // Created up front, so that neither side waits for auto-creation and a metadata refresh.
        kafka.admin().createTopics(List.of(new NewTopic(commandTopic, 3, (short) 1), new NewTopic(replyTopic, 3, (short) 1)))
                .all().get();
        this.producer = new KafkaProducer<>(kafka.producerConfig());
        this.reader = new KafkaConsumer<>(kafka.consumerConfig("orders-" + UUID.randomUUID()));
        List<TopicPartition> partitions = new ArrayList<>();
        await().atMost(WAIT).until(() -> reader.partitionsFor(replyTopic).size() == 3);
        reader.partitionsFor(replyTopic).forEach(p -> partitions.add(new TopicPartition(replyTopic, p.partition())));
        reader.assign(partitions);
        reader.seekToBeginning(partitions);
    }

    /** A command of a saga of type {@code reservation}; returns its id. */
    UUID send(UUID sagaId, int step, String type, boolean compensation, int attempt, String payload) throws Exception {
        UUID commandId = UUID.randomUUID();
        send(commandId, sagaId, step, type, compensation, attempt, payload);
        return commandId;
    }

    /** The command with the given id: a second call is a redelivery of the same message. */
    void send(UUID commandId, UUID sagaId, int step, String type, boolean compensation, int attempt, String payload)
            throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(commandTopic, bytes(sagaId.toString()), bytes(payload));
        Map<String, String> headers = new HashMap<>();
        headers.put(MessageHeaders.ID, commandId.toString());
        headers.put(MessageHeaders.TYPE, type);
        headers.put(MessageHeaders.CORRELATION_ID, sagaId.toString());
        headers.put(SagaMessages.SAGA_TYPE, "reservation");
        headers.put(SagaMessages.STEP, Integer.toString(step));
        headers.put(SagaMessages.STEP_NAME, "reserve-stock");
        headers.put(SagaMessages.COMMAND_KIND, compensation ? "COMPENSATION" : "FORWARD");
        headers.put(SagaMessages.ATTEMPT, Integer.toString(attempt));
        headers.put(SagaMessages.REPLY_TO, replyTo);
        headers.forEach((name, value) -> record.headers().add(name, bytes(value)));
        producer.send(record).get();
    }

    private BooleanSupplier failFast = () -> false;
    private Supplier<String> failFastReason = () -> "";

    /** Makes {@link #replyTo(UUID)} fail at once when {@code condition} holds, saying {@code reason}. */
    void failFastWhen(BooleanSupplier condition, Supplier<String> reason) {
        this.failFast = condition;
        this.failFastReason = reason;
    }

    /** Waits for the reply to {@code commandId}. */
    SagaReply replyTo(UUID commandId) {
        return await().atMost(WAIT).failFast(() -> {
            if (failFast.getAsBoolean()) {
                throw new AssertionError(failFastReason.get());
            }
        }).until(() -> {
            poll();
            return replies.stream().filter(r -> commandId.toString().equals(r.commandId())).findFirst().orElse(null);
        }, reply -> reply != null);
    }

    /** Every reply read so far (after reading what is there now). */
    List<SagaReply> replies() {
        poll();
        return List.copyOf(replies);
    }

    private void poll() {
        for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(200))) {
            replies.add(new SagaReply(text(record.key()), header(record, SagaMessages.IN_REPLY_TO),
                    header(record, MessageHeaders.CORRELATION_ID), header(record, MessageHeaders.TYPE),
                    header(record, SagaMessages.OUTCOME), header(record, SagaMessages.RETRYABLE),
                    header(record, SagaMessages.REASON), header(record, SagaMessages.STEP), text(record.value())));
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : text(header.value());
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        producer.close();
        reader.close();
    }
}
