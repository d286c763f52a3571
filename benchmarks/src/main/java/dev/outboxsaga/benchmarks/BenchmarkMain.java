package dev.outboxsaga.benchmarks;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.sample.bank.DemoResult;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.relay.RelayStatus;
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
    /** CPU time of this JVM (relay, broker, writer and reader) per row in the last relay run. */
    private double lastCpuMicrosPerRow;

    private BenchmarkMain(Infrastructure infra, int rows) {
        this.infra = infra;
        this.rows = rows;
    }

    public static void main(String[] args) throws Exception {
        boolean full = Arrays.asList(args).contains("--full");
        int rows = Integer.parseInt(argument(args, "--rows", full ? "100000" : "10000"));
        int repeats = Integer.parseInt(argument(args, "--runs", full ? "5" : "3"));
        List<String> only = Arrays.asList(argument(args, "--only",
                "raw,relay,stock,polling,connect,ceiling,scaleout,single,eos,latency,write,saga,rss" + (full ? ",stock-tuned" : "")).split(","));
        Path output = Path.of(argument(args, "--output", "benchmarks/results/latest.json"));
        long began = System.nanoTime();
        System.out.printf("outbox-saga benchmarks (%s): %,d rows per run in transactions of %d, %d runs, fsync on, "
                + "%d cores%n", full ? "full" : "quick", rows, BATCH, repeats, Runtime.getRuntime().availableProcessors());
        Map<String, List<Double>> results = new LinkedHashMap<>();
        try (Infrastructure infra = new Infrastructure()) {
            BenchmarkMain bench = new BenchmarkMain(infra, rows);
            Scenarios scenarios = new Scenarios(infra);
            // Warm-up: class loading and JIT for the engines before anything counts.
            bench.relay();
            if (only.contains("relay") || only.contains("scaleout")) {
                // One more pass, draining: with one pass only, the first run's drain figures came out at about
                // 60 % of the later runs' (20,000 rows a run).
                bench.relayDrain();
            }
            if (only.contains("stock")) {
                bench.stock(false);
            }
            if (only.contains("connect")) {
                bench.connect(true);
            }
            for (int run = 1; run <= repeats; run++) {
                if (only.contains("raw")) {
                    record(results, "raw_insert_rows_per_s", bench.rawInsert());
                }
                Double relay = null;
                Double relayDrain = null;
                if (only.contains("relay")) {
                    relay = bench.relay();
                    record(results, "relay_jvm_cpu_us_per_row", bench.lastCpuMicrosPerRow);
                    relayDrain = bench.relayDrain();
                    record(results, "relay_rows_per_s", relay);
                    record(results, "relay_drain_rows_per_s", relayDrain);
                    // --relay-variants "poll2:poll.interval.ms=2;...": the relay with other settings, right after
                    // the default one in each run, as relay_<label>_rows_per_s.
                    for (String[] variant : variants(argument(args, "--relay-variants", ""))) {
                        record(results, "relay_" + variant[0] + "_rows_per_s", bench.relay(settings(variant[1])));
                        record(results, "relay_" + variant[0] + "_jvm_cpu_us_per_row", bench.lastCpuMicrosPerRow);
                    }
                }
                if (only.contains("stock")) {
                    record(results, "stock_debezium_rows_per_s", bench.stock(false));
                    record(results, "stock_debezium_drain_rows_per_s", bench.stockDrain());
                }
                if (only.contains("stock-tuned")) {
                    record(results, "stock_debezium_tuned_rows_per_s", bench.stock(true));
                }
                if (only.contains("polling")) {
                    double polling = bench.polling();
                    double pollingDrain = bench.pollingDrain();
                    record(results, "polling_rows_per_s", polling);
                    record(results, "polling_drain_rows_per_s", pollingDrain);
                    if (relay != null) {
                        record(results, "relay_vs_polling_ratio", relayDrain / pollingDrain);
                        record(results, "relay_vs_polling_e2e_ratio", relay / polling);
                    }
                }
                if (only.contains("connect")) {
                    record(results, "connect_router_rows_per_s", bench.connect(true));
                    double connectDrain = bench.connectDrain(true);
                    record(results, "connect_router_drain_rows_per_s", connectDrain);
                    record(results, "connect_router_no_eos_rows_per_s", bench.connect(false));
                    record(results, "connect_router_no_eos_drain_rows_per_s", bench.connectDrain(false));
                    if (relayDrain != null) {
                        record(results, "relay_vs_connect_ratio", relayDrain / connectDrain);
                    }
                }
                if (only.contains("ceiling")) {
                    double ceiling = bench.ceiling();
                    record(results, "pgoutput_ceiling_rows_per_s", ceiling);
                    if (relayDrain != null) {
                        record(results, "relay_vs_ceiling_ratio", relayDrain / ceiling);
                    }
                }
                if (only.contains("scaleout")) {
                    for (int shards : new int[] {1, 2, 4}) {
                        record(results, "relay_scaleout_rows_per_s_n" + shards, bench.scaleout(shards));
                    }
                }
                if (only.contains("single")) {
                    record(results, "relay_single_row_tx_rows_per_s", bench.relaySingleRowTransactions());
                }
                if (only.contains("eos")) {
                    double transactional = bench.relay();
                    double idempotent = bench.idempotentVariant();
                    record(results, "relay_idempotent_only_rows_per_s", idempotent);
                    record(results, "eos_overhead_ratio", transactional / idempotent);
                }
                System.out.printf("run %d done%n", run);
            }
            if (only.contains("latency")) {
                // --latency-variants "base:;fast:poll.interval.ms=2,consumer.fetch.max.wait.ms=10": relay settings
                // (consumer.* for the reader) per variant, run alternately --latency-runs times each; the first
                // variant's figures get the plain keys, the others latency_<label>_...
                List<String[]> variants = variants(argument(args, "--latency-variants", "base:"));
                int latencyRuns = Integer.parseInt(argument(args, "--latency-runs", "1"));
                int seconds = Integer.parseInt(argument(args, "--latency-seconds", full ? "20" : "5"));
                // Steady state: the first seconds after the relay starts (JIT, first transactions) are not counted.
                int warmup = Integer.parseInt(argument(args, "--latency-warmup-seconds", "5"));
                for (int run = 0; run < latencyRuns; run++) {
                    for (int v = 0; v < variants.size(); v++) {
                        Map<String, String> relaySettings = new LinkedHashMap<>();
                        Map<String, String> consumerSettings = new LinkedHashMap<>();
                        settings(variants.get(v)[1]).forEach((key, value) -> {
                            if (key.startsWith("consumer.")) {
                                consumerSettings.put(key.substring("consumer.".length()), value);
                            } else {
                                relaySettings.put(key, value);
                            }
                        });
                        String prefix = v == 0 ? "latency_" : "latency_" + variants.get(v)[0] + "_";
                        System.out.printf("latency variant %s: relay %s, consumer %s%n", variants.get(v)[0], relaySettings,
                                consumerSettings);
                        Scenarios.Latencies latencies = scenarios.latency(1000, warmup, seconds, relaySettings, consumerSettings);
                        recordLatencies(results, prefix, latencies);
                    }
                }
            }
            if (only.contains("idle")) {
                // --idle-variants "old:poll.interval.ms=20;new:": CPU of an idle relay, alternately.
                for (int run = 0; run < repeats; run++) {
                    for (String[] variant : variants(argument(args, "--idle-variants", "base:"))) {
                        record(results, "relay_idle_" + variant[0] + "_cpu_ms_per_s",
                                scenarios.idleCpuMillisPerSecond(settings(variant[1]), 5));
                    }
                }
            }
            if (only.contains("write")) {
                for (int run = 0; run < 2; run++) {
                    double plain = scenarios.businessTransactions(false, full ? 10 : 3);
                    double withOutbox = scenarios.businessTransactions(true, full ? 10 : 3);
                    record(results, "business_tx_per_s", plain);
                    record(results, "business_tx_with_outbox_per_s", withOutbox);
                    record(results, "outbox_write_overhead_ratio", withOutbox / plain);
                }
            }
            if (only.contains("saga")) {
                // Warm-up: class loading and JIT of the saga path (three services, three relays).
                scenarios.sagas(300, 32);
                int inFlight = 16;
                for (int run = 1; run <= repeats; run++) {
                    DemoResult load = scenarios.sagas(full ? 4000 : 2000, 128);
                    double saturation = load.transfers() / load.seconds();
                    record(results, "saga_per_s", saturation);
                    // Half of saturation, closed loop: the sagas in flight are adjusted so that the rate lands
                    // near half of the one just measured (rate = in flight / latency), and kept for later runs.
                    DemoResult half = scenarios.sagas(full ? 1000 : 500, inFlight);
                    double rate = half.transfers() / half.seconds();
                    if (rate < 0.35 * saturation || rate > 0.65 * saturation) {
                        inFlight = (int) Math.max(1, Math.min(128, Math.round(inFlight * 0.5 * saturation / rate)));
                        half = scenarios.sagas(full ? 1000 : 500, inFlight);
                        rate = half.transfers() / half.seconds();
                    }
                    record(results, "saga_half_load_per_s", rate);
                    record(results, "saga_half_load_in_flight", inFlight);
                    record(results, "saga_p50_ms", (double) half.percentile(50));
                    record(results, "saga_p99_ms", (double) half.percentile(99));
                }
            }
            if (only.contains("rss")) {
                record(results, "relay_rss_mb", scenarios.relayRssMegabytes(rows));
            }
        }
        Report.print(results);
        Report.write(output, results, Map.of("mode", full ? "full" : "quick", "rows_per_run", rows,
                "batch", BATCH, "runs", repeats, "cores", Runtime.getRuntime().availableProcessors(),
                "measured_at", Instant.now().toString(), "seconds", (System.nanoTime() - began) / 1_000_000_000L));
        System.out.println("wrote " + output.toAbsolutePath() + " in " + (System.nanoTime() - began) / 1_000_000_000L + " s");
    }

    private static void recordLatencies(Map<String, List<Double>> results, String prefix, Scenarios.Latencies latencies) {
        List<Double> total = latencies.total();
        record(results, prefix + "p50_ms", percentile(total, 50));
        record(results, prefix + "p99_ms", percentile(total, 99));
        record(results, prefix + "max_ms", total.isEmpty() ? 0 : total.get(total.size() - 1));
        String hop = prefix.replaceFirst("^latency_", "latency_hop_");
        for (double p : new double[] {50, 99}) {
            String suffix = "_p" + (int) p + "_ms";
            record(results, hop + "commit_to_relay" + suffix, percentile(latencies.commitToRelay(), p));
            record(results, hop + "relay_to_kafka_commit" + suffix, percentile(latencies.relayToKafkaCommit(), p));
            record(results, hop + "kafka_commit_to_consumer" + suffix, percentile(latencies.kafkaCommitToConsumer(), p));
        }
    }

    /** {@code label:settings;label:settings} as (label, settings) pairs. */
    private static List<String[]> variants(String spec) {
        List<String[]> variants = new ArrayList<>();
        for (String variant : spec.split(";")) {
            if (variant.isBlank()) {
                continue;
            }
            int colon = variant.indexOf(':');
            variants.add(new String[] {variant.substring(0, colon).trim(), variant.substring(colon + 1).trim()});
        }
        return variants;
    }

    /** {@code key=value,key=value} as a map, in order. */
    private static Map<String, String> settings(String spec) {
        Map<String, String> settings = new LinkedHashMap<>();
        for (String setting : spec.split(",")) {
            if (!setting.isBlank()) {
                String[] kv = setting.split("=", 2);
                settings.put(kv[0].trim(), kv[1].trim());
            }
        }
        return settings;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static double percentile(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    private static void record(Map<String, List<Double>> results, String key, double value) {
        results.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        System.out.printf(value < 100 ? "  %-50s %,12.2f%n" : "  %-50s %,12.0f%n", key, value);
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
        return relay(Map.of());
    }

    /**
     * The relay with {@code settings} on top of its defaults; {@code sys.<name>} settings are set as system
     * properties for this run only (for experiments with patched classes on the class path).
     */
    double relay(Map<String, String> settings) throws Exception {
        Map<String, String> relaySettings = new LinkedHashMap<>(settings);
        relaySettings.keySet().removeIf(key -> key.startsWith("sys."));
        settings.forEach((key, value) -> {
            if (key.startsWith("sys.")) {
                System.setProperty(key.substring(4), value);
            }
        });
        try {
            return relayWith(relaySettings);
        } finally {
            settings.keySet().stream().filter(key -> key.startsWith("sys.")).forEach(key -> System.clearProperty(key.substring(4)));
        }
    }

    private double relayWith(Map<String, String> settings) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            Map<String, String> relaySettings = new LinkedHashMap<>(settings);
            String columns = relaySettings.remove("bench.publication.columns");
            RelayConfig config = Scenarios.relayConfig(db, infra.kafka.bootstrapServers(), relaySettings);
            if (columns != null) {
                // Experiment: a publication with a column list (PostgreSQL 15+), made before the relay starts,
                // keeps the other columns out of the WAL stream altogether.
                db.execute("CREATE PUBLICATION " + config.publicationName() + " FOR TABLE public.outbox_event ("
                        + columns.replace('/', ',') + ") WITH (publish = 'insert')");
            }
            try (OutboxRelay relay = OutboxRelay.create(config);
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                Thread thread = new Thread(relay, "bench-relay");
                thread.start();
                long cpuBefore = processCpuNanos();
                double rate = measure(db, aggregateType, reader);
                double cpuMicrosPerRow = (processCpuNanos() - cpuBefore) / 1e3 / rows;
                RelayStatus status = relay.status();
                System.out.printf("    relay %s: %,d records in %,d Kafka transactions (%.0f a transaction), "
                        + "%.1f us CPU a row in this JVM%n", settings,
                        status.recordsPublished(), status.transactionsCommitted(),
                        status.recordsPublished() / (double) Math.max(1, status.transactionsCommitted()), cpuMicrosPerRow);
                lastCpuMicrosPerRow = cpuMicrosPerRow;
                relay.close();
                thread.join();
                return rate;
            }
        }
    }

    /** A polling relay (SELECT ... FOR UPDATE SKIP LOCKED, publish, delete) on the same rows. */
    double polling() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (PollingRelay polling = new PollingRelay(db.dataSource(), infra.kafka.bootstrapServers());
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                return measure(db, aggregateType, reader);
            }
        }
    }

    /** The relay's pipeline with an idempotent producer instead of transactions. */
    double idempotentVariant() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (IdempotentVariant variant = new IdempotentVariant(db, infra.kafka.bootstrapServers());
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                return measure(db, aggregateType, reader);
            }
        }
    }

    /** The relay when every row is its own transaction, written by 8 clients. */
    double relaySingleRowTransactions() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (OutboxRelay relay = OutboxRelay.create(Scenarios.relayConfig(db, infra.kafka.bootstrapServers()));
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                Thread thread = new Thread(relay, "bench-relay-single");
                thread.start();
                infra.insert(db, infra.messages(aggregateType, 1, -1), 1);
                Infrastructure.readUntil(reader, 1, DEADLINE);
                int count = rows / 2;
                List<OutboxMessage> messages = infra.messages(aggregateType, count, 0);
                java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(8);
                long start = System.nanoTime();
                for (int client = 0; client < 8; client++) {
                    List<OutboxMessage> share = messages.subList(client * count / 8, (client + 1) * count / 8);
                    clients.submit(() -> infra.insert(db, share, 1));
                }
                long last = Infrastructure.readUntil(reader, count, DEADLINE);
                clients.shutdown();
                relay.close();
                thread.join();
                return count / ((last - start) / 1e9);
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
                stock.start();
                return measure(db, aggregateType, reader);
            }
        }
    }

    /**
     * The relay draining a backlog: the slot and publication are created ({@code init}), the rows written,
     * then the relay started; timed from its slot turning active to the last row read.
     */
    double relayDrain() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            RelayConfig config = Scenarios.relayConfig(db, infra.kafka.bootstrapServers());
            OutboxRelay.initialize(config);
            try (OutboxRelay relay = OutboxRelay.create(config);
                 KafkaConsumer<byte[], byte[]> reader = infra.joinedReader(topic)) {
                infra.insert(db, infra.messages(aggregateType, rows, 0), BATCH);
                Thread thread = new Thread(relay, "bench-relay-drain");
                thread.start();
                double rate = drained(db, reader, List.of(config.slotName()));
                relay.close();
                thread.join();
                return rate;
            }
        }
    }

    /** Stock Debezium draining a backlog written before its engine started; clocked as {@link #relayDrain()}. */
    double stockDrain() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (StockDebezium stock = new StockDebezium(db, infra.kafka.bootstrapServers(), false);
                 KafkaConsumer<byte[], byte[]> reader = infra.joinedReader(topic)) {
                infra.insert(db, infra.messages(aggregateType, rows, 0), BATCH);
                stock.start();
                return drained(db, reader, List.of(StockDebezium.SLOT));
            }
        }
    }

    /** The polling relay draining a backlog: from its start (it has no slot) to the last row read. */
    double pollingDrain() throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (KafkaConsumer<byte[], byte[]> reader = infra.joinedReader(topic)) {
                infra.insert(db, infra.messages(aggregateType, rows, 0), BATCH);
                long start = System.nanoTime();
                try (PollingRelay polling = new PollingRelay(db.dataSource(), infra.kafka.bootstrapServers())) {
                    long last = Infrastructure.readUntil(reader, rows, DEADLINE);
                    return rows / ((last - start) / 1e9);
                }
            }
        }
    }

    /**
     * Kafka Connect (distributed worker in this JVM) + Debezium's connector + EventRouter, end to end: the
     * clock starts once the worker runs, the task is RUNNING and a warm-up row went through.
     */
    double connect(boolean exactlyOnce) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (ConnectRouter connect = new ConnectRouter(db, infra.kafka.bootstrapServers(), exactlyOnce);
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                connect.start();
                Infrastructure.awaitSlotActive(db, List.of(ConnectRouter.SLOT), DEADLINE);
                return measure(db, aggregateType, reader);
            }
        }
    }

    /** Kafka Connect draining a backlog written before the worker started; clocked as {@link #relayDrain()}. */
    double connectDrain(boolean exactlyOnce) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (ConnectRouter connect = new ConnectRouter(db, infra.kafka.bootstrapServers(), exactlyOnce);
                 KafkaConsumer<byte[], byte[]> reader = infra.joinedReader(topic)) {
                infra.insert(db, infra.messages(aggregateType, rows, 0), BATCH);
                // The worker's start blocks for seconds (group join, task start); the slot turns active
                // meanwhile, so start it aside and read here.
                java.util.concurrent.CompletableFuture<Void> started = java.util.concurrent.CompletableFuture.runAsync(() -> {
                    try {
                        connect.start();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                double rate = drained(db, reader, List.of(ConnectRouter.SLOT));
                started.get();
                return rate;
            }
        }
    }

    /** PostgreSQL's pgoutput stream of the same backlog to a client that discards it: the ceiling. */
    double ceiling() throws Exception {
        try (TestDatabase db = infra.database()) {
            PgoutputCeiling.prepare(db);
            infra.insert(db, infra.messages(Infrastructure.aggregateType(), rows, 0), BATCH);
            return PgoutputCeiling.drain(db, rows, DEADLINE);
        }
    }

    /**
     * The relay scaled out over {@code shards} outbox tables ({@code Outbox.builder().shards(n)}), one
     * {@link OutboxRelay} per table in this JVM, draining the same backlog: from the first slot active to
     * the last row read, over all of them.
     */
    double scaleout(int shards) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            Outbox outbox = Outbox.builder().shards(shards).build();
            OutboxSchema.migrateShards(db.dataSource(), outbox);
            List<RelayConfig> configs = new ArrayList<>();
            String base = "bench-" + UUID.randomUUID().toString().substring(0, 8);
            for (int shard = 0; shard < shards; shard++) {
                RelayConfig config = RelayConfig.builder()
                        .set(RelayConfig.NAME, base + "-" + shard)
                        .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                        .set(RelayConfig.DATABASE_USER, db.username())
                        .set(RelayConfig.DATABASE_PASSWORD, db.password())
                        .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, infra.kafka.bootstrapServers())
                        .set(RelayConfig.OUTBOX_TABLES, "public." + outbox.tables().get(shard))
                        .set(RelayConfig.METRICS_PORT, -1)
                        .build();
                OutboxRelay.initialize(config);
                configs.add(config);
            }
            List<OutboxMessage> messages = infra.messages(aggregateType, rows, 0);
            for (int i = 0; i < messages.size(); i += BATCH) {
                List<OutboxMessage> slice = messages.subList(i, Math.min(messages.size(), i + BATCH));
                outbox.inTransaction(db.dataSource(), tx -> {
                    tx.appendAll(slice);
                    return null;
                });
            }
            List<OutboxRelay> relays = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            try (KafkaConsumer<byte[], byte[]> reader = infra.joinedReader(topic)) {
                for (RelayConfig config : configs) {
                    OutboxRelay relay = OutboxRelay.create(config);
                    relays.add(relay);
                    Thread thread = new Thread(relay, "bench-relay-" + config.name());
                    threads.add(thread);
                }
                threads.forEach(Thread::start);
                return drained(db, reader, configs.stream().map(RelayConfig::slotName).toList());
            } finally {
                relays.forEach(OutboxRelay::close);
                for (Thread thread : threads) {
                    thread.join();
                }
            }
        }
    }

    /** From the first of {@code slots} turning active to the last of the backlog's rows read. */
    private double drained(TestDatabase db, KafkaConsumer<byte[], byte[]> reader, List<String> slots) {
        long start = Infrastructure.awaitSlotActive(db, slots, DEADLINE);
        long last = Infrastructure.readUntil(reader, rows, DEADLINE);
        return rows / ((last - start) / 1e9);
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
