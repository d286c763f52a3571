package dev.outboxsaga.console.internal.audit;

/**
 * Every SQL statement of the audit, for validated table names. All of them only read. (The module's
 * console and CLI keep theirs in their own class; the audit's are apart so that each can be read alone.)
 */
final class AuditSql {

    private AuditSql() {
    }

    /**
     * The first statement of the audit's REPEATABLE READ transaction, so its snapshot is taken as it starts:
     * the WAL insert position after the snapshot (every transaction the snapshot sees committed before it)
     * and the database's clock.
     */
    static final String SNAPSHOT = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint, now()";

    static final String TABLE_EXISTS = "SELECT to_regclass(?) IS NOT NULL";

    /** The window's rows: {@code created_at} in {@code [?, ?)}. */
    static String windowRows(String table, String topicColumn) {
        return "SELECT id, aggregatetype, created_at" + (topicColumn == null ? "" : ", " + topicColumn)
                + " FROM " + table + " WHERE created_at >= ? AND created_at < ?";
    }

    /** The oldest row still in the table (the purge deletes oldest first); walks the created_at index. */
    static String oldestRow(String table) {
        return "SELECT min(created_at) FROM " + table;
    }

    /** Whether some process holds relay {@code ?}'s lease, by the database's clock. */
    static String leaseHeld(String schema) {
        return "SELECT expires_at > clock_timestamp() FROM " + schema + ".outbox_relay_lease WHERE relay = ?";
    }

    static String relayDeadLetterTable(String schema) {
        return schema + ".outbox_relay_dead_letter";
    }

    /** The rows among {@code ?} (a uuid[]) that the relay parked. */
    static String relayParked(String schema) {
        return "SELECT id, relay, reason, parked_at FROM " + relayDeadLetterTable(schema) + " WHERE id = ANY (?::uuid[])";
    }

    /** The consumer's inbox rows for the message ids {@code ?} (a uuid[]); the primary key finds each. */
    static String inboxRows(String inboxTable) {
        return "SELECT message_id, outcome, topic, kafka_partition, kafka_offset FROM " + inboxTable
                + " WHERE consumer = ? AND message_id = ANY (?::uuid[])";
    }

    /** Per topic partition, the lowest offset the consumer's inbox still has a row for. */
    static String inboxOldestOffsets(String inboxTable) {
        return "SELECT topic, kafka_partition, min(kafka_offset) FROM " + inboxTable
                + " WHERE consumer = ? AND topic IS NOT NULL AND kafka_offset IS NOT NULL GROUP BY topic, kafka_partition";
    }

    /** The consumer's dead letters that name a message (there is no index on message_id; dead letters are few). */
    static String deadLetters(String deadLetterTable) {
        return "SELECT message_id, id, status, error_class, error_message FROM " + deadLetterTable
                + " WHERE consumer = ? AND message_id IS NOT NULL";
    }
}
