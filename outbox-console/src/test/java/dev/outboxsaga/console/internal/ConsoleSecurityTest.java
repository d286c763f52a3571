package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.Passwords;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The console's security at the HTTP level, with a plain HTTP client, behind a reverse proxy: no page without login,
 * failed logins that do not tell users apart, the session cookie's attributes, CSRF on every POST (logout too), a viewer's forged POST
 * refused with nothing written, the security headers, escaping, and no secret on any page.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleSecurityTest {

    private static final String DB_PASSWORD = "db-secret-Qx81";
    private static final String URL_SECRET = "url-secret-Zk27";
    private static final String RELAY_SECRET = "relay-secret-Pw55";
    private static final String ALICE_PASSWORD = "alice-pass-Jq09";
    private static final String VICTOR_PASSWORD = "victor-pass-Lm33";
    private static final String ALICE_HASH = Passwords.hash(ALICE_PASSWORD, 1_000);
    private static final String VICTOR_HASH = Passwords.hash(VICTOR_PASSWORD, 1_000);
    private static final String XSS = "<script>alert('x')</script>";

    private TestDatabase db;
    private ConsoleServer console;
    private UUID parkedSaga;
    private UUID runningSaga;
    private long deadLetter;

    @BeforeAll
    void start(TestDatabase db) throws SQLException {
        this.db = db;
        OutboxSchema.migrate(db.dataSource());
        parkedSaga = saga("PARKED", XSS);
        runningSaga = saga("RUNNING", null);
        deadLetter = deadLetter();
        console = ConsoleServer.start(ConsoleConfig.builder()
                .service("orders", db.jdbcUrl() + "?password=" + URL_SECRET, db.username(), DB_PASSWORD)
                .set("service.orders.relays", "http://relayuser:" + RELAY_SECRET + "@127.0.0.1:1/health")
                .user("alice", ALICE_HASH, ConsoleConfig.Role.OPERATOR)
                .user("victor", VICTOR_HASH, ConsoleConfig.Role.VIEWER)
                .user("tess", ALICE_HASH, ConsoleConfig.Role.VIEWER)
                .set(ConsoleConfig.PORT, 0)
                .set(ConsoleConfig.ACTION_WAIT, "PT0.2S")
                // As behind a TLS-terminating reverse proxy, whose X-Forwarded-* headers the tests send.
                .set(ConsoleConfig.BEHIND_PROXY, true)
                .build());
    }

    @AfterAll
    void stop() {
        console.close();
    }

    @Test
    void nothingIsServedWithoutLoggingIn() {
        WebClient anonymous = new WebClient(console.url());
        for (String page : List.of("/", "/sagas?service=orders", "/sagas/orders/" + parkedSaga, "/dead-letters",
                "/dead-letters/orders/" + deadLetter, "/relays", "/dead-letters/bulk?service=orders&op=discard")) {
            HttpResponse<String> response = anonymous.get(page);
            assertThat(response.statusCode()).as(page).isEqualTo(303);
            assertThat(response.headers().firstValue("Location").orElseThrow()).as(page).startsWith("/login");
            assertThat(response.body()).as(page).isEmpty();
        }
        assertThat(anonymous.get("/sagas?service=orders").headers().firstValue("Location"))
                .contains("/login?next=%2Fsagas%3Fservice%3Dorders");
        long before = actionCount();
        HttpResponse<String> post = anonymous.post("/dead-letters/orders/" + deadLetter + "/discard",
                Map.of("note", "anonymous", "csrf", "guess"));
        assertThat(post.statusCode()).isEqualTo(403);
        assertThat(actionCount()).isEqualTo(before);
        assertThat(anonymous.get("/static/console.css").statusCode()).isEqualTo(200);
        // A forged session cookie is no session.
        anonymous.cookies.put(ConsoleServer.SESSION_COOKIE, Sessions.token());
        assertThat(anonymous.get("/").statusCode()).isEqualTo(303);
    }

    @Test
    void aFailedLoginReadsTheSameWhetherOrNotTheUserExists() {
        HttpResponse<String> wrongPassword = new WebClient(console.url()).login("alice", "wrong");
        HttpResponse<String> unknownUser = new WebClient(console.url()).login("mallory", "wrong");
        assertThat(wrongPassword.statusCode()).isEqualTo(401).isEqualTo(unknownUser.statusCode());
        assertThat(withoutTokens(wrongPassword.body())).isEqualTo(withoutTokens(unknownUser.body()))
                .contains("Wrong user name or password.");
        assertThat(wrongPassword.headers().allValues("Set-Cookie"))
                .noneMatch(cookie -> cookie.startsWith(ConsoleServer.SESSION_COOKIE + "="));

        WebClient noToken = new WebClient(console.url());
        HttpResponse<String> forged = noToken.post("/login", Map.of("username", "alice", "password", ALICE_PASSWORD,
                "login_token", "guess"));
        assertThat(forged.statusCode()).as("a login form from elsewhere").isEqualTo(403);
    }

    @Test
    void theSessionCookieIsHttpOnlyStrictAndUnguessable() {
        WebClient alice = new WebClient(console.url());
        HttpResponse<String> login = alice.login("alice", ALICE_PASSWORD);
        assertThat(login.statusCode()).isEqualTo(303);
        String cookie = login.headers().allValues("Set-Cookie").stream()
                .filter(value -> value.startsWith(ConsoleServer.SESSION_COOKIE + "=")).findFirst().orElseThrow();
        assertThat(cookie).contains("HttpOnly", "SameSite=Strict", "Path=/");
        assertThat(alice.cookies.get(ConsoleServer.SESSION_COOKIE)).matches("[A-Za-z0-9._-]{24,}");
        assertThat(alice.get("/").statusCode()).isEqualTo(200);
        WebClient proxied = new WebClient(console.url());
        String loginToken = proxied.get("/login").body().replaceAll("(?s).*name=\"login_token\" value=\"([^\"]+)\".*", "$1");
        HttpResponse<String> overTls = proxied.post("/login", Map.of("login_token", loginToken, "username", "alice",
                "password", ALICE_PASSWORD), Map.of("X-Forwarded-Proto", "https"));
        assertThat(overTls.headers().allValues("Set-Cookie")).anySatisfy(value ->
                assertThat(value).startsWith(ConsoleServer.SESSION_COOKIE + "=").contains("; Secure"));
        // Open redirects after login are refused.
        WebClient bob = new WebClient(console.url());
        String token = bob.get("/login").body().replaceAll("(?s).*name=\"login_token\" value=\"([^\"]+)\".*", "$1");
        HttpResponse<String> next = bob.post("/login", Map.of("login_token", token, "username", "alice", "password",
                ALICE_PASSWORD, "next", "//evil.example/"));
        assertThat(next.headers().firstValue("Location")).contains("/");
    }

    @Test
    void everyPostNeedsTheSessionsCsrfTokenAndThisOrigin() {
        WebClient alice = loggedIn("alice", ALICE_PASSWORD);
        String csrf = alice.csrf();
        long dead = deadLetter();
        long before = actionCount();
        String discard = "/dead-letters/orders/" + dead + "/discard";

        assertThat(alice.post(discard, Map.of("note", "no token")).statusCode()).isEqualTo(403);
        assertThat(alice.post(discard, Map.of("note", "wrong token", "csrf", Sessions.token())).statusCode()).isEqualTo(403);
        assertThat(alice.post(discard, Map.of("note", "other site", "csrf", csrf),
                Map.of("Origin", "https://evil.example")).statusCode()).isEqualTo(403);
        assertThat(actionCount()).isEqualTo(before);
        assertThat(status(dead)).isEqualTo("PARKED");
        // Behind a reverse proxy: the public origin is the forwarded host.
        assertThat(alice.post(discard, Map.of("note", "via proxy, other site", "csrf", csrf),
                Map.of("Origin", "https://evil.example", "X-Forwarded-Host", "console.example", "X-Forwarded-Proto",
                        "https")).statusCode()).isEqualTo(403);

        HttpResponse<String> done = alice.post(discard, Map.of("note", "fixed by hand", "csrf", csrf),
                Map.of("Origin", "https://console.example", "X-Forwarded-Host", "console.example", "X-Forwarded-Proto",
                        "https"));
        assertThat(done.statusCode()).isEqualTo(303);
        assertThat(done.headers().firstValue("Location")).contains(discard.replace("/discard", "") + "#audit");
        assertThat(status(dead)).isEqualTo("DISCARDED");
        String page = alice.get("/dead-letters/orders/" + dead).body();
        assertThat(page).contains("Done: discard (action ", "fixed by hand", "console:alice");

        // Logout needs the token too.
        assertThat(alice.post("/logout", Map.of()).statusCode()).isEqualTo(403);
        assertThat(alice.get("/").statusCode()).isEqualTo(200);
        assertThat(alice.post("/logout", Map.of("csrf", csrf)).statusCode()).isEqualTo(303);
        assertThat(alice.get("/").statusCode()).isEqualTo(303);
    }

    @Test
    void aViewerSeesNoActionsAndAForgedPostWritesNothing() {
        WebClient victor = loggedIn("victor", VICTOR_PASSWORD);
        String csrf = victor.csrf();
        String sagaPage = victor.get("/sagas/orders/" + parkedSaga).body();
        assertThat(sagaPage).contains("PARKED").doesNotContain("<form method=\"post\" action=\"/sagas",
                "Retry compensation", "Mark compensated");
        assertThat(victor.get("/sagas/orders/" + runningSaga).body()).doesNotContain(">Cancel<");
        assertThat(victor.get("/dead-letters/orders/" + deadLetter).body()).doesNotContain("do-replay", "do-discard");
        assertThat(victor.get("/dead-letters?service=orders").body()).doesNotContain("bulk-replay", "bulk-discard");
        assertThat(victor.get("/dead-letters/bulk?service=orders&op=discard").statusCode()).isEqualTo(403);

        long before = actionCount();
        List<HttpResponse<String>> forged = new ArrayList<>();
        forged.add(victor.post("/sagas/orders/" + parkedSaga + "/action",
                Map.of("csrf", csrf, "action", "RETRY_COMPENSATION")));
        forged.add(victor.post("/sagas/orders/" + runningSaga + "/action",
                Map.of("csrf", csrf, "action", "CANCEL", "note", "forged")));
        forged.add(victor.post("/dead-letters/orders/" + deadLetter + "/replay", Map.of("csrf", csrf)));
        forged.add(victor.post("/dead-letters/orders/" + deadLetter + "/discard", Map.of("csrf", csrf, "note", "x")));
        forged.add(victor.post("/dead-letters/bulk", Map.of("csrf", csrf, "service", "orders", "op", "discard",
                "max_id", Long.toString(Long.MAX_VALUE), "note", "x")));
        assertThat(forged).allSatisfy(response -> {
            assertThat(response.statusCode()).isEqualTo(403);
            assertThat(response.body()).contains("viewers cannot act");
        });
        assertThat(actionCount()).isEqualTo(before);
        assertThat(status(deadLetter)).isEqualTo("PARKED");
        assertThat(sagaState(parkedSaga)).isEqualTo("PARKED");
    }

    @Test
    void pagesCarryTheSecurityHeadersAndEscapeWhatTheyShow() {
        WebClient alice = loggedIn("alice", ALICE_PASSWORD);
        for (String path : List.of("/", "/sagas/orders/" + parkedSaga, "/login")) {
            HttpResponse<String> response = path.equals("/login") ? new WebClient(console.url()).get(path) : alice.get(path);
            assertThat(response.headers().firstValue("Content-Security-Policy")).as(path).hasValueSatisfying(csp ->
                    assertThat(csp).contains("default-src 'self'", "frame-ancestors 'none'").doesNotContain("unsafe"));
            assertThat(response.headers().firstValue("X-Frame-Options")).as(path).contains("DENY");
            assertThat(response.headers().firstValue("Cache-Control")).as(path).contains("no-store");
            assertThat(response.headers().firstValue("X-Content-Type-Options")).as(path).contains("nosniff");
        }
        String page = alice.get("/sagas/orders/" + parkedSaga).body();
        assertThat(page).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;").doesNotContain(XSS);
        assertThat(alice.get("/dead-letters/orders/" + deadLetter).body()).contains("&lt;img src=x onerror=alert(1)&gt;")
                .doesNotContain("<img src=x");
        assertThat(alice.get("/sagas?service=orders&q=" + java.net.URLEncoder.encode(XSS, StandardCharsets.UTF_8)).body())
                .doesNotContain(XSS);
    }

    @Test
    void noPageShowsASecret() {
        WebClient alice = loggedIn("alice", ALICE_PASSWORD);
        List<String> pages = new ArrayList<>();
        for (String path : List.of("/", "/sagas?service=orders", "/sagas/orders/" + parkedSaga,
                "/sagas/orders/" + runningSaga, "/dead-letters?service=orders", "/dead-letters/orders/" + deadLetter,
                "/dead-letters/bulk?service=orders&op=replay", "/relays", "/no-such-page", "/sagas/nope/x")) {
            pages.add(alice.get(path).body());
        }
        pages.add(new WebClient(console.url()).get("/login").body());
        pages.add(new WebClient(console.url()).login("alice", "wrong").body());
        assertThat(String.join("\n", pages)).contains("could not ask http://127.0.0.1:1/health")
                .doesNotContain(DB_PASSWORD, URL_SECRET, RELAY_SECRET, "relayuser", ALICE_PASSWORD, VICTOR_PASSWORD,
                        ALICE_HASH, VICTOR_HASH, "pbkdf2");
        assertThat(console.toString()).doesNotContain(DB_PASSWORD);
    }

    @Test
    void aQueuedSagaActionIsShownAsWaitingForItsOrchestrator() {
        UUID saga = saga("PARKED", null);
        WebClient alice = loggedIn("alice", ALICE_PASSWORD);
        HttpResponse<String> queued = alice.post("/sagas/orders/" + saga + "/action",
                Map.of("csrf", alice.csrf(), "action", "RETRY_COMPENSATION", "note", "B fixed"));
        assertThat(queued.statusCode()).isEqualTo(303);
        String page = alice.get("/sagas/orders/" + saga).body();
        assertThat(page).contains("Queued: retry compensation (action ",
                "waiting for service orders&#39;s orchestrator (saga type transfer) to carry it out", "B fixed", "PENDING")
                .doesNotContain("do-retry-compensation");
        // Refusals come back as a message on the page, not as an error.
        HttpResponse<String> again = alice.post("/sagas/orders/" + saga + "/action",
                Map.of("csrf", alice.csrf(), "action", "MARK_COMPENSATED", "note", "by hand"));
        assertThat(again.statusCode()).isEqualTo(303);
        assertThat(alice.get("/sagas/orders/" + saga).body()).contains("Refused: an action on saga " + saga
                + " waits for its orchestrator already");
    }

    // ---------------------------------------------------------------------------------------------

    private WebClient loggedIn(String user, String password) {
        WebClient client = new WebClient(console.url());
        assertThat(client.login(user, password).statusCode()).isEqualTo(303);
        return client;
    }

    private static String withoutTokens(String page) {
        return page.replaceAll("value=\"[A-Za-z0-9_-]{43}\"", "value=\"\"");
    }

    private long actionCount() {
        return single("SELECT count(*) FROM operator_action");
    }

    private String status(long deadLetterId) {
        return text("SELECT status FROM dead_letter WHERE id = " + deadLetterId);
    }

    private String sagaState(UUID id) {
        return text("SELECT state FROM saga_instance WHERE id = '" + id + "'");
    }

    private long single(String sql) {
        return Long.parseLong(text(sql));
    }

    private String text(String sql) {
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(sql);
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private UUID saga(String state, String key) {
        UUID id = UUID.randomUUID();
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO saga_instance (id, saga_type, saga_version, state, step_index, attempt, data, saga_key, "
                        + "last_error) VALUES (?, 'transfer', 1, ?, 1, 1, '{\"note\": \"<b>bold</b>\"}', ?, ?)")) {
            ps.setObject(1, id);
            ps.setString(2, state);
            ps.setString(3, key);
            ps.setString(4, key);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return id;
    }

    private long deadLetter() {
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO dead_letter (consumer, message_id, topic, kafka_partition, kafka_offset, record_value, "
                        + "error_class, error_message, error_stack, attempts) VALUES ('bank-a', ?, 'orders', 0, "
                        + "nextval('dead_letter_id_seq'), ?, 'java.lang.IllegalStateException', "
                        + "'<img src=x onerror=alert(1)>', 'stack', 3) RETURNING id")) {
            ps.setObject(1, UUID.randomUUID());
            ps.setBytes(2, "{\"amount\": 5}".getBytes(StandardCharsets.UTF_8));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
