package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.InboxConsumer;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The records one Kafka consumer polled and has not finished, between its polling thread and its
 * handler threads. Records of one ordering key are handed out in order, one run at a time; records
 * of different keys go to different handler threads at once, so a slow or retried record holds up
 * only its own key. A handler thread takes one key's run to start a transaction and, while it is
 * open, the runs of more free keys ({@link #takeMore}): records not taken stay free for idle
 * threads. Per partition, the lowest unfinished offset is what may be committed to Kafka.
 *
 * <p>Pure bookkeeping under one lock; no Kafka or database calls.
 */
public final class Dispatch {

    /** The records of one partition from this consumer's assignment of it. */
    static final class PartitionState {
        final TopicPartition partition;
        final TreeSet<Long> unfinished = new TreeSet<>();
        long next = -1;
        int taken;

        PartitionState(TopicPartition partition) {
            this.partition = partition;
        }

        long committable() {
            return unfinished.isEmpty() ? next : unfinished.first();
        }
    }

    /** One polled record on its way through the handlers. */
    public static final class Item {
        final ConsumerRecord<byte[], byte[]> record;
        final Object key;
        final PartitionState state;
        int attempt = 1;
        int conflicts;
        /** Handled in a transaction of its own: it failed, or its batch did. */
        boolean solo;
        /** The span of the attempt in hand ({@link InboxTracing.Handling}), or null. */
        Object trace;
        /** How long the handler of the attempt in hand took, for the meters. */
        long handlerNanos;

        Item(ConsumerRecord<byte[], byte[]> record, Object key, PartitionState state) {
            this.record = record;
            this.key = key;
            this.state = state;
        }

        public ConsumerRecord<byte[], byte[]> record() {
            return record;
        }

        public Object key() {
            return key;
        }

        public int attempt() {
            return attempt;
        }

        @Override
        public String toString() {
            return record.topic() + "-" + record.partition() + "@" + record.offset();
        }
    }

    private final InboxConsumer.Ordering ordering;
    private final int maxBatch;
    private final Map<TopicPartition, PartitionState> partitions = new HashMap<>();
    private final Map<Object, ArrayDeque<Item>> queues = new HashMap<>();
    /** Keys in a handler's hands, or waiting out a retry backoff: none of their records may start. */
    private final Set<Object> busy = new HashSet<>();
    private final ArrayDeque<Object> ready = new ArrayDeque<>();
    private int size;
    private boolean closed;

    public Dispatch(InboxConsumer.Ordering ordering, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, but was " + maxBatch);
        }
        this.ordering = ordering;
        this.maxBatch = maxBatch;
    }

    /** Adds a polled record behind the earlier records of its key. */
    public synchronized void add(ConsumerRecord<byte[], byte[]> record) {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        PartitionState state = partitions.computeIfAbsent(partition, PartitionState::new);
        state.unfinished.add(record.offset());
        state.next = Math.max(state.next, record.offset() + 1);
        Object key = orderingKey(record, partition);
        Item item = new Item(record, key, state);
        ArrayDeque<Item> queue = queues.computeIfAbsent(key, k -> new ArrayDeque<>());
        queue.addLast(item);
        size++;
        if (queue.size() == 1 && !busy.contains(key)) {
            ready.addLast(key);
            notifyAll();
        }
    }

    private Object orderingKey(ConsumerRecord<byte[], byte[]> record, TopicPartition partition) {
        // Records without a key have nothing to be ordered by but their partition: among themselves, in its order.
        if (ordering == InboxConsumer.Ordering.PARTITION || record.key() == null) {
            return partition;
        }
        return ByteBuffer.wrap(record.key());
    }

    /**
     * Waits up to {@code timeoutMillis} for records to handle and takes the first queued records of a
     * key that no handler holds, in order, up to the batch size; or a record that must run alone, by
     * itself. The key stays held until {@link #release}.
     *
     * @return the records, empty on timeout or once closed
     */
    public synchronized List<Item> take(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!closed && !hasReady()) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return List.of();
            }
            wait(left);
        }
        return closed ? List.of() : nextRun(maxBatch, true);
    }

    /**
     * Without waiting, takes the queued records of one more free key, up to {@code budget}, for a
     * transaction under way; never a record that must run alone.
     */
    public synchronized List<Item> takeMore(int budget) {
        return closed || budget < 1 ? List.of() : nextRun(budget, false);
    }

    private List<Item> nextRun(int budget, boolean mayBeAlone) {
        for (Iterator<Object> keys = ready.iterator(); keys.hasNext(); ) {
            Object key = keys.next();
            ArrayDeque<Item> queue = queues.get(key);
            // A key can be listed twice (its records dropped by a revocation, then new ones added):
            // a held key is never handed out again before its release lists it anew.
            if (queue == null || queue.isEmpty() || busy.contains(key)) {
                keys.remove();
                continue;
            }
            if (queue.peekFirst().solo) {
                if (!mayBeAlone) {
                    continue;
                }
                keys.remove();
                busy.add(key);
                return List.of(taken(queue.pollFirst()));
            }
            keys.remove();
            busy.add(key);
            List<Item> run = new ArrayList<>();
            while (!queue.isEmpty() && run.size() < budget && !queue.peekFirst().solo) {
                run.add(taken(queue.pollFirst()));
            }
            return run;
        }
        return List.of();
    }

    private boolean hasReady() {
        while (!ready.isEmpty()) {
            Object key = ready.peekFirst();
            ArrayDeque<Item> queue = queues.get(key);
            if (queue != null && !queue.isEmpty() && !busy.contains(key)) {
                return true;
            }
            ready.pollFirst();
        }
        return false;
    }

    private static Item taken(Item item) {
        item.state.taken++;
        return item;
    }

    /** The item took effect (handled, a duplicate, or parked): its offset no longer holds the partition back. */
    public synchronized void done(Item item) {
        item.state.taken--;
        if (item.state.unfinished.remove(item.record.offset())) {
            size--;
        }
        notifyAll();
    }

    /**
     * Items of a batch that did not take effect go back to the front of their keys' queues, in
     * order, ahead of anything polled since; the keys stay held until released.
     */
    public synchronized void putBack(List<Item> items) {
        for (int i = items.size() - 1; i >= 0; i--) {
            Item item = items.get(i);
            item.state.taken--;
            if (partitions.get(item.state.partition) != item.state) {
                continue; // the partition was revoked meanwhile: its new owner reads the record again
            }
            queues.computeIfAbsent(item.key, k -> new ArrayDeque<>()).addFirst(item);
        }
        notifyAll();
    }

    /** A handler let go of {@code key}: its next queued record may start. */
    public synchronized void release(Object key) {
        busy.remove(key);
        ArrayDeque<Item> queue = queues.get(key);
        if (queue == null || queue.isEmpty()) {
            queues.remove(key);
        } else {
            ready.addLast(key);
            notifyAll();
        }
    }

    /** The offsets that may be committed: per partition, the lowest unfinished one (or past the last polled). */
    public synchronized Map<TopicPartition, Long> committable() {
        Map<TopicPartition, Long> offsets = new HashMap<>();
        for (PartitionState state : partitions.values()) {
            if (state.next >= 0) {
                offsets.put(state.partition, state.committable());
            }
        }
        return offsets;
    }

    /** How many records of {@code partition} were polled and are not finished. */
    public synchronized int unfinished(TopicPartition partition) {
        PartitionState state = partitions.get(partition);
        return state == null ? 0 : state.unfinished.size();
    }

    /**
     * Partitions taken away in a rebalance: records not started are dropped (the new owner reads
     * them again), records in handlers' hands are waited for, up to {@code timeoutMillis}; returns
     * what may be committed for them, and forgets them.
     */
    public synchronized Map<TopicPartition, Long> revoke(Collection<TopicPartition> revoked, long timeoutMillis)
            throws InterruptedException {
        dropQueued(revoked);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        // Once closed, no handler works any more: a record still counted as taken was abandoned by a failing one.
        while (!closed && revoked.stream().map(partitions::get).anyMatch(state -> state != null && state.taken > 0)) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                break;
            }
            wait(left);
        }
        Map<TopicPartition, Long> offsets = new HashMap<>();
        for (TopicPartition partition : revoked) {
            PartitionState state = partitions.get(partition);
            if (state != null && state.next >= 0) {
                offsets.put(partition, state.committable());
            }
        }
        forget(revoked);
        return offsets;
    }

    /** Partitions lost without a chance to commit: forgotten, records not started dropped. */
    public synchronized void forget(Collection<TopicPartition> lost) {
        dropQueued(lost);
        for (TopicPartition partition : lost) {
            PartitionState state = partitions.remove(partition);
            if (state != null) {
                // Records still in handlers' hands finish against a forgotten state and count no more.
                size -= state.unfinished.size();
                state.unfinished.clear();
            }
        }
        notifyAll();
    }

    private void dropQueued(Collection<TopicPartition> dropped) {
        Set<TopicPartition> set = new HashSet<>(dropped);
        for (Iterator<Map.Entry<Object, ArrayDeque<Item>>> entries = queues.entrySet().iterator(); entries.hasNext(); ) {
            ArrayDeque<Item> queue = entries.next().getValue();
            // Their offsets stay unfinished: what is committed for the partition must not pass them.
            queue.removeIf(item -> set.contains(item.state.partition));
        }
    }

    /** Records polled and not finished: what the polling thread holds back on. */
    public synchronized int size() {
        return size;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** Wakes every waiting handler; {@link #take} returns nothing from now on. */
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
