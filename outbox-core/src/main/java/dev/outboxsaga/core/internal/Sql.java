package dev.outboxsaga.core.internal;

/**
 * Every DML statement of outbox-core, rendered once for the configured (validated) table names.
 * DDL is not here: it lives in the versioned scripts under {@code sql/}.
 */
public final class Sql {

    private Sql() {
    }

    /** Statements on the outbox table. */
    public record Outbox(String insertOne, String insertMany, String deleteOne, String deleteMany, String purgeBatch) {

        public static Outbox forTable(String table) {
            String columns = "id, aggregatetype, aggregateid, type, payload, headers, correlationid";
            return new Outbox(
                    "INSERT INTO " + table + " (" + columns + ") VALUES (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?)",
                    // One round trip for a whole batch: arrays unnested into rows, in array order.
                    "INSERT INTO " + table + " (" + columns + ") "
                            + "SELECT * FROM unnest(?::uuid[], ?::varchar[], ?::varchar[], ?::varchar[], "
                            + "?::jsonb[], ?::jsonb[], ?::varchar[])",
                    "DELETE FROM " + table + " WHERE id = ?",
                    "DELETE FROM " + table + " WHERE id = ANY (?::uuid[])",
                    "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table
                            + " WHERE created_at < ? ORDER BY created_at LIMIT ?)");
        }
    }

    /**
     * For the rest of the transaction, lock waits longer than {@code ?} milliseconds fail (55P03),
     * unless the session already has a shorter limit: the later records of an inbox batch must not
     * wait on locks while the transaction holds those of the earlier ones.
     */
    public static final String LIMIT_LOCK_WAITS = "SELECT set_config('lock_timeout', "
            + "CASE WHEN setting::bigint BETWEEN 1 AND ? THEN setting ELSE ?::text END || 'ms', true) "
            + "FROM pg_settings WHERE name = 'lock_timeout'";

    /**
     * Statements on the operator action table ({@code sql/V8__operations.sql}). An outcome is written only over
     * {@code PENDING}: an action that another process finished meanwhile (or whose commit succeeded although
     * the caller saw an error) keeps its first outcome.
     */
    public record OperatorAction(String claimOldest, String markDone, String markFailed) {

        public static OperatorAction forTable(String table) {
            return new OperatorAction(
                    // Through the partial index of pending actions; one held by another process is skipped.
                    "SELECT id, actor, action, target_id, scope, note FROM " + table + " WHERE status = 'PENDING' "
                            + "AND target_kind = ? AND scope = ANY (?) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                    "UPDATE " + table + " SET status = 'DONE', outcome = ?, done_at = now() "
                            + "WHERE id = ? AND status = 'PENDING'",
                    "UPDATE " + table + " SET status = 'FAILED', outcome = ?, done_at = now() "
                            + "WHERE id = ? AND status = 'PENDING'");
        }
    }

    /** Statements on the inbox and dead-letter tables of one consumer. */
    public record Inbox(
            String claim,
            String purgeBatch,
            String park,
            String listParked,
            String listByStatus,
            String findDeadLetter,
            String lockParked,
            String resolve,
            String recordReplayFailure,
            String markProcessed,
            String countParked) {

        public static Inbox forTables(String inboxTable, String deadLetterTable) {
            String deadLetterColumns = "id, consumer, message_id, topic, kafka_partition, kafka_offset, record_key, "
                    + "record_value, record_headers::text, error_class, error_message, error_stack, attempts, status, "
                    + "parked_at, resolved_at, resolution_note";
            return new Inbox(
                    // The claim is the inbox: a second delivery of the same message inserts nothing.
                    "INSERT INTO " + inboxTable + " (consumer, message_id, outcome, topic, kafka_partition, kafka_offset) "
                            + "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (consumer, message_id) DO NOTHING",
                    // The row of a message whose dead letter is still PARKED guards its replay: it stays.
                    "DELETE FROM " + inboxTable + " WHERE (consumer, message_id) IN (SELECT i.consumer, i.message_id FROM "
                            + inboxTable + " i WHERE i.consumer = ? AND i.received_at < ? AND NOT (i.outcome = 'PARKED' "
                            + "AND EXISTS (SELECT 1 FROM " + deadLetterTable + " d WHERE d.consumer = i.consumer "
                            + "AND d.message_id = i.message_id AND d.status = 'PARKED')) ORDER BY i.received_at LIMIT ?)",
                    "INSERT INTO " + deadLetterTable + " (consumer, message_id, topic, kafka_partition, kafka_offset, "
                            + "record_key, record_value, record_headers, error_class, error_message, error_stack, attempts) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?) "
                            + "ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO NOTHING",
                    "SELECT " + deadLetterColumns + " FROM " + deadLetterTable
                            + " WHERE consumer = ? AND id > ? ORDER BY id LIMIT ?",
                    "SELECT " + deadLetterColumns + " FROM " + deadLetterTable
                            + " WHERE consumer = ? AND status = ? AND id > ? ORDER BY id LIMIT ?",
                    "SELECT " + deadLetterColumns + " FROM " + deadLetterTable + " WHERE consumer = ? AND id = ?",
                    "SELECT " + deadLetterColumns + " FROM " + deadLetterTable
                            + " WHERE consumer = ? AND id = ? AND status = 'PARKED' FOR UPDATE",
                    "UPDATE " + deadLetterTable + " SET status = ?, resolved_at = now(), resolution_note = ? "
                            + "WHERE consumer = ? AND id = ? AND status = 'PARKED'",
                    "UPDATE " + deadLetterTable + " SET attempts = attempts + 1, error_class = ?, error_message = ?, "
                            + "error_stack = ? WHERE consumer = ? AND id = ?",
                    // A replay takes the parked message over; 0 rows when it is not (or no longer) parked.
                    "UPDATE " + inboxTable + " SET outcome = 'PROCESSED' WHERE consumer = ? AND message_id = ? "
                            + "AND outcome = 'PARKED'",
                    "SELECT count(*) FROM " + deadLetterTable + " WHERE consumer = ? AND status = 'PARKED'");
        }
    }
}
