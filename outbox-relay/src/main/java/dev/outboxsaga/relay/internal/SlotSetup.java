package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.relay.RelayFailedException;
import dev.outboxsaga.relay.SlotReport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.replication.ReplicationSlotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The publication and the replication slot of a relay: created, verified, reported. */
public final class SlotSetup {

    private static final Logger LOG = LoggerFactory.getLogger(SlotSetup.class);

    private final RelayConfig config;
    private final Database database;
    private final Sql sql;
    private final String heartbeatTable;

    public SlotSetup(RelayConfig config, Database database, Sql sql, String heartbeatTable) {
        this.config = config;
        this.database = database;
        this.sql = sql;
        this.heartbeatTable = heartbeatTable;
    }

    /** The tables the publication must cover: the outbox tables and the heartbeat table. */
    public List<String> publishedTables() {
        List<String> tables = new ArrayList<>();
        config.outboxTables().forEach(table -> tables.add(table.qualified()));
        tables.add(heartbeatTable);
        return tables;
    }

    /**
     * Makes sure the publication exists, covers every table and publishes inserts only; creates or
     * extends it when {@code publication.create} allows.
     *
     * @param streaming whether the relay has streamed from its slot already: then an outbox table new to
     *                  the publication has its existing rows moved into the stream (see {@link #addWithItsRows})
     *
     * @throws RelayFailedException naming the SQL an owner must run, when it cannot be fixed here
     */
    public void ensurePublication(Connection connection, boolean streaming) throws SQLException {
        String publication = config.publicationName();
        boolean exists;
        try (PreparedStatement query = connection.prepareStatement(sql.publicationExists())) {
            query.setString(1, publication);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                exists = rows.getLong(1) > 0;
            }
        }
        String create = Sql.createPublication(publication, publishedTables());
        if (!exists) {
            if (!config.publicationCreate()) {
                throw new RelayFailedException("publication " + publication + " does not exist and "
                        + RelayConfig.PUBLICATION_CREATE + "=false; have the tables' owner run: " + create);
            }
            try (Statement statement = connection.createStatement()) {
                statement.execute(create);
            }
            LOG.info("relay {}: created publication {} for {}", config.name(), publication, publishedTables());
            return;
        }
        Set<String> covered = new LinkedHashSet<>();
        try (PreparedStatement query = connection.prepareStatement(sql.publicationTables())) {
            query.setString(1, publication);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    covered.add(rows.getString(1));
                }
            }
        }
        List<String> missing = publishedTables().stream().filter(table -> !covered.contains(table)).toList();
        if (!missing.isEmpty()) {
            addMissing(connection, publication, missing, streaming);
        }
        ensureInsertsOnly(connection, publication);
    }

    /**
     * A publication that also publishes deletes (an owner's {@code CREATE PUBLICATION} without
     * {@code publish = 'insert'}) makes the heartbeat purge fail, as the heartbeat table has no replica identity,
     * and the table grows forever. Narrowed here when {@code publication.create} allows, else refused.
     */
    private void ensureInsertsOnly(Connection connection, String publication) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.publishesOnlyInserts())) {
            query.setString(1, publication);
            try (ResultSet rows = query.executeQuery()) {
                if (rows.next() && rows.getBoolean(1)) {
                    return;
                }
            }
        }
        String alter = Sql.publishInsertsOnly(publication);
        String why = "publication " + publication + " publishes more than inserts, so the relay cannot purge its "
                + "heartbeat table (no replica identity) and it grows forever";
        if (!config.publicationCreate()) {
            throw new RelayFailedException(why + "; have the publication's owner run: " + alter);
        }
        try (Statement statement = connection.createStatement()) {
            statement.execute(alter);
        } catch (SQLException e) {
            throw new RelayFailedException(why + ", and the relay could not change it (" + e.getMessage()
                    + "); have the publication's owner run: " + alter, e);
        }
        LOG.info("relay {}: publication {} publishes inserts only now", config.name(), publication);
    }

    private void addMissing(Connection connection, String publication, List<String> missing, boolean streaming)
            throws SQLException {
        List<String> script = new ArrayList<>();
        for (String table : missing) {
            script.addAll(streaming && !table.equals(heartbeatTable) ? addWithItsRows(publication, table)
                    : List.of("ALTER PUBLICATION " + publication + " ADD TABLE " + table));
        }
        if (!config.publicationCreate()) {
            throw new RelayFailedException("publication " + publication + " does not cover " + missing
                    + "; have the tables' owner run: BEGIN; " + String.join("; ", script) + "; COMMIT;");
        }
        boolean moving = script.stream().anyMatch(step -> step.startsWith("LOCK"));
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(!moving);
        try (Statement statement = connection.createStatement()) {
            if (moving) {
                // Writers to the table wait for this transaction: a relay frozen inside it must not hold them for long.
                statement.execute("SET LOCAL idle_in_transaction_session_timeout = '10s'");
            }
            for (String step : script) {
                statement.execute(step);
            }
            if (moving) {
                connection.commit();
            }
        } catch (SQLException e) {
            if (moving) {
                connection.rollback();
            }
            throw new RelayFailedException("relay " + config.name() + " could not add " + missing + " to publication "
                    + publication + " (" + e.getMessage().strip() + "); have the tables' owner run: BEGIN; "
                    + String.join("; ", script) + "; COMMIT;", e);
        } finally {
            connection.setAutoCommit(autoCommit);
        }
        LOG.info("relay {}: added {} to publication {}", config.name(), missing, publication);
    }

    /**
     * Adds an outbox table to the publication of a relay that streams already, so that the rows it holds
     * are published once too: they were committed before the table was published, so no slot has them,
     * and the first start's snapshot is long past. In one transaction, with writers to the table held
     * off, the table joins the publication and its rows are deleted and inserted again, unchanged: the
     * new inserts are in the WAL after the publication change, and the relay publishes them like any other.
     */
    private static List<String> addWithItsRows(String publication, String table) {
        return List.of("LOCK TABLE " + table + " IN SHARE ROW EXCLUSIVE MODE",
                "ALTER PUBLICATION " + publication + " ADD TABLE " + table,
                "WITH moved AS (DELETE FROM " + table + " RETURNING *) INSERT INTO " + table
                        + " SELECT * FROM moved ORDER BY created_at, id");
    }

    /** The slot as PostgreSQL reports it. */
    public SlotReport report(Connection connection, String publishedOffset) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.slot())) {
            query.setString(1, config.slotName());
            try (ResultSet rows = query.executeQuery()) {
                if (!rows.next()) {
                    return new SlotReport(config.slotName(), false, false, null, null, null, null, -1, publishedOffset);
                }
                boolean active = rows.getBoolean("active");
                Integer pid = active ? rows.getInt("active_pid") : null;
                return new SlotReport(config.slotName(), true, active, pid, rows.getString("wal_status"),
                        rows.getString("restart_lsn"), rows.getString("confirmed_flush_lsn"),
                        retainedWal(connection), publishedOffset);
            }
        }
    }

    /**
     * The slot's confirmed position as an LSN number (Debezium's form), where a stream started now begins.
     *
     * @throws IllegalStateException when the slot does not exist or has no confirmed position
     */
    public long confirmedLsn(Connection connection) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.slotConfirmedLsn())) {
            query.setString(1, config.slotName());
            try (ResultSet rows = query.executeQuery()) {
                if (rows.next()) {
                    long lsn = rows.getLong(1);
                    if (!rows.wasNull()) {
                        return lsn;
                    }
                }
                throw new IllegalStateException("replication slot " + config.slotName()
                        + " does not exist or has no confirmed position");
            }
        }
    }

    /** WAL bytes the slot holds back, or -1. */
    public long retainedWal(Connection connection) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.retainedWalBytes())) {
            query.setString(1, config.slotName());
            try (ResultSet rows = query.executeQuery()) {
                if (rows.next()) {
                    long bytes = rows.getLong(1);
                    return rows.wasNull() ? -1 : bytes;
                }
                return -1;
            }
        }
    }

    /** What the relay recorded of its slot's creation, and whether the slot has moved since. */
    public record SlotHistory(boolean recorded, boolean sameSlot, String createdLsn, String confirmedLsn,
            boolean published, boolean moved) {

        /** A slot this relay created, whose first start never reached Kafka and which never moved. */
        public boolean unfinishedFirstStart() {
            return recorded && sameSlot && !published && (createdLsn == null || !moved);
        }
    }

    public SlotHistory history(Connection connection) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.slotHistory())) {
            query.setString(1, config.slotName());
            query.setString(2, config.name());
            try (ResultSet rows = query.executeQuery()) {
                if (!rows.next()) {
                    return new SlotHistory(false, false, null, null, false, false);
                }
                return new SlotHistory(true, rows.getBoolean("same_slot"), rows.getString("created_lsn"),
                        rows.getString("confirmed_flush_lsn"), rows.getBoolean("published"), rows.getBoolean("moved"));
            }
        }
    }

    /** Records that the slot's first start reached Kafka (idempotent). */
    public void markPublished(Connection connection) throws SQLException {
        try (PreparedStatement mark = connection.prepareStatement(sql.slotPublished())) {
            mark.setString(1, config.name());
            mark.setString(2, config.slotName());
            mark.executeUpdate();
        }
    }

    /**
     * Ends the walsender of a slot still held by a stale relay (paused, or dead but not yet timed out), in the
     * transaction that checks that {@code lease} is still held.
     *
     * @throws LeaderLease.Lost when it is not: the walsender may be the new leader's
     */
    public void evictSlotHolder(Connection connection, LeaderLease lease) throws SQLException {
        lease.whileHeld(connection, "end the walsender of slot " + config.slotName(), this::terminateSlotHolder);
    }

    /**
     * Drops the slot (ending its walsender first), in the transaction that checks that {@code lease} is still held.
     *
     * @throws LeaderLease.Lost when it is not: the slot may be the new leader's
     */
    public void dropSlot(Connection connection, LeaderLease lease) throws SQLException {
        lease.whileHeld(connection, "drop slot " + config.slotName(), held -> {
            terminateSlotHolder(held);
            try (PreparedStatement drop = held.prepareStatement(sql.dropSlot())) {
                drop.setString(1, config.slotName());
                drop.execute();
            }
            return null;
        });
    }

    private Void terminateSlotHolder(Connection connection) throws SQLException {
        try (PreparedStatement terminate = connection.prepareStatement(sql.terminateSlotHolder())) {
            terminate.setString(1, config.slotName());
            try (ResultSet rows = terminate.executeQuery()) {
                while (rows.next()) {
                    LOG.warn("relay {}: ended the stale connection that held slot {}", config.name(), config.slotName());
                }
            }
        }
        return null;
    }

    /**
     * Creates the slot and, in the same instant, reads the rows already in the outbox tables from the
     * snapshot the slot exports: every row committed before the slot is in the snapshot, every row
     * committed after it is in the slot, none in both.
     *
     * @param rows receives the existing rows (nothing when {@code initial.snapshot=false})
     */
    public void createSlotWithSnapshot(Consumer<OutboxRow> rows) throws SQLException {
        try (Connection connection = database.connect("slot record");
             PreparedStatement creating = connection.prepareStatement(sql.slotCreating())) {
            creating.setString(1, config.name());
            creating.setString(2, config.slotName());
            creating.executeUpdate();
        }
        try (Connection replication = database.connectForReplication()) {
            ReplicationSlotInfo slot = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .createReplicationSlot().logical()
                    .withSlotName(config.slotName())
                    .withOutputPlugin("pgoutput")
                    .make();
            LOG.info("relay {}: created replication slot {} at {}", config.name(), slot.getSlotName(),
                    slot.getConsistentPoint());
            try (Connection connection = database.connect("slot record");
                 PreparedStatement created = connection.prepareStatement(sql.slotCreated())) {
                created.setString(1, slot.getConsistentPoint().asString());
                created.setString(2, config.name());
                created.executeUpdate();
            }
            if (!config.initialSnapshot()) {
                return;
            }
            if (slot.getSnapshotName() == null) {
                throw new RelayFailedException("PostgreSQL exported no snapshot with slot " + config.slotName()
                        + "; cannot read the rows already in the outbox consistently");
            }
            try (Connection reader = database.connect("initial snapshot")) {
                reader.setAutoCommit(false);
                try (Statement statement = reader.createStatement()) {
                    statement.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                    statement.execute("SET TRANSACTION SNAPSHOT " + Sql.literal(slot.getSnapshotName()));
                    for (RelayConfig.Table table : config.outboxTables()) {
                        readTable(statement, table, rows);
                    }
                }
                reader.commit();
            }
        }
    }

    private static void readTable(Statement statement, RelayConfig.Table table, Consumer<OutboxRow> rows)
            throws SQLException {
        statement.setFetchSize(1000);
        // Oldest first, so the snapshot keeps the order the rows were written in as far as it is known.
        try (ResultSet result = statement.executeQuery("SELECT * FROM " + table.qualified() + " ORDER BY created_at, id")) {
            ResultSetMetaData meta = result.getMetaData();
            while (result.next()) {
                Map<String, String> columns = new LinkedHashMap<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    columns.put(meta.getColumnName(i), result.getString(i));
                }
                rows.accept(new OutboxRow(table.qualified(), columns, 0));
            }
        }
    }
}
