package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.OperatorConsole;
import dev.outboxsaga.console.Passwords;
import dev.outboxsaga.console.ServiceRows;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The console's dead letter pages mask the values of headers whose names look secret, keep their names, and show the
 * other headers as they are; a configured pattern list replaces the default one.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeadLetterRedactionTest {

    private static final String PASSWORD = "operator-pass-Rt61";
    private static final String HASH = Passwords.hash(PASSWORD, 1_000);
    private static final String BEARER = "Bearer s3cr3t";
    private static final String API_TOKEN = "tok-9f2kQ";
    private static final String DB_PASSWORD = "pw-Hq77x";
    private static final String TRACE_ID = "trace-4b1e0c";

    private TestDatabase db;
    private long deadLetter;

    @BeforeAll
    void seed(TestDatabase db) {
        this.db = db;
        OutboxSchema.migrate(db.dataSource());
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", BEARER);
        headers.put("X-Api-Token", API_TOKEN);
        headers.put("db_password", DB_PASSWORD);
        headers.put("trace-id", TRACE_ID);
        headers.put("session-token", null);
        deadLetter = new ServiceRows(db).deadLetter("bank-a", "payments", "java.lang.IllegalStateException",
                "no such account", Instant.parse("2026-11-01T10:00:00Z"), true, headers, "{\"amount\": 5}");
    }

    @Test
    void secretHeadersAreMaskedOnEveryDeadLetterPageAndTheOthersShown() {
        try (OperatorConsole console = OperatorConsole.start(config(Map.of()))) {
            WebClient operator = loggedIn(console);
            String detail = operator.get("/dead-letters/orders/" + deadLetter).body();

            assertThat(detail).doesNotContain("s3cr3t", API_TOKEN, DB_PASSWORD)
                    .contains(TRACE_ID, ">Authorization<", ">X-Api-Token<", ">db_password<", ">session-token<")
                    .contains("console.redact-headers");
            assertThat(detail.split("\\*\\*\\*\\*", -1)).as("masked values").hasSize(4);
            assertThat(detail).as("a header without a value has none to hide").contains("<span class=\"none\">null</span>");

            List<String> others = List.of("/dead-letters?service=orders", "/dead-letters?service=orders&status=PARKED",
                    "/dead-letters/bulk?service=orders&op=replay", "/");
            for (String path : others) {
                HttpResponse<String> page = operator.get(path);
                assertThat(page.statusCode()).as(path).isEqualTo(200);
                assertThat(page.body()).as(path).doesNotContain("s3cr3t", API_TOKEN, DB_PASSWORD);
            }
        }
    }

    @Test
    void aConfiguredPatternListReplacesTheDefault() {
        try (OperatorConsole console = OperatorConsole.start(config(Map.of("console.redact-headers", "TRACE-*, *_password")))) {
            String detail = loggedIn(console).get("/dead-letters/orders/" + deadLetter).body();

            assertThat(detail).doesNotContain(TRACE_ID, DB_PASSWORD).contains(BEARER, API_TOKEN, ">trace-id<",
                    ">db_password<");
        }
    }

    private ConsoleConfig config(Map<String, String> more) {
        ConsoleConfig.Builder config = ConsoleConfig.builder()
                .service("orders", db.jdbcUrl(), db.username(), db.password())
                .user("olga", HASH, ConsoleConfig.Role.OPERATOR)
                .set(ConsoleConfig.PORT, 0);
        more.forEach(config::set);
        return config.build();
    }

    private static WebClient loggedIn(OperatorConsole console) {
        WebClient client = new WebClient(console.url());
        assertThat(client.login("olga", PASSWORD).statusCode()).isEqualTo(303);
        return client;
    }
}
