package dev.outboxsaga.console.internal.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.console.ReconciliationAudit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a relay's committed WAL position from its positions topic, {@code read_committed}: the position
 * commits in the same Kafka transaction as the records it covers. The value is the relay's
 * {@code Position.toStored()} as JSON (see outbox-relay's {@code PositionLog}); this reader keeps only what
 * the audit needs. Kept open while the audit waits, reading on from where it stopped.
 */
final class RelayPositionReader implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A committed position.
     *
     * @param exists      false when the relay never committed one
     * @param lsn         the LSN of the last row the relay published (or of a heartbeat row), -1 for the first start's
     *                    position, which names no streamed row
     * @param commitLsn   the commit LSN Debezium reported with that row, -1 when unknown
     * @param txId        its transaction id, -1 when none
     * @param committedAt when the relay committed it to Kafka (the relay's clock), or null
     */
    record Position(boolean exists, long lsn, long commitLsn, long txId, Instant committedAt) {

        static final Position NONE = new Position(false, -1, -1, -1, null);

        /**
         * Whether every transaction that committed before the WAL position {@code snapshotLsn} was published. The
         * relay publishes whole transactions in commit order, and this position names the last row it published.
         * That row's LSN lies inside its transaction, before its commit; if it is at or after {@code snapshotLsn},
         * the transaction committed after that point, so every transaction that committed before it came earlier
         * in the stream and was published. The commit LSN reported with the row (its transaction's, or the one
         * before it, as Debezium's decoder has it) is never later than the row's own commit, and serves the same way.
         */
        boolean covers(long snapshotLsn) {
            return lsn >= snapshotLsn || commitLsn >= snapshotLsn;
        }

        String describe() {
            if (!exists) {
                return "none";
            }
            if (lsn < 0) {
                return "the first start's, nothing streamed since";
            }
            return "transaction " + txId + ", row at LSN " + lsnText(lsn) + (commitLsn < 0 ? "" : " (commit LSN "
                    + lsnText(commitLsn) + ")");
        }

        static String lsnText(long lsn) {
            return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
        }
    }

    private final ReconciliationAudit.Relay relay;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final byte[] key;
    private Position last = Position.NONE;
    private boolean topicExists;

    RelayPositionReader(Map<String, Object> kafkaProperties, ReconciliationAudit.Relay relay) {
        this.relay = relay;
        this.consumer = KafkaClients.consumer(kafkaProperties, "positions");
        this.partition = new TopicPartition(relay.positionsTopic(), 0);
        this.key = relay.name().getBytes(StandardCharsets.UTF_8);
    }

    /** Reads what was committed since the last call (up to the last stable offset) and returns the latest position. */
    Position latest() {
        if (!topicExists) {
            List<?> partitions = consumer.partitionsFor(relay.positionsTopic(), Duration.ofSeconds(10));
            if (partitions == null || partitions.isEmpty()) {
                return last;
            }
            topicExists = true;
            consumer.assign(Set.of(partition));
            consumer.seekToBeginning(Set.of(partition));
        }
        long end = consumer.endOffsets(Set.of(partition)).get(partition);
        while (consumer.position(partition) < end) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (Arrays.equals(record.key(), key) && record.value() != null) {
                    last = decode(record.value());
                }
            }
        }
        return last;
    }

    private Position decode(byte[] value) {
        JsonNode stored;
        try {
            stored = JSON.readTree(value);
        } catch (IOException e) {
            throw new IllegalStateException("relay " + relay.name() + "'s position in " + relay.positionsTopic()
                    + " is not JSON: " + e.getMessage(), e);
        }
        JsonNode offset = stored.path("offset");
        Instant committedAt = stored.hasNonNull("committedAt") ? Instant.ofEpochMilli(stored.get("committedAt").asLong()) : null;
        if (!offset.isObject()) {
            // The first start's position (or one re-seeded from the slot): it covers no streamed row.
            return new Position(true, -1, -1, -1, committedAt);
        }
        // Positions written before the relay counted ordinals keep their numbers in Debezium's offset only.
        long lsn = stored.has("lsn") ? stored.get("lsn").asLong(-1) : offset.path("lsn").asLong(-1);
        long commitLsn = stored.has("commitLsn") ? stored.get("commitLsn").asLong(-1) : offset.path("lsn_commit").asLong(-1);
        long txId = stored.has("txId") ? stored.get("txId").asLong(-1) : offset.path("txId").asLong(-1);
        return new Position(true, lsn, commitLsn, txId, committedAt);
    }

    @Override
    public void close() {
        consumer.close();
    }
}
