package dev.outboxsaga.benchmarks;

import dev.outboxsaga.testkit.TestDatabase;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * The limit every WAL-based relay lives under: PostgreSQL decoding a backlog of outbox rows through
 * {@code pgoutput} (protocol 1, the publication) to a client that only counts the Insert messages and
 * discards everything, as {@code pg_recvlogical -f /dev/null} would. pgjdbc's replication API, since
 * the embedded PostgreSQL may not ship pg_recvlogical.
 */
final class PgoutputCeiling {

    private static final String SLOT = "ceiling_slot";
    private static final String PUBLICATION = "ceiling_pub";

    private PgoutputCeiling() {
    }

    /** Creates the publication and the slot: call before the backlog is written. */
    static void prepare(TestDatabase db) {
        db.execute("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE public.outbox_event WITH (publish = 'insert')");
        db.execute("SELECT pg_create_logical_replication_slot('" + SLOT + "', 'pgoutput')");
    }

    /**
     * Streams the slot from its start until {@code rows} Insert messages arrived (the backlog, which ends at
     * the WAL flush position taken now); returns rows per second from the start of the stream to the last row.
     *
     * @param rows the rows of the backlog; fewer by the end LSN is a failure
     */
    static double drain(TestDatabase db, int rows, Duration deadline) throws Exception {
        LogSequenceNumber end;
        try (Connection plain = db.openConnection(); Statement statement = plain.createStatement();
             ResultSet row = statement.executeQuery("SELECT pg_current_wal_flush_lsn()")) {
            row.next();
            end = LogSequenceNumber.valueOf(row.getString(1));
        }
        Properties properties = new Properties();
        PGProperty.USER.set(properties, db.username());
        PGProperty.PASSWORD.set(properties, db.password());
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(properties, "10");
        PGProperty.REPLICATION.set(properties, "database");
        PGProperty.PREFER_QUERY_MODE.set(properties, "simple");
        try (Connection connection = DriverManager.getConnection(db.jdbcUrl(), properties)) {
            PGConnection replication = connection.unwrap(PGConnection.class);
            long start = System.nanoTime();
            long limit = start + deadline.toNanos();
            long inserts = 0;
            long last = start;
            try (PGReplicationStream stream = replication.getReplicationAPI().replicationStream().logical()
                    .withSlotName(SLOT)
                    .withSlotOption("proto_version", 1)
                    .withSlotOption("publication_names", PUBLICATION)
                    .withStatusInterval(10, TimeUnit.SECONDS)
                    .start()) {
                // The backlog ends at `end`; every row of it is one Insert message, so counting them is enough.
                while (inserts < rows) {
                    if (System.nanoTime() > limit) {
                        throw new IllegalStateException("pgoutput ceiling: " + inserts + " of " + rows
                                + " inserts by " + stream.getLastReceiveLSN() + ", end " + end + ", within " + deadline);
                    }
                    ByteBuffer message = stream.readPending();
                    if (message == null) {
                        // Not a spin: on 2 cores that would take the CPU from the WAL sender it waits for.
                        LockSupport.parkNanos(50_000);
                        continue;
                    }
                    // pgoutput's first byte is the message type; 'I' is one inserted row.
                    if (message.get(message.position()) == 'I') {
                        inserts++;
                        last = System.nanoTime();
                    }
                }
                stream.setFlushedLSN(stream.getLastReceiveLSN());
                stream.setAppliedLSN(stream.getLastReceiveLSN());
                stream.forceUpdateStatus();
            }
            return inserts / ((last - start) / 1e9);
        }
    }
}
