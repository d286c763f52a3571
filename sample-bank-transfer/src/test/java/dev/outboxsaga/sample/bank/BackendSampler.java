package dev.outboxsaga.sample.bank;

import dev.outboxsaga.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Counts a server's connections per database every {@value #INTERVAL_MILLIS} ms, from a connection of its own, until
 * closed: client backends and WAL senders (a logical replication connection names its database), not its own. A test
 * asks afterwards how many some databases had at most at once.
 */
final class BackendSampler implements AutoCloseable {

    static final int INTERVAL_MILLIS = 10;

    private final Connection connection;
    private final Thread thread;
    private final List<Map<String, Integer>> samples = new ArrayList<>();
    private volatile boolean stopped;
    private volatile SQLException failure;

    BackendSampler(PostgresServer server) throws SQLException {
        connection = DriverManager.getConnection(server.adminJdbcUrl(), server.username(), server.password());
        thread = new Thread(this::sample, "backend-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        try (PreparedStatement query = connection.prepareStatement("SELECT datname, count(*) FROM pg_stat_activity "
                + "WHERE datname IS NOT NULL AND pid <> pg_backend_pid() AND backend_type IN ('client backend', 'walsender') "
                + "GROUP BY datname")) {
            while (!stopped) {
                Map<String, Integer> counts = new HashMap<>();
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        counts.put(rows.getString(1), rows.getInt(2));
                    }
                }
                synchronized (samples) {
                    samples.add(counts);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MILLIS));
            }
        } catch (SQLException e) {
            failure = e;
        }
    }

    /** How many samples were taken so far. */
    int samples() {
        synchronized (samples) {
            return samples.size();
        }
    }

    /** The most connections these databases had together in one sample, and that sample's counts. */
    Peak peak(Collection<String> databases) {
        Peak peak = new Peak(0, Map.of());
        synchronized (samples) {
            for (Map<String, Integer> sample : samples) {
                Map<String, Integer> theirs = new HashMap<>(sample);
                theirs.keySet().retainAll(databases);
                int total = theirs.values().stream().mapToInt(Integer::intValue).sum();
                if (total > peak.total()) {
                    peak = new Peak(total, theirs);
                }
            }
        }
        return peak;
    }

    /** A sample's total and its counts per database. */
    record Peak(int total, Map<String, Integer> byDatabase) {
    }

    @Override
    public void close() throws Exception {
        stopped = true;
        thread.join(TimeUnit.SECONDS.toMillis(10));
        connection.close();
        if (failure != null) {
            throw new IllegalStateException("sampling pg_stat_activity failed: " + failure.getMessage(), failure);
        }
    }
}
