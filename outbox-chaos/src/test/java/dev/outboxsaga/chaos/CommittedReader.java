package dev.outboxsaga.chaos;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The suite's own reader of the outbox topic, independent of the relay's code: a plain
 * {@code read_committed} {@link KafkaConsumer} on a thread of its own, assigned every partition from
 * the beginning, keeping every record it reads. {@link #check} compares what it read with what the
 * writers committed.
 */
final class CommittedReader implements AutoCloseable {

    /** A record as read: where it is, and the row it carries. */
    record Delivered(int partition, long offset, UUID id, String key, long seq, long n) {
    }

    private static final Pattern SEQ = Pattern.compile("\"seq\": ?(\\d+)");
    private static final Pattern N = Pattern.compile("\"n\": ?(\\d+)");

    private final String topic;
    private final int partitions;
    private final Map<String, Object> config = new HashMap<>();
    private final List<Delivered> delivered = new ArrayList<>();
    private final Set<UUID> distinct = ConcurrentHashMap.newKeySet();
    private final AtomicLong maxN = new AtomicLong(-1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean closing;
    private volatile long drainRequested = -1;
    private volatile long drainedFor = -1;
    private volatile String drainState = "not asked";

    CommittedReader(String bootstrapServers, String topic, int partitions) {
        this.topic = topic;
        this.partitions = partitions;
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        thread = new Thread(this::read, "chaos-reader-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    private void read() {
        List<TopicPartition> assigned = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            assigned.add(new TopicPartition(topic, p));
        }
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
            consumer.assign(assigned);
            consumer.seekToBeginning(assigned);
            Map<TopicPartition, Long> next = new HashMap<>();
            while (!closing) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                    // After a broker restart the consumer may fetch an offset again: that is the reader
                    // repeating itself, not a second record in Kafka.
                    if (record.offset() < next.getOrDefault(partition, 0L)) {
                        continue;
                    }
                    next.put(partition, record.offset() + 1);
                    add(record);
                }
                long asked = drainRequested;
                if (asked >= 0 && drainedFor < asked) {
                    drainTo(consumer, assigned, asked);
                }
            }
        } catch (Throwable e) {
            failure.set(e);
        }
    }

    /** Whether this consumer's position has reached the partitions' end (the last stable offset). */
    private void drainTo(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> assigned, long asked) {
        try {
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned, Duration.ofSeconds(5));
            StringBuilder state = new StringBuilder();
            boolean reached = true;
            for (TopicPartition partition : assigned) {
                long position = consumer.position(partition, Duration.ofSeconds(5));
                state.append(partition.partition()).append(": ").append(position).append('/').append(end.get(partition))
                        .append(' ');
                reached &= position >= end.get(partition);
            }
            drainState = state.toString().trim();
            if (reached) {
                drainedFor = asked;
            }
        } catch (org.apache.kafka.common.errors.TimeoutException brokerAway) {
            drainState = "broker not answering: " + brokerAway.getMessage();
        }
    }

    private void add(ConsumerRecord<byte[], byte[]> record) {
        Header idHeader = record.headers().lastHeader("id");
        String payload = new String(record.value(), StandardCharsets.UTF_8);
        Delivered row = new Delivered(record.partition(), record.offset(),
                idHeader == null ? null : UUID.fromString(new String(idHeader.value(), StandardCharsets.UTF_8)),
                record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8),
                number(SEQ, payload), number(N, payload));
        synchronized (delivered) {
            delivered.add(row);
        }
        if (row.id() != null) {
            distinct.add(row.id());
        }
        maxN.accumulateAndGet(row.n(), Math::max);
    }

    private static long number(Pattern pattern, String payload) {
        Matcher matcher = pattern.matcher(payload);
        return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
    }

    /** The largest row number read so far, -1 before the first. */
    long maxN() {
        return maxN.get();
    }

    /** Records read so far. */
    int count() {
        synchronized (delivered) {
            return delivered.size();
        }
    }

    /** Whether every one of {@code rows} has been read at least once. */
    boolean hasAll(Collection<OutboxWriters.Row> rows) {
        checkAlive();
        return rows.stream().allMatch(row -> distinct.contains(row.id()));
    }

    /** How many of {@code rows} have not been read yet. */
    long missing(Collection<OutboxWriters.Row> rows) {
        return rows.stream().filter(row -> !distinct.contains(row.id())).count();
    }

    /**
     * Asks the reader to read to the end offsets as they are from now on; {@link #drained()} turns true
     * once it has.
     */
    void requestDrain() {
        drainRequested = System.nanoTime();
    }

    /** Whether the reader reached the end offsets taken after the last {@link #requestDrain()}. */
    boolean drained() {
        checkAlive();
        return drainRequested >= 0 && drainedFor >= drainRequested;
    }

    /** Positions against end offsets, per partition, as last seen. */
    String drainState() {
        return drainState;
    }

    private void checkAlive() {
        Throwable e = failure.get();
        if (e != null) {
            throw new AssertionError("the reader failed", e);
        }
    }

    /**
     * Compares what was read with what was written.
     *
     * @param committed the rows of committed transactions
     * @param aborted   ids of rows of transactions that were rolled back or never committed
     * @param ordered   the keys whose order is checked (all but those of rows whose order is checked elsewhere)
     */
    Verdict check(List<OutboxWriters.Row> committed, Set<UUID> aborted, java.util.function.Predicate<String> ordered) {
        List<Delivered> read;
        synchronized (delivered) {
            read = List.copyOf(delivered);
        }
        Map<UUID, OutboxWriters.Row> byId = new LinkedHashMap<>();
        committed.forEach(row -> byId.put(row.id(), row));
        Map<UUID, List<Delivered>> arrivals = new LinkedHashMap<>();
        read.forEach(row -> arrivals.computeIfAbsent(row.id(), id -> new ArrayList<>()).add(row));
        List<String> lost = new ArrayList<>();
        Map<String, Integer> lostVia = new java.util.TreeMap<>();
        byId.values().stream().filter(row -> !arrivals.containsKey(row.id())).forEach(row -> {
            lost.add(row.toString());
            lostVia.merge(row.via().startsWith("COPY") ? "COPY" : "INSERT", 1, Integer::sum);
        });
        List<String> duplicated = new ArrayList<>();
        arrivals.forEach((id, copies) -> {
            if (copies.size() > 1) {
                duplicated.add(copies.toString());
            }
        });
        List<String> fromAborted = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        arrivals.forEach((id, copies) -> {
            if (aborted.contains(id)) {
                fromAborted.add(copies.get(0).toString());
            } else if (!byId.containsKey(id)) {
                unknown.add(copies.get(0).toString());
            }
        });
        // Per key in partition order (one key, one partition): seq strictly increasing.
        Map<String, Delivered> lastOfKey = new HashMap<>();
        List<String> disorder = new ArrayList<>();
        read.stream().sorted(java.util.Comparator.comparingInt(Delivered::partition).thenComparingLong(Delivered::offset))
                .filter(row -> ordered.test(row.key()))
                .forEach(row -> {
                    Delivered last = lastOfKey.put(row.key(), row);
                    if (last != null && row.seq() <= last.seq()) {
                        disorder.add(last + " then " + row);
                    }
                });
        return new Verdict(committed.size(), read.size(), lost, lostVia, duplicated, fromAborted, unknown, disorder);
    }

    /** What {@link #check} found; each list names the rows concerned. */
    record Verdict(int committed, int read, List<String> lost, Map<String, Integer> lostVia, List<String> duplicated,
            List<String> fromAborted,
            List<String> unknown, List<String> disorder) {

        boolean exact() {
            return lost.isEmpty() && duplicated.isEmpty() && fromAborted.isEmpty() && unknown.isEmpty()
                    && disorder.isEmpty();
        }

        @Override
        public String toString() {
            return "committed " + committed + ", records read " + read + ", lost " + lost.size() + (lost.isEmpty() ? "" : " " + lostVia) + ", duplicated "
                    + duplicated.size() + ", from aborted transactions " + fromAborted.size() + ", unknown "
                    + unknown.size() + ", out of order " + disorder.size()
                    + sample("lost", lost) + sample("duplicated", duplicated) + sample("from aborted", fromAborted)
                    + sample("unknown", unknown) + sample("out of order", disorder);
        }

        /** Every row concerned, one a line, for {@code verdict.txt}. */
        String details() {
            StringBuilder out = new StringBuilder(toString()).append(System.lineSeparator());
            Map<String, List<String>> lists = new LinkedHashMap<>();
            lists.put("lost", lost);
            lists.put("duplicated", duplicated);
            lists.put("from aborted", fromAborted);
            lists.put("unknown", unknown);
            lists.put("out of order", disorder);
            lists.forEach((what, items) -> items.forEach(item -> out.append(what).append(": ").append(item)
                    .append(System.lineSeparator())));
            return out.toString();
        }

        private static String sample(String what, List<String> items) {
            return items.isEmpty() ? "" : "\n  " + what + " (first " + Math.min(10, items.size()) + "): "
                    + String.join("\n    ", items.subList(0, Math.min(10, items.size())));
        }
    }

    @Override
    public void close() throws InterruptedException {
        closing = true;
        thread.join(30_000);
    }
}
