package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes batches exactly once: rows that cannot be published (no record can be made of them, or
 * Kafka kept refusing their record) are parked in PostgreSQL first (idempotent by row id), then the
 * records and the new position commit in one Kafka transaction.
 * On a Kafka failure the producer is recreated, the committed position is read back (the failed
 * commit may have succeeded), and what it does not cover is published again; nothing advances
 * until Kafka has it.
 */
public final class BatchPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(BatchPublisher.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    /**
     * One row of a batch: its record (or why it has none), where it came from, its position, and the span of its
     * publishing (null when not traced).
     */
    public record Entry(OutboxRow row, ProducerRecord<byte[], byte[]> record, String unpublishable, Position position,
            RelayTracing.Publish span) {

        public Entry(OutboxRow row, ProducerRecord<byte[], byte[]> record, String unpublishable, Position position) {
            this(row, record, unpublishable, position, null);
        }
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
    /** Records (by topic, or by row) that Kafka has been refusing; touched by the publishing thread only. */
    private final Map<String, Refusing> refusing = new HashMap<>();

    /** Since when, and when last, Kafka refused a topic or a row (System.nanoTime). */
    private record Refusing(long sinceNanos, long lastNanos) {
    }

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
     * <p>A record that Kafka refuses (see {@link TransactionalPublisher.Refusal}) holds the batch back
     * while the relay retries, until Kafka has refused it for {@link RelayConfig#publishRefusalTimeout()};
     * then it is parked, with every record of the batch for the same topic when the refusal concerns the
     * topic, and the rest of the batch is published. Any other Kafka failure is retried for as long as
     * it lasts.
     *
     * @return false when the relay is closing and nothing was published (the rows come again next time)
     * @throws TransactionalPublisher.Fenced when another instance took over, or the lease was lost
     */
    public boolean publish(List<Entry> entries, Position last) {
        try {
            return publishUntilCommitted(entries, last);
        } finally {
            metrics.notWaiting();
        }
    }

    private boolean publishUntilCommitted(List<Entry> entries, Position last) {
        List<Entry> pending = new ArrayList<>(entries);
        Map<Entry, String> parkReasons = new IdentityHashMap<>();
        long started = System.nanoTime();
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
                endSpans(entries, pending);
                return true;
            }
            long oldestCommit = oldestCommit(pending);
            metrics.waiting(oldestCommit == Long.MAX_VALUE ? 0 : oldestCommit);
            long attemptStarted = System.nanoTime();
            try {
                if (!publisher.isOpen()) {
                    publisher.open();
                    // A commit whose outcome was unknown may have gone through: trust what Kafka holds.
                    committed(positions.read().orElse(Position.NONE));
                    continue;
                }
                park(pending);
                List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(pending.size());
                Map<String, Integer> parked = new HashMap<>();
                for (Entry entry : pending) {
                    if (entry.record() != null) {
                        records.add(entry.record());
                    } else {
                        parked.merge(parkReasons.getOrDefault(entry, RelayMetrics.UNPUBLISHABLE), 1, Integer::sum);
                    }
                }
                attemptStarted = System.nanoTime();
                publisher.publish(records, positions.record(last));
                committed(last);
                metrics.published(records.size(), parked, oldestCommit);
                endSpans(entries, pending);
                if (!refusing.isEmpty()) {
                    records.forEach(record -> refusing.remove(topicKey(record.topic())));
                }
                if (haltAfterCommits > 0 && metrics.transactions() >= haltAfterCommits) {
                    // Test hook: die at the worst moment, after the Kafka commit and before the engine hears of it.
                    Runtime.getRuntime().halt(137);
                }
                return true;
            } catch (TransactionalPublisher.Fenced fenced) {
                throw fenced;
            } catch (TransactionalPublisher.Rejected rejected) {
                if (!parkRefused(pending, rejected, started, attemptStarted, parkReasons)) {
                    sleep(backoffMillis);
                    backoffMillis = Math.min(MAX_BACKOFF.toMillis(), backoffMillis * 2);
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

    /**
     * Notes the refusals of an attempt that began at {@code attemptStarted}, in a publish that began at
     * {@code publishStarted}, and turns the entries Kafka has refused for long enough into parked ones
     * (in {@code pending}, their reason tags in {@code parkReasons}).
     *
     * @return whether any entry is to be parked, so that the next attempt can go ahead at once
     */
    private boolean parkRefused(List<Entry> pending, TransactionalPublisher.Rejected rejected, long publishStarted,
            long attemptStarted, Map<Entry, String> parkReasons) {
        long now = System.nanoTime();
        long timeoutNanos = config.publishRefusalTimeout().toNanos();
        List<Entry> sent = pending.stream().filter(entry -> entry.record() != null).toList();
        boolean parking = false;
        for (Map.Entry<Integer, TransactionalPublisher.Refusal> refused : rejected.refusals().entrySet()) {
            Entry entry = sent.get(refused.getKey());
            TransactionalPublisher.Refusal refusal = refused.getValue();
            String key = refusal.topicWide() ? topicKey(refusal.topic()) : "row " + entry.row().table() + " "
                    + entry.row().get("id");
            Refusing before = refusing.get(key);
            // The wait goes on through the retries of this batch, and from an earlier batch only when that
            // was refused until shortly before this one (a topic unused for a while starts a new wait).
            Refusing state = before == null || before.lastNanos() < publishStarted - timeoutNanos
                    ? new Refusing(attemptStarted, now) : new Refusing(before.sinceNanos(), now);
            refusing.put(key, state);
            long refusedMillis = Duration.ofNanos(now - state.sinceNanos()).toMillis();
            if (now - state.sinceNanos() < timeoutNanos) {
                LOG.warn("relay {}: Kafka refuses outbox row {} of {} ({} ms so far; parked after {} ms): {}",
                        config.name(), entry.row().get("id"), entry.row().table(), refusedMillis,
                        config.publishRefusalTimeout().toMillis(), refusal.reason());
                continue;
            }
            if (!refusal.topicWide()) {
                refusing.remove(key);
            }
            for (int i = 0; i < pending.size(); i++) {
                Entry candidate = pending.get(i);
                if (candidate == entry || (refusal.topicWide() && candidate.record() != null
                        && candidate.record().topic().equals(refusal.topic()))) {
                    Entry parked = new Entry(candidate.row(), null, "Kafka refused it for " + refusedMillis + " ms: "
                            + refusal.reason(), candidate.position(), candidate.span());
                    pending.set(i, parked);
                    parkReasons.put(parked, refusal.kind());
                    parking = true;
                }
            }
        }
        return parking;
    }

    /**
     * The batch committed: ends the publish spans of its entries, those parked with an error. {@code pending} holds
     * the parked entries (made in {@link #parkRefused}, with their original's span); entries a commit of unknown
     * outcome had covered are only in {@code entries}.
     */
    private static void endSpans(List<Entry> entries, List<Entry> pending) {
        for (Entry entry : pending) {
            if (entry.span() != null && entry.record() == null) {
                entry.span().parked(entry.unpublishable());
            }
        }
        for (Entry entry : entries) {
            if (entry.span() != null) {
                entry.span().end();
            }
        }
    }

    private static String topicKey(String topic) {
        return "topic " + topic;
    }

    private static long oldestCommit(List<Entry> entries) {
        long oldest = Long.MAX_VALUE;
        for (Entry entry : entries) {
            if (entry.row().commitTimeMillis() > 0) {
                oldest = Math.min(oldest, entry.row().commitTimeMillis());
            }
        }
        return oldest;
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
