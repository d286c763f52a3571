package dev.outboxsaga.relay.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The relay's meters, and the numbers behind its status. */
public final class RelayMetrics {

    /** The {@code reason} of a row parked because the relay could not make a record of it (RecordMapper). */
    public static final String UNPUBLISHABLE = "unpublishable";
    /** Every {@code reason} tag of the parked counter, registered up front so each series exists from the start. */
    private static final List<String> PARK_REASONS = List.of(UNPUBLISHABLE, "unknown_topic", "not_authorized",
            "invalid_topic", "too_large", "invalid_record");
    private static final long NOTHING_WAITING = Long.MAX_VALUE;

    private final MeterRegistry registry;
    private final String relayName;
    private final Counter published;
    private final Counter transactions;
    private final Map<String, Counter> parked = new ConcurrentHashMap<>();
    private final AtomicLong publishedCount = new AtomicLong();
    private final AtomicLong transactionCount = new AtomicLong();
    private final AtomicLong parkedCount = new AtomicLong();
    private final AtomicLong lagMillis = new AtomicLong();
    private final AtomicLong lastBatchNanos = new AtomicLong(System.nanoTime());
    private final AtomicLong oldestWaitingCommitMillis = new AtomicLong(NOTHING_WAITING);
    private final AtomicLong retainedWal = new AtomicLong(-1);
    private final AtomicLong leader = new AtomicLong();

    public RelayMetrics(MeterRegistry registry, String relayName) {
        this.registry = registry;
        this.relayName = relayName;
        published = Counter.builder("outbox.relay.records.published").tag("relay", relayName)
                .description("Outbox rows committed to Kafka").register(registry);
        transactions = Counter.builder("outbox.relay.transactions").tag("relay", relayName)
                .description("Kafka transactions committed").register(registry);
        PARK_REASONS.forEach(this::parkedCounter);
        Gauge.builder("outbox.relay.lag", this, RelayMetrics::lagMillis).tag("relay", relayName).baseUnit("milliseconds")
                .description("How long the oldest committed row handed to the publisher has waited for its Kafka "
                        + "commit; between batches the last batch's, 0 when idle").register(registry);
        Gauge.builder("outbox.relay.retained.wal", retainedWal, AtomicLong::get).tag("relay", relayName).baseUnit("bytes")
                .description("WAL held back by the replication slot").register(registry);
        Gauge.builder("outbox.relay.leader", leader, AtomicLong::get).tag("relay", relayName)
                .description("1 while this process publishes, 0 on standby").register(registry);
    }

    private Counter parkedCounter(String reason) {
        return parked.computeIfAbsent(reason, r -> Counter.builder("outbox.relay.records.parked")
                .tag("relay", relayName).tag("reason", r)
                .description("Outbox rows parked in outbox_relay_dead_letter, by reason").register(registry));
    }

    /**
     * Rows with these database commit times (0 when unknown) were handed to the publisher and wait for
     * their Kafka commit; the lag counts from the oldest of them until {@link #published} or
     * {@link #notWaiting()}.
     */
    void waiting(long oldestCommitMillis) {
        oldestWaitingCommitMillis.set(oldestCommitMillis <= 0 ? NOTHING_WAITING : oldestCommitMillis);
    }

    /** The rows handed to the publisher are no longer its to publish (closing, fenced). */
    void notWaiting() {
        oldestWaitingCommitMillis.set(NOTHING_WAITING);
    }

    /**
     * A batch committed: {@code records} published and {@code parkedByReason} parked (a count per
     * {@code reason} tag), the oldest of its rows committed in the database at {@code oldestCommitMillis}.
     */
    void published(int records, Map<String, Integer> parkedByReason, long oldestCommitMillis) {
        published.increment(records);
        parkedByReason.forEach((reason, count) -> parkedCounter(reason).increment(count));
        transactions.increment();
        publishedCount.addAndGet(records);
        parkedCount.addAndGet(parkedByReason.values().stream().mapToInt(Integer::intValue).sum());
        transactionCount.incrementAndGet();
        lagMillis.set(oldestCommitMillis == Long.MAX_VALUE ? 0 : Math.max(0, System.currentTimeMillis() - oldestCommitMillis));
        lastBatchNanos.set(System.nanoTime());
        oldestWaitingCommitMillis.set(NOTHING_WAITING);
    }

    /**
     * How long committed rows have waited: while rows are handed to the publisher and not yet committed
     * to Kafka, since the database commit of the oldest of them (so a row that Kafka keeps refusing, or a
     * broker outage, shows at once, however fast the batches before were); between batches the last
     * batch's lag; 0 when idle.
     */
    public long lagMillis() {
        long oldestWaiting = oldestWaitingCommitMillis.get();
        if (oldestWaiting != NOTHING_WAITING) {
            return Math.max(0, System.currentTimeMillis() - oldestWaiting);
        }
        // A stream with nothing to publish has no lag, however long ago its last batch was.
        boolean idle = System.nanoTime() - lastBatchNanos.get() > 5_000_000_000L;
        return idle ? 0 : lagMillis.get();
    }

    public long publishedCount() {
        return publishedCount.get();
    }

    public long transactions() {
        return transactionCount.get();
    }

    public long parkedCount() {
        return parkedCount.get();
    }

    public long retainedWal() {
        return retainedWal.get();
    }

    public void retainedWal(long bytes) {
        retainedWal.set(bytes);
    }

    public void leader(boolean isLeader) {
        leader.set(isLeader ? 1 : 0);
    }
}
