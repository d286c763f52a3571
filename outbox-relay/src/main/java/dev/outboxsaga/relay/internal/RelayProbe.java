package dev.outboxsaga.relay.internal;

import java.util.List;

/**
 * Unsupported hook for the benchmarks' per-hop latency breakdown: when the relay received each
 * streamed batch from the engine and when its Kafka transaction committed. Off unless a listener is
 * set, and then costs one volatile read per batch; not part of the relay's API and may change.
 */
public final class RelayProbe {

    /** Told of each streamed batch after its Kafka commit, on the engine's thread: keep it quick. */
    @FunctionalInterface
    public interface Listener {
        /**
         * @param relayName      the relay's {@code relay.name}
         * @param rows           the rows the transaction published or parked
         * @param receivedNanos  {@link System#nanoTime()} when the engine handed the batch to the relay
         * @param committedNanos {@link System#nanoTime()} right after the Kafka commit returned
         */
        void batchCommitted(String relayName, List<OutboxRow> rows, long receivedNanos, long committedNanos);
    }

    private static volatile Listener listener;

    private RelayProbe() {
    }

    /** Sets the one listener of this JVM (null removes it). */
    public static void listen(Listener newListener) {
        listener = newListener;
    }

    static boolean listening() {
        return listener != null;
    }

    static void batchCommitted(String relayName, List<BatchPublisher.Entry> entries, long receivedNanos) {
        Listener current = listener;
        if (current != null) {
            long committed = System.nanoTime();
            current.batchCommitted(relayName, entries.stream().map(BatchPublisher.Entry::row).toList(), receivedNanos,
                    committed);
        }
    }
}
