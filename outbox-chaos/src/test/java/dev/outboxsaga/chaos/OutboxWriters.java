package dev.outboxsaga.chaos;

import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.internal.Uuids;
import java.io.StringReader;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.postgresql.PGConnection;

/**
 * Services writing to the outbox while faults hit: threads committing numbered rows per key, through
 * {@link Outbox} ({@code INSERT}) and, when asked, through {@code COPY ... FROM STDIN} (rows of one
 * transaction sharing one LSN), in single-row, small and large transactions, some of them rolled back.
 *
 * <p>Each thread owns its keys, so per key the payload's {@code seq} grows in commit order. Every row
 * carries {@code n}, drawn before its transaction began. A transaction whose commit fails (the database
 * crashed or cut the connection) has an unknown outcome: the writer looks its rows up once the database
 * answers again, and counts them as committed only if they are there.
 */
final class OutboxWriters implements AutoCloseable {

    /** A row of a transaction; {@code via} says how it was written ({@code INSERT} or {@code COPY}) and in what size of transaction. */
    record Row(UUID id, String key, int seq, long n, String via) {
    }

    /** Transaction kinds, for the figures. */
    enum Kind { INSERT_SINGLE, INSERT_SMALL, INSERT_LARGE, COPY_SMALL, COPY_LARGE, ROLLED_BACK, UNKNOWN_OUTCOME_COMMITTED, UNKNOWN_OUTCOME_LOST }

    private static final String COPY = "COPY outbox_event (id, aggregatetype, aggregateid, type, payload) FROM STDIN";

    private final DataSource dataSource;
    private final Outbox outbox;
    private final String aggregateType;
    private final boolean copy;
    private final AtomicLong issued = new AtomicLong();
    private final List<Row> committed = Collections.synchronizedList(new ArrayList<>());
    private final Set<UUID> aborted = Collections.synchronizedSet(new HashSet<>());
    private final Map<Kind, AtomicLong> transactions = new java.util.EnumMap<>(Kind.class);
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicBoolean stopping = new AtomicBoolean();

    /**
     * @param copy whether some transactions write with {@code COPY} instead of {@code INSERT}
     */
    OutboxWriters(DataSource dataSource, Outbox outbox, String aggregateType, boolean copy) {
        this.dataSource = dataSource;
        this.outbox = outbox;
        this.aggregateType = aggregateType;
        this.copy = copy;
        for (Kind kind : Kind.values()) {
            transactions.put(kind, new AtomicLong());
        }
    }

    /**
     * Writes about {@code rows} rows with keys {@code pre0..pre2} from this thread, in transactions of 1 to
     * 500 rows: the backlog that a first start publishes from its snapshot.
     */
    void prefill(int rows, Random random) {
        Writer writer = new Writer(List.of("pre0", "pre1", "pre2"), random);
        for (int written = 0; written < rows; ) {
            int size = Math.min(rows - written, random.nextInt(4) == 0 ? 1 : 1 + random.nextInt(500));
            writer.transaction(copy && random.nextBoolean() ? Kind.COPY_LARGE : Kind.INSERT_LARGE, size);
            written += size;
        }
    }

