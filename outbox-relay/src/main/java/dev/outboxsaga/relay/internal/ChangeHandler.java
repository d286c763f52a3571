package dev.outboxsaga.relay.internal;

import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Receives the engine's batches, in WAL order, and hands the outbox inserts to the
 * {@link BatchPublisher}. Only after Kafka committed a batch are its records marked processed, so
 * the engine confirms the replication slot up to published rows only.
 *
 * <p>One handler serves one engine run: the engine starts from the slot's confirmed position, and
 * PostgreSQL sends every transaction from its first row, so counting the rows that share an LSN
 * (their {@link Position#ordinal()}) gives the same numbers in every run. That confirmed position, read
 * when the first batch comes (before this run has confirmed anything), orders the run's first
 * transaction ({@link Position#startingAt}).
 */
public final class ChangeHandler implements DebeziumEngine.ChangeConsumer<RecordChangeEvent<SourceRecord>> {

    /**
     * A batch of at least this many records means a busy stream: at a few hundred rows a second the engine
     * hands over a handful per poll. Below it, lingering would only add latency.
     */
    static final int BUSY_BATCH = 64;

    private final String relayName;
    private final Set<String> outboxTables;
    private final String heartbeatTable;
    private final RecordMapper mapper;
    private final BatchPublisher publisher;
    private final long lingerNanos;
    private final LongSupplier streamStart;
    private long runStart = -1;
    private long lastTxId = -1;
    private long lastLsn = -1;
    private long ordinal;

    /**
     * @param streamStart reads the slot's confirmed position (an LSN number), where this run's stream began as
     *                    long as the run has confirmed nothing; it may throw, failing the run
     */
    public ChangeHandler(String relayName, Set<String> outboxTables, String heartbeatTable, RecordMapper mapper,
            BatchPublisher publisher, Duration linger, LongSupplier streamStart) {
        this.lingerNanos = linger.toNanos();
        this.streamStart = streamStart;
        this.relayName = relayName;
        this.outboxTables = outboxTables;
        this.heartbeatTable = heartbeatTable;
        this.mapper = mapper;
        this.publisher = publisher;
    }

    @Override
    public void handleBatch(List<RecordChangeEvent<SourceRecord>> events,
            DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
        long received = System.nanoTime();
        List<BatchPublisher.Entry> entries = new ArrayList<>(events.size());
        List<RecordChangeEvent<SourceRecord>> positioned = new ArrayList<>(events.size());
        if (runStart < 0) {
            runStart = streamStart.getAsLong();
        }
        // A position stored by an older relay may lack its commit LSN; this run's start is a safe stand-in for it.
        Position committed = publisher.committed().startingAt(runStart);
        Position last = null;
        for (RecordChangeEvent<SourceRecord> event : events) {
            SourceRecord record = event.record();
            if (!(record.value() instanceof Struct envelope) || envelope.schema().field("op") == null) {
                // Debezium's own heartbeats and transaction markers: no row, no position of ours.
                continue;
            }
            positioned.add(event);
            Position position = positionOf(record.sourceOffset());
            if (committed.covers(position)) {
                continue;
            }
            last = position;
            Struct source = envelope.getStruct("source");
            String table = source.getString("schema") + "." + source.getString("table");
            if (!"c".equals(envelope.getString("op")) || table.equals(heartbeatTable) || !outboxTables.contains(table)) {
                continue;
            }
            entries.add(mapper.entry(OutboxRow.of(table, envelope.getStruct("after"), source), position));
        }
        if (last != null && !publisher.publish(entries, last)) {
            // Closing: leave the batch unmarked; the next leader reads it again from the slot.
            return;
        }
        if (last != null && RelayProbe.listening()) {
            RelayProbe.batchCommitted(relayName, entries, received);
        }
        for (RecordChangeEvent<SourceRecord> event : positioned) {
            committer.markProcessed(event);
        }
        // The commit that follows confirms the slot up to what the offset store serves: what Kafka holds.
        RelayOffsetStore.confirmable(relayName, publisher.committed());
        committer.markBatchFinished();
        if (last != null && events.size() >= BUSY_BATCH) {
            // The engine goes on reading the WAL into its queue meanwhile: the next transaction takes what
            // arrived, so a busy stream pays one Kafka commit per linger instead of one per engine poll.
            long wait = received + lingerNanos - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
        }
    }

    private Position positionOf(Map<String, ?> offset) {
        long txId = offset.get("txId") instanceof Number n ? n.longValue() : -1;
        long lsn = offset.get("lsn") instanceof Number n ? n.longValue() : -1;
        if (txId == lastTxId && lsn == lastLsn) {
            ordinal++;
        } else {
            lastTxId = txId;
            lastLsn = lsn;
            ordinal = 0;
        }
        return Position.of(offset, ordinal).startingAt(runStart);
    }

    @Override
    public boolean supportsTombstoneEvents() {
        return false;
    }
}
