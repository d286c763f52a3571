package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The reading the relay's, the participant's and the console's configurations share: typed values, the refusal of
 * unknown keys, and environment overrides with pass-through prefixes and named families.
 */
class SettingsTest {

    private static final Settings.Keys FLAT = Settings.keys("APP_", Set.of("name", "pool.size", "lease.ttl.ms",
            "embedded", "stuck-after")).withPassThrough("kafka.", "client properties");

    private static final Settings.Keys FAMILIES = Settings.keys("CONSOLE_", Set.of("console.port"))
            .withFamily("service.", List.of("jdbc-url", "password", "kafka.bootstrap.servers"), "kafka.")
            .withFamily("user.", List.of("password-hash", "role"));

    private static Properties properties(String... keysAndValues) {
        Properties properties = new Properties();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            properties.setProperty(keysAndValues[i], keysAndValues[i + 1]);
        }
        return properties;
    }

    private static Settings flat(String... keysAndValues) {
        return Settings.read(FLAT, properties(keysAndValues), Map.of());
    }

    @Test
    void typedValuesHaveTheirDefaultsWhenUnset() {
        Settings in = flat();

        assertThat(in.optional("name", "app")).isEqualTo("app");
        assertThat(in.integer("pool.size", 5, 1, 10)).isEqualTo(5);
        assertThat(in.millis("lease.ttl.ms", 5000, 500)).isEqualTo(Duration.ofSeconds(5));
        assertThat(in.bool("embedded", true)).isTrue();
        assertThat(in.duration("stuck-after", Duration.ofMinutes(15), Duration.ofSeconds(1)))
                .isEqualTo(Duration.ofMinutes(15));
        in.refuseUnknown();
    }

    @Test
    void typedValuesAreReadTrimmed() {
        Settings in = flat("name", " orders ", "pool.size", " 7", "lease.ttl.ms", "900", "embedded", "false",
                "stuck-after", "PT5M");

        assertThat(in.required("name")).isEqualTo("orders");
        assertThat(in.integer("pool.size", 5, 1, 10)).isEqualTo(7);
        assertThat(in.millis("lease.ttl.ms", 5000, 500)).isEqualTo(Duration.ofMillis(900));
        assertThat(in.bool("embedded", true)).isFalse();
        assertThat(in.duration("stuck-after", Duration.ofMinutes(15), Duration.ofSeconds(1)))
                .isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void aMissingOrBlankRequiredKeyIsNamedWithItsEnvironmentVariable() {
        String message = "missing required setting name (or environment variable APP_NAME)";
        assertThatThrownBy(() -> flat().required("name")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThatThrownBy(() -> flat("name", "  ").required("name")).hasMessage(message);
    }

    @Test
    void badValuesAreRefusedNamingKeyAndValue() {
        assertThatThrownBy(() -> flat("pool.size", "lots").integer("pool.size", 5, 1, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("pool.size must be a whole number, but was 'lots'");
        assertThatThrownBy(() -> flat("pool.size", "11").integer("pool.size", 5, 1, 10))
                .hasMessage("pool.size must be between 1 and 10, but was 11");
        assertThatThrownBy(() -> flat("pool.size", "0").integer("pool.size", 5, 1, 10))
                .hasMessage("pool.size must be between 1 and 10, but was 0");
        assertThatThrownBy(() -> flat("lease.ttl.ms", "5s").millis("lease.ttl.ms", 5000, 500))
                .hasMessage("lease.ttl.ms must be a whole number, but was '5s'");
        assertThatThrownBy(() -> flat("lease.ttl.ms", "499").millis("lease.ttl.ms", 5000, 500))
                .hasMessage("lease.ttl.ms must be between 500 and 2147483647, but was 499");
        assertThatThrownBy(() -> flat("embedded", "TRUE").bool("embedded", false))
                .hasMessage("embedded must be true or false, but was 'TRUE'");
        assertThatThrownBy(() -> flat("stuck-after", "15m").duration("stuck-after", Duration.ZERO, Duration.ZERO))
                .hasMessage("stuck-after must be an ISO-8601 duration such as PT15M or PT30S, but was '15m'");
        assertThatThrownBy(() -> flat("stuck-after", "PT0.5S").duration("stuck-after", Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessage("stuck-after must be at least PT1S, but was PT0.5S");
    }

    @Test
    void aKeyThatNothingReadIsRefusedWithTheKnownKeys() {
        Settings in = flat("name", "orders", "pool.szie", "3", "kafka.linger.ms", "5");
        in.required("name");

        assertThatThrownBy(in::refuseUnknown).isInstanceOf(IllegalArgumentException.class).hasMessage(
                "unknown setting pool.szie; known settings: [embedded, lease.ttl.ms, name, pool.size, stuck-after]"
                        + " and kafka.* client properties");
    }

    @Test
    void passThroughKeysAreTakenWithoutTheKeysReadOneByOne() {
        Settings in = flat("kafka.bootstrap.servers", "k:9092", "kafka.sasl.mechanism", "PLAIN", "kafka.acks", "all");
        assertThat(in.required("kafka.bootstrap.servers")).isEqualTo("k:9092");

        assertThat(in.unreadUnder("kafka.")).containsExactly(Map.entry("acks", "all"), Map.entry("sasl.mechanism", "PLAIN"));
        assertThat(in.unreadUnder("kafka.")).isEmpty();
        in.refuseUnknown();
    }

    @Test
    void theEnvironmentOverridesKnownKeysAndKeysTheFileSets() {
        Settings in = Settings.read(FLAT, properties("name", "file", "kafka.compression.type", "lz4"), Map.of(
                "APP_NAME", " env ",
                "APP_POOL_SIZE", "8",
                "APP_STUCK_AFTER", "PT1M",
                "APP_KAFKA_COMPRESSION_TYPE", "zstd",
                "PATH", "/usr/bin",
                "OTHER_NAME", "ignored"));

        assertThat(in.required("name")).isEqualTo("env");
        assertThat(in.integer("pool.size", 5, 1, 10)).isEqualTo(8);
        assertThat(in.duration("stuck-after", Duration.ZERO, Duration.ZERO)).isEqualTo(Duration.ofMinutes(1));
        assertThat(in.unreadUnder("kafka.")).containsExactly(Map.entry("compression.type", "zstd"));
        assertThat(FLAT.envName("stuck-after")).isEqualTo("APP_STUCK_AFTER");
    }

    @Test
    void theEnvironmentAloneSetsKeysUnderAPassThroughPrefix() {
        Settings in = Settings.read(FLAT, new Properties(), Map.of("APP_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"));

        assertThat(in.unreadUnder("kafka.")).containsExactly(Map.entry("sasl.mechanism", "SCRAM-SHA-512"));
    }

    @Test
    void anUnknownOverrideIsRefusedByNameWithTheKnownKeys() {
        assertThatThrownBy(() -> Settings.read(FLAT, new Properties(), Map.of("APP_POOL", "3")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("unknown environment override APP_POOL; "
                        + "known keys: [embedded, lease.ttl.ms, name, pool.size, stuck-after]");
        assertThatThrownBy(() -> Settings.read(FAMILIES, new Properties(), Map.of("CONSOLE_SERVICE_JDBC_URL", "x")))
                .hasMessage("unknown environment override CONSOLE_SERVICE_JDBC_URL; known keys: [console.port, "
                        + "service.<name>.jdbc-url, service.<name>.password, service.<name>.kafka.bootstrap.servers, "
                        + "service.<name>.kafka.*, user.<name>.password-hash, user.<name>.role]");
        assertThatThrownBy(() -> Settings.read(FAMILIES, new Properties(), Map.of("CONSOLE_KAFKA_ACKS", "all")))
                .hasMessageStartingWith("unknown environment override CONSOLE_KAFKA_ACKS;");
    }

    @Test
    void theEnvironmentOverridesAndAddsEntriesOfAFamily() {
        Properties file = properties("service.bank-a.jdbc-url", "jdbc:postgresql://db/bank",
                "service.bank-a.password", "from-file");
        Settings in = Settings.read(FAMILIES, file, Map.of(
                "CONSOLE_SERVICE_BANK_A_PASSWORD", "from-env",
                "CONSOLE_SERVICE_PAY_EU_JDBC_URL", "jdbc:postgresql://db/pay",
                "CONSOLE_SERVICE_PAY_EU_KAFKA_BOOTSTRAP_SERVERS", "k:9092",
                "CONSOLE_SERVICE_PAY_EU_KAFKA_SASL_MECHANISM", "PLAIN",
                "CONSOLE_USER_BOB_PASSWORD_HASH", "hash",
                "CONSOLE_CONSOLE_PORT", "0"));

        // A name the file spells with a dash keeps it; one only the environment gives is taken in lower case.
        assertThat(in.names("service.")).containsExactly("bank-a", "pay_eu");
        assertThat(in.optional("service.bank-a.password", "")).isEqualTo("from-env");
        assertThat(in.required("service.pay_eu.jdbc-url")).isEqualTo("jdbc:postgresql://db/pay");
        assertThat(in.required("service.pay_eu.kafka.bootstrap.servers")).isEqualTo("k:9092");
        assertThat(in.unreadUnder("service.pay_eu.kafka.")).containsExactly(Map.entry("sasl.mechanism", "PLAIN"));
        assertThat(in.names("user.")).containsExactly("bob");
        assertThat(in.required("user.bob.password-hash")).isEqualTo("hash");
        assertThat(in.integer("console.port", 8089, 0, 65535)).isZero();
        assertThat(FAMILIES.envName("service.bank-a.jdbc-url")).isEqualTo("CONSOLE_SERVICE_BANK_A_JDBC_URL");
    }

    @Test
    void aFamilyKeyWithoutANameIsRefusedAndFamilyPassThroughIsNotExempt() {
        Settings in = Settings.read(FAMILIES, properties("service.orders", "x", "service.a.kafka.acks", "all"), Map.of());

        assertThat(in.names("service.")).containsExactly("a");
        assertThatThrownBy(in::refuseUnknown).hasMessageStartingWith("unknown setting service.a.kafka.acks; known settings: "
                + "[console.port, service.<name>.jdbc-url,").hasMessageEndingWith("user.<name>.role]");
        in.unreadUnder("service.a.kafka.");
        assertThatThrownBy(in::refuseUnknown).hasMessageStartingWith("unknown setting service.orders;");
    }
}
