package dev.outboxsaga.relay;

import dev.outboxsaga.relay.internal.HttpEndpoint;
import dev.outboxsaga.relay.internal.Misconfiguration;
import dev.outboxsaga.relay.internal.Sql;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The relay's command line: {@code java -jar outbox-relay.jar <command> --config relay.properties}.
 *
 * <ul>
 *   <li>{@code run}: relays until stopped (SIGTERM or Ctrl-C close it cleanly); also what a bare
 *       {@code --config FILE} without a command does;</li>
 *   <li>{@code check [--connect]}: validates the configuration, and with {@code --connect} reaches the
 *       database and Kafka;</li>
 *   <li>{@code init}: creates or verifies the publication and the replication slot, then exits;</li>
 *   <li>{@code reseed}: after the positions topic was lost, writes a position taken from the slot, so
 *       that {@code run} goes on from it instead of stopping;</li>
 *   <li>{@code status}: shows the replication slot and the last published position.</li>
 * </ul>
 *
 * <p>{@code run} takes {@code --config} more than once to run several relays in one process (one per
 * outbox shard table, say), each with its own engine, slot, publication and lease; the other commands take
 * one file.
 *
 * <p>Settings come from the file, overridden by {@code OUTBOX_RELAY_*} environment variables (see
 * {@link RelayConfig}). Exit codes: {@value #OK} success, {@value #FAILURE} an unexpected error,
 * {@value #CONFIG_ERROR} a configuration or usage error, {@value #RELAY_FAILED} the relay failed in
 * a way an operator has to fix (or {@code status} found the slot missing or lost), {@value #UNREACHABLE}
 * {@code check --connect} could not reach the database or Kafka. Passwords are never printed.
 */
@Command(name = "outbox-relay", mixinStandardHelpOptions = true, versionProvider = RelayMain.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = "Streams outbox inserts from the PostgreSQL WAL to Kafka, exactly once.",
        subcommands = {RelayMain.Run.class, RelayMain.Check.class, RelayMain.Init.class, RelayMain.Reseed.class,
                RelayMain.Status.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 unexpected error, 2 configuration or usage error,",
                "3 relay failed (operator action needed) or slot missing/lost, 4 database or Kafka unreachable.",
                "Settings may be overridden by OUTBOX_RELAY_<KEY> environment variables,",
                "e.g. OUTBOX_RELAY_DATABASE_PASSWORD."})
public final class RelayMain implements Callable<Integer> {

    /** Exit code: success, or a clean shutdown of {@code run}. */
    public static final int OK = 0;
    /** Exit code: an unexpected error. */
    public static final int FAILURE = 1;
    /** Exit code: the configuration (or the command line) is invalid. */
    public static final int CONFIG_ERROR = 2;
    /** Exit code: {@link RelayFailedException}, or {@code status} found the slot missing or lost. */
    public static final int RELAY_FAILED = 3;
    /** Exit code: {@code check --connect} could not reach the database or Kafka. */
    public static final int UNREACHABLE = 4;

    private static final Logger LOG = LoggerFactory.getLogger(RelayMain.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** How long a shutdown hook waits for {@code run} to finish its last transaction. */
    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(30);

    @Spec
    private CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = {"The relay's properties file.",
                    "run takes it more than once to run several relays in this process, e.g. one per outbox "
                            + "shard table: each its own relay.name, tables, slot, publication and lease."})
    private List<Path> configFiles = new ArrayList<>();

    private final Map<String, String> environment;

    /** A command line that reads overrides from {@link System#getenv()}. */
    public RelayMain() {
        this(System.getenv());
    }

    /** For tests: a command line with the given environment. */
    RelayMain(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    /** Runs the command line and exits with its exit code. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new RelayMain()).execute(args));
    }

    /** Without a command: {@code run} when {@code --config} is given, else the usage. */
    @Override
    public Integer call() {
        if (configFiles.isEmpty()) {
            spec.commandLine().usage(spec.commandLine().getErr());
            return CONFIG_ERROR;
        }
        return new Run(this, spec).call();
    }

    /** The one configuration of a command other than {@code run}, or a {@link ConfigurationError}. */
    private RelayConfig loadConfig() {
        if (configFiles.size() > 1) {
            throw new ConfigurationError("only run takes more than one --config; run this command once per file");
        }
        return loadConfigs().get(0);
    }

    /**
     * Every configuration given, or a {@link ConfigurationError} that names the file or the key, or the two
     * relays that would share a name, slot, publication, positions topic or outbox table.
     */
    private List<RelayConfig> loadConfigs() {
        if (configFiles.isEmpty()) {
            throw new ConfigurationError("missing --config FILE (the relay's properties file)");
        }
        List<RelayConfig> configs = new ArrayList<>();
        Map<String, String> claimed = new HashMap<>();
        for (Path file : configFiles) {
            RelayConfig config = loadConfig(file);
            // Two relays on one slot, lease or table would fight over it or publish every row twice.
            List<String> owned = new ArrayList<>(List.of("relay.name " + config.name(), "slot.name " + config.slotName(),
                    "publication.name " + config.publicationName(), "positions.topic " + config.positionsTopic()));
            config.outboxTables().forEach(table -> owned.add("outbox table " + table.qualified()));
            for (String thing : owned) {
                String other = claimed.putIfAbsent(thing, file.toString());
                if (other != null) {
                    throw new ConfigurationError(other + " and " + file + " both have " + thing
                            + "; each relay in one process needs its own");
                }
            }
            configs.add(config);
        }
        return configs;
    }

    private RelayConfig loadConfig(Path configFile) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(configFile, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (NoSuchFileException e) {
            throw new ConfigurationError("configuration file not found: " + configFile.toAbsolutePath());
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigurationError("cannot read configuration file " + configFile.toAbsolutePath() + ": "
                    + e.getMessage());
        }
        try {
            return RelayConfig.load(properties, environment);
        } catch (IllegalArgumentException e) {
            throw new ConfigurationError("invalid configuration in " + configFile.toAbsolutePath() + ": "
                    + e.getMessage());
        }
    }

    /** Runs {@code action}, turning failures into messages and exit codes. */
    private static int guarded(CommandSpec spec, Callable<Integer> action) {
        PrintWriter err = spec.commandLine().getErr();
        try {
            return action.call();
        } catch (ConfigurationError e) {
            err.println("error: " + e.getMessage());
            err.flush();
            return CONFIG_ERROR;
        } catch (RelayFailedException e) {
            // The message says what to change; the trace is for debugging only.
            LOG.debug("relay failed", e);
            err.println("relay failed: " + e.getMessage());
            err.flush();
            return RELAY_FAILED;
        } catch (Exception e) {
            LOG.error("{} failed", spec.qualifiedName(), e);
            err.println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            err.flush();
            return FAILURE;
        }
    }

    /** {@code run}: relays until stopped. */
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Relays outbox inserts to Kafka until stopped (SIGTERM or Ctrl-C stop it cleanly).",
                    "Serves /metrics and /health on metrics.port unless it is -1."})
    static final class Run implements Callable<Integer> {
        @ParentCommand
        private RelayMain main;
        @Spec
        private CommandSpec spec;

        Run() {
        }

        Run(RelayMain main, CommandSpec spec) {
            this.main = main;
            this.spec = spec;
        }

        @Override
        public Integer call() {
            return guarded(spec, () -> {
                List<RelayConfig> configs = main.loadConfigs();
                if (configs.size() > 1) {
                    configs.forEach(config -> LOG.info("starting outbox relay {}", config));
                    return runAll(configs);
                }
                RelayConfig config = configs.get(0);
                LOG.info("starting outbox relay {}", config);
                return run(config);
            });
        }

        private static PrometheusMeterRegistry registry() {
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new ClassLoaderMetrics().bindTo(registry);
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            new ProcessorMetrics().bindTo(registry);
            new UptimeMetrics().bindTo(registry);
            return registry;
        }

        /**
         * Several relays, each in a thread of its own with its own engine, slot and lease; meters share one
         * registry (tagged by relay name) and one endpoint on the first file's {@code metrics.port} and
         * {@code health.max.lag.ms}. When one relay stops, for any reason, all stop: the process exits and its
         * supervisor restarts it, as it would a single relay.
         */
        private static int runAll(List<RelayConfig> configs) throws Exception {
            PrometheusMeterRegistry registry = registry();
            List<OutboxRelay> relays = new ArrayList<>();
            CountDownLatch finished = new CountDownLatch(1);
            CountDownLatch anyStopped = new CountDownLatch(1);
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            HttpEndpoint endpoint = null;
            Thread hook = new Thread(() -> {
                LOG.info("shutting down {} outbox relays", relays.size());
                relays.forEach(OutboxRelay::close);
                try {
                    if (!finished.await(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                        LOG.warn("relays did not stop within {}", SHUTDOWN_GRACE);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "outbox-relay-shutdown");
            try {
                Map<String, java.util.function.Supplier<RelayStatus>> statuses = new java.util.LinkedHashMap<>();
                for (RelayConfig config : configs) {
                    OutboxRelay relay = OutboxRelay.create(config, registry);
                    relays.add(relay);
                    statuses.put(config.name(), relay::status);
                    threads.add(new Thread(() -> {
                        try {
                            relay.run();
                        } catch (Throwable t) {
                            failures.add(t);
                        } finally {
                            anyStopped.countDown();
                        }
                    }, "outbox-relay-" + config.name()));
                }
                RelayConfig first = configs.get(0);
                if (first.metricsPort() >= 0) {
                    endpoint = HttpEndpoint.start(first.metricsPort(), registry, statuses, first.healthMaxLag().toMillis());
                }
                Runtime.getRuntime().addShutdownHook(hook);
                threads.forEach(Thread::start);
                anyStopped.await();
                relays.forEach(OutboxRelay::close);
                for (Thread thread : threads) {
                    thread.join();
                }
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // The hook is what stopped us; it waits for `finished`.
                }
                if (failures.stream().anyMatch(RelayFailedException.class::isInstance)) {
                    return RELAY_FAILED; // each relay has logged the one line that says what to change
                }
                if (!failures.isEmpty()) {
                    Throwable failure = failures.get(0);
                    throw failure instanceof Exception e ? e : new IllegalStateException(failure);
                }
                LOG.info("outbox relays stopped");
                return OK;
            } finally {
                if (endpoint != null) {
                    endpoint.close();
                }
                registry.close();
                finished.countDown();
            }
        }

        private static int run(RelayConfig config) {
            PrometheusMeterRegistry registry = registry();
            CountDownLatch finished = new CountDownLatch(1);
            try (OutboxRelay relay = OutboxRelay.create(config, registry);
                    HttpEndpoint endpoint = config.metricsPort() < 0 ? null : HttpEndpoint.start(config.metricsPort(),
                            registry, relay::status, config.healthMaxLag().toMillis())) {
                Thread hook = new Thread(() -> {
                    LOG.info("shutting down outbox relay");
                    relay.close();
                    try {
                        // Let run() finish its last transaction and close the producer before the JVM halts.
                        if (!finished.await(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                            LOG.warn("relay did not stop within {}", SHUTDOWN_GRACE);
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "outbox-relay-shutdown");
                Runtime.getRuntime().addShutdownHook(hook);
                try {
                    relay.run();
                } catch (RelayFailedException failed) {
                    return RELAY_FAILED; // the relay has logged the one line that says what to change
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException shuttingDown) {
                        // The hook is what stopped us; it waits for `finished`.
                    }
                }
                LOG.info("outbox relay stopped");
                return OK;
            } finally {
                registry.close();
                finished.countDown();
            }
        }
    }

    /** {@code check}: validates the configuration, optionally reaching the database and Kafka. */
    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validates the configuration; with --connect also connects to the database and Kafka.")
    static final class Check implements Callable<Integer> {
        @ParentCommand
        private RelayMain main;
        @Spec
        private CommandSpec spec;
        @Option(names = "--connect", description = "Also open a JDBC connection and a Kafka admin client "
                + "(10 s timeout each) and list what would stop the relay (wal_level, REPLICATION, tables, grants, "
                + "login); exit 4 when either is unreachable, else 3 when there is a problem.")
        private boolean connect;

        @Override
        public Integer call() {
            return guarded(spec, () -> {
                PrintWriter out = spec.commandLine().getOut();
                RelayConfig config = main.loadConfig();
                out.println("configuration OK: " + config);
                out.flush();
                if (!connect) {
                    return OK;
                }
                quietKafkaClientLogs();
                List<String> problems = new ArrayList<>();
                boolean database = checkDatabase(config, out, problems);
                boolean kafka = checkKafka(config, out);
                if (!problems.isEmpty()) {
                    out.println("the relay would stop on " + (problems.size() == 1 ? "this problem:"
                            : "these " + problems.size() + " problems:"));
                    problems.forEach(problem -> out.println("  - " + problem));
                }
                out.flush();
                if (!database || !kafka) {
                    return UNREACHABLE;
                }
                return problems.isEmpty() ? OK : RELAY_FAILED;
            });
        }

        /**
         * The Kafka client logs its whole configuration at INFO when it starts, and WARN lines while a broker is
         * unreachable; the report says all of that in one line. Effective with slf4j-simple (which the jar ships)
         * in a JVM that has not created Kafka's loggers yet, as the command line's has not.
         */
        private static void quietKafkaClientLogs() {
            String key = "org.slf4j.simpleLogger.log.org.apache.kafka";
            if (System.getProperty(key) == null) {
                System.setProperty(key, "error");
            }
        }

        /**
         * Connects and adds to {@code problems} what would stop the relay: {@code wal_level}, the
         * {@code REPLICATION} attribute, missing tables or grants, a refused login.
         *
         * @return whether the database answered
         */
        private static boolean checkDatabase(RelayConfig config, PrintWriter out, List<String> problems) {
            Properties properties = new Properties();
            properties.setProperty("user", config.databaseUser());
            properties.setProperty("password", config.databasePassword());
            String seconds = Long.toString(CONNECT_TIMEOUT.toSeconds());
            properties.setProperty("connectTimeout", seconds);
            properties.setProperty("loginTimeout", seconds);
            properties.setProperty("socketTimeout", seconds);
            properties.setProperty("ApplicationName", "outbox-relay check");
            try (Connection connection = DriverManager.getConnection(config.databaseUrl(), properties)) {
                String user;
                try (Statement statement = connection.createStatement();
                        ResultSet row = statement.executeQuery(Sql.SERVER_CHECK)) {
                    row.next();
                    user = row.getString(1);
                    out.println("database OK: " + config.databaseUrl() + " as " + user + " (PostgreSQL "
                            + row.getString(2) + ")");
                    if (!"logical".equals(row.getString(3))) {
                        problems.add("wal_level is " + row.getString(3) + ", the relay needs logical: run "
                                + "ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL");
                    }
                    if (!row.getBoolean(4)) {
                        problems.add("role " + user + " lacks the REPLICATION attribute: run ALTER ROLE " + user
                                + " REPLICATION");
                    }
                }
                for (RelayConfig.Table table : config.outboxTables()) {
                    checkTable(connection, table.qualified(), List.of("SELECT"), user,
                            "check " + RelayConfig.OUTBOX_TABLES + " and apply the migrations", problems);
                }
                String schema = config.outboxTables().get(0).schema();
                for (String table : List.of("outbox_relay_lease", "outbox_relay_heartbeat", "outbox_relay_dead_letter",
                        "outbox_relay_slot")) {
                    checkTable(connection, schema + "." + table, List.of("SELECT", "INSERT", "UPDATE", "DELETE"), user,
                            "apply sql/V4__relay.sql and sql/V6__relay_slot.sql", problems);
                }
                return true;
            } catch (SQLException e) {
                Optional<String> refused = Misconfiguration.explain(e, config);
                if (refused.isPresent()) {
                    out.println("database REFUSED: " + config.databaseUrl());
                    problems.add(refused.get());
                    return true;
                }
                // PgJDBC messages name the host and the user, never the password.
                out.println("database UNREACHABLE: " + config.databaseUrl() + ": " + e.getMessage());
                return false;
            }
        }

        private static void checkTable(Connection connection, String table, List<String> privileges, String user,
                String ifMissing, List<String> problems) throws SQLException {
            List<String> lacking = new ArrayList<>();
            try (PreparedStatement query = connection.prepareStatement(Sql.TABLE_PRIVILEGE)) {
                for (String privilege : privileges) {
                    query.setString(1, table);
                    query.setString(2, table);
                    query.setString(3, privilege);
                    try (ResultSet row = query.executeQuery()) {
                        row.next();
                        if (!row.getBoolean(1)) {
                            problems.add("table " + table + " does not exist: " + ifMissing);
                            return;
                        }
                        if (!row.getBoolean(2)) {
                            lacking.add(privilege);
                        }
                    }
                }
            }
            if (!lacking.isEmpty()) {
                problems.add("role " + user + " lacks " + String.join(", ", lacking) + " on " + table + ": run GRANT "
                        + String.join(", ", lacking) + " ON " + table + " TO " + user);
            }
        }

        private static boolean checkKafka(RelayConfig config, PrintWriter out) {
            Map<String, Object> properties = new HashMap<>(config.kafkaProperties());
            properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
            properties.put(AdminClientConfig.CLIENT_ID_CONFIG, "outbox-relay-check-" + config.name());
            int millis = (int) CONNECT_TIMEOUT.toMillis();
            properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis);
            properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
            try (Admin admin = Admin.create(properties)) {
                DescribeClusterResult cluster = admin.describeCluster();
                String clusterId = cluster.clusterId().get(millis, TimeUnit.MILLISECONDS);
                int brokers = cluster.nodes().get(millis, TimeUnit.MILLISECONDS).size();
                out.println("kafka OK: " + config.bootstrapServers() + " (cluster " + clusterId + ", " + brokers
                        + (brokers == 1 ? " broker)" : " brokers)"));
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                out.println("kafka UNREACHABLE: " + config.bootstrapServers() + ": interrupted");
                return false;
            } catch (TimeoutException e) {
                out.println("kafka UNREACHABLE: " + config.bootstrapServers() + ": no answer within "
                        + CONNECT_TIMEOUT.toSeconds() + " s");
                return false;
            } catch (Exception e) {
                Throwable cause = e instanceof ExecutionException && e.getCause() != null
                        ? e.getCause() : e;
                out.println("kafka UNREACHABLE: " + config.bootstrapServers() + ": " + cause);
                return false;
            }
        }
    }

    /** {@code init}: creates or verifies the publication and the slot. */
    @Command(name = "init", mixinStandardHelpOptions = true,
            description = {"Creates (or verifies) the publication and the replication slot, takes the first-start "
                    + "snapshot if initial.snapshot is true, then exits.",
                    "Optional: run does the same on its first start."})
    static final class Init implements Callable<Integer> {
        @ParentCommand
        private RelayMain main;
        @Spec
        private CommandSpec spec;

        @Override
        public Integer call() {
            return guarded(spec, () -> {
                RelayConfig config = main.loadConfig();
                LOG.info("initializing outbox relay {}", config);
                OutboxRelay.initialize(config);
                PrintWriter out = spec.commandLine().getOut();
                out.println("initialized: publication " + config.publicationName() + ", slot " + config.slotName());
                out.flush();
                return OK;
            });
        }
    }

    /** {@code reseed}: a position from the slot, after the positions topic was lost. */
    @Command(name = "reseed", mixinStandardHelpOptions = true,
            description = {"After the relay stopped because Kafka holds no position for a slot it has used (positions "
                    + "topic deleted, another cluster, a changed positions.topic), writes a position taken from the "
                    + "slot's confirmed position, so that run goes on from there.",
                    "No row is lost; rows published after the slot's last confirmation may be published again.",
                    "Refused while the relay runs, or when a position exists."})
    static final class Reseed implements Callable<Integer> {
        @ParentCommand
        private RelayMain main;
        @Spec
        private CommandSpec spec;

        @Override
        public Integer call() {
            return guarded(spec, () -> {
                RelayConfig config = main.loadConfig();
                String done = OutboxRelay.reseed(config);
                PrintWriter out = spec.commandLine().getOut();
                out.println(done);
                out.flush();
                return OK;
            });
        }
    }

    /** {@code status}: the replication slot and the last published position. */
    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Shows the replication slot (active, wal_status, LSNs, retained WAL) and the last "
                    + "published position.", "Exit 3 when the slot is missing or its WAL is lost."})
    static final class Status implements Callable<Integer> {
        @ParentCommand
        private RelayMain main;
        @Spec
        private CommandSpec spec;

        @Override
        public Integer call() {
            return guarded(spec, () -> {
                RelayConfig config = main.loadConfig();
                SlotReport report = OutboxRelay.inspect(config);
                PrintWriter out = spec.commandLine().getOut();
                print(report, out);
                out.flush();
                if (!report.exists()) {
                    spec.commandLine().getErr().println("slot " + report.slotName()
                            + " does not exist: run `init` (or `run`) to create it");
                    return RELAY_FAILED;
                }
                if ("lost".equalsIgnoreCase(report.walStatus())) {
                    spec.commandLine().getErr().println("slot " + report.slotName() + " has lost WAL it needed: "
                            + "rows committed meanwhile were not relayed; see the README (slot lost)");
                    return RELAY_FAILED;
                }
                return OK;
            });
        }

        static void print(SlotReport report, PrintWriter out) {
            out.printf("slot:              %s%n", report.slotName());
            out.printf("exists:            %s%n", report.exists());
            if (report.exists()) {
                out.printf("active:            %s%n", report.active()
                        + (report.activePid() == null ? "" : " (pid " + report.activePid() + ")"));
                out.printf("wal_status:        %s%n", orNone(report.walStatus()));
                out.printf("restart_lsn:       %s%n", orNone(report.restartLsn()));
                out.printf("confirmed_flush:   %s%n", orNone(report.confirmedFlushLsn()));
                out.printf("retained_wal:      %s%n", megabytes(report.retainedWalBytes()));
            }
            out.printf("published_offset:  %s%n", orNone(report.publishedOffset()));
        }

        private static String orNone(Object value) {
            return value == null ? "(none)" : value.toString();
        }

        static String megabytes(long bytes) {
            return bytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024.0));
        }
    }

    /** The implementation version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = RelayMain.class.getPackage().getImplementationVersion();
            return new String[] {"outbox-relay " + (version == null ? "(development build)" : version)};
        }
    }

    /** A configuration problem: exit {@value #CONFIG_ERROR}, the message only. */
    private static final class ConfigurationError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ConfigurationError(String message) {
            super(message, null, false, false);
        }
    }
}
