package dev.outboxsaga.relay;

import static dev.outboxsaga.relay.RelayStartupTest.runUntilFailed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.testkit.EmbeddedPostgresOptions;
import dev.outboxsaga.testkit.PostgresServer;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.io.IOException;
import java.io.Writer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A misconfiguration that no retry can fix stops the relay after a short, bounded retry, with one line saying what
 * to change; {@code /health} says so meanwhile, and {@code check --connect} lists it beforehand.
 */
class RelayMisconfigurationTest extends RelayTestBase {

    /** Stopping takes three attempts, two pauses of lease.ttl.ms (3 s here) and start-up. */
    private static final Duration STOPS_WITHIN = Duration.ofSeconds(30);

    /** A server without logical decoding, as many are by default. */
    private static PostgresServer replicaOnly;

    @BeforeAll
    static void startServerWithoutLogicalDecoding() {
        replicaOnly = PostgresServer.embedded(EmbeddedPostgresOptions.builder().setting("wal_level", "replica").build());
    }

    @AfterAll
    static void stopServerWithoutLogicalDecoding() {
        if (replicaOnly != null) {
            replicaOnly.close();
        }
    }

    @Test
    void walLevelReplicaStopsTheRunWithExit3AndOneLineWhileHealthAnswers503(TestKafka kafka) throws Exception {
        try (TestDatabase db = TestDatabase.create(replicaOnly); RelayFixture onReplica = new RelayFixture(db, kafka)) {
            int port = freePort();
            RelayProcess relay = onReplica.startProcess("relay", Map.of(RelayConfig.METRICS_PORT, Integer.toString(port)));

            HttpClient http = HttpClient.newHttpClient();
            HttpRequest health = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/health"))
                    .timeout(Duration.ofSeconds(5)).build();
            await("/health reports the reason while the relay tries again").atMost(STOPS_WITHIN)
                    .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> {
                        HttpResponse<String> response = http.send(health, HttpResponse.BodyHandlers.ofString());
                        return response.statusCode() == 503 && response.body().contains("wal_level = logical");
                    });
            await("the relay process exits").atMost(STOPS_WITHIN).until(() -> !relay.isAlive());

            assertThat(relay.exitCode()).as("see %s", relay.logFile()).isEqualTo(RelayMain.RELAY_FAILED);
            String log = relay.log();
            assertThat(log).as("see %s", relay.logFile()).doesNotContain("\tat ", "leader term ended on a failure");
            assertThat(log.lines().filter(line -> line.contains("ERROR")).toList()).as("see %s", relay.logFile())
                    .singleElement().asString().contains("ALTER SYSTEM SET wal_level = logical");
        }
    }

    @Test
    void checkConnectListsWhatToChangeWithoutTheKafkaClientsLogLines(TestKafka kafka) throws Exception {
        try (TestDatabase db = TestDatabase.create(replicaOnly); RelayFixture onReplica = new RelayFixture(db, kafka)) {
            String role = "relay_" + UUID.randomUUID().toString().substring(0, 8);
            db.execute("CREATE ROLE " + role + " LOGIN");
            db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_relay_lease, outbox_relay_heartbeat TO " + role);
            db.execute("GRANT INSERT ON outbox_relay_dead_letter TO " + role);
            Map<String, String> config = onReplica.processConfig("check");
            config.put(RelayConfig.DATABASE_USER, role);

            Command check = runCommand(config, "check", "--connect");

            assertThat(check.exitCode()).as(check.output()).isEqualTo(RelayMain.RELAY_FAILED);
            assertThat(check.output()).contains(
                    "database OK",
                    "kafka OK",
                    "wal_level is replica, the relay needs logical: run ALTER SYSTEM SET wal_level = logical",
                    "role " + role + " lacks the REPLICATION attribute: run ALTER ROLE " + role + " REPLICATION",
                    "run GRANT SELECT ON public.outbox_event TO " + role,
                    "run GRANT SELECT, UPDATE, DELETE ON public.outbox_relay_dead_letter TO " + role);
            assertThat(check.output()).doesNotContain(" INFO ", "\tat ");
        }
    }

    @Test
    void anUnknownDatabaseRoleStopsTheRelay() throws Exception {
        OutboxRelay relay = OutboxRelay.create(fixture.config().set(RelayConfig.DATABASE_USER, "no_such_role").build());

        assertThat(runUntilFailed(relay, STOPS_WITHIN))
                .hasMessageContaining("PostgreSQL refused the login")
                .hasMessageContaining("no_such_role")
                .hasMessageContaining(RelayConfig.DATABASE_PASSWORD);
    }

    @Test
    void aRoleWithoutReplicationStopsTheRelay() throws Exception {
        String role = "relay_" + UUID.randomUUID().toString().substring(0, 8);
        fixture.db.execute("CREATE ROLE " + role + " LOGIN");
        fixture.db.execute("GRANT SELECT ON outbox_event TO " + role);
        fixture.db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_relay_lease, outbox_relay_heartbeat, "
                + "outbox_relay_dead_letter, outbox_relay_slot TO " + role);
        RelayConfig config = fixture.config().set(RelayConfig.DATABASE_USER, role)
                .set(RelayConfig.PUBLICATION_CREATE, false).build();
        fixture.db.execute("CREATE PUBLICATION " + config.publicationName()
                + " FOR TABLE outbox_event, outbox_relay_heartbeat WITH (publish = 'insert')");

        assertThat(runUntilFailed(OutboxRelay.create(config), STOPS_WITHIN))
                .hasMessageContaining("ALTER ROLE " + role + " REPLICATION");
    }

    @Test
    void aMissingOutboxTableStopsTheRelay() throws Exception {
        OutboxRelay relay = OutboxRelay.create(fixture.config().set(RelayConfig.OUTBOX_TABLES, "public.no_such_outbox").build());

        assertThat(runUntilFailed(relay, STOPS_WITHIN))
                .hasMessageContaining("no_such_outbox")
                .hasMessageContaining(RelayConfig.OUTBOX_TABLES);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** What a command line printed (stdout and stderr together) and its exit code. */
    private record Command(int exitCode, String output) {
    }

    /**
     * Runs {@code RelayMain <args> --config FILE} in a JVM of its own, logging at INFO as the shipped jar does, so
     * that the Kafka client's INFO lines would show.
     */
    private static Command runCommand(Map<String, String> config, String... args) throws Exception {
        Files.createDirectories(RelayProcess.LOG_DIRECTORY);
        Path file = Files.createTempFile(RelayProcess.LOG_DIRECTORY, "command-", ".properties");
        Properties properties = new Properties();
        properties.putAll(config);
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            properties.store(out, null);
        }
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", RelayMain.class.getName()));
        command.addAll(List.of(args));
        command.addAll(List.of("--config", file.toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return new Command(process.exitValue(), output);
        } finally {
            process.destroyForcibly();
        }
    }
}
