package dev.outboxsaga.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleConfigTest {

    private static final String HASH = Passwords.hash("pw", 1_000);

    private static Properties minimal() {
        Properties p = new Properties();
        p.setProperty("service.orders.jdbc-url", "jdbc:postgresql://db:5432/orders?password=inurl");
        p.setProperty("service.orders.username", "console");
        return p;
    }

    @Test
    void defaultsAreDocumentedOnes() {
        ConsoleConfig config = ConsoleConfig.load(minimal(), Map.of());
        assertThat(config.port()).isEqualTo(8089);
        assertThat(config.bind()).isEqualTo("127.0.0.1");
        assertThat(config.stuckAfter()).isEqualTo(Duration.ofMinutes(15));
        assertThat(config.sessionTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(config.actionWait()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.sessionLifetime()).isEqualTo(Duration.ofHours(8));
        assertThat(config.secureCookies()).isFalse();
        assertThat(config.behindProxy()).isFalse();
        assertThat(config.maxConnections()).isEqualTo(64);
        assertThat(config.idleTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(config.requestTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(config.auditMaxWindow()).isEqualTo(Duration.ofHours(24));
        assertThat(config.auditMaxRows()).isEqualTo(200_000);
        ConsoleConfig.Service orders = config.service("orders");
        assertThat(orders.password()).isEmpty();
        assertThat(orders.kafkaBootstrapServers()).isNull();
        assertThat(orders.relays()).isEmpty();
        assertThat(orders.consumers()).isEmpty();
        assertThat(orders.poolSize()).isEqualTo(3);
        assertThat(config.users()).isEmpty();
    }

    @Test
    void readsServicesAndUsersWithEnvironmentOverrides() {
        Properties p = minimal();
        p.setProperty("service.orders.password", "from-file");
        p.setProperty("service.orders.kafka.bootstrap.servers", "kafka:9092");
        p.setProperty("service.orders.kafka.sasl.jaas.config", "secret-jaas");
        p.setProperty("service.orders.relays", "http://relay-1:9404, http://user:pw@relay-2:9404/health");
        p.setProperty("service.orders.consumers", "orders-saga-replies,bank-a");
        p.setProperty("user.alice.password-hash", HASH);
        p.setProperty("user.alice.role", "operator");
        p.setProperty("console.stuck-after", "PT5M");
        ConsoleConfig config = ConsoleConfig.load(p, Map.of(
                "OUTBOX_CONSOLE_SERVICE_ORDERS_PASSWORD", "from-env",
                "OUTBOX_CONSOLE_CONSOLE_PORT", "0",
                "OUTBOX_CONSOLE_SERVICE_BANK_A_JDBC_URL", "jdbc:postgresql://db/bank",
                "OUTBOX_CONSOLE_SERVICE_BANK_A_USERNAME", "console",
                "OUTBOX_CONSOLE_USER_BOB_PASSWORD_HASH", HASH,
                "OUTBOX_CONSOLE_USER_BOB_ROLE", "viewer",
                "PATH", "/usr/bin"));

        assertThat(config.port()).isZero();
        assertThat(config.stuckAfter()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.services()).containsOnlyKeys("orders", "bank_a");
        ConsoleConfig.Service orders = config.service("orders");
        assertThat(orders.password()).isEqualTo("from-env");
        assertThat(orders.kafkaBootstrapServers()).isEqualTo("kafka:9092");
        assertThat(orders.kafkaProperties()).containsExactly(Map.entry("sasl.jaas.config", "secret-jaas"));
        assertThat(orders.relays()).containsExactly(URI.create("http://relay-1:9404/health"),
                URI.create("http://user:pw@relay-2:9404/health"));
        assertThat(orders.consumers()).containsExactly("orders-saga-replies", "bank-a");
        assertThat(config.users().get("alice").role()).isEqualTo(ConsoleConfig.Role.OPERATOR);
        assertThat(config.users().get("bob").role()).isEqualTo(ConsoleConfig.Role.VIEWER);

        String shown = config.toString();
        assertThat(shown).contains("jdbc:postgresql://db:5432/orders", "relay-2:9404/health", "operator")
                .doesNotContain("from-env", "from-file", "inurl", "secret-jaas", "user:pw", HASH, "pbkdf2");
        assertThatThrownBy(() -> config.service("nope")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("configured: [bank_a, orders]");
    }

    @Test
    void unknownAndInvalidKeysAreRefusedByName() {
        assertRefused("service.orders.jdbcurl", "x", "unknown setting service.orders.jdbcurl");
        assertRefused("console.prot", "1", "unknown setting console.prot");
        assertRefused("service.orders", "x", "unknown setting service.orders");
        assertRefused("console.port", "70000", "console.port must be between 0 and 65535");
        assertRefused("console.stuck-after", "15m", "console.stuck-after must be an ISO-8601 duration");
        assertRefused("console.action-wait", "PT2M", "console.action-wait must be at most PT60S");
        assertRefused("service.orders.jdbc-url", "jdbc:mysql://db?password=x", "must be a jdbc:postgresql: URL, but was 'jdbc:mysql://db'");
        assertRefused("service.orders.relays", "relay-1:9404", "service.orders.relays must list http(s) URLs");
        assertRefused("service.orders.consumers", "a b", "service.orders.consumers must list consumer group ids");
        assertRefused("service.orders.consumers", "bank-a", "service.orders.consumers needs service.orders.kafka.bootstrap.servers");
        assertRefused("service.or/ders.jdbc-url", "jdbc:postgresql://x", "service name 'or/ders'");
        assertRefused("user.alice.role", "admin", "missing required setting user.alice.password-hash");

        Properties badRole = minimal();
        badRole.setProperty("user.alice.password-hash", HASH);
        badRole.setProperty("user.alice.role", "admin");
        assertThatThrownBy(() -> ConsoleConfig.load(badRole, Map.of())).hasMessage(
                "user.alice.role must be viewer or operator, but was 'admin'");
        Properties badHash = minimal();
        badHash.setProperty("user.alice.password-hash", "hunter2");
        badHash.setProperty("user.alice.role", "viewer");
        assertThatThrownBy(() -> ConsoleConfig.load(badHash, Map.of())).hasMessageStartingWith(
                "user.alice.password-hash: a password hash must read").hasMessageNotContaining("hunter2");

        assertThatThrownBy(() -> ConsoleConfig.load(new Properties(), Map.of()))
                .hasMessageStartingWith("no service configured");
        assertThatThrownBy(() -> ConsoleConfig.load(minimal(), Map.of("OUTBOX_CONSOLE_PROT", "1")))
                .hasMessageStartingWith("unknown environment override OUTBOX_CONSOLE_PROT");
        Properties noUser = minimal();
        noUser.remove("service.orders.username");
        assertThatThrownBy(() -> ConsoleConfig.load(noUser, Map.of())).hasMessage(
                "missing required setting service.orders.username (or environment variable "
                        + "OUTBOX_CONSOLE_SERVICE_ORDERS_USERNAME)");
    }

    @Test
    void theRedactedHeadersHaveADocumentedDefaultThatAConfiguredListReplaces() {
        ConsoleConfig defaults = ConsoleConfig.load(minimal(), Map.of());
        assertThat(defaults.redactHeaders()).containsExactly("authorization", "proxy-authorization", "cookie",
                "set-cookie", "*token*", "*secret*", "*password*", "*api-key*", "*apikey*", "*api_key*");
        assertThat(defaults.service("orders").redactHeaders()).isEqualTo(defaults.redactHeaders());

        Properties p = minimal();
        p.setProperty("console.redact-headers", " x-internal-* , *pin ");
        ConsoleConfig custom = ConsoleConfig.load(p, Map.of());
        assertThat(custom.redactHeaders()).containsExactly("x-internal-*", "*pin");
        assertThat(custom.service("orders").redactHeaders()).containsExactly("x-internal-*", "*pin");
        assertThat(custom.toString()).contains("console.redact-headers=[x-internal-*, *pin]");
        assertThat(ConsoleConfig.load(minimal(), Map.of("OUTBOX_CONSOLE_CONSOLE_REDACT_HEADERS", "cookie")).redactHeaders())
                .containsExactly("cookie");

        assertRefused("console.redact-headers", "", "console.redact-headers must list at least one header name pattern");
        assertRefused("console.redact-headers", " , ", "console.redact-headers must list at least one header name pattern");
        assertRefused("console.redact-headers", "cookie,x token", "console.redact-headers must list header names, "
                + "* for any characters, separated by commas, but has 'x token'");
    }

    @Test
    void readsAFileAndNamesAMissingOne(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("console.properties");
        Files.writeString(file, "service.orders.jdbc-url=jdbc:postgresql://db/orders\nservice.orders.username=c\n");
        assertThat(ConsoleConfig.load(file, Map.of()).services()).containsOnlyKeys("orders");
        assertThatThrownBy(() -> ConsoleConfig.load(dir.resolve("nope.properties"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope.properties does not exist");
    }

    @Test
    void theBuilderTakesTheSameKeys() {
        ConsoleConfig config = ConsoleConfig.builder()
                .service("orders", "jdbc:postgresql://db/orders", "console", "pw")
                .user("alice", HASH, ConsoleConfig.Role.OPERATOR)
                .set(ConsoleConfig.PORT, 0)
                .build();
        assertThat(config.port()).isZero();
        assertThat(config.service("orders").password()).isEqualTo("pw");
        assertThat(config.users().get("alice").passwordHash()).isEqualTo(HASH);
        assertThat(config.users().get("alice").toString()).doesNotContain(HASH);
        assertThatThrownBy(() -> ConsoleConfig.builder().service("orders", "jdbc:postgresql://db/o", "c", "")
                .set("service.orders.pool-size", 0).build()).hasMessageContaining("service.orders.pool-size");
        assertThat(List.of(ConsoleConfig.Role.values())).extracting(ConsoleConfig.Role::key)
                .containsExactly("viewer", "operator");
    }

    @Test
    void theConsoleRefusesToStartWithoutUsers() {
        ConsoleConfig noUsers = ConsoleConfig.load(minimal(), Map.of());
        assertThatThrownBy(() -> OperatorConsole.start(noUsers)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("the console needs at least one user (no anonymous access)");
    }

    @Test
    void theServersLimitsAreCheckedAtStartUp() {
        assertRefused(ConsoleConfig.SESSION_LIFETIME, "PT10M", "console.session-lifetime (PT10M) must be at least "
                + "console.session-timeout (PT30M)");
        assertRefused(ConsoleConfig.SECURE_COOKIES, "yes", ConsoleConfig.SECURE_COOKIES);
        assertRefused(ConsoleConfig.MAX_CONNECTIONS, "2", ConsoleConfig.MAX_CONNECTIONS);
        assertRefused(ConsoleConfig.IDLE_TIMEOUT, "PT0S", ConsoleConfig.IDLE_TIMEOUT);
        assertRefused(ConsoleConfig.REQUEST_TIMEOUT, "20s", ConsoleConfig.REQUEST_TIMEOUT);
        assertRefused(ConsoleConfig.AUDIT_MAX_ROWS, "0", ConsoleConfig.AUDIT_MAX_ROWS);
    }

    private static void assertRefused(String key, String value, String message) {
        Properties p = minimal();
        p.setProperty(key, value);
        assertThatThrownBy(() -> ConsoleConfig.load(p, Map.of())).as(key).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
