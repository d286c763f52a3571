package dev.outboxsaga.relay;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/** What relay tests share: a migrated database, a unique aggregate type, a config, a read_committed reader. */
final class RelayFixture implements AutoCloseable {

    final TestDatabase db;
    final TestKafka kafka;
    final String aggregateType;
    final String relayName;
    final Outbox outbox = Outbox.builder().build();
    private final List<OutboxRelay> relays = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<RelayProcess> processes = new ArrayList<>();
    private KafkaConsumer<byte[], byte[]> reader;
    private final java.util.Set<String> seen = new java.util.HashSet<>();

    RelayFixture(TestDatabase db, TestKafka kafka) {
        this.db = db;
        this.kafka = kafka;
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        this.aggregateType = "order_" + suffix;
        this.relayName = "test-" + suffix;
        OutboxSchema.migrate(db.dataSource());
    }

    RelayConfig.Builder config() {
        return RelayConfig.builder()
                .set(RelayConfig.NAME, relayName)
                .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, db.username())
                .set(RelayConfig.DATABASE_PASSWORD, db.password())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers())
                .set(RelayConfig.METRICS_PORT, -1)
                .set(RelayConfig.HEARTBEAT_INTERVAL_MS, 1000)
                .set(RelayConfig.LEASE_TTL_MS, 3000)
                .set(RelayConfig.LEASE_RENEW_MS, 500);
    }

    /** Starts a relay in a thread of this JVM. */
    OutboxRelay start(RelayConfig config) {
        return start(config, new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    /** As above, with its meters on {@code registry}. */
    OutboxRelay start(RelayConfig config, io.micrometer.core.instrument.MeterRegistry registry) {
        OutboxRelay relay = OutboxRelay.create(config, registry);
        Thread thread = new Thread(relay, "relay-" + config.instanceId());
        thread.setDaemon(true);
        thread.start();
        relays.add(relay);
        threads.add(thread);
        return relay;
    }

    /** The settings of {@link #config()} as a properties map, for a relay in a process of its own. */
    Map<String, String> processConfig(String instanceId) {
        Map<String, String> config = new HashMap<>();
        config.put(RelayConfig.NAME, relayName);
        config.put(RelayConfig.DATABASE_URL, db.jdbcUrl());
        config.put(RelayConfig.DATABASE_USER, db.username());
        config.put(RelayConfig.DATABASE_PASSWORD, db.password());
        config.put(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        config.put(RelayConfig.METRICS_PORT, "-1");
        config.put(RelayConfig.HEARTBEAT_INTERVAL_MS, "1000");
        config.put(RelayConfig.LEASE_TTL_MS, "3000");
        config.put(RelayConfig.LEASE_RENEW_MS, "500");
        config.put(RelayConfig.INSTANCE_ID, instanceId);
        return config;
    }

    /**
     * Starts a relay in a JVM of its own, with {@link #processConfig(String)} changed by
     * {@code overrides}; {@link #close()} kills it if it still runs. Its log is
     * {@code target/relay-processes/<relay name>-<instance id>.log}.
     */
    RelayProcess startProcess(String instanceId, Map<String, String> overrides, String... jvmFlags) {
        Map<String, String> config = processConfig(instanceId);
        config.putAll(overrides);
        RelayProcess process = new RelayProcess(relayName + "-" + instanceId, config, List.of(jvmFlags));
        processes.add(process);
        return process.start();
    }

    /** As above, without overrides. */
    RelayProcess startProcess(String instanceId, String... jvmFlags) {
        return startProcess(instanceId, Map.of(), jvmFlags);
    }

    /**
     * The instance id in the lease table for this relay name, whether or not the lease is still live (without the
     * random token that the lease holder appends to it).
     */
    String leaseHolder() throws java.sql.SQLException {
        try (java.sql.Connection connection = db.dataSource().getConnection();
             java.sql.PreparedStatement query = connection.prepareStatement(
                     "SELECT holder FROM outbox_relay_lease WHERE relay = ?")) {
            query.setString(1, relayName);
            try (java.sql.ResultSet rows = query.executeQuery()) {
                return rows.next() ? rows.getString(1).replaceFirst("#[0-9a-f]{8}$", "") : null;
            }
        }
    }

    /**
     * Aborts the Kafka transaction that a relay of this name left open when it was killed (as its next
     * instance would, with initTransactions). Until then, or until {@code transaction.timeout.ms}, that
     * transaction holds back the last stable offset of the positions topic that all relays share.
     */
    void abortOpenTransaction() {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("transactional.id", config().build().transactionalId());
        config.put("key.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class.getName());
        config.put("value.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class.getName());
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(config)) {
            producer.initTransactions();
        }
    }

    OutboxMessage message(String key, int sequence) {
        return outbox.message().aggregate(aggregateType, key).type("Placed")
                .payload("{\"seq\": " + sequence + ", \"key\": \"" + key + "\"}").build();
    }

    /** Writes {@code transactions} transactions of {@code rowsEach} rows from {@code clients} threads; returns the ids. */
    List<UUID> writeConcurrently(int clients, int transactions, int rowsEach) throws Exception {
        return writeConcurrently("k", clients, transactions, rowsEach);
    }

    /** As above, with keys {@code <keyPrefix><client>-<0..2>}. */
    List<UUID> writeConcurrently(String keyPrefix, int clients, int transactions, int rowsEach) throws Exception {
        List<UUID> ids = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int client = c;
            futures.add(pool.submit(() -> {
                for (int t = 0; t < transactions; t++) {
                    List<OutboxMessage> batch = new ArrayList<>();
                    for (int r = 0; r < rowsEach; r++) {
                        batch.add(message(keyPrefix + client + "-" + (r % 3), t * rowsEach + r));
                    }
                    outbox.inTransaction(db.dataSource(), tx -> {
                        tx.appendAll(batch);
                        return null;
                    });
                    batch.forEach(m -> ids.add(m.id()));
                }
                return null;
            }));
        }
        for (var future : futures) {
            future.get();
        }
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.SECONDS);
        return ids;
    }

    /** Every record read so far from the aggregate's topic, read_committed, in partition order. */
    List<ConsumerRecord<byte[], byte[]>> readAll(List<ConsumerRecord<byte[], byte[]>> sink) {
        return readAll(sink, Duration.ofMillis(200));
    }

    /** As above, polling for at most {@code timeout}. */
    List<ConsumerRecord<byte[], byte[]>> readAll(List<ConsumerRecord<byte[], byte[]>> sink, Duration timeout) {
        if (reader == null) {
            Map<String, Object> config = new HashMap<>(kafka.consumerConfig("reader-" + UUID.randomUUID()));
            reader = new KafkaConsumer<>(config);
            reader.subscribe(List.of("outbox.event." + aggregateType));
        }
        for (ConsumerRecord<byte[], byte[]> record : reader.poll(timeout)) {
            // A reader that loses its fetch position (broker restart, no committed offsets) reads the same
            // record again; that is the reader repeating itself, not a second record in Kafka.
            if (seen.add(record.topic() + "-" + record.partition() + "@" + record.offset())) {
                sink.add(record);
            }
        }
        return sink;
    }

    /**
     * Reads on until the reader stands at the end of every partition (read_committed: the last stable
     * offset) and a poll of one second brings nothing more. Call it before asserting that nothing
     * arrived twice: a test that stops reading once the expected count has arrived cannot see a
     * duplicate published after it.
     *
     * @throws AssertionError when records keep coming for a minute
     */
    List<ConsumerRecord<byte[], byte[]>> drain(List<ConsumerRecord<byte[], byte[]>> sink) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            int before = sink.size();
            readAll(sink, Duration.ofSeconds(1));
            if (sink.size() == before && readerAtEnd()) {
                return sink;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("records still arriving after a minute of draining; " + sink.size() + " read");
            }
        }
    }

    /** Whether the reader has read everything committed so far in each partition assigned to it. */
    boolean readerAtEnd() {
        if (reader == null || reader.assignment().isEmpty()) {
            return false;
        }
        Set<TopicPartition> assigned = reader.assignment();
        Map<TopicPartition, Long> end = reader.endOffsets(assigned);
        return assigned.stream().allMatch(partition -> reader.position(partition) >= end.get(partition));
    }

    static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    static UUID id(ConsumerRecord<byte[], byte[]> record) {
        return UUID.fromString(header(record, "id"));
    }

    @Override
    public void close() throws InterruptedException {
        processes.forEach(RelayProcess::close);
        if (!processes.isEmpty()) {
            abortOpenTransaction();
        }
        relays.forEach(OutboxRelay::close);
        for (Thread thread : threads) {
            thread.join(30_000);
        }
        if (reader != null) {
            reader.close();
        }
    }
}
