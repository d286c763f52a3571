package dev.outboxsaga.template;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The participant as a process of its own: configured by file and environment, stopped by SIGTERM. */
@ExtendWith(OutboxSagaExtension.class)
class ParticipantProcessTest {

    @Test
    void servesCommandsAndStopsCleanlyOnSigterm(TestDatabase db, TestKafka kafka) throws Exception {
        String name = "inventory-" + UUID.randomUUID().toString().substring(0, 8);
        Path dir = Files.createDirectories(Path.of("target", "participant-processes"));
        Path config = dir.resolve(name + ".properties");
        Files.writeString(config, String.join("\n",
                "participant.name=" + name,
                "database.url=" + db.jdbcUrl(),
                "database.user=" + db.username(),
                "kafka.bootstrap.servers=" + kafka.bootstrapServers(),
                "relay.embedded=true", ""));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(List.of(
                ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"),
                ParticipantApp.class.getName(), "--config", config.toString()))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put(ParticipantConfig.envName(ParticipantConfig.DATABASE_PASSWORD), db.password());

        try (SagaSide saga = new SagaSide(kafka, name)) {
            Process process = builder.start();
            try {
                UUID sagaId = UUID.randomUUID();
                UUID command = saga.send(sagaId, 0, "Reserve", false, 1, "{\"item\":\"widget\",\"quantity\":1}");
                // No stock was ever added: a refusal, which proves the process consumed, decided and replied.
                assertThat(saga.replyTo(command).reason()).isEqualTo("insufficient stock for widget");

                process.destroy(); // SIGTERM

                assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s").isTrue();
                assertThat(process.exitValue()).isEqualTo(143); // 128 + SIGTERM, after the shutdown hook ran
                assertThat(Files.readString(log))
                        .contains("shutting down participant " + name)
                        .contains("participant " + name + " stopped")
                        .contains("database.password=****");
            } finally {
                process.destroyForcibly();
            }
        }
    }
}