    /** Starts {@code count} writer threads, each with keys of its own. */
    void start(int count, long seed) {
        for (int w = 0; w < count; w++) {
            List<String> keys = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                keys.add("w" + w + "k" + k);
            }
            Random random = new Random(seed + w);
            Thread thread = new Thread(() -> {
                Writer writer = new Writer(keys, random);
                try {
                    while (!stopping.get()) {
                        writer.next();
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50 + random.nextInt(100)));
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "outbox-writer-" + w);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /** The number drawn by the last row begun: rows numbered above it commit after this call. */
    long issued() {
        return issued.get();
    }

    /** The committed rows so far. */
    List<Row> committed() {
        synchronized (committed) {
            return List.copyOf(committed);
        }
    }

    /** Ids of rows whose transactions were rolled back or never committed. */
    Set<UUID> aborted() {
        synchronized (aborted) {
            return Set.copyOf(aborted);
        }
    }

    /** Transactions per kind, e.g. {@code INSERT_SINGLE=812}. */
    Map<Kind, Long> transactions() {
        Map<Kind, Long> counts = new java.util.EnumMap<>(Kind.class);
        transactions.forEach((kind, count) -> counts.put(kind, count.get()));
        return counts;
    }

    /** Fails if a writer failed in a way other than a fault's (those it resolves itself). */
    void check() {
        Throwable e = failure.get();
        if (e != null) {
            throw new AssertionError("an outbox writer failed", e);
        }
    }

    /** Stops the writers and waits for them. */
    void stop() {
        stopping.set(true);
        for (Thread thread : threads) {
            try {
                thread.join(TimeUnit.MINUTES.toMillis(3));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (thread.isAlive()) {
                throw new AssertionError(thread.getName() + " did not stop");
            }
        }
        check();
    }

    @Override
    public void close() {
        stopping.set(true);
    }

    /** One writer thread's state: its keys and their next sequence numbers. */
    private final class Writer {
        private final List<String> keys;
        private final Random random;
        private final Map<String, Integer> sequences = new HashMap<>();

        Writer(List<String> keys, Random random) {
            this.keys = keys;
            this.random = random;
        }

        void next() {
            int dice = random.nextInt(100);
            if (dice < 8) {
                rollback(copy && random.nextBoolean(), 1 + random.nextInt(50));
            } else if (copy && dice < 17) {
                transaction(Kind.COPY_SMALL, 2 + random.nextInt(60));
            } else if (copy && dice < 18) {
                transaction(Kind.COPY_LARGE, 200 + random.nextInt(800));
            } else if (dice < 17) {
                transaction(Kind.INSERT_SMALL, 2 + random.nextInt(5));
            } else if (dice < 19) {
                transaction(Kind.INSERT_LARGE, 100 + random.nextInt(200));
            } else if (dice < 50) {
                transaction(Kind.INSERT_SMALL, 2 + random.nextInt(5));
            } else {
                transaction(Kind.INSERT_SINGLE, 1);
            }
        }

        /** Commits {@code size} rows in one transaction, or finds out that it did not commit. */
        void transaction(Kind kind, int size) {
            List<Row> rows = rows(size, kind.name().startsWith("COPY") ? "COPY" : "INSERT");
            try {
                write(kind == Kind.COPY_SMALL || kind == Kind.COPY_LARGE, rows, true);
                committed.addAll(rows);
                transactions.get(kind).incrementAndGet();
            } catch (Exception commitOutcomeUnknown) {
                if (resolve(rows)) {
                    committed.addAll(rows);
                    transactions.get(Kind.UNKNOWN_OUTCOME_COMMITTED).incrementAndGet();
                } else {
                    rows.forEach(row -> aborted.add(row.id()));
                    transactions.get(Kind.UNKNOWN_OUTCOME_LOST).incrementAndGet();
                }
            }
        }

        /** Writes rows and rolls the transaction back: none of them may ever reach Kafka. */
        void rollback(boolean withCopy, int size) {
            List<Row> rows = rows(size, withCopy ? "COPY" : "INSERT");
            rows.forEach(row -> aborted.add(row.id()));
            try {
                write(withCopy, rows, false);
            } catch (Exception e) {
                // rolled back either way
            }
            transactions.get(Kind.ROLLED_BACK).incrementAndGet();
        }

        private List<Row> rows(int size, String via) {
            List<Row> rows = new ArrayList<>(size);
            for (int i = 0; i < size; i++) {
                String key = keys.get(random.nextInt(keys.size()));
                rows.add(new Row(Uuids.timeOrdered(), key, sequences.merge(key, 1, Integer::sum), issued.incrementAndGet(),
                        via + " of " + size));
            }
            return rows;
        }

        private void write(boolean withCopy, List<Row> rows, boolean commit) throws Exception {
            if (!withCopy && commit) {
                List<OutboxMessage> messages = new ArrayList<>(rows.size());
                rows.forEach(row -> messages.add(message(row)));
                outbox.inTransaction(dataSource, tx -> {
                    tx.appendAll(messages);
                    return null;
                });
                return;
            }
            try (Connection connection = dataSource.getConnection()) {
                connection.setAutoCommit(false);
                try {
                    if (withCopy) {
                        StringBuilder data = new StringBuilder(rows.size() * 120);
                        for (Row row : rows) {
                            data.append(row.id()).append('\t').append(aggregateType).append('\t').append(row.key())
                                    .append('\t').append("Placed").append('\t').append(payload(row)).append('\n');
                        }
                        connection.unwrap(PGConnection.class).getCopyAPI().copyIn(COPY, new StringReader(data.toString()));
                    } else {
                        List<OutboxMessage> messages = new ArrayList<>(rows.size());
                        rows.forEach(row -> messages.add(message(row)));
                        outbox.appendAll(connection, messages);
                    }
                    if (commit) {
                        connection.commit();
                    } else {
                        connection.rollback();
                    }
                } finally {
                    if (!connection.isClosed()) {
                        try {
                            connection.rollback();
                            connection.setAutoCommit(true);
                        } catch (SQLException ignored) {
                            // a broken connection: the pool drops it
                        }
                    }
                }
            }
        }

        private OutboxMessage message(Row row) {
            return outbox.message().id(row.id()).aggregate(aggregateType, row.key()).type("Placed")
                    .payload(payload(row)).build();
        }

        private String payload(Row row) {
            return "{\"seq\": " + row.seq() + ", \"key\": \"" + row.key() + "\", \"n\": " + row.n() + "}";
        }

        /** Whether the rows of a transaction whose commit failed are in the table, once the database answers. */
        private boolean resolve(List<Row> rows) {
            AtomicReference<Boolean> found = new AtomicReference<>();
            await("the database answering, to learn whether a transaction committed").atMost(Duration.ofMinutes(3))
                    .pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
                        found.set(present(rows));
                        return true;
                    });
            return found.get();
        }

        private boolean present(List<Row> rows) throws SQLException {
            try (Connection connection = dataSource.getConnection();
                    PreparedStatement query = connection.prepareStatement(
                            "SELECT count(*) FROM outbox_event WHERE id = ANY (?)")) {
                Array ids = connection.createArrayOf("uuid", rows.stream().map(Row::id).toArray());
                query.setArray(1, ids);
                try (ResultSet result = query.executeQuery()) {
                    result.next();
                    long count = result.getLong(1);
                    if (count != 0 && count != rows.size()) {
                        throw new AssertionError(count + " of the " + rows.size() + " rows of one transaction committed");
                    }
                    return count == rows.size();
                }
            }
        }
    }
}
