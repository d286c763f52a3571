package dev.outboxsaga.testkit.internal;

import dev.outboxsaga.testkit.KafkaServer;
import dev.outboxsaga.testkit.PostgresServer;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Servers in Docker containers started by Testcontainers. Load this class only after
 * {@link #available()} said yes: Testcontainers is an optional dependency.
 */
public final class ContainerServers {

    private ContainerServers() {
    }

    /** Whether Testcontainers' PostgreSQL and Kafka modules are on the class path. */
    public static boolean available() {
        try {
            ClassLoader loader = ContainerServers.class.getClassLoader();
            Class.forName("org.testcontainers.containers.PostgreSQLContainer", false, loader);
            Class.forName("org.testcontainers.kafka.KafkaContainer", false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Starts {@code image} (a postgres image) with logical decoding on. */
    public static PostgresServer postgres(String image) {
        PostgreSQLContainer<?> c = new PostgreSQLContainer<>(
                DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"));
        c.withCommand("postgres", "-c", "wal_level=logical", "-c", "synchronous_commit=on",
                "-c", "fsync=off", "-c", "max_replication_slots=64", "-c", "max_wal_senders=64",
                "-c", "max_connections=300");
        c.start();
        return new ContainerPostgres(c);
    }

    /** Starts {@code image} (an apache/kafka image) as a single-node KRaft cluster. */
    public static KafkaServer kafka(String image) {
        KafkaContainer c = new KafkaContainer(DockerImageName.parse(image));
        c.start();
        return new ContainerKafka(c);
    }

    private static final class ContainerPostgres extends AbstractPostgresServer {
        private final PostgreSQLContainer<?> container;
        private final ExternalPostgresServer server;

        ContainerPostgres(PostgreSQLContainer<?> container) {
            this.container = container;
            this.server = new ExternalPostgresServer(container.getJdbcUrl(), container.getUsername(),
                    container.getPassword());
        }

        @Override
        public String host() {
            return server.host();
        }

        @Override
        public int port() {
            return server.port();
        }

        @Override
        public String adminJdbcUrl() {
            return server.adminJdbcUrl();
        }

        @Override
        public String jdbcUrl(String database) {
            return server.jdbcUrl(database);
        }

        @Override
        public String username() {
            return server.username();
        }

        @Override
        public String password() {
            return server.password();
        }

        @Override
        public void close() {
            container.stop();
        }

        @Override
        public String toString() {
            return "PostgreSQL container " + container.getDockerImageName() + " at " + host() + ":" + port();
        }
    }

    private static final class ContainerKafka implements KafkaServer {
        private final KafkaContainer container;

        ContainerKafka(KafkaContainer container) {
            this.container = container;
        }

        @Override
        public String bootstrapServers() {
            return container.getBootstrapServers();
        }

        @Override
        public void close() {
            container.stop();
        }

        @Override
        public String toString() {
            return "Kafka container " + container.getDockerImageName() + " at " + bootstrapServers();
        }
    }
}
