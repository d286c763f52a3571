package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may publish: a row in {@code outbox_relay_lease} that the leader renews and a standby takes
 * once it has expired. The lease only decides who tries; Kafka's producer fencing is what stops a
 * stale leader from writing. Valid-until is measured on this JVM's monotonic clock from the moment
 * a renewal was sent, so a paused process never believes in a lease it has not renewed in time.
 */
public final class LeaderLease implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LeaderLease.class);

    private final RelayConfig config;
    private final Database database;
    private final Sql sql;
    private final String holder;
    private Connection connection;
    private volatile long validUntilNanos;
    private volatile long epoch;

    /** A lease held, when it is, under {@code holder} (the instance id). */
    public LeaderLease(RelayConfig config, Database database, Sql sql, String holder) {
        this.config = config;
        this.database = database;
        this.sql = sql;
        this.holder = holder;
    }

    /**
     * Takes or renews the lease.
     *
     * @return true when this process holds it now
     */
    public synchronized boolean tryAcquire() {
        long sentAt = System.nanoTime();
        try {
            Connection db = connection();
            try (PreparedStatement acquire = db.prepareStatement(sql.acquireLease())) {
                acquire.setString(1, config.name());
                acquire.setString(2, holder);
                acquire.setLong(3, config.leaseTtl().toMillis());
                try (ResultSet rows = acquire.executeQuery()) {
                    if (rows.next()) {
                        epoch = rows.getLong(1);
                        validUntilNanos = sentAt + config.leaseTtl().toNanos();
                        return true;
                    }
                }
            }
            validUntilNanos = 0;
            LOG.debug("relay {}: lease held by another instance", config.name());
            return false;
        } catch (SQLException e) {
            LOG.warn("relay {}: could not reach the lease table: {}", config.name(), e.getMessage());
            closeConnection();
            return false;
        }
    }

    /** Whether the lease is ours by the last successful renewal. */
    public boolean held() {
        return System.nanoTime() < validUntilNanos;
    }

    public long epoch() {
        return epoch;
    }

    /** The current holder's instance id, or null. */
    public synchronized String holder() {
        try (PreparedStatement query = connection().prepareStatement(sql.leaseHolder())) {
            query.setString(1, config.name());
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() && rows.getBoolean(3) ? rows.getString(1) : null;
            }
        } catch (SQLException e) {
            closeConnection();
            return null;
        }
    }

    /** Gives the lease up at once, so a standby need not wait for it to expire. */
    public synchronized void release() {
        validUntilNanos = 0;
        try (PreparedStatement release = connection().prepareStatement(sql.releaseLease())) {
            release.setString(1, config.name());
            release.setString(2, holder);
            release.executeUpdate();
        } catch (SQLException e) {
            LOG.debug("relay {}: could not release the lease: {}", config.name(), e.getMessage());
            closeConnection();
        }
    }

    /** Runs {@code work} on the lease's connection (used for monitoring queries). */
    public synchronized <T> T withConnection(SqlWork<T> work) throws SQLException {
        try {
            return work.run(connection());
        } catch (SQLException e) {
            closeConnection();
            throw e;
        }
    }

    /** Work on a connection. */
    @FunctionalInterface
    public interface SqlWork<T> {
        T run(Connection connection) throws SQLException;
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = database.connect("lease");
        }
        return connection;
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Already broken; a new one is opened on next use.
            }
            connection = null;
        }
    }

    @Override
    public synchronized void close() {
        closeConnection();
    }
}
