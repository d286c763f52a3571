package dev.outboxsaga.console;

import dev.outboxsaga.console.internal.ConsoleServer;
import java.net.URI;
import java.util.Objects;

/**
 * The operator web console: server-rendered pages over the sagas, dead letters and relays of the configured
 * services, for logged-in users (viewers read, operators also act). Runnable on its own
 * ({@code java -jar outbox-saga.jar console --config console.properties}) or embedded in a service:
 *
 * <pre>{@code
 * try (OperatorConsole console = OperatorConsole.start(ConsoleConfig.builder()
 *         .service("orders", jdbcUrl, "console", password)
 *         .user("alice", Passwords.hash(alicePassword), ConsoleConfig.Role.OPERATOR)
 *         .build())) {
 *     System.out.println("console on " + console.url());
 *     ...
 * }
 * }</pre>
 *
 * Actions that need a service's code (a saga repair or cancel, a dead letter replay) are queued in that service's
 * {@code operator_action} table and carried out by its running orchestrator or consumer; every action is recorded
 * there with who asked, when and the note.
 */
public final class OperatorConsole implements AutoCloseable {

    private final ConsoleServer server;

    private OperatorConsole(ConsoleServer server) {
        this.server = server;
    }

    /**
     * Opens a small connection pool per service (connecting on first use, so a service that is down shows on its
     * own card) and starts serving on {@link ConsoleConfig#bind()}:{@link ConsoleConfig#port()}.
     *
     * @throws IllegalArgumentException      when no user is configured: there is no anonymous access
     * @throws java.io.UncheckedIOException when the address cannot be bound
     */
    public static OperatorConsole start(ConsoleConfig config) {
        return new OperatorConsole(ConsoleServer.start(Objects.requireNonNull(config, "config")));
    }

    /** The port served; the chosen one when configured as 0. */
    public int port() {
        return server.port();
    }

    /** The console's address, e.g. {@code http://127.0.0.1:8089/}. */
    public URI url() {
        return server.url();
    }

    /** Stops serving at once and closes the pools; idempotent. */
    @Override
    public void close() {
        server.close();
    }
}
