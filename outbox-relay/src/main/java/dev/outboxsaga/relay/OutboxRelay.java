package dev.outboxsaga.relay;

import dev.outboxsaga.core.internal.OptionalLibraries;
import dev.outboxsaga.relay.internal.BatchPublisher;
import dev.outboxsaga.relay.internal.ChangeHandler;
import dev.outboxsaga.relay.internal.Database;
import dev.outboxsaga.relay.internal.DebeziumOffsets;
import dev.outboxsaga.relay.internal.LeaderLease;
import dev.outboxsaga.relay.internal.Misconfiguration;
import dev.outboxsaga.relay.internal.Position;
import dev.outboxsaga.relay.internal.PositionLog;
import dev.outboxsaga.relay.internal.RecordMapper;
import dev.outboxsaga.relay.internal.RelayMetrics;
import dev.outboxsaga.relay.internal.RelayOffsetStore;
import dev.outboxsaga.relay.internal.RelayTracing;
import dev.outboxsaga.relay.internal.SlotSetup;
import dev.outboxsaga.relay.internal.Sql;
import dev.outboxsaga.relay.internal.TransactionalPublisher;
import io.debezium.embedded.Connect;
import io.debezium.engine.format.ChangeEventFormat;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.io.Closeable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams committed outbox inserts from PostgreSQL's write-ahead log to Kafka, exactly once.
 *
 * <p>Debezium's embedded engine decodes the WAL ({@code pgoutput}) from a replication slot. Each
 * batch of rows becomes one Kafka transaction, which also writes the relay's WAL position to a
 * compacted positions topic; only after the commit are the rows marked processed, so the slot is
 * confirmed no further than Kafka has. After a crash at any instant the relay resumes from the
 * position committed with the last batch, and rows at or before it are not published again.
 *
 * <p>Several processes may run for one relay name: the holder of a lease in {@code outbox_relay_lease}
 * publishes, the others wait and take over when the lease expires. All of them share one Kafka
 * {@code transactional.id}; a new leader's {@code initTransactions} fences the old one, so a leader
 * that was paused rather than dead can commit nothing after the takeover.
 *
 * <pre>{@code
 * try (OutboxRelay relay = OutboxRelay.create(config, meterRegistry)) {
 *     relay.run();   // blocks until close() from another thread, or a fatal condition
 * }
 * }</pre>
 */
