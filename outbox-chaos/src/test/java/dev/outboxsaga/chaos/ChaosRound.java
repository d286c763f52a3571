package dev.outboxsaga.chaos;

import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.PostgresServer;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.internal.FreePorts;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.awaitility.core.ConditionTimeoutException;

/**
 * One round of the chaos suite: a fresh database and relay name, a backlog for the first start's
 * snapshot, a leader and a standby of the shipped jar, writers, and a seeded schedule of faults; then
 * every relay up, the writers stopped, the reader drained to the end, and the verdict.
 */
final class ChaosRound {

    /**
     * What one round does.
     *
     * @param openingKills   at most this many SIGKILLs of the leader during the first start (start-up and
     *                       snapshot of the backlog), at random delays after its launch, before the writers start
     * @param relayKills     SIGKILLs of either relay once the writers run (most of them hit the leader)
     * @param copy           whether the writers also use {@code COPY} (rows of one transaction share an LSN)
     * @param backlogRows    rows in the outbox before the first start, keys {@code pre0..pre2}
     * @param backlogOrdered whether the order per key of the backlog is checked too (see ChaosIT)
     * @param catchUpLimit   how long the relays may take, after the writers stop, to publish every row
     */
    record Plan(int openingKills, int relayKills, int brokerKills, int postgresCrashes, int pauses,
            int connectionDrops, boolean copy, int backlogRows, boolean backlogOrdered, Duration catchUpLimit) {
    }

    private enum Fault { RELAY_KILL, LEADER_PAUSE, BROKER_KILL, POSTGRES_CRASH, CONNECTION_DROP }

    private static final int PARTITIONS = 3;

    private final Path jar;
    private final PostgresServer postgres;
    private final KafkaBroker kafka;
    private final Path directory;
    private final Random random;
    private final ChaosFigures figures;
    private final PrintStream faultLog;
    private final long startedNanos = System.nanoTime();
    private final Map<String, String> relayConfig = new HashMap<>();
    private final RelayNode[] nodes = new RelayNode[2];
    private final int[] generations = new int[2];
    private TestDatabase db;
    private OutboxWriters writers;
    private CommittedReader reader;
    private String relayName;
    private boolean firstStartDone;

