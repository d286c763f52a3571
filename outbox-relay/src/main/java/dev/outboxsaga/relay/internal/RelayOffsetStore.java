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
 * The engine's offset store. The relay keeps its position in Kafka, written inside the transaction
 * that publishes the rows, and filters what the engine replays itself ({@link Position#covers}).
 *
 * <p>The PostgreSQL connector reads this store twice over: when its task starts, to decide where
 * to stream from, and on every offset commit, to decide how far to confirm the replication slot
 * ({@code PostgresConnectorTask.performCommit} confirms what the store returns, not what was marked).
 * So the store answers nothing until the current engine run has marked rows processed: every run
 * then starts from the slot's confirmed position (Debezium's own resume search, which skips rows
 * that share an LSN, never runs), and afterwards the commits confirm the slot up to the position
 * the relay committed to Kafka, never further. Storing succeeds at once and keeps nothing.
 *
 * <p>The engine creates the store by reflection, so the relay hands it positions through a map per
 * relay name in this JVM.
 */
public final class RelayOffsetStore implements OffsetBackingStore {

    /** Engine property naming the relay whose confirmable position this store serves. */
    public static final String RELAY_KEY = "outbox.relay.name";

    private static final Map<String, Position> CONFIRMABLE = new ConcurrentHashMap<>();

    private String relay;

    public RelayOffsetStore() {
    }

    /** Before an engine run starts: nothing to confirm yet, so the run streams from the slot's confirmed position. */
    public static void engineStarting(String relay) {
        CONFIRMABLE.remove(relay);
    }

    /** After the run marked rows processed: the slot may be confirmed up to {@code committed}, which Kafka holds. */
    public static void confirmable(String relay, Position committed) {
        if (committed.offset() != null) {
            CONFIRMABLE.put(relay, committed);
        }
    }

    @Override
    public void configure(WorkerConfig config) {
        relay = config.originalsStrings().get(RELAY_KEY);
        if (relay == null) {
            throw new IllegalStateException(RELAY_KEY + " is not set in the engine properties");
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
        Position position = CONFIRMABLE.get(relay);
        if (position != null) {
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
