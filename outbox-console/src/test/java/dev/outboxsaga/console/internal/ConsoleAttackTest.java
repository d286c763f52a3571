package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.Passwords;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The attacks of an outsider on the same network, at the HTTP level, each as it was tried against the console: an
 * open redirect and a response split through {@code next=}, half-open connections, an outsider's wrong passwords for
 * an operator's name, a login flood, a viewer starting an audit, and a session past its lifetime.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleAttackTest {

    private static final String ALICE_PASSWORD = "alice-pass-Jq09";
    private static final String VICTOR_PASSWORD = "victor-pass-Lm33";
    private static final Pattern LOGIN_TOKEN = Pattern.compile("name=\"login_token\" value=\"([^\"]+)\"");

    private final ManualClock clock = new ManualClock(Instant.now());
    private ConsoleServer console;
    private URI url;

    @BeforeAll
    void start(TestDatabase db) {
        OutboxSchema.migrate(db.dataSource());
        console = ConsoleServer.start(ConsoleConfig.builder()
                .service("orders", db.jdbcUrl(), db.username(), db.password())
                // The real cost of a password check: the flood test is about the CPU it takes.
                .user("alice", Passwords.hash(ALICE_PASSWORD), ConsoleConfig.Role.OPERATOR)
                .user("victor", Passwords.hash(VICTOR_PASSWORD, 1_000), ConsoleConfig.Role.VIEWER)
                .set(ConsoleConfig.PORT, 0)
                .set(ConsoleConfig.IDLE_TIMEOUT, "PT3S")
                .build(), clock);
        url = console.url();
    }

    @AfterAll
    void stop() {
        console.close();
    }

    @Test
    void nextCannotSendALoggedInUserToAnotherSiteNorSplitTheResponse() {
        List<String> hostile = List.of("//evil.example/", "/\\evil.example", "https://evil.example/", "https:evil.example",
                "evil.example", "javascript:alert(1)", "/\t/evil.example",
                // the characters the JDK server wrote as their low bytes: 0x2F ('/') and CR LF
                "/\u012Fevil.example", "/\u010D\u010ASet-Cookie: planted=1", "/\r\nSet-Cookie: planted=1",
                "/\u2028evil", "/ /evil.example", "\\\\evil.example", "/\\/evil.example");
        for (String next : hostile) {
            RawHttp.Response response = login("127.0.0.1", "alice", ALICE_PASSWORD, next);
            assertThat(response.status()).as(next).isEqualTo(303);
            assertThat(response.headers("Location")).as(next).containsExactly("/");
            assertPrintableAsciiWithoutPlantedCookie(response, next);
        }
        assertThat(login("127.0.0.1", "alice", ALICE_PASSWORD, "/sagas?service=orders&state=PARKED")
                .headers("Location")).as("a local path is kept").containsExactly("/sagas?service=orders&state=PARKED");
        assertThat(login("127.0.0.1", "alice", ALICE_PASSWORD, "/%2F%2Fevil.example").headers("Location"))
                .as("escaped slashes stay a path of this console").containsExactly("/%2F%2Fevil.example");
    }

    @Test
    void theAttacksThroughAPathGoThroughTheLoginAsLocalEscapedPaths() {
        for (String path : List.of("/%C4%AFevil.example", "/%C4%8D%C4%8ASet-Cookie:%20planted=1",
                "/%0D%0ASet-Cookie:%20planted=1")) {
            RawHttp.Response anonymous = RawHttp.exchange(url, "127.0.0.1", RawHttp.get(url, path));
            assertPrintableAsciiWithoutPlantedCookie(anonymous, path);
            if (anonymous.status() != 303) {
                assertThat(anonymous.status()).as(path + ": refused by the server's URI checks").isEqualTo(400);
                continue;
            }
            String location = anonymous.headers("Location").get(0);
            assertThat(location).as(path).startsWith("/login?next=");
            String next = java.net.URLDecoder.decode(location.substring("/login?next=".length()), StandardCharsets.UTF_8);
            RawHttp.Response loggedIn = login("127.0.0.1", "alice", ALICE_PASSWORD, next);
            assertThat(loggedIn.status()).as(path).isEqualTo(303);
            assertPrintableAsciiWithoutPlantedCookie(loggedIn, path);
            assertThat(loggedIn.headers("Location").get(0)).as(path).startsWith("/").doesNotStartWith("//")
                    .doesNotStartWith("/\\");
        }
    }

    @Test
    void halfOpenConnectionsNeitherStopTheConsoleNorStayOpen() throws Exception {
        List<Socket> halfOpen = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket socket = RawHttp.connect(url, "127.0.0.1");
                String half = i % 2 == 0 ? "GET / HTTP/1.1\r\nHost: console\r\nX-Slow: "
                        : "POST /login HTTP/1.1\r\nHost: console\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                                + "Content-Length: 1000\r\n\r\nusername=al";
                socket.getOutputStream().write(half.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                halfOpen.add(socket);
            }
            for (int i = 0; i < 3; i++) {
                long start = System.nanoTime();
                HttpResponse<String> page = new WebClient(url).get("/login", Duration.ofSeconds(2));
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(page.statusCode()).isEqualTo(200);
                assertThat(millis).as("a normal request beside 20 half-open connections").isLessThan(2_000);
            }
            // The idle timeout (3 s here) closes every half-sent request's connection.
            for (Socket socket : halfOpen) {
                socket.setSoTimeout(100);
                await().atMost(Duration.ofSeconds(15)).until(() -> closedByServer(socket));
            }
        } finally {
            for (Socket socket : halfOpen) {
                socket.close();
            }
        }
    }

    @Test
    void oversizedHeadersAndFormsAreRefusedByTheServer() {
        RawHttp.Response hugeHeader = RawHttp.exchange(url, "127.0.0.1", RawHttp.get(url, "/login",
                "X-Padding: " + "a".repeat(ConsoleServer.MAX_REQUEST_HEADER)));
        assertThat(hugeHeader.status()).isEqualTo(431);
        RawHttp.Response hugeForm = RawHttp.exchange(url, "127.0.0.1", RawHttp.post(url, "/login",
                "username=" + "a".repeat(WebRequest.MAX_FORM + 1)));
        assertThat(hugeForm.status()).isEqualTo(413);
        assertThat(hugeForm.body()).contains("the form is larger than 64 KiB");
    }

    @Test
    void anOutsidersWrongPasswordsForAnOperatorsNameDoNotKeepTheOperatorOut() {
        // The outsider, at 127.0.0.2, guesses alice's password; each guess after the first three waits longer.
        List<Integer> outsider = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            outsider.add(login("127.0.0.2", "alice", "guess-" + i, "/").status());
        }
        assertThat(outsider.subList(0, LoginThrottle.FREE_PER_NAME)).containsOnly(401);
        assertThat(outsider.subList(LoginThrottle.FREE_PER_NAME, outsider.size())).as("refused before hashing")
                .containsOnly(429);
        RawHttp.Response spoofed = RawHttp.exchange(url, "127.0.0.2", RawHttp.post(url, "/login", "username=alice",
                "X-Forwarded-For: 198.51.100.9"));
        assertThat(spoofed.status()).as("no proxy is trusted here: X-Forwarded-For changes nothing").isIn(403, 429);
        RawHttp.Response refused = login("127.0.0.2", "alice", ALICE_PASSWORD, "/");
        assertThat(refused.status()).as("the outsider, even with the right password, waits").isEqualTo(429);
        assertThat(refused.headers("Retry-After")).hasSize(1);
        assertThat(refused.body()).contains("Too many failed logins from your address");

        // The operator, from her own address, logs in at once.
        assertThat(new WebClient(url).login("alice", ALICE_PASSWORD).statusCode()).isEqualTo(303);
    }

    @Test
    void aLoginFloodWithNewUserNamesDoesNotStopALoggedInOperatorsPages() throws Exception {
        WebClient alice = new WebClient(url);
        assertThat(alice.login("alice", ALICE_PASSWORD).statusCode()).isEqualTo(303);
        ExecutorService flood = Executors.newFixedThreadPool(12);
        AtomicBoolean flooding = new AtomicBoolean(true);
        AtomicInteger busy = new AtomicInteger();
        AtomicInteger checked = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try {
            for (int t = 0; t < 12; t++) {
                int thread = t;
                flood.execute(() -> {
                    // Each flooding thread has an address of its own, so the per-address budget alone does not stop it.
                    String from = "127.0.1." + (thread + 1);
                    int n = 0;
                    while (flooding.get()) {
                        try {
                            int status = login(from, "user-" + thread + "-" + n++, "guess", "/").status();
                            (status == 429 ? busy : checked).incrementAndGet();
                        } catch (RuntimeException e) {
                            failures.add(e);
                        }
                    }
                });
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> checked.get() >= 1 && busy.get() >= 1);
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                HttpResponse<String> page = alice.get("/");
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(page.statusCode()).isEqualTo(200);
                assertThat(millis).as("the operator's overview during a login flood").isLessThan(3_000);
            }
        } finally {
            flooding.set(false);
            flood.shutdown();
            assertThat(flood.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(failures).isEmpty();
        assertThat(busy.get()).as("refused unchecked while the hashing permits were taken").isPositive();
    }

    @Test
    void aViewerCannotStartAnAuditAndSeesNoForm() {
        WebClient victor = new WebClient(url);
        assertThat(victor.login("victor", VICTOR_PASSWORD).statusCode()).isEqualTo(303);
        String page = victor.get("/audit").body();
        assertThat(page).contains("Operators run audits").doesNotContain("id=\"run-audit\"");
        HttpResponse<String> forged = victor.post("/audit", Map.of("csrf", victor.csrf(), "service", "orders",
                "relay", "orders-relay", "from", "2026-11-30T08:00:00Z", "to", "2026-11-30T09:00:00Z"));
        assertThat(forged.statusCode()).isEqualTo(403);
        assertThat(victor.get("/audit/1").statusCode()).as("no audit was started").isEqualTo(404);

        WebClient alice = new WebClient(url);
        assertThat(alice.login("alice", ALICE_PASSWORD).statusCode()).isEqualTo(303);
        HttpResponse<String> started = alice.post("/audit", Map.of("csrf", alice.csrf(), "service", "orders",
                "relay", "orders-relay", "from", "2026-11-30T08:00:00Z", "to", "2026-11-30T09:00:00Z"));
        assertThat(started.statusCode()).isEqualTo(303);
        String report = started.headers().firstValue("Location").orElseThrow();
        assertThat(report).matches("/audit/\\d+");
        // This service has no Kafka configured: the audit ends at once with the reason, which viewers read too.
        await().atMost(Duration.ofSeconds(10)).until(() -> !victor.get(report).body().contains("This page reloads"));
        assertThat(victor.get(report).body()).contains("The audit did not run", "has no Kafka cluster");
        assertThat(victor.get("/audit").body()).contains("href=\"" + report + "\"", "console:alice");

        HttpResponse<String> tooLong = alice.post("/audit", Map.of("csrf", alice.csrf(), "service", "orders",
                "relay", "orders-relay", "from", "2026-11-01T00:00:00Z", "to", "2026-11-30T00:00:00Z"));
        assertThat(tooLong.statusCode()).isEqualTo(400);
        assertThat(tooLong.body()).contains("at most PT24H", "console.audit-max-window");
    }

    @Test
    void aSessionEndsAfterItsLifetimeHoweverBusyAndEachLoginGetsANewId() {
        WebClient alice = new WebClient(url);
        assertThat(alice.login("alice", ALICE_PASSWORD).statusCode()).isEqualTo(303);
        String first = alice.cookies.get(ConsoleServer.SESSION_COOKIE);
        // Logging in again with that session's cookie (as a browser would after a planted one) gives a new id.
        RawHttp.Response again = login("127.0.0.1", "alice", ALICE_PASSWORD, "/", ConsoleServer.SESSION_COOKIE + "=" + first);
        String second = again.headers("Set-Cookie").stream().filter(c -> c.startsWith(ConsoleServer.SESSION_COOKIE + "="))
                .findFirst().orElseThrow().split(";", 2)[0].substring(ConsoleServer.SESSION_COOKIE.length() + 1);
        assertThat(second).isNotEqualTo(first).hasSizeGreaterThanOrEqualTo(20);
        WebClient planted = new WebClient(url);
        planted.cookies.put(ConsoleServer.SESSION_COOKIE, first);
        assertThat(planted.get("/").statusCode()).as("the session before the last login is over").isEqualTo(303);
        alice.cookies.put(ConsoleServer.SESSION_COOKIE, second);

        assertThat(alice.get("/").statusCode()).isEqualTo(200);
        clock.now = clock.now.plus(Duration.ofHours(8)).minusSeconds(1);
        assertThat(alice.get("/").statusCode()).as("just inside the lifetime").isEqualTo(200);
        clock.now = clock.now.plusSeconds(2);
        HttpResponse<String> after = alice.get("/");
        assertThat(after.statusCode()).as("past the lifetime of PT8H").isEqualTo(303);
        assertThat(after.headers().firstValue("Location")).contains("/login");
        clock.now = Instant.now();
    }

    @Test
    void withSecureCookiesTheCookiesAreSecureAndHostPrefixed(TestDatabase db) {
        try (ConsoleServer secure = ConsoleServer.start(ConsoleConfig.builder()
                .service("orders", db.jdbcUrl(), db.username(), db.password())
                .user("victor", Passwords.hash(VICTOR_PASSWORD, 1_000), ConsoleConfig.Role.VIEWER)
                .set(ConsoleConfig.PORT, 0)
                .set(ConsoleConfig.SECURE_COOKIES, true)
                .build())) {
            WebClient victor = new WebClient(secure.url());
            HttpResponse<String> form = victor.get("/login");
            assertThat(form.headers().allValues("Set-Cookie")).singleElement().satisfies(cookie -> assertThat(cookie)
                    .startsWith("__Host-" + ConsoleServer.LOGIN_COOKIE + "=").contains("Path=/;", "Secure", "HttpOnly",
                            "SameSite=Strict").doesNotContainIgnoringCase("domain="));
            HttpResponse<String> login = victor.login("victor", VICTOR_PASSWORD);
            assertThat(login.statusCode()).isEqualTo(303);
            assertThat(login.headers().allValues("Set-Cookie")).anySatisfy(cookie -> assertThat(cookie)
                    .startsWith("__Host-" + ConsoleServer.SESSION_COOKIE + "=").contains("Path=/", "Secure", "HttpOnly",
                            "SameSite=Strict").doesNotContainIgnoringCase("domain="));
            assertThat(victor.get("/").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aFailedLoginIsLoggedWithTheClientAddressAndWithoutTheControlCharactersItBrought() {
        java.io.PrintStream original = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(login("127.0.0.5", "mallory\r\n10:00:00.000 [main] INFO forged line\u001b[2J", "wrong", "/")
                    .status()).isEqualTo(401);
        } finally {
            System.setErr(original);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("failed console login for user name mallory??10:00:00.000 [main] INFO forged line?[2J "
                + "from 127.0.0.5").doesNotContain("\u001b").doesNotContain("\n10:00:00.000");
    }

    // ---------------------------------------------------------------------------------------------

    /** Logs in from {@code from} through the form, with {@code next}, as a browser would post it. */
    private RawHttp.Response login(String from, String user, String password, String next, String... cookies) {
        RawHttp.Response form = RawHttp.exchange(url, from, RawHttp.get(url, "/login"));
        Matcher token = LOGIN_TOKEN.matcher(form.body());
        assertThat(token.find()).as("login form").isTrue();
        String cookie = form.headers("Set-Cookie").stream().filter(c -> c.startsWith(ConsoleServer.LOGIN_COOKIE + "="))
                .findFirst().orElseThrow().split(";", 2)[0];
        String body = "login_token=" + enc(token.group(1)) + "&username=" + enc(user) + "&password=" + enc(password)
                + "&next=" + enc(next);
        String all = cookie + java.util.Arrays.stream(cookies).map(c -> "; " + c).reduce("", String::concat);
        return RawHttp.exchange(url, from, RawHttp.post(url, "/login", body, "Cookie: " + all));
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static void assertPrintableAsciiWithoutPlantedCookie(RawHttp.Response response, String what) {
        for (String line : response.headerLines()) {
            assertThat(line.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)).as(what + ": header line " + line).isTrue();
            assertThat(line.toLowerCase(java.util.Locale.ROOT)).as(what).doesNotStartWith("set-cookie: planted")
                    .doesNotStartWith("planted");
        }
    }

    /** Whether the server closed the connection (after any last answer, such as a 408); false while it is open. */
    private static boolean closedByServer(Socket socket) {
        try {
            while (true) {
                if (socket.getInputStream().read() == -1) {
                    return true;
                }
            }
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