public final class OutboxRelay implements Runnable, Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(OutboxRelay.class);
    /** Attempts in a row that end on a misconfiguration (see {@link Misconfiguration}) before the relay stops. */
    private static final int MISCONFIGURED_ATTEMPTS = 3;
    /** Engine failures that mean rows may be gone: the slot or its WAL no longer exists. */
    /** Engine failures in a row, without a batch published, after which the leader term ends. */
    private static final int ENGINE_RESTARTS = 3;
    private static final Pattern SLOT_LOST = Pattern.compile(
            "no longer available on the server|has been invalidated|replication slot .* does not exist|"
                    + "Unable to obtain valid replication slot", Pattern.CASE_INSENSITIVE);

    private final RelayConfig config;
    private final RelayMetrics metrics;
    private final Database database;
    private final Sql sql;
    private final String heartbeatTable;
    private final SlotSetup setup;
    /** Null without the OpenTelemetry API. */
    private final RelayTracing tracing;
    private final CountDownLatch closeRequested = new CountDownLatch(1);
    private volatile RelayStatus.Role role = RelayStatus.Role.STOPPED;
    private volatile String failure;
    private volatile long leaseEpoch;
    private volatile boolean streaming;
    /** Since when this leader has not been streaming (start-up, snapshot, engine restarts); 0 while it streams. */
    private volatile long notStreamingSince;
    /** A misconfiguration seen by the last attempt, reported by {@code /health} while the relay tries again. */
    private volatile String problem;
    private int misconfiguredAttempts;

    private OutboxRelay(RelayConfig config, MeterRegistry registry) {
        this(config, registry, null);
    }

    private OutboxRelay(RelayConfig config, MeterRegistry registry, Object openTelemetry) {
        this.config = config;
        this.tracing = OptionalLibraries.OPEN_TELEMETRY ? RelayTracing.create(openTelemetry, config.name()) : null;
        this.metrics = new RelayMetrics(registry, config.name());
        this.database = new Database(config);
        String schema = config.outboxTables().get(0).schema();
        this.sql = Sql.forSchema(schema);
        this.heartbeatTable = schema + ".outbox_relay_heartbeat";
        this.setup = new SlotSetup(config, database, sql, heartbeatTable);
    }

    /** A relay registering its meters on {@code registry}. */
    public static OutboxRelay create(RelayConfig config, MeterRegistry registry) {
        return new OutboxRelay(config, registry);
    }

    /**
     * A relay registering its meters on {@code registry} and tracing each published record with
     * {@code openTelemetry}: a span of kind PRODUCER ({@code publish <topic>}), child of the row's
     * {@code traceparent}, whose context the Kafka record carries as its {@code traceparent}. The other factories
     * trace with the global {@code OpenTelemetry} once the application (or the Java agent) has set it, when the
     * API is on the class path.
     */
    public static OutboxRelay create(RelayConfig config, MeterRegistry registry, OpenTelemetry openTelemetry) {
        return new OutboxRelay(config, registry, java.util.Objects.requireNonNull(openTelemetry, "openTelemetry"));
    }

    /** A relay with meters kept in memory only. */
    public static OutboxRelay create(RelayConfig config) {
        return new OutboxRelay(config, new SimpleMeterRegistry());
    }

    public RelayConfig config() {
        return config;
    }

    public RelayStatus status() {
        String reported = failure != null ? failure : streaming ? null : problem;
        // A leader that does not stream publishes nothing while rows may be waiting: count that time as lag.
        long since = notStreamingSince;
        long lag = metrics.lagMillis();
        if (role == RelayStatus.Role.LEADER && !streaming && since != 0) {
            lag = Math.max(lag, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since));
        }
        return new RelayStatus(role, config.instanceId(), leaseEpoch, streaming, metrics.publishedCount(), metrics.transactions(),
                metrics.parkedCount(), lag, metrics.retainedWal(), reported);
    }

    /**
     * Waits for the lease, then publishes until {@link #close()}, losing the lease, or being fenced
     * (after which it waits for the lease again).
     *
     * @throws RelayFailedException when the replication slot or its WAL is gone, or the publication
     *                              cannot be made to cover the outbox: conditions an operator must resolve
     */
    @Override
    public void run() {
        LOG.info("relay {} ({}) starting as standby", config.name(), config.instanceId());
        preloadLeaderClasses();
        try (LeaderLease lease = new LeaderLease(config, database, sql, config.instanceId())) {
            while (!closing()) {
                role = RelayStatus.Role.STANDBY;
                if (!lease.tryAcquire()) {
                    if (lease.lastFailure() == null) {
                        recovered();
                    } else {
                        Misconfiguration.explain(lease.lastFailure(), config)
                                .ifPresent(reason -> misconfigured(reason, lease.lastFailure()));
                    }
                    pause(config.leaseRenewInterval());
                    continue;
                }
                leaseEpoch = lease.epoch();
                notStreamingSince = System.nanoTime();
                role = RelayStatus.Role.LEADER;
                metrics.leader(true);
                LOG.info("relay {} ({}) is leader, lease epoch {}, held as {}", config.name(), config.instanceId(),
                        leaseEpoch, lease.holderId());
                try {
                    lead(lease);
                    recovered();
                } catch (RelayFailedException fatal) {
                    lease.release();
                    throw failed(fatal);
                } catch (TransactionalPublisher.Fenced | LeaderLease.Lost steppedDown) {
                    recovered();
                    LOG.warn("relay {} ({}) stepped down: {}", config.name(), config.instanceId(), steppedDown.getMessage());
                } catch (RuntimeException termEnded) {
                    lease.release();
                    Optional<String> reason = Misconfiguration.explain(termEnded, config);
                    if (reason.isPresent()) {
                        misconfigured(reason.get(), termEnded);
                    } else {
                        recovered();
                        LOG.error("relay {} ({}): leader term ended on a failure; retrying", config.name(),
                                config.instanceId(), termEnded);
                    }
                    pause(config.leaseTtl());
                } finally {
                    metrics.leader(false);
                }
            }
        } finally {
            if (role != RelayStatus.Role.FAILED) {
                role = RelayStatus.Role.STOPPED;
            }
            LOG.info("relay {} ({}) stopped", config.name(), config.instanceId());
        }
    }

    /** Marks this relay as failed, with one log line saying why: what {@link #run()} then throws. */
    private RelayFailedException failed(RelayFailedException fatal) {
        role = RelayStatus.Role.FAILED;
        failure = fatal.getMessage();
        LOG.error("relay {} stopped: {}", config.name(), fatal.getMessage());
        return fatal;
    }

    /**
     * A failure that no retry is expected to fix: {@code /health} reports it at once, and after
     * {@value #MISCONFIGURED_ATTEMPTS} attempts in a row (a grant or a migration may be on its way) the relay stops.
     */
    private void misconfigured(String reason, Throwable cause) {
        problem = reason;
        if (++misconfiguredAttempts >= MISCONFIGURED_ATTEMPTS) {
            throw failed(new RelayFailedException(reason, cause));
        }
        LOG.warn("relay {} ({}): {}; trying again ({} of {})", config.name(), config.instanceId(), reason,
                misconfiguredAttempts, MISCONFIGURED_ATTEMPTS);
    }

    /** The last attempt got past what {@link #misconfigured} counts. */
    private void recovered() {
        problem = null;
        misconfiguredAttempts = 0;
    }

    /**
     * Loads the engine's and Kafka's classes in the background while this process is a standby, so
     * that a takeover does not spend seconds in class loading.
     */
    private void preloadLeaderClasses() {
        Thread preload = new Thread(() -> {
            for (String name : List.of("io.debezium.connector.postgresql.PostgresConnector",
                    "io.debezium.connector.postgresql.PostgresConnectorTask",
                    "io.debezium.embedded.async.AsyncEmbeddedEngine",
                    "io.debezium.embedded.async.ConvertingAsyncEngineBuilderFactory",
                    "org.apache.kafka.clients.producer.KafkaProducer",
                    "org.apache.kafka.clients.consumer.KafkaConsumer",
                    "org.apache.kafka.clients.admin.KafkaAdminClient",
                    "org.apache.kafka.connect.json.JsonConverter")) {
                try {
                    Class.forName(name, true, OutboxRelay.class.getClassLoader());
                } catch (ClassNotFoundException | LinkageError e) {
                    LOG.debug("could not preload {}: {}", name, e.toString());
                }
            }
        }, "outbox-relay-preload");
        preload.setDaemon(true);
        preload.start();
    }

    /** Stops publishing, gives up the lease and makes {@link #run()} return. Idempotent. */
    @Override
    public void close() {
        closeRequested.countDown();
    }

    /**
     * Prepares a relay without streaming: creates (or verifies) the publication and the replication
     * slot, and publishes the rows already in the outbox, as the very first start would. Run it before
     * services write when rows are deleted in the inserting transaction, so that none is ever missed.
     *
     * @throws IllegalStateException when another relay instance holds the lease now
     */
    public static void initialize(RelayConfig config) {
        OutboxRelay relay = new OutboxRelay(config, new SimpleMeterRegistry());
        // A holder of its own: even with the running relay's instance id, init must not pass for it.
        try (LeaderLease lease = new LeaderLease(config, relay.database, relay.sql, config.instanceId() + "/init")) {
            if (!lease.tryAcquire()) {
                throw new IllegalStateException("relay " + config.name() + " is running (instance " + lease.holder()
                        + " holds the lease); it is initialized already");
            }
            try {
                relay.withRenewal(lease, () -> {
                    try (TransactionalPublisher producer = new TransactionalPublisher(relay.kafkaConfig(),
                            config.transactionalId())) {
                        relay.prepare(lease, producer);
                    }
                });
            } finally {
                lease.release();
            }
        }
    }

    /** The slot, as PostgreSQL reports it, with the relay's last published position. */
    public static SlotReport inspect(RelayConfig config) {
        OutboxRelay relay = new OutboxRelay(config, new SimpleMeterRegistry());
        SlotReport slot;
        try (Connection connection = relay.database.connect("inspect")) {
            slot = relay.setup.report(connection, null);
        } catch (SQLException e) {
            throw new IllegalStateException("could not read slot " + config.slotName() + ": " + e.getMessage(), e);
        }
        String offset;
        try {
            // An operator asking for status should not wait a minute for an unreachable broker.
            offset = relay.positionLog(Map.of("default.api.timeout.ms", "10000", "request.timeout.ms", "10000"))
                    .readNow().map(Position::offset).map(o -> DebeziumOffsets.text(DebeziumOffsets.toJson(o))).orElse(null);
        } catch (RuntimeException kafkaUnreachable) {
            offset = "unknown (Kafka: " + kafkaUnreachable.getMessage() + ")";
        }
        return new SlotReport(slot.slotName(), slot.exists(), slot.active(), slot.activePid(), slot.walStatus(),
                slot.restartLsn(), slot.confirmedFlushLsn(), slot.retainedWalBytes(), offset);
    }

    private void lead(LeaderLease lease) {
        withRenewal(lease, () -> {
            try (TransactionalPublisher producer = new TransactionalPublisher(kafkaConfig(), config.transactionalId())) {
                BatchPublisher batches = prepare(lease, producer);
                stream(lease, batches, producer);
            }
        });
    }

    /**
     * Runs {@code work} while renewing the lease on a thread of its own, so that slow work (a large first
     * snapshot, engine start-up, a Kafka outage) never lets it lapse while this process is alive and well.
     */
    private void withRenewal(LeaderLease lease, Runnable work) {
        ScheduledExecutorService renewal = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "outbox-relay-lease-" + config.name());
            thread.setDaemon(true);
            return thread;
        });
        renewal.scheduleWithFixedDelay(lease::tryAcquire, config.leaseRenewInterval().toMillis(),
                config.leaseRenewInterval().toMillis(), TimeUnit.MILLISECONDS);
        try {
            work.run();
        } finally {
            renewal.shutdownNow();
        }
    }

    /** Fences older instances, checks publication and slot, and runs the first start's snapshot if due. */
    private BatchPublisher prepare(LeaderLease lease, TransactionalPublisher producer) {
        PositionLog positions = positionLog();
        positions.ensureTopic();
        // Fence first: initTransactions aborts a transaction the previous leader left open, which would
        // otherwise hide the positions after it from the read_committed read below.
        producer.open();
        BatchPublisher batches = new BatchPublisher(config, producer, positions, database, sql, metrics,
                lease::held, this::closing);
        Optional<Position> stored = positions.read();
        RecordMapper mapper = new RecordMapper(config, producer.maxRequestSize(), tracing);
        try (Connection connection = database.connect("setup")) {
            // Tables added to an existing publication after streaming began need their rows moved into the stream.
            setup.ensurePublication(connection, stored.isPresent() && setup.report(connection, null).exists());
            // Read again: ensurePublication may have waited on locks while another instance took over the slot.
            SlotReport slot = setup.report(connection, null);
            if (stored.isPresent()) {
                if (slot.lost()) {
                    stopUnlessSuperseded(lease, connection, positions, "replication slot " + config.slotName() + (slot.exists()
                            ? " has been invalidated (wal_status=lost): PostgreSQL removed WAL it had not relayed"
                            : " does not exist")
                            + ", but relay " + config.name() + " has published from it before. Rows committed since "
                            + "its last position may be lost. Check the outbox against the topics, then drop the "
                            + "relay's key from topic " + config.positionsTopic() + " (or use a new relay.name) "
                            + "to start over with a new slot and snapshot.", stored.get());
                }
                if (slot.active()) {
                    setup.evictSlotHolder(connection, lease);
                }
                setup.markPublished(connection);
                batches.committed(stored.get());
                return batches;
            }
            if (slot.exists()) {
                SlotSetup.SlotHistory history = setup.history(connection);
                if (!history.unfinishedFirstStart()) {
                    stopUnlessSuperseded(lease, connection, positions, positionsLost(slot, history), null);
                }
                LOG.warn("relay {}: slot {} exists but nothing was ever committed to Kafka (an interrupted first start);"
                        + " recreating it with a fresh snapshot", config.name(), config.slotName());
                setup.dropSlot(connection, lease);
            }
            List<BatchPublisher.Entry> existing = new ArrayList<>();
            try {
                setup.createSlotWithSnapshot(row -> {
                    if (existing.size() == config.snapshotMaxRows()) {
                        throw new SnapshotTooLarge();
                    }
                    existing.add(mapper.entry(row, Position.START));
                });
            } catch (SnapshotTooLarge tooLarge) {
                setup.dropSlot(connection, lease);
                throw new RelayFailedException("relay " + config.name() + ": the outbox holds more than "
                        + config.snapshotMaxRows() + " rows (" + RelayConfig.SNAPSHOT_MAX_ROWS + "), too many for the "
                        + "first start's one Kafka transaction; nothing was published and the new slot was dropped. "
                        + "Purge rows that were relayed by other means, or raise " + RelayConfig.SNAPSHOT_MAX_ROWS
                        + " together with kafka.transaction.timeout.ms (at most the broker's transaction.max.timeout.ms), "
                        + "or set " + RelayConfig.INITIAL_SNAPSHOT + "=false to skip the rows already there.");
            }
            if (!batches.publish(existing, Position.START)) {
                return batches;
            }
            setup.markPublished(connection);
            LOG.info("relay {}: first start published {} row(s) already in the outbox", config.name(), existing.size());
            return batches;
        } catch (SQLException e) {
            throw new IllegalStateException("relay " + config.name() + ": database set-up failed: " + e.getMessage(), e);
        }
    }

    /**
     * Stops the relay for an operator, unless this process has been superseded since it read its position
     * (paused, then the lease and the positions moved on): then it steps down instead. What it saw may be stale.
     */
    private void stopUnlessSuperseded(LeaderLease lease, Connection connection, PositionLog positions, String failure,
            Position storedBefore) throws SQLException {
        lease.whileHeld(connection, "stop the relay", held -> {
            Optional<Position> now = positions.read();
            if (!now.equals(Optional.ofNullable(storedBefore))) {
                throw new LeaderLease.Lost("relay " + config.name() + ": the position in " + config.positionsTopic()
                        + " moved while this process started (another instance led meanwhile); starting over");
            }
            throw new RelayFailedException(failure);
        });
    }

    private String positionsLost(SlotReport slot, SlotSetup.SlotHistory history) {
        String where = "topic " + config.positionsTopic() + " at " + config.bootstrapServers();
        String what = history.recorded() && history.sameSlot()
                ? "replication slot " + config.slotName() + " has been used (created at " + history.createdLsn()
                        + ", confirmed up to " + slot.confirmedFlushLsn() + ")"
                : "replication slot " + config.slotName() + " exists (confirmed up to " + slot.confirmedFlushLsn()
                        + "), but relay " + config.name() + " has no record of creating it";
        return "relay " + config.name() + ": " + what + ", yet " + where + " holds no position for it: the positions "
                + "were lost (topic deleted, another Kafka cluster, a changed " + RelayConfig.POSITIONS_TOPIC + " or "
                + RelayConfig.KAFKA_BOOTSTRAP_SERVERS + ") or the slot belongs to something else. Nothing was dropped. "
                + "If this Kafka cluster and topic are the right ones, run `outbox-relay reseed --config <file>` to go on "
                + "from the slot's confirmed position (rows published after it may be published again, none is lost); "
                + "otherwise correct the configuration.";
    }

    /**
     * Writes a position for a relay whose positions were lost, taken from the replication slot: the
     * relay then publishes every row the slot still holds, from its confirmed position on. Rows that
     * were published after the slot's last confirmation (at most the rest of one engine batch and of
     * the transaction it was in) are published again; none is lost.
     *
     * @return what was done, for the operator
     * @throws IllegalStateException when the relay runs, when a position exists, or when the slot is missing or lost
     */
    public static String reseed(RelayConfig config) {
        OutboxRelay relay = new OutboxRelay(config, new SimpleMeterRegistry());
        try (LeaderLease lease = new LeaderLease(config, relay.database, relay.sql, config.instanceId() + "/reseed")) {
            if (!lease.tryAcquire()) {
                throw new IllegalStateException("relay " + config.name() + " is running (instance " + lease.holder()
                        + " holds the lease); stop it before re-seeding its position");
            }
            try {
                SlotReport slot;
                try (Connection connection = relay.database.connect("reseed")) {
                    slot = relay.setup.report(connection, null);
                } catch (SQLException e) {
                    throw new IllegalStateException("could not read slot " + config.slotName() + ": " + e.getMessage(), e);
                }
                if (!slot.exists() || slot.lost()) {
                    throw new IllegalStateException("replication slot " + config.slotName() + (slot.exists()
                            ? " has lost WAL (wal_status=lost)" : " does not exist") + ": there is nothing to re-seed from");
                }
                PositionLog positions = relay.positionLog();
                positions.ensureTopic();
                try (TransactionalPublisher producer = new TransactionalPublisher(relay.kafkaConfig(), config.transactionalId())) {
                    producer.open();
                    Optional<Position> stored = positions.read();
                    if (stored.isPresent()) {
                        throw new IllegalStateException("topic " + config.positionsTopic() + " holds a position for relay "
                                + config.name() + " already (" + stored.get() + "); nothing to re-seed");
                    }
                    producer.publish(List.of(), positions.record(Position.START));
                }
                String done = "re-seeded relay " + config.name() + " from slot " + config.slotName() + ": it publishes "
                        + "every row committed after " + slot.confirmedFlushLsn();
                LOG.warn(done);
                return done;
            } finally {
                lease.release();
            }
        }
    }

    /** Raised from the snapshot reader to stop reading a first-start snapshot past its limit. */
    private static final class SnapshotTooLarge extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SnapshotTooLarge() {
            super(null, null, false, false);
        }
    }

    /**
     * Runs the engine until closing or the lease is lost. An engine that stops on an error (a dropped
     * connection, a database restart) is started again, with a new {@link ChangeHandler}: each run
     * streams from the slot's confirmed position, and the handler skips what Kafka has already.
     */
    private void stream(LeaderLease lease, BatchPublisher batches, TransactionalPublisher producer) {
        long backoffMillis = 500;
        int failuresWithoutProgress = 0;
        while (!closing() && lease.held()) {
            long publishedBefore = metrics.transactions();
            Throwable error = runEngine(lease, batches, producer);
            if (error == null || closing()) {
                return;
            }
            for (Throwable cause = error; cause != null; cause = cause.getCause()) {
                if (cause instanceof TransactionalPublisher.Fenced fenced) {
                    throw fenced;
                }
                if (cause.getMessage() != null && SLOT_LOST.matcher(cause.getMessage()).find()) {
                    throw new RelayFailedException("relay " + config.name() + ": replication slot "
                            + config.slotName() + " cannot be read: " + cause.getMessage(), error);
                }
            }
            failuresWithoutProgress = metrics.transactions() > publishedBefore ? 1 : failuresWithoutProgress + 1;
            if (failuresWithoutProgress > ENGINE_RESTARTS) {
                throw new IllegalStateException("the Debezium engine stopped: " + error.getMessage(), error);
            }
            LOG.warn("relay {}: the Debezium engine stopped ({}); starting it again in {} ms", config.name(),
                    rootMessage(error), backoffMillis);
            pause(Duration.ofMillis(backoffMillis));
            backoffMillis = Math.min(backoffMillis * 2, 10_000);
        }
    }

    private static String rootMessage(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    /** One engine run; returns the engine's failure, or null when it ended because of closing or a lost lease. */
    private Throwable runEngine(LeaderLease lease, BatchPublisher batches, TransactionalPublisher producer) {
        Set<String> tables = new LinkedHashSet<>();
        config.outboxTables().forEach(table -> tables.add(table.qualified()));
        ChangeHandler handler = new ChangeHandler(config.name(), tables, heartbeatTable,
                new RecordMapper(config, producer.maxRequestSize(), tracing), batches, config.batchLinger(),
                this::slotConfirmedLsn);
        CountDownLatch finished = new CountDownLatch(1);
        AtomicReference<Throwable> engineFailure = new AtomicReference<>();
        DebeziumEngine<RecordChangeEvent<SourceRecord>> engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(engineProperties())
                .using((success, message, error) -> {
                    if (!success) {
                        engineFailure.set(error != null ? error : new IllegalStateException(message));
                    }
                    finished.countDown();
                })
                .using(new DebeziumEngine.ConnectorCallback() {
                    @Override
                    public void taskStarted() {
                        streaming = true;
                        notStreamingSince = 0;
                        LOG.info("relay {} ({}) is streaming from slot {}", config.name(), config.instanceId(),
                                config.slotName());
                    }

                    @Override
                    public void taskStopped() {
                        streaming = false;
                        notStreamingSince = System.nanoTime();
                    }
                })
                .notifying(handler)
                .build();
        ExecutorService executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "outbox-relay-engine-" + config.name());
            thread.setDaemon(true);
            return thread;
        });
        RelayOffsetStore.engineStarting(config.name());
        executor.execute(engine);
        long nextHousekeeping = 0;
        boolean stoppedByUs = false;
        try {
            while (!finished.await(config.leaseRenewInterval().toMillis(), TimeUnit.MILLISECONDS)) {
                if (closing()) {
                    stoppedByUs = true;
                    break;
                }
                if (!lease.held()) {
                    LOG.warn("relay {} ({}) lost its lease; stopping", config.name(), config.instanceId());
                    stoppedByUs = true;
                    break;
                }
                if (System.nanoTime() > nextHousekeeping) {
                    housekeeping(lease);
                    nextHousekeeping = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stoppedByUs = true;
        } finally {
            streaming = false;
            notStreamingSince = System.nanoTime();
            executor.shutdown();
            // A close that reaches the engine while it is still starting its task is lost (the engine goes
            // on to poll), so close again until it has stopped.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            try {
                do {
                    try {
                        engine.close();
                    } catch (Exception closeFailure) {
                        LOG.debug("relay {}: engine close: {}", config.name(), closeFailure.toString());
                    }
                } while (!executor.awaitTermination(1, TimeUnit.SECONDS) && System.nanoTime() < deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (closing()) {
                lease.release();
            }
        }
        if (stoppedByUs) {
            return null;
        }
        Throwable error = engineFailure.get();
        return error != null ? error : new IllegalStateException("the Debezium engine stopped without an error");
    }

    /** Where a stream started now begins: the slot's confirmed position. */
    private long slotConfirmedLsn() {
        try (Connection connection = database.connect("stream start")) {
            return setup.confirmedLsn(connection);
        } catch (SQLException e) {
            throw new IllegalStateException("relay " + config.name() + " could not read the confirmed position of slot "
                    + config.slotName() + ": " + e.getMessage(), e);
        }
    }

    private void housekeeping(LeaderLease lease) {
        try {
            metrics.retainedWal(lease.withConnection(setup::retainedWal));
            lease.withConnection(connection -> {
                try (PreparedStatement purge = connection.prepareStatement(sql.purgeHeartbeats())) {
                    purge.setString(1, config.name());
                    return purge.executeUpdate();
                }
            });
        } catch (SQLException e) {
            LOG.debug("relay {}: housekeeping failed: {}", config.name(), e.getMessage());
        }
    }

    private Properties engineProperties() {
        Properties properties = new Properties();
        properties.setProperty("name", "outbox-relay-" + config.name());
        properties.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        properties.setProperty("offset.storage", RelayOffsetStore.class.getName());
        properties.setProperty(RelayOffsetStore.RELAY_KEY, config.name());
        properties.setProperty("offset.flush.interval.ms", "0");
        // No restarts inside the engine: a restarted task would stream again from the slot's confirmed
        // position into the same ChangeHandler. stream() starts a new engine with a new handler instead.
        properties.setProperty("errors.max.retries", "0");
        properties.setProperty("errors.retry.delay.max.ms", "5000");
        properties.setProperty("database.hostname", database.host());
        properties.setProperty("database.port", Integer.toString(database.port()));
        properties.setProperty("database.dbname", database.databaseName());
        properties.setProperty("database.user", config.databaseUser());
        properties.setProperty("database.password", config.databasePassword());
        properties.setProperty("topic.prefix", "outbox_relay_" + config.slotName());
        properties.setProperty("plugin.name", "pgoutput");
        properties.setProperty("slot.name", config.slotName());
        properties.setProperty("publication.name", config.publicationName());
        properties.setProperty("publication.autocreate.mode", "disabled");
        properties.setProperty("snapshot.mode", "no_data");
        List<String> include = new ArrayList<>(setup.publishedTables());
        properties.setProperty("table.include.list", String.join(",", include.stream().map(Pattern::quote).toList()));
        // created_at is not relayed; skipping it saves Debezium a timestamp parse and format per row.
        properties.setProperty("column.exclude.list", String.join(",", config.outboxTables().stream()
                .map(table -> Pattern.quote(table.qualified() + ".created_at")).toList()));
        properties.setProperty("skipped.operations", "u,d,t");
        properties.setProperty("tombstones.on.delete", "false");
        properties.setProperty("extended.headers.enabled", "false");
        properties.setProperty("max.batch.size", Integer.toString(config.maxBatchSize()));
        properties.setProperty("max.queue.size", Integer.toString(config.maxBatchSize() * 4));
        properties.setProperty("poll.interval.ms", Long.toString(config.pollInterval().toMillis()));
        if (!config.heartbeatInterval().isZero()) {
            properties.setProperty("heartbeat.interval.ms", Long.toString(config.heartbeatInterval().toMillis()));
            properties.setProperty("heartbeat.action.query", String.format(sql.heartbeat(), Sql.literal(config.name())));
        }
        return properties;
    }

    private Map<String, Object> kafkaConfig() {
        Map<String, Object> kafka = new HashMap<>(config.kafkaProperties());
        kafka.put("bootstrap.servers", config.bootstrapServers());
        return kafka;
    }

    private PositionLog positionLog() {
        return positionLog(Map.of());
    }

    private PositionLog positionLog(Map<String, String> overrides) {
        Map<String, Object> clients = new HashMap<>(config.kafkaProperties());
        clients.keySet().removeIf(key -> key.startsWith("linger") || key.startsWith("batch") || key.startsWith("compression")
                || key.startsWith("transaction") || key.startsWith("max.request") || key.startsWith("buffer"));
        clients.put("bootstrap.servers", config.bootstrapServers());
        clients.putAll(overrides);
        return new PositionLog(config.positionsTopic(), config.name(), clients);
    }

    private boolean closing() {
        return closeRequested.getCount() == 0;
    }

    private void pause(Duration duration) {
        try {
            closeRequested.await(duration.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
        }
    }
}
