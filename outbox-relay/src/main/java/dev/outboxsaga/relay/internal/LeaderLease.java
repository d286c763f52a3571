package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may publish: a row in {@code outbox_relay_lease} that the leader renews and a standby takes
 * once it has expired. The lease only decides who tries; Kafka's producer fencing is what stops a
 * stale leader from writing. Valid-until is measured on this JVM's monotonic clock from the moment
 * a renewal was sent, so a paused process never believes in a lease it has not renewed in time.
 *
 * <p>The lease is held under the instance id and a random token of this object, {@code <instance id>#<token>}:
 * two processes given the same {@code instance.id} are still two holders, and only one of them leads.
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
    private volatile SQLException lastFailure;

    /** A lease held, when it is, under {@code instanceId} and a token of this object's own. */
    public LeaderLease(RelayConfig config, Database database, Sql sql, String instanceId) {
        this.config = config;
        this.database = database;
        this.sql = sql;
        this.holder = instanceId + "#" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** The name this lease is held under in the lease table: the instance id, {@code #}, a random token. */
    public String holderId() {
        return holder;
    }

    /**
     * Takes or renews the lease.
     *
     * @return true when this process holds it now
     */
    public synchronized boolean tryAcquire() {
        long sentAt = System.nanoTime();
        lastFailure = null;
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
            lastFailure = e;
            closeConnection();
            return false;
        }
    }

    /** Why the last {@link #tryAcquire()} could not ask the database, or null when it could. */
    public SQLException lastFailure() {
        return lastFailure;
    }

    /**
     * Runs {@code action} on {@code connection} in one transaction that first locks the lease row and checks, by
     * the database's clock, that this object holds the lease. A process that was paused and lost its lease thus
     * cannot act, and no other process can take the lease over until the action has committed.
     *
     * @param what the action, for the message when the lease is not held
     * @throws Lost when this object does not hold the lease (then nothing was done)
     */
    public <T> T whileHeld(Connection connection, String what, SqlWork<T> action) throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try {
            boolean held;
            try (PreparedStatement lock = connection.prepareStatement(sql.lockLease())) {
                lock.setString(1, config.name());
                lock.setString(2, holder);
                try (ResultSet rows = lock.executeQuery()) {
                    held = rows.next() && rows.getBoolean(1);
                }
            }
            if (!held) {
                validUntilNanos = 0;
                throw new Lost("relay " + config.name() + " (" + holder + ") does not hold the lease any more; did not "
                        + what);
            }
            T result = action.run(connection);
            connection.commit();
            return result;
        } finally {
            if (!connection.getAutoCommit()) {
                try {
                    connection.rollback();
                } catch (SQLException ignored) {
                    // Committed already, or the connection is broken; either way nothing is left open.
                }
                connection.setAutoCommit(autoCommit);
            }
        }
    }

    /** This process lost the lease before a start-up action that only the lease holder may take. */
    public static final class Lost extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Lost(String message) {
            super(message);
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
