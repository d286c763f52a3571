package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.OperatorConsole;
import dev.outboxsaga.console.Passwords;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestInfrastructure;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo holds at most {@value #MOST} connections to PostgreSQL in all, its console's included, so that it runs on a
 * server with the default {@code max_connections=100} beside other clients: counted in {@code pg_stat_activity}
 * (client backends and the relays' replication connections) from the start of a run with the demo's defaults to the
 * end of an operator browsing its console; and as the sum of its pools' sizes and its relays' connections.
 */
@ExtendWith(OutboxSagaExtension.class)
class DemoConnectionsTest {

    private static final int MOST = 40;

    @Test
    void theDemoAndItsConsoleHoldAtMost40Connections(TestInfrastructure infra, @TempDir Path dir) throws Exception {
        DemoOptions options = new DemoOptions(200, 16, Faults.parse(Faults.DEFAULT), Duration.ofSeconds(2), 50, 42, null,
                null, null, null, dir.resolve("report.html"), Duration.ofSeconds(60), DemoOptions.DEFAULT_CANCEL_PERCENT,
                Bank.DEFAULT_DAILY_LIMIT);
        BackendSampler.Peak peak;
        Map<String, String> databases;
        DemoResult result;
        int configured;
        try (BackendSampler sampler = new BackendSampler(infra.postgres());
                DemoRun run = new DemoRun(options, System.out, infra.postgres(), infra.kafka())) {
            run.start();
            result = run.run();
            // As --console does after the report: the services go on, and the console serves them.
            ConsoleConfig consoleConfig = run.consoleConfig(0, "operator", Passwords.hash("demo password", 1_000));
            try (OperatorConsole console = OperatorConsole.start(consoleConfig)) {
                browse(console.url(), "operator", "demo password");
            }
            configured = run.maxConnections()
                    + consoleConfig.services().values().stream().mapToInt(ConsoleConfig.Service::poolSize).sum();
            databases = run.databaseNames();
            peak = sampler.peak(databases.values());
            System.out.printf("at most %d connections to the demo's databases %s at once, in %d samples: %s; "
                    + "configured at most %d%n", peak.total(), databases, sampler.samples(), peak.byDatabase(), configured);
        }
        assertThat(configured).as("the pools' maximum sizes and the relays' connections").isLessThanOrEqualTo(MOST);
        assertThat(result.invariantsHold()).as(result.resultLine()).isTrue();
        assertThat(peak.byDatabase()).as("every database of the demo seen").containsOnlyKeys(databases.values());
        assertThat(peak.total()).as("connections to the demo's databases at once: %s", peak.byDatabase())
                .isLessThanOrEqualTo(MOST);
    }

    /**
     * Logs in and asks for every page of every service, many at once, so that each of the console's pools opens as many
     * connections as it may.
     */
    private static void browse(URI console, String user, String password) throws Exception {
        HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager())
                .followRedirects(HttpClient.Redirect.NEVER).build();
        String form = http.send(HttpRequest.newBuilder(console.resolve("/login")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher token = Pattern.compile("name=\"login_token\" value=\"([^\"]+)\"").matcher(form);
        assertThat(token.find()).as("a login form: %s", form).isTrue();
        String credentials = "login_token=" + encode(token.group(1)) + "&username=" + encode(user) + "&password="
                + encode(password) + "&next=%2F";
        HttpResponse<String> login = http.send(HttpRequest.newBuilder(console.resolve("/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(credentials)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).as("login").isEqualTo(303);

        List<String> pages = new ArrayList<>(List.of("/", "/relays"));
        for (String service : List.of("transfers", "bank-a", "bank-b", "notifications")) {
            pages.add("/sagas?service=" + service);
            pages.add("/dead-letters?service=" + service);
        }
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            for (String page : pages) {
                responses.add(http.sendAsync(HttpRequest.newBuilder(console.resolve(page)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
        }
        assertThat(responses).allSatisfy(response -> assertThat(response.join().statusCode()).isEqualTo(200));
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
