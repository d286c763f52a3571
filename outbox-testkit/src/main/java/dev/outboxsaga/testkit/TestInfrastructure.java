package dev.outboxsaga.testkit;

import dev.outboxsaga.testkit.internal.ContainerServers;
import dev.outboxsaga.testkit.internal.Settings;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server and a Kafka cluster, started together and closed together (Kafka first).
 *
 * <p>{@link #start()} chooses them by the setting {@code OUTBOX_SAGA_TEST_INFRA} (a system property
 * or an environment variable; default {@code embedded}):
 * <ul>
 *   <li>{@code embedded}: {@link PostgresServer#embedded()} and {@link KafkaServer#embedded()}, in
 *       this JVM and its child processes, no Docker needed;</li>
 *   <li>{@code external}: servers that run already, named by {@code OUTBOX_SAGA_TEST_PG_URL} (admin
 *       JDBC URL of a server with {@code wal_level=logical} whose user may {@code CREATE DATABASE}),
 *       {@code OUTBOX_SAGA_TEST_PG_USER}, {@code OUTBOX_SAGA_TEST_PG_PASSWORD} (default empty) and
 *       {@code OUTBOX_SAGA_TEST_KAFKA_BOOTSTRAP};</li>
 *   <li>{@code testcontainers}: Docker containers {@code postgres:17} and {@code apache/kafka:4.3.1}
 *       (override with {@code OUTBOX_SAGA_TEST_PG_IMAGE}, {@code OUTBOX_SAGA_TEST_KAFKA_IMAGE}); needs
 *       {@code org.testcontainers:postgresql} and {@code org.testcontainers:kafka} on the class path.</li>
 * </ul>
 * A shutdown hook closes the servers if the JVM exits before {@link #close()}.
 */
public final class TestInfrastructure implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TestInfrastructure.class);

    private final PostgresServer postgres;
    private final KafkaServer kafka;
    private final Thread shutdownHook;
    private boolean closed;

    private TestInfrastructure(PostgresServer postgres, KafkaServer kafka) {
        this.postgres = postgres;
        this.kafka = kafka;
        this.shutdownHook = new Thread(this::closeServers, "outbox-saga-testkit-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts the servers chosen by {@code OUTBOX_SAGA_TEST_INFRA} (default {@code embedded}). */
    public static TestInfrastructure start() {
        String mode = Settings.get(Settings.INFRA, "embedded").toLowerCase(Locale.ROOT);
        switch (mode) {
            case "embedded":
                return embedded();
            case "external":
                return external();
            case "testcontainers":
                return testcontainers();
            default:
                throw new IllegalStateException(Settings.INFRA + " must be embedded, external or testcontainers, not '"
                        + mode + "'");
        }
    }

    /**
     * Starts an embedded PostgreSQL ({@link PostgresServer#embedded()}) and an embedded Kafka
     * ({@link KafkaServer#embedded()}), side by side.
     */
    public static TestInfrastructure embedded() {
        long t0 = System.nanoTime();
        CompletableFuture<PostgresServer> pg = CompletableFuture.supplyAsync(PostgresServer::embedded);
        KafkaServer kafka;
        try {
            kafka = KafkaServer.embedded();
        } catch (RuntimeException e) {
            try {
                pg.join().close();
            } catch (RuntimeException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
        long kafkaMillis = (System.nanoTime() - t0) / 1_000_000;
        PostgresServer postgres;
        try {
            postgres = pg.join();
        } catch (CompletionException e) {
            kafka.close();
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        LOG.info("started {} and embedded Kafka at {} (Kafka {} ms, both {} ms)", postgres,
                kafka.bootstrapServers(), kafkaMillis, (System.nanoTime() - t0) / 1_000_000);
        return new TestInfrastructure(postgres, kafka);
    }

    /** Uses the servers named by the {@code OUTBOX_SAGA_TEST_*} settings; see the class doc. */
    public static TestInfrastructure external() {
        String why = Settings.INFRA + "=external";
        String url = Settings.require(Settings.PG_URL, why);
        String user = Settings.require(Settings.PG_USER, why);
        String password = Settings.get(Settings.PG_PASSWORD, "");
        String bootstrap = Settings.require(Settings.KAFKA_BOOTSTRAP, why);
        return new TestInfrastructure(PostgresServer.external(url, user, password), KafkaServer.external(bootstrap));
    }

    /** Starts PostgreSQL and Kafka containers with Testcontainers; see the class doc. */
    public static TestInfrastructure testcontainers() {
        if (!ContainerServers.available()) {
            throw new IllegalStateException(Settings.INFRA + "=testcontainers needs org.testcontainers:postgresql and"
                    + " org.testcontainers:kafka on the test class path; add them as test dependencies");
        }
        PostgresServer postgres = ContainerServers.postgres(Settings.get(Settings.PG_IMAGE, "postgres:17"));
        try {
            return new TestInfrastructure(postgres,
                    ContainerServers.kafka(Settings.get(Settings.KAFKA_IMAGE, "apache/kafka:4.3.1")));
        } catch (RuntimeException e) {
            postgres.close();
            throw e;
        }
    }

    /** Takes ownership of two servers: {@link #close()} closes them. */
    public static TestInfrastructure of(PostgresServer postgres, KafkaServer kafka) {
        return new TestInfrastructure(Objects.requireNonNull(postgres, "postgres"), Objects.requireNonNull(kafka, "kafka"));
    }

    /** The PostgreSQL server. */
    public PostgresServer postgres() {
        return postgres;
    }

    /**
     * The Kafka cluster; an {@link EmbeddedKafka} (which can {@link EmbeddedKafka#restart()}) when
     * embedded.
     */
    public KafkaServer kafka() {
        return kafka;
    }

    /** Stops Kafka, then PostgreSQL (external servers are left running); idempotent. */
    @Override
    public void close() {
        closeServers();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or ran already
        }
    }

    private synchronized void closeServers() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            kafka.close();
        } catch (RuntimeException e) {
            LOG.warn("could not stop Kafka: {}", e.toString());
        } finally {
            postgres.close();
        }
    }
}
