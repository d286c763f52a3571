package dev.outboxsaga.console.internal.audit;

import dev.outboxsaga.console.ReconciliationAudit;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The window's outbox rows, read in one REPEATABLE READ snapshot together with the WAL position at that
 * instant, and what the tables still keep (their oldest row).
 */
final class OutboxSnapshot {

    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final int FETCH_SIZE = 10_000;

    /** The WAL insert position when the snapshot was taken: every row seen committed before it. */
    final long snapshotLsn;
    final Instant takenAt;
    /** The audited tables, {@code schema.table}, and the relay of each (by index). */
    final List<String> tables = new ArrayList<>();
    final List<ReconciliationAudit.Relay> relayOfTable = new ArrayList<>();
    /** Per table, the oldest row's created_at, null when the table is empty. */
    final List<Instant> oldestRow = new ArrayList<>();
    final List<String> topicNames = new ArrayList<>();
    private final Map<String, Integer> topicIndex = new HashMap<>();
    final Map<UUID, WindowRow> rows = new HashMap<>();

    private OutboxSnapshot(long snapshotLsn, Instant takenAt) {
        this.snapshotLsn = snapshotLsn;
        this.takenAt = takenAt;
    }

    static OutboxSnapshot read(DataSource dataSource, List<ReconciliationAudit.Relay> relays, Instant from, Instant to,
            int maxRows) {
        return ReadOnly.inTransaction(dataSource, Connection.TRANSACTION_REPEATABLE_READ, "the outbox snapshot",
                connection -> {
                    OutboxSnapshot snapshot;
                    try (PreparedStatement statement = connection.prepareStatement(AuditSql.SNAPSHOT);
                         ResultSet result = statement.executeQuery()) {
                        result.next();
                        snapshot = new OutboxSnapshot(result.getLong(1), result.getObject(2, OffsetDateTime.class).toInstant());
                    }
                    for (ReconciliationAudit.Relay relay : relays) {
                        for (String table : relay.tables()) {
                            snapshot.readTable(connection, relay, table, from, to, maxRows);
                        }
                    }
                    return snapshot;
                });
    }

    private void readTable(Connection connection, ReconciliationAudit.Relay relay, String table, Instant from, Instant to,
            int maxRows) throws SQLException {
        if (!ReadOnly.tableExists(connection, table)) {
            throw new IllegalArgumentException("outbox table " + table + " of relay " + relay.name()
                    + " does not exist in the service's database");
        }
        short index = (short) tables.size();
        tables.add(table);
        relayOfTable.add(relay);
        try (PreparedStatement statement = connection.prepareStatement(AuditSql.oldestRow(table));
             ResultSet result = statement.executeQuery()) {
            result.next();
            OffsetDateTime oldest = result.getObject(1, OffsetDateTime.class);
            oldestRow.add(oldest == null ? null : oldest.toInstant());
        }
        try (PreparedStatement statement = connection.prepareStatement(AuditSql.windowRows(table, relay.topicColumn()))) {
            statement.setFetchSize(FETCH_SIZE);
            statement.setObject(1, OffsetDateTime.ofInstant(from, ZoneOffset.UTC));
            statement.setObject(2, OffsetDateTime.ofInstant(to, ZoneOffset.UTC));
            try (ResultSet result = statement.executeQuery()) {
                while (result.next()) {
                    if (rows.size() >= maxRows) {
                        throw new IllegalArgumentException("the window [" + from + ", " + to + ") holds more than "
                                + maxRows + " outbox rows (maxRows): audit it in shorter windows, or raise maxRows "
                                + "(about 150 bytes of heap per row)");
                    }
                    UUID id = result.getObject(1, UUID.class);
                    String topic = route(relay, result.getString(2), relay.topicColumn() == null ? null : result.getString(4));
                    Instant createdAt = result.getObject(3, OffsetDateTime.class).toInstant();
                    rows.put(id, new WindowRow(id, index, topic == null ? -1 : topicIndex(topic), micros(createdAt)));
                }
            }
        }
    }

    /** The topic the relay sends a row to (its RecordMapper's rule), or null when it would park the row instead. */
    static String route(ReconciliationAudit.Relay relay, String aggregateType, String topicColumnValue) {
        String topic = null;
        if (topicColumnValue != null && !topicColumnValue.isBlank()) {
            topic = topicColumnValue;
        } else if (aggregateType != null && !aggregateType.isBlank()) {
            topic = relay.topicPattern().replace("${aggregatetype}", aggregateType);
        }
        return topic != null && TOPIC.matcher(topic).matches() ? topic : null;
    }

    int topicIndex(String topic) {
        return topicIndex.computeIfAbsent(topic, name -> {
            topicNames.add(name);
            return topicNames.size() - 1;
        });
    }

    Integer knownTopic(String topic) {
        return topicIndex.get(topic);
    }

    static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
    }

    static Instant instant(long micros) {
        return Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
    }

    /** The schema of a relay's own tables: that of its first outbox table, as the relay has it. */
    static String relaySchema(ReconciliationAudit.Relay relay) {
        return relay.tables().get(0).substring(0, relay.tables().get(0).indexOf('.'));
    }

}
