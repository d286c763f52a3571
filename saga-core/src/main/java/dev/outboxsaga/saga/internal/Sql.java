package dev.outboxsaga.saga.internal;

/**
 * Every SQL statement of the saga module; the tables come from {@code sql/V5__saga.sql}, {@code sql/V7__saga_guards.sql},
 * {@code sql/V9__saga_conditional_steps.sql}, {@code sql/V10__saga_deadline.sql} and
 * {@code sql/V11__saga_parallel_steps.sql}, {@code sql/V12__saga_deferred_replies.sql} and
 * {@code sql/V13__saga_definition.sql}.
 */
final class Sql {

    private Sql() {
    }

    static final String INSTANCE_COLUMNS = "id, saga_type, saga_version, state, step_index, attempt, awaiting_command_id, "
            + "deadline, data::text, last_error, created_at, updated_at, ended_at, skipped_steps, saga_deadline, "
            + "branches::text";

    static final String INSERT_INSTANCE = "INSERT INTO saga_instance (id, saga_type, saga_version, state, step_index, "
            + "attempt, awaiting_command_id, deadline, data, last_error, ended_at, skipped_steps, saga_deadline, "
            + "branches) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, CASE WHEN ? THEN now() END, ?, ?, ?::jsonb)";

    /** A saga begun with a business key; inserts nothing when one of its type has that key ({@code sql/V7}). */
    static final String INSERT_KEYED_INSTANCE = "INSERT INTO saga_instance (id, saga_type, saga_version, state, "
            + "step_index, attempt, awaiting_command_id, deadline, data, last_error, ended_at, skipped_steps, "
            + "saga_deadline, branches, saga_key) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, CASE WHEN ? THEN now() END, ?, ?, ?::jsonb, ?) "
            + "ON CONFLICT (saga_type, saga_key) WHERE saga_key IS NOT NULL DO NOTHING";

    static final String FIND_BY_KEY = "SELECT id FROM saga_instance WHERE saga_type = ? AND saga_key = ?";

    /** Skipped steps are only added: a state built without them (a saga parked by the timer) keeps them. */
    static final String UPDATE_INSTANCE = "UPDATE saga_instance SET state = ?, step_index = ?, attempt = ?, "
            + "awaiting_command_id = ?, deadline = ?, data = ?::jsonb, last_error = ?, updated_at = now(), "
            + "ended_at = CASE WHEN ? THEN coalesce(ended_at, now()) END, "
            + "skipped_steps = ARRAY(SELECT DISTINCT unnest(skipped_steps || ?::integer[]) ORDER BY 1), "
            + "saga_deadline = ?, branches = ?::jsonb WHERE id = ?";

    static final String LOCK_INSTANCE = "SELECT " + INSTANCE_COLUMNS + " FROM saga_instance WHERE id = ? FOR UPDATE";

    static final String FIND_INSTANCE = "SELECT " + INSTANCE_COLUMNS + " FROM saga_instance WHERE id = ?";

    /** Due sagas; several orchestrator processes share the work without waiting on each other. */
    static final String LOCK_DUE = "SELECT " + INSTANCE_COLUMNS + " FROM saga_instance "
            + "WHERE state IN ('RUNNING', 'COMPENSATING') AND deadline <= ? "
            + "AND saga_type || ':' || saga_version = ANY (?) ORDER BY deadline LIMIT ? "
            + "FOR UPDATE SKIP LOCKED";

    static final String LIST = "SELECT " + INSTANCE_COLUMNS + " FROM saga_instance "
            + "WHERE (?::text IS NULL OR state = ?) AND (?::text IS NULL OR saga_type = ?) AND created_at <= ? "
            + "ORDER BY created_at, id LIMIT ?";

    static final String STUCK = "SELECT " + INSTANCE_COLUMNS + " FROM saga_instance "
            + "WHERE state IN ('RUNNING', 'COMPENSATING', 'PARKED') AND updated_at <= ? ORDER BY updated_at LIMIT ?";

    static final String COUNT_BY_STATE = "SELECT state, count(*) FROM saga_instance GROUP BY state";

    /** The gauges of sagas not ended: through saga_instance_state_idx, touching only sagas in flight. */
    static final String COUNT_IN_FLIGHT = "SELECT saga_type, state, count(*) FROM saga_instance "
            + "WHERE state IN ('RUNNING', 'COMPENSATING', 'PARKED') AND saga_type = ANY (?) GROUP BY saga_type, state";

