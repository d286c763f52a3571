package dev.outboxsaga.template;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.saga.PendingReplies;
import dev.outboxsaga.saga.SagaMessages;
import dev.outboxsaga.saga.SagaParticipant;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A saga participant service: {@code java -jar saga-participant.jar [--config FILE]}.
 *
 * <p>{@link #start(ParticipantConfig)} migrates the schema, opens a HikariCP pool, optionally runs the
 * outbox relay for this database on a thread of its own ({@value ParticipantConfig#RELAY_EMBEDDED}),
 * and starts a {@link SagaParticipant} with the handlers of {@link InventoryHandlers}. {@link #close()}
 * stops them in reverse order; {@link #main(String[])} calls it on SIGTERM or Ctrl-C.
 *
 * <p>Exit codes: 0 after a clean stop, 1 when start-up fails or the embedded relay stops on a fatal
 * condition, 2 for a bad command line or configuration (the message names the key).
 */
public final class ParticipantApp implements AutoCloseable {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_CONFIG = 2;

    private static final Logger LOG = LoggerFactory.getLogger(ParticipantApp.class);
    private static final Duration RELAY_STOP_TIMEOUT = Duration.ofSeconds(30);

    private final ParticipantConfig config;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private HikariDataSource pool;
    private OutboxRelay relay;
    private Thread relayThread;
    private SagaParticipant participant;
    private InventoryHandlers handlers;
    private volatile Throwable failure;
    private boolean closed;

    private ParticipantApp(ParticipantConfig config) {
        this.config = config;
    }

    /**
     * Starts everything and returns; the participant consumes commands on its own threads.
     *
     * @throws RuntimeException when the database is unreachable, a migration fails or Kafka settings
     *                          are refused; whatever had started is stopped again
     */
    public static ParticipantApp start(ParticipantConfig config) {
        ParticipantApp app = new ParticipantApp(config);
        try {
            app.startComponents();
            return app;
        } catch (RuntimeException e) {
            app.close();
            throw e;
        }
    }

    private void startComponents() {
        pool = new HikariDataSource(poolConfig(config));
        ParticipantSchema.migrate(pool);
        if (config.relayEmbedded()) {
            relay = OutboxRelay.create(relayConfig(config));
            relayThread = new Thread(this::runRelay, "outbox-relay-" + config.participantName());
            relayThread.start();
        }
        PayloadCodec codec = payloadCodec();
        SagaParticipant.Builder builder = SagaParticipant.builder()
                .name(config.participantName())
                .dataSource(pool)
                .bootstrapServers(config.bootstrapServers())
                .kafkaProperties(config.kafkaProperties())
                .payloadCodec(codec);
        // Your handlers: replace InventoryHandlers with your own class.
        handlers = new InventoryHandlers(codec, config.approvalAbove(),
                PendingReplies.builder().participant(config.participantName()).payloadCodec(codec).build());
        handlers.register(builder);
        participant = builder.build().start();
        LOG.info("participant {} consuming {}{}; relay {}", config.participantName(),
                SagaMessages.DEFAULT_TOPIC_PREFIX, SagaMessages.commandChannel(config.participantName()),
                config.relayEmbedded() ? "embedded" : "external (relay.embedded=false)");
    }

    /** JSON payloads as records; unknown fields are ignored, so a sender may add fields before this service knows them. */
    private static PayloadCodec payloadCodec() {
        return JacksonPayloadCodec.create(new ObjectMapper().findAndRegisterModules()
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES));
    }

    private static HikariConfig poolConfig(ParticipantConfig config) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName("participant-" + config.participantName());
        hikari.setJdbcUrl(config.databaseUrl());
        hikari.setUsername(config.databaseUser());
        hikari.setPassword(config.databasePassword());
        hikari.setMaximumPoolSize(config.poolSize());
        return hikari;
    }

    /**
     * The embedded relay publishes this database's outbox under the participant's name. Never run it
     * and a standalone relay with another {@code relay.name} on the same database: both would publish.
     */
    static RelayConfig relayConfig(ParticipantConfig config) {
        RelayConfig.Builder relay = RelayConfig.builder()
                .set(RelayConfig.NAME, config.participantName())
                .set(RelayConfig.DATABASE_URL, config.databaseUrl())
                .set(RelayConfig.DATABASE_USER, config.databaseUser())
                .set(RelayConfig.DATABASE_PASSWORD, config.databasePassword())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, config.bootstrapServers())
                // The participant serves no HTTP; the standalone relay is the one to scrape.
                .set(RelayConfig.METRICS_PORT, -1);
        config.kafkaProperties().forEach((key, value) -> relay.set(RelayConfig.KAFKA_PREFIX + key, value));
        return relay.build();
    }

    private void runRelay() {
        try {
            relay.run();
        } catch (RuntimeException | Error e) {
            LOG.error("embedded relay of {} stopped: {}", config.participantName(), e.getMessage(), e);
            failure = e;
            stopped.countDown();
        }
    }

    /** The participant's pool. */
    public DataSource dataSource() {
        return pool;
    }

    /** The handlers, e.g. to approve or reject reservations that wait for a manager ({@link InventoryHandlers#approve}). */
    public InventoryHandlers handlers() {
        return handlers;
    }

    /** The running participant: its consumer's counts and dead letters. */
    public SagaParticipant participant() {
        return participant;
    }

    /** The embedded relay, or null when {@value ParticipantConfig#RELAY_EMBEDDED} is false. */
    public OutboxRelay relay() {
        return relay;
    }

    public ParticipantConfig config() {
        return config;
    }

    /** Waits until {@link #close()} or a fatal failure of the embedded relay; returns that failure, or null. */
    public Throwable awaitStop() throws InterruptedException {
        stopped.await();
        return failure;
    }

    /** Stops the participant (after the command in hand), then the relay, then the pool. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (participant != null) {
                participant.close();
            }
            if (relay != null) {
                relay.close();
                try {
                    relayThread.join(RELAY_STOP_TIMEOUT.toMillis());
                    if (relayThread.isAlive()) {
                        LOG.warn("embedded relay did not stop within {}", RELAY_STOP_TIMEOUT);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (pool != null) {
                pool.close();
            }
        } finally {
            stopped.countDown();
        }
    }

    /** {@code [--config FILE]}; without it, {@value ParticipantConfig#DEFAULT_RESOURCE} from the class path. */
    public static void main(String[] args) throws InterruptedException {
        int code = run(args, System.getenv(), System.err);
        if (code != EXIT_OK) {
            System.exit(code);
        }
    }

    /** The whole process: returns the exit code, or blocks in the shutdown hook's {@code exit} on SIGTERM. */
    static int run(String[] args, Map<String, String> environment, PrintStream err) throws InterruptedException {
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                configFile = Path.of(args[++i]);
            } else if (args[i].startsWith("--config=")) {
                configFile = Path.of(args[i].substring("--config=".length()));
            } else {
                err.println("error: unexpected argument '" + args[i] + "'");
                err.println("usage: java -jar saga-participant.jar [--config FILE]");
                return EXIT_CONFIG;
            }
        }
        ParticipantConfig config;
        try {
            config = ParticipantConfig.load(configFile, environment);
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            return EXIT_CONFIG;
        }
        LOG.info("starting {}", config);
        ParticipantApp app;
        try {
            app = start(config);
        } catch (RuntimeException e) {
            LOG.error("participant {} could not start", config.participantName(), e);
            err.println("error: participant could not start: " + e.getMessage());
            return EXIT_FAILURE;
        }
        Thread hook = new Thread(() -> {
            LOG.info("shutting down participant {}", config.participantName());
            app.close();
            LOG.info("participant {} stopped", config.participantName());
        }, "participant-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Throwable failed = app.awaitStop();
        if (failed == null) {
            // Stopped by the hook: the JVM exits with the signal's status once the hook returns.
            return EXIT_OK;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The hook runs already and closes the app.
        }
        app.close();
        return EXIT_FAILURE;
    }
}
