package dev.outboxsaga.benchmarks;

import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.testkit.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * Runs the benchmarks side by side in one process on one machine and prints a table; writes
 * {@code benchmarks/results/latest.json}. {@code --quick} (default) or {@code --full}.
 */
public final class BenchmarkMain {

    private static final int BATCH = 500;
    private static final Duration DEADLINE = Duration.ofMinutes(5);

    private final Infrastructure infra;
    private final int rows;

    private BenchmarkMain(Infrastructure infra, int rows) {
        this.infra = infra;
        this.rows = rows;
    }

    public static void main(String[] args) throws Exception {
        boolean full = Arrays.asList(args).contains("--full");
        int rows = Integer.parseInt(argument(args, "--rows", full ? "100000" : "20000"));
        List<String> only = Arrays.asList(argument(args, "--only", "raw,relay,stock,stock-tuned").split(","));
        int repeats = full ? 5 : 3;
        Path output = Path.of(argument(args, "--output", "benchmarks/results/latest.json"));
        System.out.printf("outbox-saga benchmarks (%s): %,d rows per run in transactions of %d, %d runs, fsync on, "
                + "%d cores%n", full ? "full" : "quick", rows, BATCH, repeats, Runtime.getRuntime().availableProcessors());
        Map<String, List<Double>> results = new LinkedHashMap<>();
        try (Infrastructure infra = new Infrastructure()) {
            BenchmarkMain bench = new BenchmarkMain(infra, rows);
            // Warm-up: class loading and JIT for both engines before anything counts.
            bench.relay();
            if (only.contains("stock")) {
                bench.stock(false);
            }
            for (int run = 1; run <= repeats; run++) {
                if (only.contains("raw")) {
                    record(results, "raw_insert_rows_per_s", bench.rawInsert());
                }
                if (only.contains("relay")) {
                    record(results, "relay_rows_per_s", bench.relay());
                }
                if (only.contains("stock")) {
                    record(results, "stock_debezium_rows_per_s", bench.stock(false));
                }
                if (only.contains("stock-tuned")) {
                    record(results, "stock_debezium_tuned_rows_per_s", bench.stock(true));
                }
                System.out.printf("run %d done%n", run);
            }
        }
        Report.print(results);
        Report.write(output, results, Map.of("mode", full ? "full" : "quick", "rows_per_run", rows,
                "batch", BATCH, "runs", repeats, "cores", Runtime.getRuntime().availableProcessors(),
                "measured_at", Instant.now().toString()));
        System.out.println("wrote " + output.toAbsolutePath());
    }

    private static void record(Map<String, List<Double>> results, String key, double value) {
        results.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        System.out.printf("  %-34s %,12.0f%n", key, value);
    }

    private static String argument(String[] args, String name, String fallback) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }

    /** Outbox rows inserted per second with no slot and no relay: the ceiling. */
    double rawInsert() {
        try (TestDatabase db = infra.database()) {
            List<OutboxMessage> messages = infra.messages(Infrastructure.aggregateType(), rows, 0);
            long nanos = infra.insert(db, messages, BATCH);
            return rows / (nanos / 1e9);
        }
    }

    /** The project's relay: from the first insert to the last row visible to a read_committed consumer. */
    double relay() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            RelayConfig config = RelayConfig.builder()
                    .set(RelayConfig.NAME, "bench-" + UUID.randomUUID().toString().substring(0, 8))
                    .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                    .set(RelayConfig.DATABASE_USER, db.username())
                    .set(RelayConfig.DATABASE_PASSWORD, db.password())
                    .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, infra.kafka.bootstrapServers())
                    .set(RelayConfig.METRICS_PORT, -1)
                    .build();
            try (OutboxRelay relay = OutboxRelay.create(config);
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                Thread thread = new Thread(relay, "bench-relay");
                thread.start();
                double rate = measure(db, aggregateType, reader);
                relay.close();
                thread.join();
                return rate;
            }
        }
    }

    /** Stock Debezium embedded + its outbox event router + a plain producer, on the same rows. */
    double stock(boolean tuned) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (StockDebezium stock = new StockDebezium(db, infra.kafka.bootstrapServers(), tuned);
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                return measure(db, aggregateType, reader);
            }
        }
    }

    /** Waits until a warm-up row went through, then times the rows from first insert to last read. */
    private double measure(TestDatabase db, String aggregateType, KafkaConsumer<byte[], byte[]> reader) {
        infra.insert(db, infra.messages(aggregateType, 1, -1), 1);
        Infrastructure.readUntil(reader, 1, DEADLINE);
        List<OutboxMessage> messages = infra.messages(aggregateType, rows, 0);
        long start = System.nanoTime();
        infra.insert(db, messages, BATCH);
        long last = Infrastructure.readUntil(reader, rows, DEADLINE);
        return rows / ((last - start) / 1e9);
    }

    static void ensureFolder(Path output) throws java.io.IOException {
        if (output.getParent() != null) {
            Files.createDirectories(output.getParent());
        }
    }
}