    /** A saga's age in seconds, on the database's clock (created_at is its transaction's start). */
    static final String AGE_SECONDS = "SELECT EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8 "
            + "FROM saga_instance WHERE id = ?";

    /** Which of these sagas are committed, for the meters of sagas begun in a caller's own transaction. */
    static final String EXISTING = "SELECT id FROM saga_instance WHERE id = ANY (?)";

    /** Which of the awaited sagas have ended or parked: one query for every caller of awaitEnd. */
    static final String SETTLED = "SELECT id FROM saga_instance WHERE id = ANY (?) "
            + "AND state IN ('COMPLETED', 'COMPENSATED', 'FAILED', 'PARKED')";

    static final String INSERT_EVENT = "INSERT INTO saga_event (saga_id, step_index, step_name, event, detail) "
            + "VALUES (?, ?, ?, ?, ?)";

    static final String HISTORY = "SELECT seq, saga_id, step_index, step_name, event, detail, at FROM saga_event "
            + "WHERE saga_id = ? ORDER BY seq";

    /**
     * A definition's shape for the console (sql/V13): inserted, or replaced when it differs; no row when it was stored
     * as it is. The one column says whether the row is new ({@code xmax = 0}: no earlier version of it was updated).
     */
    static final String UPSERT_DEFINITION = "INSERT INTO saga_definition AS d (saga_type, saga_version, shape) "
            + "VALUES (?, ?, ?::jsonb) ON CONFLICT (saga_type, saga_version) DO UPDATE SET shape = EXCLUDED.shape, "
            + "recorded_at = now() WHERE d.shape IS DISTINCT FROM EXCLUDED.shape RETURNING xmax = 0";

    // A participant's replies with what a deferred one needs (sql/V12): ParticipantReplies.

    private static final String PARTICIPANT_REPLY_COLUMNS = "saga_id, step_index, outcome, retryable, reason, "
            + "payload::text, closed_by, accepted_at, command_id, command_type, saga_type, step_name, attempt, "
            + "command_payload::text, reply_to";

    /** One step's reply, locked: a deferred one is answered, moved on to a retry or closed only by its holder. */
    static final String LOCK_PARTICIPANT_REPLY = "SELECT " + PARTICIPANT_REPLY_COLUMNS + " FROM saga_participant_reply "
            + "WHERE participant = ? AND saga_id = ? AND step_index = ? AND kind = ? FOR UPDATE";

    static final String FIND_PARTICIPANT_REPLY = "SELECT " + PARTICIPANT_REPLY_COLUMNS + " FROM saga_participant_reply "
            + "WHERE participant = ? AND saga_id = ? AND step_index = ? AND kind = ?";

    static final String INSERT_PARTICIPANT_REPLY = "INSERT INTO saga_participant_reply (participant, saga_id, "
            + "step_index, kind, command_type, outcome, retryable, reason, payload, command_id, reply_to, saga_type, "
            + "step_name, attempt, command_payload, accepted_at) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?::jsonb, CASE WHEN ? THEN now() END)";

    /** A retry of a pending command: the answer is to refer to it, the attempt the orchestrator awaits now. */
    static final String PENDING_RETRIED = "UPDATE saga_participant_reply SET command_id = ?, reply_to = ?, attempt = ? "
            + "WHERE participant = ? AND saga_id = ? AND step_index = ? AND kind = 'FORWARD' AND outcome = 'PENDING' "
            + "AND coalesce(attempt, 0) <= ?";

    static final String CLOSE_PENDING = "UPDATE saga_participant_reply SET outcome = ?, reason = ?, "
            + "payload = ?::jsonb, replied_at = now(), closed_by = ? "
            + "WHERE participant = ? AND saga_id = ? AND step_index = ? AND kind = 'FORWARD' AND outcome = 'PENDING'";

    /** Through saga_participant_reply_pending_idx; every command type when the type is null. */
    static final String LIST_PENDING = "SELECT " + PARTICIPANT_REPLY_COLUMNS + " FROM saga_participant_reply "
            + "WHERE participant = ? AND outcome = 'PENDING' AND (?::text IS NULL OR command_type = ?) "
            + "ORDER BY accepted_at, saga_id, step_index LIMIT ?";
}
