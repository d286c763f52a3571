package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes batches exactly once: rows that cannot be published are parked in PostgreSQL first
 * (idempotent by row id), then the records and the new position commit in one Kafka transaction.
 * On a Kafka failure the producer is recreated, the committed position is read back (the failed
 * commit may have succeeded), and what it does not cover is published again; nothing advances
 * until Kafka has it.
 */
public final class BatchPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(BatchPublisher.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    /** One row of a batch: its record (or why it has none), where it came from and its position. */
    public record Entry(OutboxRow row, ProducerRecord<byte[], byte[]> record, String unpublishable, Position position) {
    }

    private final RelayConfig config;
    private final TransactionalPublisher publisher;
    private final PositionLog positions;
    private final Database database;
    private final Sql sql;
    private final RelayMetrics metrics;
    private final BooleanSupplier mayPublish;
    private final BooleanSupplier closing;
    private final long haltAfterCommits = Long.getLong("outbox.relay.test.halt-after-commits", -1);
    private volatile Position committed = Position.NONE;

    public BatchPublisher(RelayConfig config, TransactionalPublisher publisher, PositionLog positions, Database database,
            Sql sql, RelayMetrics metrics, BooleanSupplier mayPublish, BooleanSupplier closing) {
        this.config = config;
        this.publisher = publisher;
        this.positions = positions;
        this.database = database;
        this.sql = sql;
        this.metrics = metrics;
        this.mayPublish = mayPublish;
        this.closing = closing;
    }

    public Position committed() {
        return committed;
    }

    public void committed(Position position) {
        committed = position;
    }

    /**
     * Publishes the entries not yet covered by the committed position, and moves the position to
     * {@code last} ({@link Position#START} for the rows of the first start's snapshot).
     *
     * @return false when the relay is closing and nothing was published (the rows come again next time)
     * @throws TransactionalPublisher.Fenced when another instance took over, or the lease was lost
     */
    public boolean publish(List<Entry> entries, Position last) {
        List<Entry> pending = new ArrayList<>(entries);
        long backoffMillis = 100;
        while (true) {
            if (closing.getAsBoolean()) {
                return false;
            }
            if (!mayPublish.getAsBoolean()) {
                throw new TransactionalPublisher.Fenced(new IllegalStateException("the lease is no longer held"));
            }
            Position base = committed;
            pending.removeIf(entry -> base.covers(entry.position()));
            if (base.covers(last)) {
                return true;
            }
            try {
                if (!publisher.isOpen()) {
                    publisher.open();
                    // A commit whose outcome was unknown may have gone through: trust what Kafka holds.
                    committed(positions.read().orElse(Position.NONE));
                    continue;
                }
                park(pending);
                List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(pending.size());
                long oldestCommit = Long.MAX_VALUE;
                for (Entry entry : pending) {
                    if (entry.record() != null) {
                        records.add(entry.record());
                    }
                    if (entry.row().commitTimeMillis() > 0) {
                        oldestCommit = Math.min(oldestCommit, entry.row().commitTimeMillis());
                    }
                }
                publisher.publish(records, positions.record(last));
                committed(last);
                metrics.published(records.size(), pending.size() - records.size(), oldestCommit);
                if (haltAfterCommits > 0 && metrics.transactions() >= haltAfterCommits) {
                    // Test hook: die at the worst moment, after the Kafka commit and before the engine hears of it.
                    Runtime.getRuntime().halt(137);
                }
                return true;
            } catch (TransactionalPublisher.Fenced fenced) {
                throw fenced;
            } catch (TransactionalPublisher.Rejected rejected) {
                List<Entry> records = pending.stream().filter(entry -> entry.record() != null).toList();
                for (Map.Entry<Integer, String> reason : rejected.reasons().entrySet()) {
                    Entry entry = records.get(reason.getKey());
                    pending.set(pending.indexOf(entry), new Entry(entry.row(), null, "Kafka refused it: "
                            + reason.getValue(), entry.position()));
                }
            } catch (KafkaException | IllegalStateException | SQLException failure) {
                LOG.warn("relay {}: publishing {} record(s) failed, retrying in {} ms: {}", config.name(),
                        pending.size(), backoffMillis, failure.toString());
                publisher.close();
                sleep(backoffMillis);
                backoffMillis = Math.min(MAX_BACKOFF.toMillis(), backoffMillis * 2);
            }
        }
    }

    private void park(List<Entry> entries) throws SQLException {
        List<Entry> unpublishable = entries.stream().filter(entry -> entry.record() == null).toList();
        if (unpublishable.isEmpty()) {
            return;
        }
        try (Connection connection = database.connect("dead letters");
             PreparedStatement park = connection.prepareStatement(sql.park())) {
            for (Entry entry : unpublishable) {
                OutboxRow row = entry.row();
                park.setString(1, row.get("id"));
                park.setString(2, config.name());
                park.setString(3, row.table());
                park.setString(4, row.get("aggregatetype"));
                park.setString(5, row.get("aggregateid"));
                park.setString(6, row.get("type"));
                park.setString(7, row.get("payload"));
                park.setString(8, row.get("headers"));
                park.setString(9, row.get("correlationid"));
                park.setString(10, entry.unpublishable());
                park.setString(11, entry.position().offset() == null ? null
                        : DebeziumOffsets.text(DebeziumOffsets.toJson(entry.position().offset())));
                park.addBatch();
                LOG.error("relay {}: parked outbox row {} of {} in outbox_relay_dead_letter: {}", config.name(),
                        row.get("id"), row.table(), entry.unpublishable());
            }
            park.executeBatch();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransactionalPublisher.Fenced(e);
        }
    }
}