    ChaosRound(Path jar, PostgresServer postgres, KafkaBroker kafka, Path directory, Random random,
            ChaosFigures figures) {
        this.jar = jar;
        this.postgres = postgres;
        this.kafka = kafka;
        this.directory = directory;
        this.random = random;
        this.figures = figures;
        try {
            Files.createDirectories(directory);
            faultLog = new PrintStream(Files.newOutputStream(directory.resolve("faults.log"), StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND), true, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs the round; the verdict says whether every committed row arrived exactly once, in order. */
    CommittedReader.Verdict run(Plan plan) throws Exception {
        try {
            setUp(plan);
            firstStart(plan);
            for (Fault fault : schedule(plan)) {
                inject(fault);
            }
            return finish(plan);
        } finally {
            tearDown();
        }
    }

    private void setUp(Plan plan) {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        relayName = "chaos-" + suffix;
        String aggregateType = "chaos_" + suffix;
        String topic = "outbox.event." + aggregateType;
        db = TestDatabase.create(postgres);
        OutboxSchema.migrate(db.dataSource());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("could not create topic " + topic, e);
        }
        writers = new OutboxWriters(db.dataSource(), Outbox.builder().build(), aggregateType, plan.copy());
        writers.prefill(plan.backlogRows(), random);
        log("round %s: %d backlog row(s) for the first start's snapshot; topic %s; database %s", relayName,
                writers.committed().size(), topic, db.name());
        reader = new CommittedReader(kafka.bootstrapServers(), topic, PARTITIONS);
        relayConfig.put("relay.name", relayName);
        relayConfig.put("database.url", db.jdbcUrl());
        relayConfig.put("database.user", db.username());
        relayConfig.put("database.password", db.password());
        relayConfig.put("kafka.bootstrap.servers", kafka.bootstrapServers());
        relayConfig.put("heartbeat.interval.ms", "1000");
        relayConfig.put("lease.ttl.ms", "3000");
        relayConfig.put("lease.renew.interval.ms", "500");
        // Small batches: many Kafka transactions, and batch boundaries inside large database transactions.
        relayConfig.put("batch.max.size", "100");
        startNode(0);
        startNode(1);
    }

    /**
     * Kills the leader during the first start at random delays, then waits for a first start to publish
     * the backlog; only then do the writers begin, so that none of their rows is in the snapshot (whose
     * order per key is checked on its own, see {@link Plan#backlogOrdered()}).
     */
    private void firstStart(Plan plan) {
        for (int kill = 0; kill < plan.openingKills() && !firstStartPublished(); kill++) {
            if (random.nextBoolean()) {
                waitWhileWatching(300 + random.nextInt(6000));
            } else {
                // Aimed at the snapshot, which lasts a second or so: as soon as a log says it began.
                await("a first start's snapshot").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20))
                        .until(() -> {
                            watch();
                            return firstStartPublished() || Arrays.stream(nodes).anyMatch(RelayNode::inSnapshot);
                        });
                waitWhileWatching(random.nextInt(300));
            }
            if (firstStartPublished()) {
                break;
            }
            killRelay(leaderSlot());
        }
        await("a first start publishing the backlog").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    watch();
                    return firstStartPublished();
                });
        log("first start published the backlog; writers start");
        writers.start(3, random.nextLong());
    }

    private boolean firstStartPublished() {
        for (RelayNode node : nodes) {
            node.refresh(writers.issued());
            firstStartDone |= node.publishedFirstStart();
        }
        return firstStartDone;
    }

    /** The faults in a seeded random order. */
    private List<Fault> schedule(Plan plan) {
        List<Fault> faults = new ArrayList<>();
        add(faults, Fault.RELAY_KILL, plan.relayKills());
        add(faults, Fault.LEADER_PAUSE, plan.pauses());
        add(faults, Fault.BROKER_KILL, plan.brokerKills());
        add(faults, Fault.POSTGRES_CRASH, plan.postgresCrashes());
        add(faults, Fault.CONNECTION_DROP, plan.connectionDrops());
        Collections.shuffle(faults, random);
        return faults;
    }

    private static void add(List<Fault> faults, Fault fault, int count) {
        for (int i = 0; i < count; i++) {
            faults.add(fault);
        }
    }

    private void inject(Fault fault) throws Exception {
        // Relay kills come at any age of the processes, also seconds after a launch (start-up, snapshot).
        waitWhileWatching(fault == Fault.RELAY_KILL ? 200 + random.nextInt(7000) : 500 + random.nextInt(2500));
        switch (fault) {
            case RELAY_KILL -> killRelay(pickForKill());
            case LEADER_PAUSE -> {
                // Right after a kill nobody may lead yet: wait (bounded) for a leader to pause.
                try {
                    await("a relay leading").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                            .until(() -> {
                                watch();
                                return knownLeader() >= 0;
                            });
                } catch (ConditionTimeoutException nobodyLeads) {
                    log("no relay leads after 30 s; pausing one of them");
                }
                RelayNode node = nodes[leaderSlot()];
                String health = node.healthRole();
                RelayNode.Phase phase = node.phase(writers.issued(), reader.maxN());
                int millis = 500 + random.nextInt(6000);
                node.pause();
                figures.pausesByPhase.merge(phase, 1, Integer::sum);
                log("SIGSTOP %s in %s (/health %s) for %d ms (lease.ttl.ms 3000)", node, phase, health, millis);
                waitWhileWatching(millis);
                if (node.isAlive()) {
                    node.resume();
                }
                log("SIGCONT %s", node);
            }
            case BROKER_KILL -> {
                int down = random.nextInt(3000);
                kafka.kill();
                figures.brokerKills++;
                log("SIGKILL Kafka broker, down for %d ms", down);
                waitWhileWatching(down);
                kafka.restart();
                log("Kafka broker up again");
            }
            case POSTGRES_CRASH -> {
                int down = random.nextInt(3000);
                postgres.crash();
                figures.postgresCrashes++;
                log("PostgreSQL crashed (pg_ctl stop -m immediate), down for %d ms", down);
                waitWhileWatching(down);
                postgres.restart();
                log("PostgreSQL up again (crash recovery done)");
            }
            case CONNECTION_DROP -> {
                int ended = terminateRelayBackends();
                figures.connectionDrops++;
                figures.backendsTerminated += ended;
                log("pg_terminate_backend of %d relay connection(s) (walsender included), Kafka up", ended);
            }
        }
    }

    /** SIGKILL of the relay in {@code slot}, and a new process in its place. */
    private void killRelay(int slot) {
        RelayNode node = nodes[slot];
        long issued = writers.issued();
        long delivered = reader.maxN();
        node.kill();
        // The log of a dead process is complete: its last lines tell the phase it died in.
        RelayNode.Phase phase = node.phase(issued, delivered);
        firstStartDone |= node.publishedFirstStart();
        figures.killsByPhase.merge(phase, 1, Integer::sum);
        log("SIGKILL %s in %s (age %.1f s, exit %d)", node, phase, node.ageMillis() / 1000.0,
                node.process().exitCode());
        startNode(slot);
    }

    /** Mostly the leader, sometimes the other one (a standby, or a process still starting). */
    private int pickForKill() {
        int leader = leaderSlot();
        return random.nextInt(10) < 7 ? leader : 1 - leader;
    }

    /** The slot whose process leads, or a random one when that is not known (see {@link #knownLeader()}). */
    private int leaderSlot() {
        int leader = knownLeader();
        return leader >= 0 ? leader : random.nextInt(2);
    }

    /**
     * The slot of the only process whose log says it took the lease (and has not given it up), else of
     * the process the lease table names as live holder; -1 when neither tells.
     */
    private int knownLeader() {
        for (RelayNode node : nodes) {
            node.refresh(writers.issued());
        }
        boolean first = nodes[0].leadsByLog();
        boolean second = nodes[1].leadsByLog();
        if (first != second) {
            return first ? 0 : 1;
        }
        String holder = leaseHolder();
        for (int slot = 0; slot < nodes.length; slot++) {
            if (nodes[slot].instanceId().equals(holder)) {
                return slot;
            }
        }
        return -1;
    }

    private String leaseHolder() {
        try (Connection connection = db.openConnection();
                PreparedStatement query = connection.prepareStatement(
                        "SELECT holder FROM outbox_relay_lease WHERE relay = ? AND expires_at > now()")) {
            query.setString(1, relayName);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? rows.getString(1) : null;
            }
        } catch (SQLException e) {
            return null;
        }
    }

    /** Ends the relay's database sessions (its walsender and its JDBC connections), not the writers'. */
    private int terminateRelayBackends() throws SQLException {
        try (Connection connection = db.openConnection();
                PreparedStatement terminate = connection.prepareStatement(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                                + " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                                + " AND (backend_type = 'walsender' OR application_name LIKE 'outbox-relay%'"
                                + " OR application_name ILIKE '%debezium%')")) {
            try (ResultSet rows = terminate.executeQuery()) {
                rows.next();
                return rows.getInt(1);
            }
        }
    }

    private void startNode(int slot) {
        String instanceId = (slot == 0 ? "a" : "b") + (++generations[slot]);
        nodes[slot] = RelayNode.start(jar, directory, relayName + "-" + instanceId, relayConfig, FreePorts.pick(1)[0]);
    }

    /**
     * The fault schedule's pause between two faults: meanwhile the relays' logs are followed (for their
     * phases), and a relay that exited by itself is recorded and replaced, as an orchestrator would.
     */
    private void waitWhileWatching(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        do {
            watch();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Math.min(100, millis)));
        } while (System.nanoTime() < until);
    }

    private void watch() {
        writers.check();
        for (int slot = 0; slot < nodes.length; slot++) {
            RelayNode node = nodes[slot];
            node.refresh(writers.issued());
            if (!node.isAlive()) {
                int code = node.process().exitCode();
                figures.relayExits.merge("exit " + code, 1, Integer::sum);
                log("%s EXITED BY ITSELF with code %d; last lines:%n%s", node, code, node.tail(15));
                startNode(slot);
            }
        }
    }

    private CommittedReader.Verdict finish(Plan plan) {
        log("faults done; stopping the writers");
        writers.stop();
        List<OutboxWriters.Row> committed = writers.committed();
        long catchUpStart = System.nanoTime();
        try {
            await("every committed row read from Kafka").atMost(plan.catchUpLimit()).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        watch();
                        return reader.hasAll(committed);
                    });
        } catch (ConditionTimeoutException e) {
            log("after %s, %d of %d committed row(s) still not in Kafka; checking what arrived", plan.catchUpLimit(),
                    reader.missing(committed), committed.size());
        }
        long caughtUp = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - catchUpStart);
        figures.catchUpMillisMax = Math.max(figures.catchUpMillisMax, caughtUp);
        // Not stopping at the expected count: read on to the end offsets as they are now.
        reader.requestDrain();
        try {
            await("the reader at the end offsets").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        watch();
                        return reader.drained();
                    });
        } catch (ConditionTimeoutException e) {
            log("the reader did not reach the end offsets: %s", reader.drainState());
        }
        CommittedReader.Verdict verdict = reader.check(committed, writers.aborted(),
                key -> plan.backlogOrdered() || !key.startsWith("pre"));
        figures.rounds++;
        figures.rowsCommitted += committed.size();
        figures.rowsAborted += writers.aborted().size();
        writers.transactions().forEach((kind, count) -> figures.transactions.merge(kind, count, Long::sum));
        figures.add(verdict);
        log("round %s: caught up in %d ms, reader at %s; %s", relayName, caughtUp, reader.drainState(), verdict);
        try {
            Files.writeString(directory.resolve("verdict.txt"), verdict.details(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return verdict;
    }

    private void tearDown() throws InterruptedException {
        for (RelayNode node : nodes) {
            if (node != null) {
                node.kill();
            }
        }
        if (writers != null) {
            writers.close();
        }
        if (reader != null) {
            reader.close();
        }
        if (db != null) {
            db.close();
        }
        faultLog.close();
    }

    private void log(String format, Object... args) {
        String line = String.format("%7.1f s  ", (System.nanoTime() - startedNanos) / 1e9) + String.format(format, args);
        System.out.println(line);
        faultLog.println(line);
    }
}
