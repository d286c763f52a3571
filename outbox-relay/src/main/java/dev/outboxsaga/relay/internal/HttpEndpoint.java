package dev.outboxsaga.relay.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.outboxsaga.relay.RelayStatus;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's HTTP endpoint, on the JDK's own server: {@code GET /metrics} in the Prometheus text
 * format and {@code GET /health} as JSON, 200 when the relay is keeping up and 503 otherwise. Listens
 * on every interface; two daemon threads serve it.
 */
public final class HttpEndpoint implements AutoCloseable {

    /** The Prometheus text exposition format that {@link PrometheusMeterRegistry#scrape()} writes. */
    static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String JSON_CONTENT_TYPE = "application/json; charset=utf-8";
    private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class);

    private final HttpServer server;
    private final ExecutorService executor;
    private final PrometheusMeterRegistry registry;
    /** By relay name, in the order given; one entry keeps the single-relay body of {@code /health}. */
    private final Map<String, Supplier<RelayStatus>> statuses;
    private final long maxLagMillis;

    private HttpEndpoint(HttpServer server, ExecutorService executor, PrometheusMeterRegistry registry,
            Map<String, Supplier<RelayStatus>> statuses, long maxLagMillis) {
        this.server = server;
        this.executor = executor;
        this.registry = registry;
        this.statuses = statuses;
        this.maxLagMillis = maxLagMillis;
    }

    /**
     * Binds and starts the endpoint.
     *
     * @param port         the port to listen on, 0 for a free one (see {@link #port()})
     * @param registry     the registry {@code /metrics} scrapes
     * @param status       what {@code /health} reports, asked on every request
     * @param maxLagMillis the lag above which a leader is reported as not keeping up
     * @throws UncheckedIOException when the port cannot be bound
     */
    public static HttpEndpoint start(int port, PrometheusMeterRegistry registry, Supplier<RelayStatus> status,
            long maxLagMillis) {
        Objects.requireNonNull(status, "status");
        return start(port, registry, Map.of("relay", status), maxLagMillis);
    }

    /**
     * As above for several relays in one process: with more than one, {@code /health} is
     * {@code {"status": "UP"|"DOWN", "relays": {"<relay.name>": {...}, ...}}}, UP (200) only when every
     * relay keeps up.
     */
    public static HttpEndpoint start(int port, PrometheusMeterRegistry registry,
            Map<String, Supplier<RelayStatus>> statuses, long maxLagMillis) {
        Objects.requireNonNull(registry, "registry");
        if (statuses.isEmpty()) {
            throw new IllegalArgumentException("no relay to report on");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535, but was " + port);
        }
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on port " + port + " for /metrics and /health", e);
        }
        AtomicInteger threads = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "outbox-relay-http-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        HttpEndpoint endpoint = new HttpEndpoint(server, executor, registry, new LinkedHashMap<>(statuses), maxLagMillis);
        server.createContext("/metrics", exchange -> endpoint.handle(exchange, "/metrics"));
        server.createContext("/health", exchange -> endpoint.handle(exchange, "/health"));
        server.createContext("/", exchange -> endpoint.handle(exchange, null));
        server.setExecutor(executor);
        server.start();
        LOG.info("serving /metrics and /health on port {}", endpoint.port());
        return endpoint;
    }

    /** The port the endpoint listens on, the chosen one when started on port 0. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Stops listening at once; idempotent. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange, String context) throws IOException {
        try {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            boolean head = method.equals("HEAD");
            if (context == null || !path.equals(context)) {
                respond(exchange, 404, "text/plain; charset=utf-8", "not found; try /metrics or /health\n", head);
            } else if (!method.equals("GET") && !head) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n", false);
            } else if (context.equals("/metrics")) {
                respond(exchange, 200, METRICS_CONTENT_TYPE, registry.scrape(), head);
            } else {
                health(exchange, head);
            }
        } catch (RuntimeException e) {
            // The server would only drop the connection; say what went wrong instead, if still possible.
            LOG.warn("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
            if (exchange.getResponseCode() == -1) {
                respond(exchange, 500, "text/plain; charset=utf-8", "internal error: " + e + "\n", false);
            }
        } finally {
            exchange.close();
        }
    }

    private void health(HttpExchange exchange, boolean head) throws IOException {
        boolean allKeepingUp = true;
        List<String> bodies = new ArrayList<>();
        for (Map.Entry<String, Supplier<RelayStatus>> relay : statuses.entrySet()) {
            RelayStatus current;
            try {
                current = Objects.requireNonNull(relay.getValue().get(), "no status yet");
            } catch (RuntimeException e) {
                allKeepingUp = false;
                bodies.add("{\"status\":\"DOWN\",\"failure\":" + json("status unavailable: " + e) + "}");
                continue;
            }
            boolean keepingUp = current.keepingUp(maxLagMillis);
            allKeepingUp &= keepingUp;
            bodies.add(statusJson(current, keepingUp));
        }
        String body;
        if (statuses.size() == 1) {
            body = bodies.get(0) + "\n";
        } else {
            StringBuilder all = new StringBuilder(256 * bodies.size())
                    .append("{\"status\":").append(json(allKeepingUp ? "UP" : "DOWN")).append(",\"relays\":{");
            int i = 0;
            for (String name : statuses.keySet()) {
                all.append(i == 0 ? "" : ",").append(json(name)).append(':').append(bodies.get(i++));
            }
            body = all.append("}}\n").toString();
        }
        respond(exchange, allKeepingUp ? 200 : 503, JSON_CONTENT_TYPE, body, head);
    }

    private String statusJson(RelayStatus current, boolean keepingUp) {
        StringBuilder body = new StringBuilder(256)
                .append("{\"status\":").append(json(keepingUp ? "UP" : "DOWN"))
                .append(",\"role\":").append(json(String.valueOf(current.role())))
                .append(",\"keepingUp\":").append(keepingUp)
                .append(",\"lagMillis\":").append(current.lagMillis())
                .append(",\"maxLagMillis\":").append(maxLagMillis)
                .append(",\"retainedWalBytes\":").append(current.retainedWalBytes())
                .append(",\"leaseEpoch\":").append(current.leaseEpoch())
                .append(",\"recordsPublished\":").append(current.recordsPublished())
                .append(",\"transactionsCommitted\":").append(current.transactionsCommitted())
                .append(",\"recordsParked\":").append(current.recordsParked())
                .append(",\"instanceId\":").append(json(current.instanceId()));
        if (current.failure() != null) {
            body.append(",\"failure\":").append(json(current.failure()));
        }
        return body.append('}').toString();
    }

    private static void respond(HttpExchange exchange, int code, String contentType, String body, boolean head)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (head) {
            exchange.sendResponseHeaders(code, -1);
            return;
        }
        exchange.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** A JSON string literal, or {@code null}. */
    static String json(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(value.length() + 2);
        dev.outboxsaga.core.internal.Json.writeString(out, value);
        return out.toString();
    }
}
