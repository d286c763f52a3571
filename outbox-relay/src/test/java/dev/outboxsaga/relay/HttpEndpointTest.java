package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.relay.RelayStatus.Role;
import dev.outboxsaga.relay.internal.HttpEndpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HttpEndpointTest {

    private static final long MAX_LAG = 1000;

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final AtomicReference<RelayStatus> status = new AtomicReference<>(status(Role.LEADER, 12, null));
    private PrometheusMeterRegistry registry;
    private HttpEndpoint endpoint;

    @BeforeEach
    void start() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter.builder("outbox.relay.records.published").register(registry).increment(3);
        endpoint = HttpEndpoint.start(0, registry, status::get, MAX_LAG);
    }

    @AfterEach
    void stop() {
        endpoint.close();
        registry.close();
    }

    private static RelayStatus status(Role role, long lagMillis, String failure) {
        return new RelayStatus(role, "relay-host-1a2b", 7, role == RelayStatus.Role.LEADER, 42, 5, 0, lagMillis, 123, failure);
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + endpoint.port() + path))
                .timeout(Duration.ofSeconds(10))
                .GET()
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void boundToTheChosenPort() {
        assertThat(endpoint.port()).isPositive();
    }

    @Test
    void metricsAreInThePrometheusTextFormat() throws Exception {
        HttpResponse<String> response = get("/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(response.body()).contains("outbox_relay_records_published_total 3.0");
    }

    @Test
    void leaderWithSmallLagIsUp() throws Exception {
        HttpResponse<String> response = get("/health");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/json"));
        assertThat(response.body()).contains("\"status\":\"UP\"", "\"role\":\"LEADER\"", "\"keepingUp\":true",
                "\"lagMillis\":12", "\"retainedWalBytes\":123", "\"instanceId\":\"relay-host-1a2b\"");
    }

    @Test
    void leaderFallingBehindIsDown() throws Exception {
        status.set(status(Role.LEADER, MAX_LAG + 1, null));

        HttpResponse<String> response = get("/health");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("\"status\":\"DOWN\"", "\"keepingUp\":false", "\"lagMillis\":1001");
    }

    @Test
    void failedRelayIsDownWithItsReason() throws Exception {
        status.set(status(Role.FAILED, 0, "replication slot \"outbox_orders\" was dropped"));

        HttpResponse<String> response = get("/health");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("\"role\":\"FAILED\"",
                "\"failure\":\"replication slot \\\"outbox_orders\\\" was dropped\"");
    }

    @Test
    void standbyIsHealthy() throws Exception {
        status.set(status(Role.STANDBY, 0, null));

        HttpResponse<String> response = get("/health");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("\"role\":\"STANDBY\"", "\"status\":\"UP\"");
    }

    @Test
    void stoppedRelayIsDown() throws Exception {
        status.set(status(Role.STOPPED, 0, null));

        assertThat(get("/health").statusCode()).isEqualTo(503);
    }

    @Test
    void failingStatusSupplierIsDownNotAnError() throws Exception {
        status.set(null);

        HttpResponse<String> response = get("/health");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("\"status\":\"DOWN\"");
    }

    @Test
    void otherPathsAndMethodsAreRefused() throws Exception {
        assertThat(get("/").statusCode()).isEqualTo(404);
        assertThat(get("/metricsx").statusCode()).isEqualTo(404);
        assertThat(get("/health/extra").statusCode()).isEqualTo(404);

        HttpRequest post = HttpRequest.newBuilder(URI.create("http://localhost:" + endpoint.port() + "/health"))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build();
        assertThat(client.send(post, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
    }
}
