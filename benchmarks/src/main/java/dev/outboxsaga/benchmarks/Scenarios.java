package dev.outboxsaga.benchmarks;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.relay.internal.OutboxRow;
import dev.outboxsaga.relay.internal.RelayProbe;
import dev.outboxsaga.sample.bank.DemoOptions;
import dev.outboxsaga.sample.bank.DemoResult;
import dev.outboxsaga.sample.bank.DemoRun;
import dev.outboxsaga.sample.bank.Faults;
import dev.outboxsaga.testkit.TestDatabase;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/** The measurements beyond plain throughput: latency, overheads, sagas, memory. */
final class Scenarios {

    private final Infrastructure infra;

    Scenarios(Infrastructure infra) {
        this.infra = infra;
    }

    static RelayConfig relayConfig(TestDatabase db, String bootstrap) {
        return RelayConfig.builder()
                .set(RelayConfig.NAME, "bench-" + UUID.randomUUID().toString().substring(0, 8))
                .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, db.username())
                .set(RelayConfig.DATABASE_PASSWORD, db.password())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, bootstrap)
                .set(RelayConfig.METRICS_PORT, -1)
                .build();
    }

    static RelayConfig relayConfig(TestDatabase db, String bootstrap, Map<String, String> overrides) {
        RelayConfig base = relayConfig(db, bootstrap);
        RelayConfig.Builder builder = RelayConfig.builder()
                .set(RelayConfig.NAME, base.name())
                .set(RelayConfig.DATABASE_URL, base.databaseUrl())
                .set(RelayConfig.DATABASE_USER, base.databaseUser())
                .set(RelayConfig.DATABASE_PASSWORD, base.databasePassword())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, base.bootstrapServers())
                .set(RelayConfig.METRICS_PORT, -1);
        overrides.forEach(builder::set);
        return builder.build();
    }

    /**
     * Latencies of one latency run, each list sorted, in ms: commit to read_committed consumer, and its
     * hops (writer's commit to relay receive, relay receive to Kafka commit, Kafka commit to consumer).
     */
    record Latencies(List<Double> total, List<Double> commitToRelay, List<Double> relayToKafkaCommit,
            List<Double> kafkaCommitToConsumer) {
    }

    /** Commit to read_committed consumer, rows paced at {@code rate} per second for {@code seconds}. */
    Latencies latency(int rate, int seconds) throws Exception {
        return latency(rate, 0, seconds, Map.of(), Map.of());
    }

    /**
     * Commit to read_committed consumer, rows paced at {@code rate} per second for {@code seconds} after
     * {@code warmupSeconds} at the same pace that are not counted, with
     * {@code relaySettings} on top of the relay's defaults and {@code consumerSettings} on the reader's.
     * The times are taken on one clock ({@code System.nanoTime}, relay and reader in this JVM): the
     * writer's right after its commit returned, the relay's when the engine handed it the batch and
     * after the Kafka commit returned (through {@link RelayProbe}), and the reader's when poll returned.
     */
    Latencies latency(int rate, int warmupSeconds, int seconds, Map<String, String> relaySettings,
            Map<String, String> consumerSettings) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            Map<String, long[]> relayTimes = new ConcurrentHashMap<>();
            RelayProbe.listen((relayName, rows, received, committed) -> {
                for (OutboxRow row : rows) {
                    relayTimes.put(row.get("id"), new long[] {received, committed});
                }
            });
            // bench.process=true: the relay runs as a process of its own (RelayMain, -Xmx256m), as in production;
            // then only the total is measured (no per-hop times), but this JVM's GC and broker do not stall it.
            Map<String, String> settings = new LinkedHashMap<>(relaySettings);
            boolean separate = settings.remove("bench.process") != null;
            RelayConfig config = relayConfig(db, infra.kafka.bootstrapServers(), settings);
            Process process = separate ? startRelayProcess(config, settings) : null;
            try (OutboxRelay relay = OutboxRelay.create(config);
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic, consumerSettings)) {
                Thread thread = new Thread(separate ? () -> { } : relay, "latency-relay");
                thread.start();
                infra.insert(db, infra.messages(aggregateType, 1, -1), 1);
                Infrastructure.readUntil(reader, 1, Duration.ofMinutes(2));
                Map<String, Long> committedAt = new ConcurrentHashMap<>();
                List<Double> latencies = new ArrayList<>();
                List<Double> toRelay = new ArrayList<>();
                List<Double> toKafka = new ArrayList<>();
                List<Double> toConsumer = new ArrayList<>();
                int perTick = Math.max(1, rate / 100);
                // The writer runs warmupSeconds longer; rows of those first seconds (JIT of a relay that has just
                // started, the first Kafka transactions) are written and read but not counted.
                int ticks = (warmupSeconds + seconds) * 100;
                long writerStart = System.nanoTime();
                Thread writer = new Thread(() -> {
                    long start = writerStart;
                    for (int tick = 0; tick < ticks; tick++) {
                        long due = start + tick * 10_000_000L;
                        while (System.nanoTime() < due) {
                            LockSupport.parkNanos(due - System.nanoTime());
                        }
                        List<OutboxMessage> batch = infra.messages(aggregateType, perTick, tick * perTick);
                        infra.insert(db, batch, perTick);
                        long now = System.nanoTime();
                        batch.forEach(m -> committedAt.put(m.id().toString(), now));
                    }
                }, "latency-writer");
                writer.start();
                long expected = (long) ticks * perTick;
                long seen = 0;
                long deadline = System.nanoTime() + Duration.ofSeconds(seconds + 60L).toNanos();
                List<String> late = new ArrayList<>();
                List<Long> lateAt = new ArrayList<>();
                while (seen < expected && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(20))) {
                        long now = System.nanoTime();
                        late.add(new String(record.headers().lastHeader("id").value(), StandardCharsets.UTF_8));
                        lateAt.add(now);
                        seen++;
                    }
                }
                writer.join();
                relay.close();
                thread.join();
                if (process != null) {
                    process.destroy();
                    process.waitFor(30, TimeUnit.SECONDS);
                    process.destroyForcibly();
                }
                RelayProbe.listen(null);
                // -Dbench.latency.outliers=<ms>: print each row slower than that, to see when the tail happens.
                double outlierMillis = Double.parseDouble(System.getProperty("bench.latency.outliers", "0"));
                long warmupNanos = warmupSeconds * 1_000_000_000L;
                for (int i = 0; i < late.size(); i++) {
                    String id = late.get(i);
                    long received = lateAt.get(i);
                    Long committed = committedAt.get(id);
                    if (committed != null && committed - writerStart < warmupNanos) {
                        continue;
                    }
                    long[] relayed = relayTimes.get(id);
                    // A record can outrun the writer's bookkeeping by microseconds; that counts as zero.
                    latencies.add(committed == null ? 0.0 : millis(received - committed));
                    if (committed != null && relayed != null && outlierMillis > 0
                            && millis(received - committed) > outlierMillis) {
                        System.out.printf("    slow row at %.3f s: total %.1f ms = to relay %.1f + to Kafka commit %.1f + "
                                + "to consumer %.1f%n", (committed - writerStart) / 1e9, millis(received - committed),
                                millis(relayed[0] - committed), millis(relayed[1] - relayed[0]), millis(received - relayed[1]));
                    }
                    if (committed != null && relayed != null) {
                        toRelay.add(millis(relayed[0] - committed));
                        toKafka.add(millis(relayed[1] - relayed[0]));
                        toConsumer.add(millis(received - relayed[1]));
                    }
                }
                return new Latencies(sorted(latencies), sorted(toRelay), sorted(toKafka), sorted(toConsumer));
            } finally {
                RelayProbe.listen(null);
                if (process != null) {
                    process.destroyForcibly();
                }
            }
        }
    }

    /**
     * CPU time this JVM spends per second while a relay with {@code relaySettings} streams from an idle
     * outbox (the broker's idle cost included, the same for every variant), in ms per second.
     */
    double idleCpuMillisPerSecond(Map<String, String> relaySettings, int seconds) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            try (OutboxRelay relay = OutboxRelay.create(relayConfig(db, infra.kafka.bootstrapServers(), relaySettings));
                 KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                Thread thread = new Thread(relay, "idle-relay");
                thread.start();
                infra.insert(db, infra.messages(aggregateType, 1, -1), 1);
                Infrastructure.readUntil(reader, 1, Duration.ofMinutes(2));
                reader.close();
                Thread.sleep(1000);
                var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                        .getOperatingSystemMXBean();
                long before = os.getProcessCpuTime();
                Thread.sleep(seconds * 1000L);
                double cpu = (os.getProcessCpuTime() - before) / 1e6 / seconds;
                relay.close();
                thread.join();
                return cpu;
            }
        }
    }

    /** RelayMain run as a child process with {@code config} and {@code settings}, its output discarded. */
    private static Process startRelayProcess(RelayConfig config, Map<String, String> settings) throws Exception {
        List<String> lines = new ArrayList<>(List.of(
                RelayConfig.NAME + "=" + config.name(),
                RelayConfig.DATABASE_URL + "=" + config.databaseUrl(),
                RelayConfig.DATABASE_USER + "=" + config.databaseUser(),
                RelayConfig.DATABASE_PASSWORD + "=" + config.databasePassword(),
                RelayConfig.KAFKA_BOOTSTRAP_SERVERS + "=" + config.bootstrapServers(),
                RelayConfig.METRICS_PORT + "=-1"));
        settings.forEach((key, value) -> lines.add(key + "=" + value));
        Path properties = Files.createTempFile("relay", ".properties");
        Files.writeString(properties, String.join("\n", lines));
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "dev.outboxsaga.relay.RelayMain", "run", "--config", properties.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static double millis(long nanos) {
        return Math.max(0, nanos / 1e6);
    }

    private static List<Double> sorted(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted;
    }

    /** Throughput of business transactions, with or without an outbox row, over {@code seconds} with 4 clients. */
    double businessTransactions(boolean withOutbox, int seconds) throws Exception {
        try (TestDatabase db = infra.database()) {
            db.execute("CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL)");
            db.execute("CREATE TABLE account_history (account int NOT NULL, delta bigint NOT NULL, at timestamptz DEFAULT now())");
            db.execute("INSERT INTO account SELECT g, 1000000 FROM generate_series(1, 1000) g");
            Outbox outbox = infra.outbox;
            AtomicLong done = new AtomicLong();
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService clients = Executors.newFixedThreadPool(4);
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                int client = c;
                futures.add(clients.submit(() -> {
                    int i = 0;
                    while (running.get()) {
                        int account = 1 + (client * 250 + i++ % 250);
                        outbox.inTransaction(db.dataSource(), tx -> {
                            Connection connection = tx.connection();
                            try (PreparedStatement update = connection.prepareStatement(
                                    "UPDATE account SET balance = balance - 1 WHERE id = ?");
                                 PreparedStatement history = connection.prepareStatement(
                                         "INSERT INTO account_history (account, delta) VALUES (?, -1)")) {
                                update.setInt(1, account);
                                update.executeUpdate();
                                history.setInt(1, account);
                                history.executeUpdate();
                            }
                            if (withOutbox) {
                                tx.append(outbox.message().aggregate("account", Integer.toString(account))
                                        .type("AccountDebited").payload("{\"account\": " + account + ", \"amount\": 1}")
                                        .build());
                            }
                            return null;
                        });
                        done.incrementAndGet();
                    }
                    return null;
                }));
            }
            Thread.sleep(Duration.ofSeconds(seconds).toMillis());
            running.set(false);
            for (Future<?> future : futures) {
                future.get();
            }
            clients.shutdown();
            clients.awaitTermination(10, TimeUnit.SECONDS);
            return done.get() / (double) seconds;
        }
    }

    /** Bank-transfer sagas end to end, no faults, {@code concurrency} in flight. */
    DemoResult sagas(int transfers, int concurrency) throws Exception {
        DemoOptions options = new DemoOptions(transfers, concurrency, Faults.parse("none"), Duration.ofSeconds(5), 100, 11,
                null, null, null, null, Path.of("target/bench-sagas.html"), Duration.ofSeconds(60));
        PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
        try (DemoRun run = new DemoRun(options, quiet, infra.postgres, infra.kafkaServer).start()) {
            return run.run();
        }
    }

    /** Peak resident memory of the relay run as its own process while it relays {@code rows} rows. */
    double relayRssMegabytes(int rows) throws Exception {
        try (TestDatabase db = infra.database()) {
            String aggregateType = Infrastructure.aggregateType();
            String topic = infra.topicFor(aggregateType);
            RelayConfig config = relayConfig(db, infra.kafka.bootstrapServers());
            Path properties = Files.createTempFile("relay", ".properties");
            Files.writeString(properties, String.join("\n",
                    RelayConfig.NAME + "=" + config.name(),
                    RelayConfig.DATABASE_URL + "=" + config.databaseUrl(),
                    RelayConfig.DATABASE_USER + "=" + config.databaseUser(),
                    RelayConfig.DATABASE_PASSWORD + "=" + config.databasePassword(),
                    RelayConfig.KAFKA_BOOTSTRAP_SERVERS + "=" + config.bootstrapServers(),
                    RelayConfig.METRICS_PORT + "=-1"));
            String java = ProcessHandle.current().info().command().orElse("java");
            Process process = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                    "dev.outboxsaga.relay.RelayMain", "run", "--config", properties.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try (KafkaConsumer<byte[], byte[]> reader = infra.reader(topic)) {
                infra.insert(db, infra.messages(aggregateType, 1, -1), 1);
                Infrastructure.readUntil(reader, 1, Duration.ofMinutes(2));
                AtomicLong peak = new AtomicLong();
                AtomicBoolean sampling = new AtomicBoolean(true);
                Thread sampler = new Thread(() -> {
                    while (sampling.get()) {
                        peak.accumulateAndGet(rssKilobytes(process.pid()), Math::max);
                        LockSupport.parkNanos(100_000_000L);
                    }
                });
                sampler.start();
                infra.insert(db, infra.messages(aggregateType, rows, 0), 500);
                Infrastructure.readUntil(reader, rows, Duration.ofMinutes(5));
                sampling.set(false);
                sampler.join();
                return peak.get() / 1024.0;
            } finally {
                process.destroy();
                process.waitFor(30, TimeUnit.SECONDS);
                process.destroyForcibly();
            }
        }
    }

    private static long rssKilobytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (Exception e) {
            return 0;
        }
        return 0;
    }
}
