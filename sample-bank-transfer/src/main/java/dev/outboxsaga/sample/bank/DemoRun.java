package dev.outboxsaga.sample.bank;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.saga.SagaState;
import dev.outboxsaga.testkit.KafkaServer;
import dev.outboxsaga.testkit.PostgresServer;
import dev.outboxsaga.testkit.TestDatabase;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * One demo run: servers (embedded unless external ones are given), four databases (the transfer
 * service, two banks and the notification service), a relay per database that publishes (all but the
 * notification service's), the services, the transfers, and the checks.
 */
public final class DemoRun implements AutoCloseable {

    static final long OPENING_BALANCE = 100_000;
    /**
     * A cancel comes at a random moment up to this long after its saga began: a saga takes some 100 to 300 ms
     * without faults, so some cancels come before the debit's reply, some between the debit and the credit, and some
     * after the end.
     */
    static final int CANCEL_WITHIN_MILLIS = 400;

    /**
     * Most connections each service's pool holds, by database: with the relays' and the console's, the demo holds at
     * most 39 (see the sample's README), so a PostgreSQL with the default {@code max_connections=100} runs it beside
     * other clients. A consumer's handler thread holds one for its transaction (a bank has 3 consumers of 4 threads, the
     * orchestrator too), a request one to begin a saga; a bank's late reply holds its one for longer than the step
     * timeout, so the banks need as many as the transfer service: with 4 each, the default run took about a tenth longer.
     */
    static final Map<String, Integer> POOL_SIZES = Map.of("transfers", 6, "bank_a", 6, "bank_b", 6, "notifications", 2);
    /** Most connections the console holds to each service with {@code --console}: one operator's pages, one at a time. */
    static final int CONSOLE_POOL_SIZE = 1;
    /**
     * What each relay holds: its replication connection, the three JDBC connections of Debezium's PostgreSQL connector
     * and its lease's.
     */
    static final int RELAY_CONNECTIONS = 5;

    private final DemoOptions options;
    private final PrintStream out;
    private final String runId = UUID.randomUUID().toString().substring(0, 6);
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final List<Thread> relayThreads = new ArrayList<>();
    private final Map<String, OutboxRelay> relays = new LinkedHashMap<>();
    private PostgresServer postgres;
    private KafkaServer kafka;
    private TransferService transfers;
    private Bank bankA;
    private Bank bankB;
    private NotificationService notifications;
    private Duplicator duplicator;

    private final boolean ownsServers;
    private Launcher launcher;

    /**
     * Runs the relays and bank a's participant somewhere else than in this JVM: the crash test puts each
     * in a JVM of its own, to kill it with SIGKILL.
     */
    interface Launcher {
        /** Starts the relay {@code name} on these {@link RelayConfig} properties. */
        void relay(String name, Map<String, String> properties);

        /** Starts the participant of bank {@code name} on these properties (see {@link #bankProperties}). */
        void bank(String name, Map<String, String> properties);

        /**
         * Starts the transfer service's orchestrator (reply consumer and timer) on these properties (keys
         * {@code TRANSFERS_*}) and returns true, or returns false to leave it in this JVM (the default).
         * Either way this JVM begins the sagas and reads their state.
         */
        default boolean transfers(Map<String, String> properties) {
            return false;
        }
    }

    /** Keys of the properties a {@link Launcher} gets for the transfer service. */
    static final String TRANSFERS_SERVICE = "transfers.service";
    static final String TRANSFERS_DATABASE_URL = "transfers.database.url";
    static final String TRANSFERS_DATABASE_USER = "transfers.database.user";
    static final String TRANSFERS_DATABASE_PASSWORD = "transfers.database.password";
    static final String TRANSFERS_KAFKA = "transfers.kafka.bootstrap.servers";
    static final String TRANSFERS_STEP_TIMEOUT_MS = "transfers.step.timeout.ms";

    /** Keys of the properties a {@link Launcher} gets for a bank. */
    static final String BANK_NAME = "bank.name";
    static final String BANK_DATABASE_URL = "bank.database.url";
    static final String BANK_DATABASE_USER = "bank.database.user";
    static final String BANK_DATABASE_PASSWORD = "bank.database.password";
    static final String BANK_KAFKA = "bank.kafka.bootstrap.servers";
    static final String BANK_SEED = "bank.seed";
    static final String BANK_LATE_BY_MS = "bank.late.by.ms";
    static final String BANK_FAULTS = "bank.faults";
    static final String BANK_DAILY_LIMIT = "bank.daily.limit";

    /** Before {@link #start()}: relays and bank a's participant run through {@code launcher}, not in this JVM. */
    DemoRun launcher(Launcher launcher) {
        this.launcher = launcher;
        return this;
    }

    public DemoRun(DemoOptions options, PrintStream out) {
        this.options = options.validate();
        this.out = out;
        this.ownsServers = true;
    }

    /** A run on servers the caller owns (tests share theirs), which it leaves running. */
    public DemoRun(DemoOptions options, PrintStream out, PostgresServer postgres, KafkaServer kafka) {
        this.options = options.validate();
        this.out = out;
        this.postgres = postgres;
        this.kafka = kafka;
        this.ownsServers = false;
    }

    /** Starts servers, databases, relays and services. */
    public DemoRun start() {
        long started = System.nanoTime();
        if (postgres == null) {
            postgres = options.postgresUrl() == null ? PostgresServer.embedded()
                    : PostgresServer.external(options.postgresUrl(), options.postgresUser(), options.postgresPassword());
        }
        if (kafka == null) {
            kafka = options.kafka() == null ? KafkaServer.embedded() : KafkaServer.external(options.kafka());
        }
        out.printf("PostgreSQL %s, Kafka %s ready in %.1f s%n", options.postgresUrl() == null ? "(embedded)" : "(external)",
                kafka.bootstrapServers(), (System.nanoTime() - started) / 1e9);
        String bootstrap = kafka.bootstrapServers();
        Duration lateBy = options.stepTimeout().plusMillis(200);
        transfers = new TransferService("transfers." + runId, database("transfers"), bootstrap, options.stepTimeout());
        bankA = new Bank("bank-a." + runId, database("bank_a"), bootstrap, options.faults(), lateBy, options.seed() + 1,
                options.dailyLimit());
        bankB = new Bank("bank-b." + runId, database("bank_b"), bootstrap, options.faults(), lateBy, options.seed() + 2,
                options.dailyLimit());
        closeables.add(transfers);
        closeables.add(bankA);
        closeables.add(bankB);
        notifications = new NotificationService("notifications." + runId, database("notifications"), bootstrap,
                transfers.name(), options.faults(), options.seed() + 4);
        closeables.add(notifications);
        bankA.openAccounts("A", options.accounts(), OPENING_BALANCE);
        bankB.openAccounts("B", options.accounts(), OPENING_BALANCE);
        startRelay("transfers", transfers.dataSource());
        startRelay("bank-a", bankA.dataSource());
        startRelay("bank-b", bankB.dataSource());
        if (launcher == null) {
            bankA.start();
        } else {
            launcher.bank("bank-a", bankProperties(bankA.name(), "bank_a", lateBy, options.seed() + 1));
        }
        bankB.start();
        notifications.start();
        if (launcher == null || !launcher.transfers(transfersProperties())) {
            transfers.start();
        }
        awaitStreaming(Duration.ofSeconds(90));
        if (options.faults().percent("duplicate") > 0) {
            duplicator = new Duplicator(bootstrap, options.faults().percent("duplicate"), options.seed() + 3);
            duplicator.start();
            closeables.add(duplicator);
        }
        out.printf("services and relays started in %.1f s (run %s, faults %s; at most %d connections to PostgreSQL, "
                + "%d with the console)%n", (System.nanoTime() - started) / 1e9, runId, options.faults(), maxConnections(),
                maxConnections() + databases.size() * CONSOLE_POOL_SIZE);
        return this;
    }

    /**
     * The most connections to PostgreSQL the run holds at once, the console's aside: its pools' maximum sizes and its
     * relays' connections ({@value #RELAY_CONNECTIONS} each), wherever they run.
     */
    int maxConnections() {
        return pools.stream().mapToInt(HikariDataSource::getMaximumPoolSize).sum()
                + (relays.size() + launchedRelays.size()) * RELAY_CONNECTIONS;
    }

    /** Transfers start once every relay reads its WAL, so that no saga times out on a relay still starting. */
    private void awaitStreaming(Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!(launcher == null ? relays.values().stream().allMatch(relay -> relay.status().streaming())
                : launchedRelays.entrySet().stream().allMatch(e -> slotActive(e.getKey(), e.getValue())))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the relays did not start streaming within " + patience.toSeconds() + " s");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the relays", e);
            }
        }
    }

    private final Map<String, TestDatabase> databases = new HashMap<>();
    private final List<HikariDataSource> pools = new ArrayList<>();

    private DataSource database(String name) {
        TestDatabase database = TestDatabase.create(postgres);
        databases.put(name, database);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(database.jdbcUrl());
        config.setUsername(database.username());
        config.setPassword(database.password());
        config.setMaximumPoolSize(POOL_SIZES.get(name));
        config.setPoolName(name);
        HikariDataSource pool = new HikariDataSource(config);
        pools.add(pool);
        // Closed in reverse: the pool before its database is dropped.
        closeables.add(0, pool);
        closeables.add(0, database);
        return pool;
    }

    /**
     * The operator console's view of this run: its four services on their databases and Kafka, with the consumer
     * groups whose lag it shows, and one user.
     */
    public ConsoleConfig consoleConfig(int port, String user, String passwordHash) {
        ConsoleConfig.Builder config = ConsoleConfig.builder().set(ConsoleConfig.PORT, port)
                .user(user, passwordHash, ConsoleConfig.Role.OPERATOR);
        Map<String, String> consumers = Map.of("transfers", transfers.name() + "-saga-replies",
                "bank_a", bankA.name() + "-saga-commands", "bank_b", bankB.name() + "-saga-commands",
                "notifications", notifications.name());
        consumers.forEach((database, consumer) -> {
            TestDatabase db = databases.get(database);
            String service = database.replace('_', '-');
            config.service(service, db.jdbcUrl(), db.username(), db.password())
                    .set(ConsoleConfig.SERVICE_PREFIX + service + "." + ConsoleConfig.POOL_SIZE, CONSOLE_POOL_SIZE)
                    .set(ConsoleConfig.SERVICE_PREFIX + service + "." + ConsoleConfig.KAFKA_BOOTSTRAP_SERVERS,
                            kafka.bootstrapServers())
                    .set(ConsoleConfig.SERVICE_PREFIX + service + "." + ConsoleConfig.CONSUMERS, consumer);
        });
        return config.build();
    }

    private final Map<String, RelayConfig> launchedRelays = new LinkedHashMap<>();

    private void startRelay(String name, DataSource dataSource) {
        TestDatabase database = databases.get(name.replace('-', '_'));
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put(RelayConfig.NAME, "demo-" + name + "-" + runId);
        properties.put(RelayConfig.DATABASE_URL, database.jdbcUrl());
        properties.put(RelayConfig.DATABASE_USER, database.username());
        properties.put(RelayConfig.DATABASE_PASSWORD, database.password());
        properties.put(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        properties.put(RelayConfig.METRICS_PORT, "-1");
        properties.put(RelayConfig.HEARTBEAT_INTERVAL_MS, "2000");
        if (launcher != null) {
            // A relay killed with SIGKILL leaves its lease behind: let its successor take over soon.
            properties.put(RelayConfig.LEASE_TTL_MS, "1000");
            properties.put(RelayConfig.LEASE_RENEW_MS, "250");
        }
        RelayConfig.Builder config = RelayConfig.builder();
        properties.forEach(config::set);
        if (launcher != null) {
            launchedRelays.put(name, config.build());
            launcher.relay(name, properties);
        } else {
            startRelay(name, config.build());
        }
    }

    /** Whether a relay started through the launcher streams: its replication slot is in use. */
    private boolean slotActive(String name, RelayConfig config) {
        TestDatabase database = databases.get(name.replace('-', '_'));
        try (Connection connection = database.openConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
            query.setString(1, config.slotName());
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() && rows.getBoolean(1);
            }
        } catch (SQLException e) {
            return false;
        }
    }

    private Map<String, String> transfersProperties() {
        TestDatabase db = databases.get("transfers");
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put(TRANSFERS_SERVICE, "transfers." + runId);
        properties.put(TRANSFERS_DATABASE_URL, db.jdbcUrl());
        properties.put(TRANSFERS_DATABASE_USER, db.username());
        properties.put(TRANSFERS_DATABASE_PASSWORD, db.password());
        properties.put(TRANSFERS_KAFKA, kafka.bootstrapServers());
        properties.put(TRANSFERS_STEP_TIMEOUT_MS, Long.toString(options.stepTimeout().toMillis()));
        return properties;
    }

    /** The names of the run's databases on the server, by service database: transfers, bank_a, bank_b, notifications. */
    Map<String, String> databaseNames() {
        Map<String, String> names = new java.util.TreeMap<>();
        databases.forEach((service, database) -> names.put(service, database.name()));
        return names;
    }

    /** The transfer service's database (transfers and the saga tables), for tests that read the history. */
    DataSource transfersDataSource() {
        return transfers.dataSource();
    }

    /** The notification service, for tests that read its inbox's counts. */
    NotificationService notificationService() {
        return notifications;
    }

    /** Bank {@code bank-a}'s or {@code bank-b}'s database, for tests that read its ledger and inbox. */
    DataSource bankDataSource(String name) {
        return (name.equals("bank-a") ? bankA : bankB).dataSource();
    }

    private Map<String, String> bankProperties(String bankName, String database, Duration lateBy, long seed) {
        TestDatabase db = databases.get(database);
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put(BANK_NAME, bankName);
        properties.put(BANK_DATABASE_URL, db.jdbcUrl());
        properties.put(BANK_DATABASE_USER, db.username());
        properties.put(BANK_DATABASE_PASSWORD, db.password());
        properties.put(BANK_KAFKA, kafka.bootstrapServers());
        properties.put(BANK_SEED, Long.toString(seed));
        properties.put(BANK_LATE_BY_MS, Long.toString(lateBy.toMillis()));
        properties.put(BANK_FAULTS, options.faults().toString());
        properties.put(BANK_DAILY_LIMIT, Long.toString(options.dailyLimit()));
        return properties;
    }

    private void startRelay(String name, RelayConfig config) {
        OutboxRelay relay = OutboxRelay.create(config);
        Thread thread = new Thread(relay, "relay-" + name);
        thread.setDaemon(true);
        thread.start();
        relays.put(name, relay);
        relayThreads.add(thread);
    }

    /**
     * Stops the relay of {@code name} in this JVM and starts a new one on the same configuration: an
     * orderly restart, not a crash (for that, the test runs relays through a {@link Launcher} and kills them).
     */
    public void restartRelay(String name) throws InterruptedException {
        OutboxRelay old = relays.get(name);
        old.close();
        relayThreads.get(List.copyOf(relays.keySet()).indexOf(name)).join(30_000);
        startRelay(name, old.config());
    }

    /**
     * Closes a bank's participant in this JVM and starts a new one: an orderly restart, not a crash (for
     * that, the test runs bank a through a {@link Launcher} and kills it).
     */
    public void restartBank(String name) {
        Bank old = name.equals("bank-a") ? bankA : bankB;
        old.close();
        Bank fresh = new Bank(old.name(), old.dataSource(), kafka.bootstrapServers(), options.faults(),
                options.stepTimeout().plusMillis(200), options.seed() + 7, options.dailyLimit());
        closeables.add(fresh);
        fresh.start();
        if (name.equals("bank-a")) {
            bankA = fresh;
        } else {
            bankB = fresh;
        }
    }

    /** Transfers this run makes. */
    int planned() {
        return options.transfers();
    }

    /** Sagas ended so far. */
    public long ended() {
        Map<SagaState, Long> counts = transfers.orchestrator().admin().countByState();
        return counts.get(SagaState.COMPLETED) + counts.get(SagaState.COMPENSATED) + counts.get(SagaState.FAILED);
    }

    /** Runs the transfers, cancels some of them meanwhile, waits for them to end, and checks the invariants. */
    public DemoResult run() throws Exception {
        long before = money();
        List<Transfer> planned = plan();
        Map<String, Integer> cancelAfter = planCancels(planned);
        CancelTally cancels = new CancelTally();
        long started = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(options.concurrency());
        // Cancels come from elsewhere (a customer, an operator), so they do not hold up a worker.
        ScheduledExecutorService canceller = Executors.newScheduledThreadPool(2);
        List<Future<UUID>> futures = new ArrayList<>();
        // Each worker keeps one transfer in flight: --concurrency bounds the sagas in flight, as a
        // service with that many request threads would.
        for (Transfer transfer : planned) {
            futures.add(pool.submit(() -> {
                UUID sagaId = beginRetrying(transfer);
                Integer after = cancelAfter.get(transfer.id());
                if (after != null) {
                    canceller.schedule(() -> cancel(transfer, sagaId, after, cancels), after, TimeUnit.MILLISECONDS);
                }
                transfers.awaitEnd(sagaId, options.maxWait());
                return sagaId;
            }));
        }
        pool.shutdown();
        long lastEnded = -1;
        long lastChange = System.nanoTime();
        while (true) {
            Map<SagaState, Long> counts;
            try {
                counts = transfers.orchestrator().admin().countByState();
            } catch (RuntimeException unreachable) {
                // The database is restarting, say: the sagas go on once it is back.
                out.printf("  %5.1f s  cannot count the sagas: %s%n", (System.nanoTime() - started) / 1e9,
                        unreachable.getMessage());
                if (System.nanoTime() - lastChange > options.maxWait().toNanos()) {
                    throw unreachable;
                }
                Thread.sleep(1000);
                continue;
            }
            long ended = counts.get(SagaState.COMPLETED) + counts.get(SagaState.COMPENSATED) + counts.get(SagaState.FAILED);
            long begun = counts.values().stream().mapToLong(Long::longValue).sum();
            out.printf("  %5.1f s  started %d/%d  completed %d  compensated %d  failed %d  in flight %d  parked %d%n",
                    (System.nanoTime() - started) / 1e9, begun, planned.size(), counts.get(SagaState.COMPLETED),
                    counts.get(SagaState.COMPENSATED), counts.get(SagaState.FAILED),
                    counts.get(SagaState.RUNNING) + counts.get(SagaState.COMPENSATING), counts.get(SagaState.PARKED));
            if (ended == planned.size()) {
                break;
            }
            if (ended != lastEnded) {
                lastEnded = ended;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > options.maxWait().toNanos()) {
                out.printf("no saga ended for %d s; stopping the wait%n", options.maxWait().toSeconds());
                break;
            }
            Thread.sleep(1000);
        }
        for (Future<UUID> future : futures) {
            future.get();
        }
        pool.awaitTermination(10, TimeUnit.SECONDS);
        // Every cancel is scheduled by now; the last ones may still be due, and are refused if their saga ended.
        canceller.shutdown();
        canceller.awaitTermination(CANCEL_WITHIN_MILLIS + options.maxWait().toMillis(), TimeUnit.MILLISECONDS);
        awaitNotifications();
        return collect(planned.size(), before, cancels);
    }

    /**
     * Which transfers are cancelled, and how many milliseconds after their saga began: {@code --cancel-percent} of
     * them, drawn from a random of their own so that the transfers planned stay the same with or without cancels.
     */
    private Map<String, Integer> planCancels(List<Transfer> planned) {
        Random random = new Random(options.seed() + 5);
        Map<String, Integer> after = new HashMap<>();
        for (Transfer transfer : planned) {
            if (random.nextInt(100) < options.cancelPercent()) {
                after.put(transfer.id(), random.nextInt(CANCEL_WITHIN_MILLIS));
            }
        }
        return after;
    }

    /** Cancels a transfer's saga through the public admin API, as a customer's "cancel my transfer" would. */
    private void cancel(Transfer transfer, UUID sagaId, int afterMillis, CancelTally tally) {
        try {
            transfers.orchestrator().admin().cancel(sagaId, "the customer cancelled transfer " + transfer.id()
                    + " (demo: " + afterMillis + " ms after it began)");
            tally.accepted.add(transfer.id());
        } catch (IllegalStateException refused) {
            tally.tooLate.merge(stateNamed(refused.getMessage()), 1L, Long::sum);
        } catch (RuntimeException unreachable) {
            tally.notDelivered.incrementAndGet();
            out.printf("cancel of transfer %s not delivered: %s%n", transfer.id(), unreachable.getMessage());
        }
    }

    private static final Pattern REFUSED_STATE = Pattern.compile(" is ([A-Z_]+), not RUNNING");

    /** The saga state a refused cancel names ("saga … is COMPLETED, not RUNNING: it has ended"). */
    private static String stateNamed(String refusal) {
        Matcher matcher = REFUSED_STATE.matcher(String.valueOf(refusal));
        return matcher.find() ? matcher.group(1) : "other: " + refusal;
    }

    /** The cancels' outcomes as they happen, from the canceller's threads. */
    private static final class CancelTally {
        final Set<String> accepted = ConcurrentHashMap.newKeySet();
        final Map<String, Long> tooLate = new ConcurrentSkipListMap<>();
        final AtomicLong notDelivered = new AtomicLong();

        long requested() {
            return accepted.size() + tooLate.values().stream().mapToLong(Long::longValue).sum() + notDelivered.get();
        }
    }

    /**
     * Notifications follow a saga's end (the transfer service's relay, Kafka, the notification service): waits until
     * as many transfers are notified as completed, or none more was notified for the run's patience.
     */
    private void awaitNotifications() throws SQLException, InterruptedException {
        long completed = scalar(transfers.dataSource(), "SELECT count(*) FROM transfer t JOIN saga_instance s "
                + "ON s.id = t.saga_id WHERE s.state = 'COMPLETED'");
        long started = System.nanoTime();
        long last = -1;
        long lastChange = started;
        while (true) {
            long notified = scalar(notifications.dataSource(), "SELECT count(DISTINCT transfer_id) FROM notification");
            if (notified >= completed) {
                out.printf("all %d completed transfers notified (waited %d ms after the sagas ended)%n", completed,
                        (System.nanoTime() - started) / 1_000_000);
                return;
            }
            if (notified != last) {
                last = notified;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > options.maxWait().toNanos()) {
                out.printf("%d of %d completed transfers notified, none more for %d s; stopping the wait%n", notified,
                        completed, options.maxWait().toSeconds());
                return;
            }
            Thread.sleep(100);
        }
    }

    /** Begins a transfer, again while the database cannot be reached, for up to the run's patience. */
    private UUID beginRetrying(Transfer transfer) throws InterruptedException {
        long deadline = System.nanoTime() + options.maxWait().toNanos();
        while (true) {
            try {
                return transfers.transfer(transfer);
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(500);
            }
        }
    }

    private List<Transfer> plan() {
        Random random = new Random(options.seed());
        List<Transfer> planned = new ArrayList<>(options.transfers());
        int accounts = options.accounts();
        for (int i = 0; i < options.transfers(); i++) {
            boolean aToB = random.nextBoolean();
            String fromBank = aToB ? bankA.name() : bankB.name();
            String toBank = aToB ? bankB.name() : bankA.name();
            String fromPrefix = aToB ? "A" : "B";
            String toPrefix = aToB ? "B" : "A";
            // The last account of each bank is frozen: ordinary transfers avoid it.
            String from = fromPrefix + random.nextInt(accounts - 1);
            String to = toPrefix + random.nextInt(accounts - 1);
            long amount = 100 + random.nextInt(20_000);
            // A refusal by one check compensates the other; one at the debit compensates both.
            if (options.faults().hits("refusal", random)) {
                switch (random.nextInt(5)) {
                    case 0 -> amount = 400_000;              // over the daily limit (without one: insufficient funds)
                    case 1 -> to = toPrefix + "unknown";     // unknown payee: refused by the screening
                    case 2 -> to = toPrefix + (accounts - 1); // frozen payee: refused by the screening
                    case 3 -> from = fromPrefix + (accounts - 1); // frozen source: refused by the debit
                    default -> amount = Bank.TRANSFER_LIMIT + 1;  // over the per-transfer limit: refused by the debit
                }
            }
            planned.add(new Transfer(String.format(Locale.ROOT, "t-%s-%05d", runId, i), fromBank, from, toBank, to, amount));
        }
        return planned;
    }

    private long money() throws SQLException {
        return scalar(bankA.dataSource(), "SELECT coalesce(sum(balance), 0) FROM account")
                + scalar(bankB.dataSource(), "SELECT coalesce(sum(balance), 0) FROM account");
    }

    private DemoResult collect(int transferCount, long before, CancelTally cancelTally) throws SQLException {
        DataSource service = transfers.dataSource();
        Map<String, Long> byState = new LinkedHashMap<>();
        transfers.orchestrator().admin().countByState().forEach((state, count) -> {
            if (count > 0 || state.terminal()) {
                byState.put(state.name(), count);
            }
        });
        long stuck = byState.entrySet().stream().filter(e -> !SagaState.valueOf(e.getKey()).terminal())
                .mapToLong(Map.Entry::getValue).sum();
        List<Long> latencies = new ArrayList<>();
        List<Long> undelayed = new ArrayList<>();
        List<long[]> spans = new ArrayList<>();
        double seconds;
        try (Connection connection = service.getConnection(); Statement statement = connection.createStatement()) {
            try (ResultSet rows = statement.executeQuery("SELECT t.id, (extract(epoch FROM t.created_at) * 1000)::bigint, "
                    + "(extract(epoch FROM s.ended_at) * 1000)::bigint, "
                    + "EXISTS (SELECT 1 FROM saga_event e WHERE e.saga_id = s.id AND e.event = 'TIMED_OUT') "
                    + "FROM transfer t JOIN saga_instance s ON s.id = t.saga_id WHERE s.ended_at IS NOT NULL")) {
                while (rows.next()) {
                    long start = rows.getLong(2);
                    long end = rows.getLong(3);
                    boolean delayed = rows.getBoolean(4) || options.faults().delayed(rows.getString(1));
                    latencies.add(end - start);
                    if (!delayed) {
                        undelayed.add(end - start);
                    }
                    spans.add(new long[] {start, end, delayed ? 1 : 0});
                }
            }
            Collections.sort(latencies);
            Collections.sort(undelayed);
            try (ResultSet rows = statement.executeQuery("SELECT extract(epoch FROM (max(s.ended_at) - min(t.created_at))) "
                    + "FROM transfer t JOIN saga_instance s ON s.id = t.saga_id")) {
                rows.next();
                seconds = rows.getDouble(1);
            }
        }
        long compensations = scalar(service, "SELECT count(*) FROM saga_event WHERE event = 'COMPENSATED'");
        Map<String, Long> refusals = new LinkedHashMap<>();
        try (Connection connection = service.getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT regexp_replace(detail, '[AB][0-9a-z]+|[0-9]+|bank-[ab]\\.[0-9a-f]+', "
                     + "'…', 'g'), count(*) FROM saga_event WHERE event = 'FAILED' GROUP BY 1 ORDER BY 2 DESC")) {
            while (rows.next()) {
                refusals.put(rows.getString(1), rows.getLong(2));
            }
        }
        long suppressed = transfers.orchestrator().replyStats().duplicates()
                + bankA.participant().consumer().stats().duplicates() + bankB.participant().consumer().stats().duplicates()
                + notifications.handlers().consumer().stats().duplicates();
        Started started = started();
        List<LedgerCheck.Leg> legs = legs();
        Map<String, Long> notified = notified();
        List<String> violations = LedgerCheck.violations(started.transfers(), started.outcomes(), legs);
        List<String> checkViolations = LedgerCheck.heldViolations(started.transfers(), started.outcomes(), legs);
        List<String> notificationViolations = notificationViolations(started, notified);
        DemoResult.Cancels cancels = cancels(cancelTally, started, legs, notified);
        return new DemoResult(transferCount, byState, stuck, seconds, latencies, undelayed,
                DemoResult.longestStall(spans), compensations,
                duplicator == null ? 0 : duplicator.injected(), suppressed, violations.size(), before, money(),
                scalar(bankA.dataSource(), "SELECT count(*) FROM account WHERE balance < 0")
                        + scalar(bankB.dataSource(), "SELECT count(*) FROM account WHERE balance < 0"),
                refusals, timelines(), unfinished(), violations.stream().limit(10).toList(),
                scalar(notifications.dataSource(), "SELECT count(*) FROM notification"), notificationViolations.size(),
                notificationViolations.stream().limit(10).toList(), checkViolations.size(),
                checkViolations.stream().limit(10).toList(), cancels);
    }

    /** What came of the cancels, from the tally and the saga histories, and the cancelled transfers {@link CancelCheck} finds not undone. */
    private DemoResult.Cancels cancels(CancelTally tally, Started started, List<LedgerCheck.Leg> legs,
            Map<String, Long> notified) throws SQLException {
        Set<String> inHistory = new HashSet<>();
        Map<String, Long> atStep = new LinkedHashMap<>();
        try (Connection connection = transfers.dataSource().getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT t.id, coalesce(e.step_name, '-'), s.state FROM transfer t "
                     + "JOIN saga_instance s ON s.id = t.saga_id JOIN saga_event e ON e.saga_id = s.id "
                     + "WHERE e.event = 'CANCELLED' ORDER BY e.step_index, t.id")) {
            while (rows.next()) {
                inHistory.add(rows.getString(1));
                if (rows.getString(3).equals("COMPENSATED")) {
                    atStep.merge(rows.getString(2), 1L, Long::sum);
                }
            }
        }
        List<String> violations = CancelCheck.violations(started.transfers(), tally.accepted, inHistory,
                started.outcomes(), legs, notified);
        return new DemoResult.Cancels(tally.requested(), atStep.values().stream().mapToLong(Long::longValue).sum(),
                atStep, new LinkedHashMap<>(tally.tooLate), tally.notDelivered.get(), violations.size(),
                violations.stream().limit(10).toList());
    }

    private List<String> unfinished() {
        return transfers.orchestrator().admin().stuck(Duration.ZERO, 10).stream()
                .map(saga -> saga.id() + " " + saga.state() + " at " + saga.stepName() + " (attempt " + saga.attempt()
                        + "): " + saga.lastError())
                .toList();
    }

    /**
     * Every entry of both banks (ledger movements, limit holds, payee screenings), for the checks ({@link LedgerCheck},
     * {@link CancelCheck}).
     */
    private List<LedgerCheck.Leg> legs() throws SQLException {
        List<LedgerCheck.Leg> legs = new ArrayList<>();
        for (Bank bank : List.of(bankA, bankB)) {
            try (Connection connection = bank.dataSource().getConnection(); Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("SELECT transfer_id, kind, account, amount FROM ledger "
                         + "UNION ALL SELECT transfer_id, kind, account, amount FROM limit_hold "
                         + "UNION ALL SELECT transfer_id, kind, account, amount FROM screening")) {
                while (rows.next()) {
                    legs.add(new LedgerCheck.Leg(bank.name(), rows.getString(1), rows.getString(2), rows.getString(3),
                            rows.getLong(4)));
                }
            }
        }
        return legs;
    }

    /** The notifications recorded, by transfer id. */
    private Map<String, Long> notified() throws SQLException {
        Map<String, Long> notified = new HashMap<>();
        try (Connection connection = notifications.dataSource().getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT transfer_id, count(*) FROM notification GROUP BY transfer_id")) {
            while (rows.next()) {
                notified.put(rows.getString(1), rows.getLong(2));
            }
        }
        return notified;
    }

    /** The transfers notified other than once if completed, never otherwise ({@link NotificationCheck}). */
    private static List<String> notificationViolations(Started started, Map<String, Long> notified) {
        Map<String, String> outcomes = new HashMap<>();
        started.transfers().keySet().forEach(id -> outcomes.put(id, started.outcomes().get(id)));
        return NotificationCheck.violations(outcomes, notified);
    }

    /** Every transfer started, by id, and the state of the saga of each that has one. */
    private record Started(Map<String, Transfer> transfers, Map<String, String> outcomes) {
    }

    private Started started() throws SQLException {
        Map<String, Transfer> started = new HashMap<>();
        Map<String, String> outcomes = new HashMap<>();
        try (Connection connection = transfers.dataSource().getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT t.id, t.from_bank, t.from_account, t.to_bank, t.to_account, "
                     + "t.amount, s.state FROM transfer t LEFT JOIN saga_instance s ON s.id = t.saga_id")) {
            while (rows.next()) {
                Transfer transfer = new Transfer(rows.getString(1), rows.getString(2), rows.getString(3),
                        rows.getString(4), rows.getString(5), rows.getLong(6));
                started.put(transfer.id(), transfer);
                if (rows.getString(7) != null) {
                    outcomes.put(transfer.id(), rows.getString(7));
                }
            }
        }
        return new Started(started, outcomes);
    }

    private static final String CANCELLED = "EXISTS (SELECT 1 FROM saga_event e WHERE e.saga_id = s.id AND e.event = 'CANCELLED')";

    /** Two completed sagas, a cancelled one, and the four others with the longest histories. */
    private List<DemoResult.Timeline> timelines() throws SQLException {
        List<DemoResult.Timeline> timelines = new ArrayList<>();
        try (Connection connection = transfers.dataSource().getConnection()) {
            List<String[]> picked = new ArrayList<>();
            try (Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("(SELECT t.id, s.id::text, s.state FROM transfer t JOIN saga_instance s ON "
                         + "s.id = t.saga_id WHERE s.state = 'COMPLETED' ORDER BY t.id LIMIT 2) UNION ALL (SELECT t.id, s.id::text, "
                         + "s.state || ' (cancelled)' FROM transfer t JOIN saga_instance s ON s.id = t.saga_id WHERE " + CANCELLED
                         + " ORDER BY t.id LIMIT 1) UNION ALL (SELECT t.id, s.id::text, s.state FROM transfer t JOIN saga_instance s "
                         + "ON s.id = t.saga_id WHERE s.state <> 'COMPLETED' AND NOT " + CANCELLED
                         + " ORDER BY (SELECT count(*) FROM saga_event e WHERE e.saga_id = s.id) DESC LIMIT 4)")) {
                while (rows.next()) {
                    picked.add(new String[] {rows.getString(1), rows.getString(2), rows.getString(3)});
                }
            }
            for (String[] saga : picked) {
                List<DemoResult.Point> points = new ArrayList<>();
                try (PreparedStatement query = connection.prepareStatement("SELECT (extract(epoch FROM (at - min(at) OVER ())) "
                        + "* 1000)::bigint, coalesce(step_name, '-'), event, coalesce(detail, '') FROM saga_event "
                        + "WHERE saga_id = ?::uuid ORDER BY seq")) {
                    query.setString(1, saga[1]);
                    try (ResultSet rows = query.executeQuery()) {
                        while (rows.next()) {
                            points.add(new DemoResult.Point(rows.getLong(1), rows.getString(2), rows.getString(3),
                                    rows.getString(4)));
                        }
                    }
                }
                timelines.add(new DemoResult.Timeline(saga[0], saga[2], points));
            }
        }
        return timelines;
    }

    private static long scalar(DataSource dataSource, String sql) throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        relays.values().forEach(OutboxRelay::close);
        for (Thread thread : relayThreads) {
            try {
                thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<AutoCloseable> reversed = new ArrayList<>(closeables);
        java.util.Collections.reverse(reversed);
        for (AutoCloseable closeable : reversed) {
            try {
                closeable.close();
            } catch (Exception e) {
                out.println("while closing: " + e);
            }
        }
        if (ownsServers && kafka != null) {
            kafka.close();
        }
        if (ownsServers && postgres != null) {
            postgres.close();
        }
    }
}
