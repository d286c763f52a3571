package dev.outboxsaga.console.internal.audit;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The consumer's inbox rows and dead letters for the messages found in Kafka, read in one REPEATABLE READ
 * snapshot of its database (a replay changes both in one transaction, so they are compared as of one instant).
 */
final class InboxCheck {

    private static final int CHUNK = 5000;

    /** An inbox row. */
    record InboxRow(String outcome, String topic, Integer partition, Long offset) {
    }

    /** A dead letter of the consumer that names a message. */
    record DeadLetterRow(long id, String status, String errorClass, String errorMessage) {
    }

    final Map<UUID, InboxRow> inbox = new HashMap<>();
    final Map<UUID, List<DeadLetterRow>> deadLetters = new HashMap<>();
    /** Per "topic-partition", the lowest offset the inbox still has; read only when needed. */
    private Map<String, Long> oldestOffsets;
    private final DataSource dataSource;
    private final String consumer;
    private final String inboxTable;

    private InboxCheck(DataSource dataSource, String consumer, String inboxTable) {
        this.dataSource = dataSource;
        this.consumer = consumer;
        this.inboxTable = inboxTable;
    }

    static InboxCheck read(DataSource dataSource, String consumer, String inboxTable, String deadLetterTable,
            List<UUID> messageIds) {
        InboxCheck check = new InboxCheck(dataSource, consumer, inboxTable);
        ReadOnly.inTransaction(dataSource, Connection.TRANSACTION_REPEATABLE_READ, "consumer " + consumer + "'s inbox",
                connection -> {
                    for (String table : List.of(inboxTable, deadLetterTable)) {
                        if (!ReadOnly.tableExists(connection, table)) {
                            throw new IllegalArgumentException("table " + table + " of consumer " + consumer
                                    + " does not exist in the consumer's database");
                        }
                    }
                    try (PreparedStatement statement = connection.prepareStatement(AuditSql.inboxRows(inboxTable))) {
                        for (int start = 0; start < messageIds.size(); start += CHUNK) {
                            List<UUID> chunk = messageIds.subList(start, Math.min(messageIds.size(), start + CHUNK));
                            Array ids = connection.createArrayOf("uuid", chunk.toArray());
                            statement.setString(1, consumer);
                            statement.setArray(2, ids);
                            try (ResultSet result = statement.executeQuery()) {
                                while (result.next()) {
                                    check.inbox.put(result.getObject(1, UUID.class), new InboxRow(result.getString(2),
                                            result.getString(3), (Integer) result.getObject(4),
                                            result.getObject(5) == null ? null : result.getLong(5)));
                                }
                            }
                            ids.free();
                        }
                    }
                    Set<UUID> wanted = new java.util.HashSet<>(messageIds);
                    try (PreparedStatement statement = connection.prepareStatement(AuditSql.deadLetters(deadLetterTable))) {
                        statement.setFetchSize(10_000);
                        statement.setString(1, consumer);
                        try (ResultSet result = statement.executeQuery()) {
                            while (result.next()) {
                                UUID id = result.getObject(1, UUID.class);
                                if (wanted.contains(id)) {
                                    check.deadLetters.computeIfAbsent(id, key -> new ArrayList<>(1)).add(new DeadLetterRow(
                                            result.getLong(2), result.getString(3), result.getString(4), result.getString(5)));
                                }
                            }
                        }
                    }
                    return null;
                });
        return check;
    }

    /**
     * The lowest offset of {@code topic}-{@code partition} the inbox still has a row for, or null when it has none:
     * the inbox is purged oldest first, so a missing row below it may have been purged, above it not.
     */
    Long oldestOffset(String topic, int partition) {
        if (oldestOffsets == null) {
            oldestOffsets = new HashMap<>();
            ReadOnly.inTransaction(dataSource, Connection.TRANSACTION_READ_COMMITTED, "consumer " + consumer + "'s inbox",
                    connection -> {
                        try (PreparedStatement statement = connection.prepareStatement(AuditSql.inboxOldestOffsets(inboxTable))) {
                            statement.setString(1, consumer);
                            try (ResultSet result = statement.executeQuery()) {
                                while (result.next()) {
                                    oldestOffsets.put(result.getString(1) + "-" + result.getInt(2), result.getLong(3));
                                }
                            }
                        }
                        return null;
                    });
        }
        return oldestOffsets.get(topic + "-" + partition);
    }

}
