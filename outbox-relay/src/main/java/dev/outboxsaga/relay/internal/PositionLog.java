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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's WAL position in Kafka: one compacted, single-partition topic, one key per relay,
 * written inside the same Kafka transaction as the records it covers and read back with
 * {@code read_committed}. So the position can never run ahead of, or behind, what was published.
 */
public final class PositionLog {

    private static final Logger LOG = LoggerFactory.getLogger(PositionLog.class);

    /** How long {@link #read()} waits for another producer's transaction on the topic to end. */
    static final Duration OTHER_TRANSACTION_PATIENCE = Duration.ofMinutes(6);

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
        return read(true);
    }

    /**
     * The last committed position without waiting for open transactions: for an operator's look while the
     * relay runs (its own transactions are open most of the time), never for resuming.
     */
    public Optional<Position> readNow() {
        return read(false);
    }

    private Optional<Position> read(boolean waitForOtherTransactions) {
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
            long end = waitForOtherTransactions ? stableEnd(consumer, partition, config)
                    : consumer.endOffsets(Set.of(partition)).get(partition);
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

    /**
     * The end of what {@link #read()} must read: the last stable offset, once no transaction of another
     * producer holds it back. Callers fence this relay's own earlier transactions first, so a gap between
     * the last stable offset and the high watermark is another producer's open transaction, e.g. of a
     * relay that shares this topic through {@code positions.topic} and was killed inside a transaction.
     * Positions this relay committed behind it are invisible to read_committed readers until it ends;
     * reading only up to it would return an older position, and the relay would publish again what it
     * published since (RelayCrashTest caught it). So wait, up to {@link #OTHER_TRANSACTION_PATIENCE}
     * (the relay's own transactions time out after 5 minutes).
     */
    private long stableEnd(KafkaConsumer<byte[], byte[]> committed, TopicPartition partition, Map<String, Object> config) {
        Map<String, Object> uncommittedConfig = new HashMap<>(config);
        uncommittedConfig.put("isolation.level", "read_uncommitted");
        long started = System.nanoTime();
        boolean warned = false;
        try (KafkaConsumer<byte[], byte[]> uncommitted = new KafkaConsumer<>(uncommittedConfig)) {
            while (true) {
                // With read_committed, the end offset is the last stable offset: everything committed.
                long stable = committed.endOffsets(Set.of(partition)).get(partition);
                long high = uncommitted.endOffsets(Set.of(partition)).get(partition);
                if (stable >= high) {
                    if (warned) {
                        LOG.warn("positions topic {}: the other transaction has ended; reading relay {}'s position",
                                topic, relayName);
                    }
                    return stable;
                }
                Duration waited = Duration.ofNanos(System.nanoTime() - started);
                if (waited.compareTo(OTHER_TRANSACTION_PATIENCE) > 0) {
                    throw new IllegalStateException("positions topic " + topic + " has had a transaction of another "
                            + "producer open at offset " + stable + " for " + waited.toSeconds() + " s, which hides "
                            + "relay " + relayName + "'s last position; give each relay a positions.topic of its own");
                }
                if (!warned) {
                    warned = true;
                    LOG.warn("positions topic {}: a transaction of another producer is open at offset {} (end {}) and "
                            + "may hide relay {}'s last position; waiting for it to end. Is the topic shared with "
                            + "another relay (positions.topic)? Each relay should have its own.", topic, stable, high,
                            relayName);
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for a transaction on " + topic, e);
                }
            }
        }
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
