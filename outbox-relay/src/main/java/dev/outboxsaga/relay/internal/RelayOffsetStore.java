package dev.outboxsaga.relay.internal;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.OffsetBackingStore;
import org.apache.kafka.connect.util.Callback;

/**
 * The engine's offset store, which never holds an offset. The relay keeps its position in Kafka,
 * written inside the transaction that publishes the rows, and filters what the engine replays
 * itself ({@link Position#covers}); so every engine run starts with no offset and streams from the
 * replication slot's confirmed position, which the relay moves only after Kafka committed. Debezium's
 * own resume search, which skips rows that share an LSN, never runs. Storing succeeds at once, which
 * lets the engine confirm the slot up to the rows marked processed.
 */
public final class RelayOffsetStore implements OffsetBackingStore {

    public RelayOffsetStore() {
    }

    @Override
    public void configure(WorkerConfig config) {
    }

    @Override
    public void start() {
    }

    @Override
    public void stop() {
    }

    @Override
    public Future<Map<ByteBuffer, ByteBuffer>> get(Collection<ByteBuffer> keys) {
        return CompletableFuture.completedFuture(Map.of());
    }

    @Override
    public Future<Void> set(Map<ByteBuffer, ByteBuffer> values, Callback<Void> callback) {
        if (callback != null) {
            callback.onCompletion(null, null);
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public Set<Map<String, Object>> connectorPartitions(String connectorName) {
        return Set.of();
    }
}
