package dev.outboxsaga.relay.internal;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The relay's WAL position in Kafka: one compacted, single-partition topic, one key per relay,
 * written inside the same Kafka transaction as the records it covers and read back with
 * {@code read_committed}. So the position can never run ahead of, or behind, what was published.
 */
public final class PositionLog {

    private final String topic;
    private final String relayName;
    private final Map<String, Object> clientConfig;

    public PositionLog(String topic, String relayName, Map<String, Object> clientConfig) {
        this.topic = topic;
        this.relayName = relayName;
        this.clientConfig = clientConfig;
    }

    /** Creates the topic when missing: one partition, compacted, replicated up to three times. */
    public void ensureTopic() {
        try (Admin admin = Admin.create(clientConfig)) {
            if (admin.listTopics().names().get().contains(topic)) {
                return;
            }
            int brokers = admin.describeCluster().nodes().get().size();
            NewTopic newTopic = new NewTopic(topic, 1, (short) Math.min(3, brokers))
                    .configs(Map.of("cleanup.policy", "compact", "min.insync.replicas", brokers >= 3 ? "2" : "1"));
            admin.createTopics(List.of(newTopic)).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("could not create the positions topic " + topic + ": " + e.getCause(), e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating the positions topic " + topic, e);
        }
    }

    /** The last committed position of this relay, or empty when it never committed one. */
    public Optional<Position> read() {
        Map<String, Object> config = new HashMap<>(clientConfig);
        config.put("key.deserializer", ByteArrayDeserializer.class.getName());
        config.put("value.deserializer", ByteArrayDeserializer.class.getName());
        config.put("isolation.level", "read_committed");
        config.put("enable.auto.commit", "false");
        config.remove("group.id");
        byte[] key = relayName.getBytes(StandardCharsets.UTF_8);
        TopicPartition partition = new TopicPartition(topic, 0);
        byte[] last = null;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
            consumer.assign(Set.of(partition));
            consumer.seekToBeginning(Set.of(partition));
            // With read_committed, the end offset is the last stable offset: everything committed.
            long end = consumer.endOffsets(Set.of(partition)).get(partition);
            while (consumer.position(partition) < end) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (java.util.Arrays.equals(record.key(), key)) {
                        last = record.value();
                    }
                }
            }
        }
        return Optional.ofNullable(last).map(PositionLog::decode);
    }

    /** The record that stores {@code position}, to send inside the transaction it covers. */
    public ProducerRecord<byte[], byte[]> record(Position position) {
        Map<String, Object> value = new HashMap<>(position.toStored());
        value.put("committedAt", System.currentTimeMillis());
        return new ProducerRecord<>(topic, 0, relayName.getBytes(StandardCharsets.UTF_8), DebeziumOffsets.toJson(value));
    }

    private static Position decode(byte[] json) {
        return Position.fromStored(DebeziumOffsets.mapFromJson(json));
    }
}
