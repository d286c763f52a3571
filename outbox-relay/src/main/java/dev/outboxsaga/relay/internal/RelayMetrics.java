package dev.outboxsaga.relay.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicLong;

/** The relay's meters, and the numbers behind its status. */
public final class RelayMetrics {

    private final Counter published;
    private final Counter transactions;
    private final Counter parked;
    private final AtomicLong publishedCount = new AtomicLong();
    private final AtomicLong transactionCount = new AtomicLong();
    private final AtomicLong parkedCount = new AtomicLong();
    private final AtomicLong lagMillis = new AtomicLong();
    private final AtomicLong lastBatchNanos = new AtomicLong(System.nanoTime());
    private final AtomicLong retainedWal = new AtomicLong(-1);
    private final AtomicLong leader = new AtomicLong();

    public RelayMetrics(MeterRegistry registry, String relayName) {
        published = Counter.builder("outbox.relay.records.published").tag("relay", relayName)
                .description("Outbox rows committed to Kafka").register(registry);
        transactions = Counter.builder("outbox.relay.transactions").tag("relay", relayName)
                .description("Kafka transactions committed").register(registry);
        parked = Counter.builder("outbox.relay.records.parked").tag("relay", relayName)
                .description("Outbox rows parked as unpublishable").register(registry);
        Gauge.builder("outbox.relay.lag", this, RelayMetrics::lagMillis).tag("relay", relayName).baseUnit("milliseconds")
                .description("From database commit to Kafka commit, for the last batch; 0 when idle").register(registry);
        Gauge.builder("outbox.relay.retained.wal", retainedWal, AtomicLong::get).tag("relay", relayName).baseUnit("bytes")
                .description("WAL held back by the replication slot").register(registry);
        Gauge.builder("outbox.relay.leader", leader, AtomicLong::get).tag("relay", relayName)
                .description("1 while this process publishes, 0 on standby").register(registry);
    }

    void published(int records, int parkedRecords, long oldestCommitMillis) {
        published.increment(records);
        parked.increment(parkedRecords);
        transactions.increment();
        publishedCount.addAndGet(records);
        parkedCount.addAndGet(parkedRecords);
        transactionCount.incrementAndGet();
        lagMillis.set(oldestCommitMillis == Long.MAX_VALUE ? 0 : Math.max(0, System.currentTimeMillis() - oldestCommitMillis));
        lastBatchNanos.set(System.nanoTime());
    }

    public long lagMillis() {
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
