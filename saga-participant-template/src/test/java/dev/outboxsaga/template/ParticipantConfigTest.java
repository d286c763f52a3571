package dev.outboxsaga.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParticipantConfigTest {

    private static Properties complete() {
        Properties properties = new Properties();
        properties.setProperty("participant.name", "inventory");
        properties.setProperty("database.url", "jdbc:postgresql://db:5432/inventory");
        properties.setProperty("database.user", "inventory");
        properties.setProperty("database.password", "s3cret-pw");
        properties.setProperty("kafka.bootstrap.servers", "kafka:9092");
        return properties;
    }

    private static Properties without(String key) {
        Properties properties = complete();
        properties.remove(key);
        return properties;
    }

    private static Properties with(String key, String value) {
        Properties properties = complete();
        properties.setProperty(key, value);
        return properties;
    }

    @Test
    void readsEveryKeyWithDefaults() {
        ParticipantConfig config = ParticipantConfig.load(complete(), Map.of());

        assertThat(config.participantName()).isEqualTo("inventory");
        assertThat(config.databaseUrl()).isEqualTo("jdbc:postgresql://db:5432/inventory");
        assertThat(config.databaseUser()).isEqualTo("inventory");
        assertThat(config.databasePassword()).isEqualTo("s3cret-pw");
        assertThat(config.bootstrapServers()).isEqualTo("kafka:9092");
        assertThat(config.relayEmbedded()).isFalse();
        assertThat(config.poolSize()).isEqualTo(5);
        assertThat(config.kafkaProperties()).isEmpty();
    }

    @Test
    void namesAMissingKeyAndItsEnvironmentVariable() {
        for (String key : new String[] {"participant.name", "database.url", "database.user", "kafka.bootstrap.servers"}) {
            assertThatThrownBy(() -> ParticipantConfig.load(without(key), Map.of()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("missing required setting " + key)
                    .hasMessageContaining(ParticipantConfig.envName(key));
        }
    }

    @Test
    void namesAnInvalidKey() {
        assertThatThrownBy(() -> ParticipantConfig.load(with("db.pool.size", "lots"), Map.of()))
                .hasMessageContaining("db.pool.size").hasMessageContaining("lots");
        assertThatThrownBy(() -> ParticipantConfig.load(with("db.pool.size", "0"), Map.of()))
                .hasMessageContaining("db.pool.size");
        assertThatThrownBy(() -> ParticipantConfig.load(with("relay.embedded", "yes"), Map.of()))
                .hasMessageContaining("relay.embedded").hasMessageContaining("true or false");
        assertThatThrownBy(() -> ParticipantConfig.load(with("database.url", "jdbc:mysql://db/x"), Map.of()))
                .hasMessageContaining("database.url");
        assertThatThrownBy(() -> ParticipantConfig.load(with("participant.name", "Inventory Service"), Map.of()))
                .hasMessageContaining("participant.name");
        assertThatThrownBy(() -> ParticipantConfig.load(with("db.pool.szie", "9"), Map.of()))
                .hasMessageContaining("unknown setting db.pool.szie");
    }

    @Test
    void environmentOverridesTheFile() {
        ParticipantConfig config = ParticipantConfig.load(complete(), Map.of(
                "PARTICIPANT_DATABASE_PASSWORD", "from-env",
                "PARTICIPANT_DB_POOL_SIZE", "8",
                "PARTICIPANT_RELAY_EMBEDDED", "true",
                "PARTICIPANT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "PATH", "/usr/bin"));

        assertThat(config.databasePassword()).isEqualTo("from-env");
        assertThat(config.poolSize()).isEqualTo(8);
        assertThat(config.relayEmbedded()).isTrue();
        assertThat(config.kafkaProperties()).containsEntry("security.protocol", "SASL_SSL");
        assertThat(config.participantName()).isEqualTo("inventory");
    }

    @Test
    void environmentAloneCanSupplyARequiredKey() {
        ParticipantConfig config = ParticipantConfig.load(without("database.url"),
                Map.of("PARTICIPANT_DATABASE_URL", "jdbc:postgresql://other:5432/inventory"));

        assertThat(config.databaseUrl()).isEqualTo("jdbc:postgresql://other:5432/inventory");
    }

    @Test
    void refusesAnUnknownOverride() {
        assertThatThrownBy(() -> ParticipantConfig.load(complete(), Map.of("PARTICIPANT_DB_POOL", "3")))
                .hasMessageContaining("PARTICIPANT_DB_POOL");
    }

    @Test
    void neverShowsThePassword() {
        ParticipantConfig config = ParticipantConfig.load(with("kafka.sasl.jaas.config", "user=\"x\" password=\"kpw\""),
                Map.of());

        assertThat(config.toString())
                .contains("inventory", "jdbc:postgresql://db:5432/inventory", "****")
                .doesNotContain("s3cret-pw")
                .doesNotContain("kpw");
    }

    @Test
    void readsTheDefaultFileFromTheClassPath() {
        ParticipantConfig config = ParticipantConfig.load((Path) null, Map.of());

        assertThat(config.participantName()).isEqualTo("inventory");
        assertThat(config.relayEmbedded()).isFalse();
        assertThat(config.poolSize()).isEqualTo(5);
    }

    @Test
    void theAppExitsWithTwoNamingTheMissingKey(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("participant.properties");
        Files.writeString(file, "participant.name=inventory\ndatabase.user=inventory\nkafka.bootstrap.servers=k:9092\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int code = ParticipantApp.run(new String[] {"--config", file.toString()}, Map.of(),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(code).isEqualTo(ParticipantApp.EXIT_CONFIG);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("database.url").contains(file.toString());
    }

    @Test
    void theAppExitsWithTwoOnAMissingFileOrABadArgument(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(err, true, StandardCharsets.UTF_8);

        assertThat(ParticipantApp.run(new String[] {"--config=" + dir.resolve("nope.properties")}, Map.of(), out))
                .isEqualTo(ParticipantApp.EXIT_CONFIG);
        assertThat(ParticipantApp.run(new String[] {"--verbose"}, Map.of(), out)).isEqualTo(ParticipantApp.EXIT_CONFIG);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("not found").contains("--verbose");
    }
}
