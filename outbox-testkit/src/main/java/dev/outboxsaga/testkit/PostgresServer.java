package dev.outboxsaga.testkit;

import dev.outboxsaga.testkit.internal.EmbeddedPostgresServer;
import dev.outboxsaga.testkit.internal.ExternalPostgresServer;

/**
 * A PostgreSQL server whose databases tests and demos may create and drop. The admin user may
 * {@code CREATE DATABASE} and use logical replication; the server runs with {@code wal_level=logical}.
 */
public interface PostgresServer extends AutoCloseable {

    /**
     * Starts an embedded PostgreSQL 17 with {@link EmbeddedPostgresOptions#defaults()}: a random free
     * port, {@code wal_level=logical}, {@code synchronous_commit=on}, {@code fsync=off}.
     */
    static PostgresServer embedded() {
        return embedded(EmbeddedPostgresOptions.defaults());
    }

    /** Starts an embedded PostgreSQL 17 with the given options. */
    static PostgresServer embedded(EmbeddedPostgresOptions options) {
        return EmbeddedPostgresServer.start(options);
    }

    /**
     * Connects to a server that already runs; {@link #close()} then leaves it running.
     *
     * @param adminJdbcUrl JDBC URL of a database the user may connect to, e.g.
     *     {@code jdbc:postgresql://localhost:5432/postgres}
     */
    static PostgresServer external(String adminJdbcUrl, String username, String password) {
        return new ExternalPostgresServer(adminJdbcUrl, username, password);
    }

    /** Host name clients connect to. */
    String host();

    /** TCP port clients connect to. */
    int port();

    /** JDBC URL of the server's maintenance database ({@code postgres} for the embedded server). */
    String adminJdbcUrl();

    /** JDBC URL of the named database on this server. */
    String jdbcUrl(String database);

    /** User name of the admin user (superuser {@code postgres} for the embedded server). */
    String username();

    /** Password of the admin user (empty for the embedded server, which trusts local connections). */
    String password();

    /** Runs {@code CREATE DATABASE name}; the name must be a plain lower-case SQL identifier. */
    void createDatabase(String name);

    /** Runs {@code DROP DATABASE IF EXISTS name WITH (FORCE)}, ending its sessions first. */
    void dropDatabase(String name);

    /** Stops the server if this object started it; does nothing for an external server. */
    @Override
    void close();

    /**
     * Stops the server and starts it again on the same port and data, as a database restart would;
     * every connection is cut. Only the embedded server supports it.
     *
     * @throws UnsupportedOperationException for external and container servers
     */
    default void restart() {
        throw new UnsupportedOperationException("restart is supported by the embedded server only");
    }

    /**
     * Stops the server as a crash would ({@code pg_ctl stop -m immediate}: every backend killed, no
     * checkpoint) and leaves it down; {@link #restart()} starts it again, and it recovers from its WAL.
     * Only the embedded server supports it.
     *
     * @throws UnsupportedOperationException for external and container servers
     */
    default void crash() {
        throw new UnsupportedOperationException("crash is supported by the embedded server only");
    }
}
