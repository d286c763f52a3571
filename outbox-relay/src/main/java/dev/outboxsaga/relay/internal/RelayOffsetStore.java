package dev.outboxsaga.relay.internal;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.OffsetBackingStore;
import org.apache.kafka.connect.util.Callback;

/**
 * The engine's offset store. The relay writes its position into Kafka inside the transaction that
 * publishes the records, so storing here is a no-op that succeeds at once (which lets the engine
 * confirm the slot up to records already committed to Kafka); reading returns the last position
 * committed to Kafka, kept in {@link #POSITIONS} by the relay.
 */
public final class RelayOffsetStore implements OffsetBackingStore {

    /** Engine property naming the entry of {@link #POSITIONS} that this store serves. */
    public static final String POSITION_KEY = "outbox.relay.position.key";

    /** Last committed position per relay in this JVM. */
    public static final Map<String, Position> POSITIONS = new ConcurrentHashMap<>();

    private String positionKey;

    public RelayOffsetStore() {
    }

    @Override
    public void configure(WorkerConfig config) {
        positionKey = config.originalsStrings().get(POSITION_KEY);
        if (positionKey == null) {
            throw new IllegalStateException(POSITION_KEY + " is not set in the engine properties");
        }
    }

    @Override
    public void start() {
    }

    @Override
    public void stop() {
    }

    @Override
    public Future<Map<ByteBuffer, ByteBuffer>> get(Collection<ByteBuffer> keys) {
        Map<ByteBuffer, ByteBuffer> result = new HashMap<>();
        Position position = POSITIONS.get(positionKey);
        if (position != null && position.offset() != null) {
            ByteBuffer value = ByteBuffer.wrap(DebeziumOffsets.toJson(position.offset()));
            // The PostgreSQL connector has a single source partition, so every key asked for is it.
            keys.forEach(key -> result.put(key, value.duplicate()));
        }
        return CompletableFuture.completedFuture(result);
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
