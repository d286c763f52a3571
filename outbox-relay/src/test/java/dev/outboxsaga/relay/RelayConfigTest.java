package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class RelayConfigTest {

    private static Properties minimal() {
        Properties properties = new Properties();
        properties.setProperty(RelayConfig.NAME, "orders");
        properties.setProperty(RelayConfig.DATABASE_URL, "jdbc:postgresql://db:5432/orders");
        properties.setProperty(RelayConfig.DATABASE_USER, "relay");
        properties.setProperty(RelayConfig.DATABASE_PASSWORD, "s3cret-pw");
        properties.setProperty(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, "kafka:9092");
        return properties;
    }

    private static Properties with(String key, String value) {
        Properties properties = minimal();
        properties.setProperty(key, value);
        return properties;
    }

    private static RelayConfig load(Properties properties) {
        return RelayConfig.load(properties, Map.of());
    }

    @Test
    void minimalConfigurationGetsTheDocumentedDefaults() {
        RelayConfig config = load(minimal());

        assertThat(config.name()).isEqualTo("orders");
        assertThat(config.outboxTables()).extracting(RelayConfig.Table::qualified).containsExactly("public.outbox_event");
        assertThat(config.publicationCreate()).isTrue();
        assertThat(config.topicPattern()).isEqualTo("outbox.event.${aggregatetype}");
        assertThat(config.topicColumn()).isNull();
        assertThat(config.headerColumns()).containsExactly(Map.entry("type", "eventType"),
                Map.entry("correlationid", "correlationId"));
        assertThat(config.headersJsonColumn()).isEqualTo("headers");
        assertThat(config.positionsTopic()).isEqualTo("outbox-relay-positions." + config.name());
        assertThat(config.leaseTtl()).isEqualTo(Duration.ofMillis(5000));
        assertThat(config.leaseRenewInterval()).isEqualTo(Duration.ofMillis(1000));
        assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofMillis(10000));
        assertThat(config.maxBatchSize()).isEqualTo(8192);
        assertThat(config.pollInterval()).isEqualTo(Duration.ofMillis(5));
        assertThat(config.batchLinger()).isEqualTo(Duration.ofMillis(20));
        assertThat(config.initialSnapshot()).isTrue();
        assertThat(config.metricsPort()).isEqualTo(9404);
        assertThat(config.healthMaxLag()).isEqualTo(Duration.ofMillis(30000));
        assertThat(config.publishRefusalTimeout()).isEqualTo(Duration.ofMillis(120000));
        assertThat(config.instanceId()).isNotBlank();
        assertThat(config.kafkaProperties()).isEmpty();
        assertThat(config.transactionalId()).isEqualTo("outbox-relay-orders");
    }

    @Test
    void eachMissingRequiredKeyIsNamedWithItsEnvironmentVariable() {
        for (String key : List.of(RelayConfig.NAME, RelayConfig.DATABASE_URL, RelayConfig.DATABASE_USER,
                RelayConfig.KAFKA_BOOTSTRAP_SERVERS)) {
            Properties properties = minimal();
            properties.remove(key);
            assertThatThrownBy(() -> load(properties))
                    .as(key)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(key)
                    .hasMessageContaining(RelayConfig.envName(key));
        }
        assertThat(RelayConfig.envName(RelayConfig.KAFKA_BOOTSTRAP_SERVERS)).isEqualTo("OUTBOX_RELAY_KAFKA_BOOTSTRAP_SERVERS");
    }

    @Test
    void blankRequiredValueCountsAsMissing() {
        assertThatThrownBy(() -> load(with(RelayConfig.DATABASE_USER, "  ")))
                .hasMessageContaining("missing required setting " + RelayConfig.DATABASE_USER);
    }

    @Test
    void unknownKeyIsRefusedByName() {
        assertThatThrownBy(() -> load(with("outbox.tabels", "public.outbox_event")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown setting outbox.tabels");
    }

    @Test
    void environmentOverridesTheFile() {
        RelayConfig config = RelayConfig.load(minimal(), Map.of(
                "OUTBOX_RELAY_DATABASE_PASSWORD", "from-env",
                "OUTBOX_RELAY_LEASE_TTL_MS", "9000",
                "PATH", "/usr/bin",
                "UNRELATED_DATABASE_PASSWORD", "ignored"));

        assertThat(config.databasePassword()).isEqualTo("from-env");
        assertThat(config.leaseTtl()).isEqualTo(Duration.ofSeconds(9));
    }

    @Test
    void environmentAloneCanSupplyRequiredKeys() {
        Properties properties = minimal();
        properties.remove(RelayConfig.DATABASE_URL);

        RelayConfig config = RelayConfig.load(properties,
                Map.of("OUTBOX_RELAY_DATABASE_URL", "jdbc:postgresql://other/orders"));

        assertThat(config.databaseUrl()).isEqualTo("jdbc:postgresql://other/orders");
    }

    @Test
    void environmentOnlyKafkaPropertyBecomesAProducerProperty() {
        RelayConfig config = RelayConfig.load(minimal(), Map.of(
                "OUTBOX_RELAY_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                "OUTBOX_RELAY_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"));

        assertThat(config.kafkaProperties())
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("security.protocol", "SASL_SSL");
    }

    @Test
    void environmentOverridesAKafkaPropertyFromTheFile() {
        RelayConfig config = RelayConfig.load(with("kafka.compression.type", "lz4"),
                Map.of("OUTBOX_RELAY_KAFKA_COMPRESSION_TYPE", "zstd"));

        assertThat(config.kafkaProperties()).containsEntry("compression.type", "zstd");
    }

    @Test
    void unknownEnvironmentOverrideIsRefusedByName() {
        assertThatThrownBy(() -> RelayConfig.load(minimal(), Map.of("OUTBOX_RELAY_FOO", "1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("OUTBOX_RELAY_FOO");
    }

    @Test
    void badNumbersAreNamed() {
        assertThatThrownBy(() -> load(with(RelayConfig.LEASE_TTL_MS, "5s")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(RelayConfig.LEASE_TTL_MS)
                .hasMessageContaining("5s");
        assertThatThrownBy(() -> load(with(RelayConfig.MAX_BATCH_SIZE, "0")))
                .hasMessageContaining(RelayConfig.MAX_BATCH_SIZE);
        assertThatThrownBy(() -> load(with(RelayConfig.BATCH_LINGER_MS, "-1")))
                .hasMessageContaining(RelayConfig.BATCH_LINGER_MS);
        assertThatThrownBy(() -> load(with(RelayConfig.BATCH_LINGER_MS, "60000")))
                .hasMessageContaining(RelayConfig.BATCH_LINGER_MS);
        assertThatThrownBy(() -> load(with(RelayConfig.METRICS_PORT, "70000")))
                .hasMessageContaining(RelayConfig.METRICS_PORT);
        assertThatThrownBy(() -> load(with(RelayConfig.METRICS_PORT, "-2")))
                .hasMessageContaining(RelayConfig.METRICS_PORT);
        assertThatThrownBy(() -> RelayConfig.load(minimal(), Map.of("OUTBOX_RELAY_HEALTH_MAX_LAG_MS", "lots")))
                .hasMessageContaining(RelayConfig.HEALTH_MAX_LAG_MS);
    }

    @Test
    void theRefusalTimeoutMayBeZeroButNotNegative() {
        assertThat(load(with(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS, "0")).publishRefusalTimeout()).isZero();
        assertThatThrownBy(() -> load(with(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS, "-1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS);
        assertThatThrownBy(() -> load(with(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS, "2m")))
                .hasMessageContaining(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS);
    }

    @Test
    void metricsPortAllowsNoneAndRandom() {
        assertThat(load(with(RelayConfig.METRICS_PORT, "-1")).metricsPort()).isEqualTo(-1);
        assertThat(load(with(RelayConfig.METRICS_PORT, "0")).metricsPort()).isZero();
    }

    @Test
    void badBooleansAreNamed() {
        assertThatThrownBy(() -> load(with(RelayConfig.INITIAL_SNAPSHOT, "yes")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(RelayConfig.INITIAL_SNAPSHOT)
                .hasMessageContaining("yes");
        assertThatThrownBy(() -> load(with(RelayConfig.PUBLICATION_CREATE, "TRUE")))
                .hasMessageContaining(RelayConfig.PUBLICATION_CREATE);
    }

    @Test
    void producerSettingsThatExactlyOnceNeedsAreReserved() {
        for (String key : List.of("kafka.transactional.id", "kafka.enable.idempotence", "kafka.acks")) {
            assertThatThrownBy(() -> load(with(key, "x")))
                    .as(key)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(key);
        }
        assertThatThrownBy(() -> RelayConfig.load(minimal(), Map.of("OUTBOX_RELAY_KAFKA_TRANSACTIONAL_ID", "mine")))
                .hasMessageContaining("kafka.transactional.id");
    }

    @Test
    void otherKafkaPropertiesPassThroughWithoutThePrefix() {
        RelayConfig config = load(with("kafka.linger.ms", "5"));

        assertThat(config.kafkaProperties()).containsExactly(Map.entry("linger.ms", "5"));
    }

    @Test
    void toStringShowsNoSecrets() {
        Properties properties = minimal();
        properties.setProperty("kafka.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"kafka-pw\";");
        properties.setProperty("kafka.ssl.truststore.password", "trust-pw");
        properties.setProperty("kafka.ssl.key.password", "key-pw");
        properties.setProperty("kafka.sasl.mechanism", "SCRAM-SHA-512");

        String shown = load(properties).toString();

        assertThat(shown)
                .doesNotContain("s3cret-pw", "kafka-pw", "trust-pw", "key-pw", "ScramLoginModule")
                .contains("****", "orders", "jdbc:postgresql://db:5432/orders", "kafka:9092", "SCRAM-SHA-512");
    }

    @Test
    void slotAndPublicationDefaultsDeriveFromTheName() {
        RelayConfig config = load(with(RelayConfig.NAME, "Orders-EU.1"));

        assertThat(config.slotName()).isEqualTo("outbox_orders_eu_1");
        assertThat(config.publicationName()).isEqualTo("outbox_orders_eu_1_pub");

        RelayConfig explicit = load(with(RelayConfig.SLOT_NAME, "my_slot"));
        assertThat(explicit.slotName()).isEqualTo("my_slot");
        assertThat(explicit.publicationName()).isEqualTo("my_slot_pub");
    }

    @Test
    void severalOutboxTablesAreParsed() {
        RelayConfig config = load(with(RelayConfig.OUTBOX_TABLES, "public.outbox_event, billing.outbox_event"));

        assertThat(config.outboxTables()).containsExactly(new RelayConfig.Table("public", "outbox_event"),
                new RelayConfig.Table("billing", "outbox_event"));
    }

    @Test
    void identifiersThatCouldCarrySqlAreRefused() {
        assertThatThrownBy(() -> load(with(RelayConfig.OUTBOX_TABLES, "public.Outbox;drop")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(RelayConfig.OUTBOX_TABLES);
        assertThatThrownBy(() -> load(with(RelayConfig.OUTBOX_TABLES, "outbox_event")))
                .hasMessageContaining(RelayConfig.OUTBOX_TABLES);
        assertThatThrownBy(() -> load(with(RelayConfig.SLOT_NAME, "slot\"; drop table x; --")))
                .hasMessageContaining(RelayConfig.SLOT_NAME);
        assertThatThrownBy(() -> load(with(RelayConfig.PUBLICATION_NAME, "Pub")))
                .hasMessageContaining(RelayConfig.PUBLICATION_NAME);
        assertThatThrownBy(() -> load(with(RelayConfig.TOPIC_COLUMN, "topic name")))
                .hasMessageContaining(RelayConfig.TOPIC_COLUMN);
        assertThatThrownBy(() -> load(with(RelayConfig.HEADER_COLUMNS, "type")))
                .hasMessageContaining(RelayConfig.HEADER_COLUMNS);
        assertThatThrownBy(() -> load(with(RelayConfig.POSITIONS_TOPIC, "bad topic")))
                .hasMessageContaining(RelayConfig.POSITIONS_TOPIC);
    }

    @Test
    void databaseUrlMustBePostgres() {
        assertThatThrownBy(() -> load(with(RelayConfig.DATABASE_URL, "jdbc:mysql://db/orders")))
                .hasMessageContaining(RelayConfig.DATABASE_URL);
    }

    @Test
    void leaseRenewalMustFitTwiceIntoTheTtl() {
        Properties properties = minimal();
        properties.setProperty(RelayConfig.LEASE_TTL_MS, "4000");
        properties.setProperty(RelayConfig.LEASE_RENEW_MS, "2001");
        assertThatThrownBy(() -> load(properties))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(RelayConfig.LEASE_RENEW_MS)
                .hasMessageContaining(RelayConfig.LEASE_TTL_MS);

        properties.setProperty(RelayConfig.LEASE_RENEW_MS, "2000");
        assertThat(load(properties).leaseRenewInterval()).isEqualTo(Duration.ofMillis(2000));
    }

    @Test
    void builderValidatesLikeTheFile() {
        RelayConfig config = RelayConfig.builder()
                .set(RelayConfig.NAME, "orders")
                .set(RelayConfig.DATABASE_URL, "jdbc:postgresql://db/orders")
                .set(RelayConfig.DATABASE_USER, "relay")
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, "kafka:9092")
                .set(RelayConfig.METRICS_PORT, -1)
                .build();
        assertThat(config.metricsPort()).isEqualTo(-1);

        assertThatThrownBy(() -> RelayConfig.builder().set(RelayConfig.NAME, "orders").build())
                .hasMessageContaining(RelayConfig.DATABASE_URL);
    }

    @Test
    void theExampleFileLoadsAndDocumentsEveryKey() throws IOException {
        Path example = Path.of("relay.properties.example");
        String text = Files.readString(example, StandardCharsets.UTF_8);
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(example, StandardCharsets.UTF_8)) {
            properties.load(reader);
        }

        assertThat(RelayConfig.load(properties, Map.of())).isNotNull();
        assertThat(text).contains(keys());
    }

    @Test
    void theReadmeDocumentsEveryKey() throws IOException {
        String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8);

        for (String key : keys()) {
            assertThat(readme).as(key).contains("`" + key + "`");
        }
    }

    /** Every key constant of {@link RelayConfig}, but the {@code kafka.} prefix. */
    private static String[] keys() {
        List<String> keys = new ArrayList<>();
        for (Field field : RelayConfig.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class
                    && !field.getName().equals("KAFKA_PREFIX")) {
                try {
                    keys.add((String) field.get(null));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        assertThat(keys).hasSizeGreaterThan(20);
        return keys.toArray(String[]::new);
    }
}
