package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.core.OutboxMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Rows streaming into the outbox while relays come and go, and what arrived in Kafka.
 *
 * <p>Writers commit small transactions (1 to 3 rows), pausing briefly between them. Each writer owns its keys
 * ({@code k0..k9} spread over the writers), so per key the payload's {@code seq} grows in commit
 * order. Every row also carries {@code n}, a number drawn before its transaction began: a row with
 * {@code n} above {@link #issued()} taken at some instant was committed after that instant, so only a
 * relay running then (or later) can have published it. A row counts as written only once its
 * transaction committed.
 */
final class OutboxTraffic implements AutoCloseable {

    /** A committed outbox row. */
    record Written(UUID id, String key, int seq, long n) {
    }

    private static final Pattern SEQ = Pattern.compile("\"seq\": ?(\\d+)");
    private static final Pattern N = Pattern.compile("\"n\": ?(\\d+)");
    private static final int KEYS = 10;

    private final RelayFixture fixture;
    private final AtomicLong issued = new AtomicLong();
    private final List<Written> written = Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> writers = new ArrayList<>();
    private final AtomicReference<Throwable> writeFailure = new AtomicReference<>();
    private volatile boolean stopping;
    private final Duration pace;

    private final List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
    private final Set<UUID> distinct = new HashSet<>();
    private long maxReceivedN = -1;

    /** @param pace the pause of each writer between two transactions */
    OutboxTraffic(RelayFixture fixture, Duration pace) {
        this.fixture = fixture;
        this.pace = pace;
    }

    /** Starts {@code count} writers, sharing the keys {@code k0..k9} out between them. */
    void startWriters(int count) {
        for (int w = 0; w < count; w++) {
            List<String> keys = new ArrayList<>();
            for (int k = w; k < KEYS; k += count) {
                keys.add("k" + k);
            }
            Thread writer = new Thread(() -> write(keys), "outbox-writer-" + w);
            writer.setDaemon(true);
            writers.add(writer);
            writer.start();
        }
    }

    private void write(List<String> keys) {
        Map<String, Integer> sequences = new HashMap<>();
        try {
            while (!stopping) {
                int rows = 1 + ThreadLocalRandom.current().nextInt(3);
                List<OutboxMessage> batch = new ArrayList<>(rows);
                List<Written> rowsOfBatch = new ArrayList<>(rows);
                for (int r = 0; r < rows; r++) {
                    String key = keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
                    int seq = sequences.merge(key, 1, Integer::sum);
                    long n = issued.incrementAndGet();
                    OutboxMessage message = fixture.outbox.message().aggregate(fixture.aggregateType, key).type("Placed")
                            .payload("{\"seq\": " + seq + ", \"key\": \"" + key + "\", \"n\": " + n + "}").build();
                    batch.add(message);
                    rowsOfBatch.add(new Written(message.id(), key, seq, n));
                }
                fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
                    tx.appendAll(batch);
                    return null;
                });
                written.addAll(rowsOfBatch);
                LockSupport.parkNanos(pace.toNanos());
            }
        } catch (Throwable failure) {
            writeFailure.compareAndSet(null, failure);
        }
    }

    /** The number drawn by the last row begun: rows with a larger {@code n} commit after this call. */
    long issued() {
        return issued.get();
    }

    /** Stops the writers, waits for them, and fails if any of them failed. */
    void stopWriters() throws InterruptedException {
        stopping = true;
        for (Thread writer : writers) {
            writer.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(writer.isAlive()).as("%s still running", writer.getName()).isFalse();
        }
        checkWriters();
    }

    /** Fails if a writer failed (a relay test must never disturb the services that write). */
    void checkWriters() {
        Throwable failure = writeFailure.get();
        if (failure != null) {
            throw new AssertionError("an outbox writer failed", failure);
        }
    }

    /** The committed rows so far, in the order their commits returned. */
    List<Written> written() {
        synchronized (written) {
            return List.copyOf(written);
        }
    }

    /** Reads what Kafka has (read_committed) for at most about {@code timeout}; returns the count read. */
    int poll(Duration timeout) {
        int before = received.size();
        fixture.readAll(received, timeout);
        for (ConsumerRecord<byte[], byte[]> record : received.subList(before, received.size())) {
            distinct.add(RelayFixture.id(record));
            maxReceivedN = Math.max(maxReceivedN, number(N, record));
        }
        return received.size() - before;
    }

    /** Reads for about {@code duration}. */
    void pollFor(Duration duration) {
        long deadline = System.nanoTime() + duration.toNanos();
        for (long left = duration.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            poll(Duration.ofNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200))));
        }
    }

    /** Polls once; true when a row drawn after {@code issued} (see {@link #issued()}) has arrived. */
    boolean receivedBeyond(long issued) {
        poll(Duration.ofMillis(100));
        return maxReceivedN > issued;
    }

    /** Polls once; true when every row committed so far has arrived. */
    boolean receivedAllWritten() {
        poll(Duration.ofMillis(200));
        List<Written> rows = written();
        return rows.stream().allMatch(row -> distinct.contains(row.id()));
    }

    /**
     * Reads until the reader stands at the end of every partition and a poll of {@code quiet} brings
     * nothing more (catches trailing duplicates).
     */
    void drain(Duration quiet) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (poll(quiet) > 0 || !fixture.readerAtEnd()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("records still arriving after a minute of draining; " + received.size() + " read");
            }
        }
    }

    List<ConsumerRecord<byte[], byte[]>> received() {
        return received;
    }

    /**
     * Every committed row arrived exactly once, nothing else arrived, and per key the rows arrived
     * in commit order. Failures list the rows concerned.
     */
    void assertExactlyOnceInOrder() {
        List<Written> rows = written();
        Map<UUID, Written> byId = new LinkedHashMap<>();
        rows.forEach(row -> byId.put(row.id(), row));
        Map<UUID, List<String>> arrivals = new LinkedHashMap<>();
        Map<String, List<Integer>> sequenceByKey = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : received) {
            arrivals.computeIfAbsent(RelayFixture.id(record), id -> new ArrayList<>())
                    .add(record.partition() + "@" + record.offset());
            String key = new String(record.key(), StandardCharsets.UTF_8);
            sequenceByKey.computeIfAbsent(key, k -> new ArrayList<>()).add((int) number(SEQ, record));
        }
        List<String> missing = byId.values().stream().filter(row -> !arrivals.containsKey(row.id()))
                .map(Written::toString).toList();
        List<String> duplicated = arrivals.entrySet().stream().filter(entry -> entry.getValue().size() > 1)
                .map(entry -> byId.get(entry.getKey()) + " at " + entry.getValue()).toList();
        List<UUID> unknown = arrivals.keySet().stream().filter(id -> !byId.containsKey(id)).toList();
        String summary = rows.size() + " row(s) written, " + received.size() + " record(s) received";
        assertThat(missing).as("rows lost (%s): %s", summary, first(missing)).isEmpty();
        assertThat(duplicated).as("rows published more than once (%s): %s", summary, first(duplicated)).isEmpty();
        assertThat(unknown).as("records of rows never committed (%s)", summary).isEmpty();
        assertThat(received).hasSameSizeAs(rows);
        sequenceByKey.forEach((key, sequence) -> {
            List<String> inversions = new ArrayList<>();
            for (int i = 1; i < sequence.size(); i++) {
                if (sequence.get(i) <= sequence.get(i - 1)) {
                    inversions.add(sequence.get(i - 1) + " then " + sequence.get(i));
                }
            }
            assertThat(inversions).as("order of key %s broken: %s", key, first(inversions)).isEmpty();
        });
    }

    private static List<String> first(List<String> items) {
        return items.size() <= 20 ? items : items.subList(0, 20);
    }

    private static long number(Pattern pattern, ConsumerRecord<byte[], byte[]> record) {
        String payload = new String(record.value(), StandardCharsets.UTF_8);
        Matcher matcher = pattern.matcher(payload);
        if (!matcher.find()) {
            throw new AssertionError("no " + pattern + " in payload " + payload);
        }
        return Long.parseLong(matcher.group(1));
    }

    @Override
    public void close() throws InterruptedException {
        stopping = true;
        for (Thread writer : writers) {
            writer.join(TimeUnit.SECONDS.toMillis(30));
        }
    }
}
