package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Every SQL statement of the console and the CLI (the reconciliation audit keeps its own). The tables come from
 * {@code sql/V3} (dead letters), {@code V4} and {@code V6} (relays), {@code V5} and {@code V7} (sagas),
 * {@code V8} (operator actions and the indexes the saga list pages through) and {@code V13} (saga shapes, and the
 * indexes of the overview's per-minute counts).
 */
public final class Sql {

    private Sql() {
    }

    /** A statement with its parameters, for the lists whose filters decide the WHERE clause. */
    public record Statement(String sql, List<Object> parameters) {
    }

    // ---------------------------------------------------------------------------------------------
    // Sagas

    static final String SAGA_COLUMNS = "id, saga_type, saga_version, state, step_index, attempt, saga_key, last_error, "
            + "created_at, updated_at, ended_at";

    static final String SAGA_COUNT_BY_STATE = "SELECT state, count(*) FROM saga_instance GROUP BY state";

    /** Sagas not ended that have not changed since {@code ?}: walks saga_instance_state_idx (state, type, updated_at). */
    static final String SAGA_COUNT_STUCK = "SELECT count(*) FROM saga_instance "
            + "WHERE state IN ('RUNNING', 'COMPENSATING', 'PARKED') AND updated_at <= ?";

    static final String SAGA_FIND = "SELECT " + SAGA_COLUMNS + ", data::text, deadline, branches::text FROM saga_instance "
            + "WHERE id = ?";

    static final String SAGA_HISTORY = "SELECT seq, step_index, step_name, event, detail, at FROM saga_event "
            + "WHERE saga_id = ? ORDER BY seq";

    /**
     * The distinct (type, version) pairs, one index probe each (a loose index scan over
     * saga_instance_type_created_idx): cheap at a million sagas, unlike SELECT DISTINCT.
     */
    static final String SAGA_TYPES = "WITH RECURSIVE t AS ("
            + "(SELECT saga_type, saga_version FROM saga_instance ORDER BY saga_type, saga_version LIMIT 1) "
            + "UNION ALL SELECT n.saga_type, n.saga_version FROM t, LATERAL (SELECT s.saga_type, s.saga_version "
            + "FROM saga_instance s WHERE (s.saga_type, s.saga_version) > (t.saga_type, t.saga_version) "
            + "ORDER BY s.saga_type, s.saga_version LIMIT 1) n) SELECT saga_type, saga_version FROM t";

    /**
     * A page of sagas, newest first, after the cursor: each combination of filters is served by an index of
     * {@code sql/V8} that yields (created_at, id) order, so the page stops after {@code limit} rows. A type without
     * a version is a union of one such scan per version, each stopping after {@code limit} rows.
     *
     * @param versions the versions of {@code filter.type()} when the filter names a type but no version
     */
    static Statement sagaPage(SagaFilter filter, Instant now, SagaCursor after, int limit, List<Integer> versions) {
        if (filter.type() != null && filter.version() == null) {
            if (versions.isEmpty()) {
                versions = List.of(-1);
            }
            if (versions.size() > 1) {
                StringBuilder sql = new StringBuilder("SELECT * FROM (");
                List<Object> parameters = new ArrayList<>();
                for (int i = 0; i < versions.size(); i++) {
                    Statement branch = sagaPage(filter.withVersion(versions.get(i)), now, after, limit, List.of());
                    sql.append(i == 0 ? "(" : " UNION ALL (").append(branch.sql()).append(')');
                    parameters.addAll(branch.parameters());
                }
                sql.append(") page ORDER BY created_at DESC, id DESC LIMIT ?");
                parameters.add(limit);
                return new Statement(sql.toString(), parameters);
            }
            filter = filter.withVersion(versions.get(0));
        }
        StringBuilder where = new StringBuilder();
        List<Object> parameters = new ArrayList<>();
        if (filter.state() != null) {
            where.append(" AND state = ?");
            parameters.add(filter.state());
        }
        if (filter.type() != null) {
            where.append(" AND saga_type = ? AND saga_version = ?");
            parameters.add(filter.type());
            parameters.add(filter.version());
        } else if (filter.version() != null) {
            where.append(" AND saga_version = ?");
            parameters.add(filter.version());
        }
        if (filter.olderThan() != null) {
            where.append(" AND created_at <= ?");
            parameters.add(timestamp(now.minus(filter.olderThan())));
        }
        if (filter.stuckFor() != null) {
            where.append(" AND state IN ('RUNNING', 'COMPENSATING', 'PARKED') AND updated_at <= ?");
            parameters.add(timestamp(now.minus(filter.stuckFor())));
        }
        if (filter.idOrKey() != null) {
            UUID id = SagaFilter.uuidOrNull(filter.idOrKey());
            if (id != null) {
                where.append(" AND (id = ? OR saga_key = ?)");
                parameters.add(id);
            } else {
                where.append(" AND saga_key = ?");
            }
            parameters.add(filter.idOrKey());
        }
        if (after != null) {
            where.append(" AND (created_at, id) < (?, ?)");
            parameters.add(timestamp(after.createdAt()));
            parameters.add(after.id());
        }
        String sql = "SELECT " + SAGA_COLUMNS + " FROM saga_instance"
                + (where.length() == 0 ? "" : " WHERE" + where.substring(" AND".length()))
                + " ORDER BY created_at DESC, id DESC LIMIT ?";
        parameters.add(limit);
        return new Statement(sql, parameters);
    }

    // ---------------------------------------------------------------------------------------------
    // Saga types (sql/V13): their shapes, and where their sagas are

    /** Whether the service's schema has sql/V13's table: older services' sagas have only their history. */
    static final String SAGA_DEFINITION_TABLE = "SELECT to_regclass('saga_definition') IS NOT NULL";

    static final String SAGA_DEFINITION_FIND = "SELECT shape::text, recorded_at FROM saga_definition "
            + "WHERE saga_type = ? AND saga_version = ?";

    /**
     * The histories of a type's latest {@code ?} sagas, for a shape derived from them: a page of
     * saga_instance_type_created_idx, then saga_event_saga_idx per saga, so it costs the same at any table size.
     */
    static final String SAGA_TYPE_HISTORY = "SELECT e.saga_id, e.seq, e.step_index, e.step_name, e.event, e.detail, "
            + "e.at FROM (SELECT id FROM saga_instance WHERE saga_type = ? AND saga_version = ? "
            + "ORDER BY created_at DESC, id DESC LIMIT ?) s JOIN saga_event e ON e.saga_id = s.id ORDER BY e.saga_id, e.seq";

    /**
     * A type's sagas not ended, by step and state: a running saga with a parallel group in hand counts at each branch
     * it awaits (V11's branches), any other at its step in hand. Through saga_instance_state_idx: sagas in flight only.
     */
    static final String SAGA_TYPE_IN_FLIGHT = "SELECT coalesce((b.branch ->> 'step')::int, s.step_index), s.state, "
            + "count(*) FROM saga_instance s LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN s.state = 'RUNNING' "
            + "THEN s.branches END) AS b(branch) ON b.branch ->> 'status' IN ('PENDING', 'RETRY_DUE') "
            + "WHERE s.state IN ('RUNNING', 'COMPENSATING', 'PARKED') AND s.saga_type = ? AND s.saga_version = ? "
            + "GROUP BY 1, 2";

    // ---------------------------------------------------------------------------------------------
    // The overview's activity: per minute, bounded by time, each a range of a V13 index

    /** Through saga_instance_ended_idx (ended_at, state), which holds ended sagas only: an index-only range. */
    static final String SAGAS_ENDED_PER_MINUTE = "SELECT date_trunc('minute', ended_at), state, count(*) "
            + "FROM saga_instance WHERE ended_at >= ? AND ended_at < ? AND state IN ('COMPLETED', 'COMPENSATED', "
            + "'FAILED') GROUP BY 1, 2";

    /** Through dead_letter_parked_idx: every letter parked in the window, whatever became of it since. */
    static final String DEAD_LETTERS_PARKED_PER_MINUTE = "SELECT date_trunc('minute', parked_at), count(*) "
            + "FROM dead_letter WHERE parked_at >= ? AND parked_at < ? GROUP BY 1";

    // ---------------------------------------------------------------------------------------------
    // Operator actions (sql/V8): the audit trail, and the actions waiting for a service

    static final String ACTION_COLUMNS = "id, actor, action, target_kind, target_id, scope, note, status, outcome, "
            + "requested_at, done_at";

    /**
     * Queues a repair or cancel of a saga in one of the states {@code ?} allows, unless an action on it is pending
     * already; no row when not.
     */
    static final String SAGA_ACTION_QUEUE = "INSERT INTO operator_action (actor, action, target_kind, target_id, "
            + "scope, note) SELECT ?, ?, 'SAGA', s.id::text, s.saga_type, ? FROM saga_instance s "
            + "WHERE s.id = ? AND s.state = ANY (?) AND NOT EXISTS (SELECT 1 FROM operator_action a "
            + "WHERE a.target_kind = 'SAGA' AND a.target_id = s.id::text AND a.status = 'PENDING') "
            + "RETURNING " + ACTION_COLUMNS;

    static final String SAGA_STATE = "SELECT state FROM saga_instance WHERE id = ?";

    static final String ACTION_FIND = "SELECT " + ACTION_COLUMNS + " FROM operator_action WHERE id = ?";

    static final String ACTIONS_ON = "SELECT " + ACTION_COLUMNS + " FROM operator_action "
            + "WHERE target_kind = ? AND target_id = ? ORDER BY id DESC";

    static final String ACTIONS_PENDING_ON = "SELECT count(*) FROM operator_action "
            + "WHERE target_kind = ? AND target_id = ? AND status = 'PENDING'";

    /** Through operator_action_pending_idx, which holds only pending rows. */
    static final String ACTIONS_PENDING_BY_SCOPE = "SELECT target_kind, scope, count(*) FROM operator_action "
            + "WHERE status = 'PENDING' GROUP BY target_kind, scope";

    static final String ACTIONS_RECENT = "SELECT " + ACTION_COLUMNS + " FROM operator_action ORDER BY id DESC LIMIT ?";

    // ---------------------------------------------------------------------------------------------
    // Dead letters (sql/V3)

    static final String DEAD_LETTER_COLUMNS = "id, consumer, message_id, topic, kafka_partition, kafka_offset, "
            + "error_class, error_message, attempts, status, parked_at, resolved_at";

    static final String DEAD_LETTER_FIND = "SELECT " + DEAD_LETTER_COLUMNS + ", record_key, record_value, "
            + "record_headers::text, error_stack, resolution_note FROM dead_letter WHERE id = ?";

    static final String DEAD_LETTER_COUNT_BY_CONSUMER = "SELECT consumer, status, count(*) FROM dead_letter "
            + "GROUP BY consumer, status ORDER BY consumer, status";

    static final String DEAD_LETTER_CONSUMERS = "SELECT DISTINCT consumer FROM dead_letter ORDER BY consumer";

    private static final String NO_PENDING_REPLAY = "AND NOT EXISTS (SELECT 1 FROM operator_action a "
            + "WHERE a.target_kind = 'DEAD_LETTER' AND a.target_id = d.id::text AND a.status = 'PENDING') ";

    /**
     * Queues the replay of a parked dead letter that has a message id (a replay without one could not be
     * deduplicated), unless one is pending already; no row when not.
     */
    static final String DEAD_LETTER_REPLAY_QUEUE = "INSERT INTO operator_action (actor, action, target_kind, target_id, "
            + "scope, note) SELECT ?, 'REPLAY', 'DEAD_LETTER', d.id::text, d.consumer, ? FROM dead_letter d "
            + "WHERE d.id = ? AND d.status = 'PARKED' AND d.message_id IS NOT NULL " + NO_PENDING_REPLAY
            + "RETURNING " + ACTION_COLUMNS;

    /**
     * A discard needs no service code: the dead letter turns DISCARDED and its audit row is written DONE, in one
     * statement; no row when the dead letter is not parked.
     */
    static final String DEAD_LETTER_DISCARD = "WITH discarded AS (UPDATE dead_letter SET status = 'DISCARDED', "
            + "resolved_at = now(), resolution_note = ? WHERE id = ? AND status = 'PARKED' RETURNING id, consumer) "
            + "INSERT INTO operator_action (actor, action, target_kind, target_id, scope, note, status, outcome, done_at) "
            + "SELECT ?, 'DISCARD', 'DEAD_LETTER', id::text, consumer, ?, 'DONE', 'discarded', now() FROM discarded "
            + "RETURNING " + ACTION_COLUMNS;

    /** The filter's WHERE clause (after WHERE), with its parameters appended to {@code parameters}. */
    private static String deadLetterWhere(DeadLetterFilter filter, List<Object> parameters) {
        StringBuilder where = new StringBuilder("true");
        if (filter.consumer() != null) {
            where.append(" AND consumer = ?");
            parameters.add(filter.consumer());
        }
        if (filter.status() != null) {
            where.append(" AND status = ?");
            parameters.add(filter.status());
        }
        if (filter.topic() != null) {
            where.append(" AND topic = ?");
            parameters.add(filter.topic());
        }
        if (filter.errorText() != null) {
            where.append(" AND strpos(lower(error_class || ' ' || coalesce(error_message, '')), lower(?)) > 0");
            parameters.add(filter.errorText());
        }
        if (filter.parkedFrom() != null) {
            where.append(" AND parked_at >= ?");
            parameters.add(timestamp(filter.parkedFrom()));
        }
        if (filter.parkedTo() != null) {
            where.append(" AND parked_at < ?");
            parameters.add(timestamp(filter.parkedTo()));
        }
        return where.toString();
    }

    /** A page of dead letters, newest first, before the cursor id. */
    static Statement deadLetterPage(DeadLetterFilter filter, Long beforeId, int limit) {
        List<Object> parameters = new ArrayList<>();
        String where = deadLetterWhere(filter, parameters);
        if (beforeId != null) {
            where += " AND id < ?";
            parameters.add(beforeId);
        }
        parameters.add(limit);
        return new Statement("SELECT " + DEAD_LETTER_COLUMNS + " FROM dead_letter WHERE " + where
                + " ORDER BY id DESC LIMIT ?", parameters);
    }

    static Statement deadLetterCount(DeadLetterFilter filter) {
        List<Object> parameters = new ArrayList<>();
        return new Statement("SELECT count(*) FROM dead_letter WHERE " + deadLetterWhere(filter, parameters), parameters);
    }

    /**
     * How many of the filtered dead letters a bulk replay (or discard) would take, and the highest id among them:
     * the confirmed bulk action stops at that id, so letters parked after the preview are not taken unseen.
     */
    static Statement deadLetterBulkPreview(DeadLetterFilter filter, boolean replay) {
        List<Object> parameters = new ArrayList<>();
        return new Statement("SELECT count(*), max(id) FROM dead_letter WHERE " + deadLetterWhere(filter, parameters)
                + " AND status = 'PARKED'" + (replay ? " AND message_id IS NOT NULL" : ""), parameters);
    }

    static Statement deadLetterBulkReplay(DeadLetterFilter filter, long maxId, String actor, String note) {
        List<Object> parameters = new ArrayList<>(List.of(actor, note == null ? "" : note));
        String where = deadLetterWhere(filter, parameters);
        parameters.add(maxId);
        return new Statement("INSERT INTO operator_action (actor, action, target_kind, target_id, scope, note) "
                + "SELECT ?, 'REPLAY', 'DEAD_LETTER', d.id::text, d.consumer, nullif(?, '') FROM dead_letter d WHERE "
                + where + " AND d.id <= ? AND d.status = 'PARKED' AND d.message_id IS NOT NULL " + NO_PENDING_REPLAY
                + "ORDER BY d.id", parameters);
    }

    static Statement deadLetterBulkDiscard(DeadLetterFilter filter, long maxId, String actor, String note) {
        List<Object> parameters = new ArrayList<>(List.of(note));
        String where = deadLetterWhere(filter, parameters);
        parameters.add(maxId);
        parameters.add(actor);
        parameters.add(note);
        return new Statement("WITH discarded AS (UPDATE dead_letter SET status = 'DISCARDED', resolved_at = now(), "
                + "resolution_note = ? WHERE " + where + " AND id <= ? AND status = 'PARKED' RETURNING id, consumer) "
                + "INSERT INTO operator_action (actor, action, target_kind, target_id, scope, note, status, outcome, "
                + "done_at) SELECT ?, 'DISCARD', 'DEAD_LETTER', id::text, consumer, ?, 'DONE', 'discarded', now() "
                + "FROM discarded ORDER BY id", parameters);
    }

    // ---------------------------------------------------------------------------------------------
    // Relays (sql/V4, V6) and their replication slots

    static final String RELAY_LEASES = "SELECT relay, holder, epoch, acquired_at, expires_at, expires_at < now() "
            + "FROM outbox_relay_lease ORDER BY relay";

    /**
     * The slots of this database and the relays' records of theirs: a relay whose slot is gone is listed
     * (exists false), and so is a slot no relay recorded.
     */
    static final String RELAY_SLOTS = "SELECT coalesce(s.slot_name, r.slot_name), r.relay, s.slot_name IS NOT NULL, "
            + "coalesce(s.active, false), s.active_pid, s.wal_status, s.restart_lsn::text, s.confirmed_flush_lsn::text, "
            + "CASE WHEN s.restart_lsn IS NOT NULL AND NOT pg_is_in_recovery() "
            + "THEN pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint END "
            + "FROM (SELECT * FROM pg_replication_slots WHERE database = current_database()) s "
            + "FULL JOIN outbox_relay_slot r ON r.slot_name = s.slot_name ORDER BY 1";

    static final String RELAY_PARKED_COUNT = "SELECT relay, count(*) FROM outbox_relay_dead_letter GROUP BY relay "
            + "ORDER BY relay";

    static final String RELAY_PARKED_RECENT = "SELECT id, relay, source_table, aggregatetype, aggregateid, type, "
            + "reason, wal_position, parked_at FROM outbox_relay_dead_letter ORDER BY parked_at DESC LIMIT ?";

    static OffsetDateTime timestamp(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }
}
