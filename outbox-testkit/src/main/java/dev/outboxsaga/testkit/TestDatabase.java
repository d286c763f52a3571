package dev.outboxsaga.testkit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.LoggerFactory;

/**
 * A fresh, empty database of its own on a shared {@link PostgresServer}, named like
 * {@code t_12_a3f9c1}. The user is the server's admin user, so it may create replication slots and
 * publications. {@link #close()} closes the pool, drops the database's replication slots and then
 * the database.
 */
public final class TestDatabase implements AutoCloseable {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final PostgresServer server;
    private final String name;
    private HikariDataSource dataSource;
    private Jdbi jdbi;
    private boolean closed;

    private TestDatabase(PostgresServer server, String name) {
        this.server = server;
        this.name = name;
    }

    /** Creates a database with a new unique name on {@code server}. */
    public static TestDatabase create(PostgresServer server) {
        Objects.requireNonNull(server, "server");
        String name = "t_" + COUNTER.incrementAndGet() + "_"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        server.createDatabase(name);
        return new TestDatabase(server, name);
    }

    /** The database's name. */
    public String name() {
        return name;
    }

    /** Its JDBC URL (without user and password). */
    public String jdbcUrl() {
        return server.jdbcUrl(name);
    }

    /** The user name: the server's admin user ({@code postgres} when embedded). */
    public String username() {
        return server.username();
    }

    /** The password ({@code postgres} when embedded, where any password is accepted). */
    public String password() {
        return server.password();
    }

    /** The server the database lives on. */
    public PostgresServer server() {
        return server;
    }

    /**
     * A HikariCP pool of at most 5 connections (auto-commit on), made on first use and closed by
     * {@link #close()}.
     */
    public synchronized DataSource dataSource() {
        checkOpen();
        if (dataSource == null) {
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl(jdbcUrl());
            config.setUsername(username());
            config.setPassword(password());
            config.setMaximumPoolSize(5);
            config.setMinimumIdle(0);
            config.setPoolName("testdb-" + name);
            dataSource = new HikariDataSource(config);
        }
        return dataSource;
    }

    /** A {@link Jdbi} on {@link #dataSource()}. */
    public synchronized Jdbi jdbi() {
        if (jdbi == null) {
            jdbi = Jdbi.create(dataSource());
        }
        return jdbi;
    }

    /** A new connection outside the pool; the caller closes it. */
    public Connection openConnection() throws SQLException {
        checkOpen();
        return DriverManager.getConnection(jdbcUrl(), username(), password());
    }

    /** Runs {@code sql} (one or more statements) in auto-commit mode on a new connection. */
    public void execute(String sql) {
        try (Connection c = openConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("failed on " + name + ": " + sql + ": " + e.getMessage(), e);
        }
    }

    /** Closes the pool, drops the database's replication slots, then drops the database; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (dataSource != null) {
            dataSource.close();
        }
        try {
            dropReplicationSlots();
            server.dropDatabase(name);
        } catch (RuntimeException e) {
            LoggerFactory.getLogger(TestDatabase.class).warn("could not drop test database {}: {}", name, e.toString());
        }
    }

    /** DROP DATABASE refuses while a replication slot of the database exists. */
    private void dropReplicationSlots() {
        String terminate = "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
                + " WHERE database = ? AND active_pid IS NOT NULL";
        String drop = "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                + " WHERE database = ? AND NOT active";
        String remaining = "SELECT count(*) FROM pg_replication_slots WHERE database = ?";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (Connection c = DriverManager.getConnection(server.adminJdbcUrl(), username(), password())) {
            while (true) {
                for (String sql : new String[] {terminate, drop}) {
                    try (PreparedStatement ps = c.prepareStatement(sql)) {
                        ps.setString(1, name);
                        ps.execute();
                    } catch (SQLException raced) {
                        // a slot became active or vanished meanwhile: look again
                    }
                }
                try (PreparedStatement ps = c.prepareStatement(remaining)) {
                    ps.setString(1, name);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getLong(1) == 0 || System.nanoTime() > deadline) {
                            return;
                        }
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not drop replication slots of " + name + ": " + e.getMessage(), e);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("test database " + name + " is closed");
        }
    }

    @Override
    public String toString() {
        return "TestDatabase[" + name + " on " + server + "]";
    }
}
