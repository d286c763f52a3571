package dev.outboxsaga.saga.internal;

import dev.outboxsaga.saga.PendingCommand;
import dev.outboxsaga.saga.Reply;
import dev.outboxsaga.saga.SagaCommand;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A participant's replies per saga step ({@code saga_participant_reply}), including deferred ones: PENDING until
 * answered or closed ({@code sql/V12__saga_deferred_replies.sql}).
 */
public final class ParticipantReplies {

    /** {@code outcome} of a deferred reply not answered yet. */
    public static final String PENDING = "PENDING";
    /** {@code closed_by}: answered through {@code PendingReplies.complete}. */
    public static final String ANSWERED = "ANSWERED";
    /** {@code closed_by}: the step's compensation came before the answer. */
    public static final String COMPENSATED = "COMPENSATED";
    /** {@code closed_by}: the saga abandoned the step before the answer. */
    public static final String ABANDONED = "ABANDONED";

    private static final String SUCCESS = "SUCCESS";
    private static final String FAILURE = "FAILURE";

    private ParticipantReplies() {
    }

    /**
     * A stored reply.
     *
     * @param outcome  SUCCESS, FAILURE or PENDING
     * @param reply    the reply as stored (for a pending one: a deferred reply with the handler's reason)
     * @param closedBy how a deferred reply stopped pending ({@link #ANSWERED}, ...), or null
     * @param command  the pending command as the row describes it (also once closed); null for a reply given at once
     * @param stepName the step's name, or null for a row stored before {@code sql/V12}
     */
    public record Stored(String outcome, Reply reply, String closedBy, PendingCommand command, String stepName) {

        public boolean pending() {
            return PENDING.equals(outcome);
        }
    }

    /** The reply of a saga step, locked for this transaction, or null. */
    public static Stored lock(Connection connection, String participant, UUID sagaId, int step, String kind)
            throws SQLException {
        return one(connection, Sql.LOCK_PARTICIPANT_REPLY, participant, sagaId, step, kind);
    }

    /** The reply of a saga step, or null. */
    public static Stored find(Connection connection, String participant, UUID sagaId, int step, String kind)
            throws SQLException {
        return one(connection, Sql.FIND_PARTICIPANT_REPLY, participant, sagaId, step, kind);
    }

    private static Stored one(Connection connection, String sql, String participant, UUID sagaId, int step, String kind)
            throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql)) {
            query.setString(1, participant);
            query.setObject(2, sagaId);
            query.setInt(3, step);
            query.setString(4, kind);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? stored(rows, participant) : null;
            }
        }
    }

    /** Stores the reply a command of {@code kind} got at once (the caller leaves retryable failures unstored). */
    public static void save(Connection connection, String participant, SagaCommand command, String kind, Reply reply)
            throws SQLException {
        insert(connection, participant, command, kind, reply.succeeded() ? SUCCESS : FAILURE, reply, false);
    }

    /** Records a forward command as accepted with its answer deferred. */
    public static void savePending(Connection connection, String participant, SagaCommand command, String reason)
            throws SQLException {
        insert(connection, participant, command, "FORWARD", PENDING, Reply.deferred(reason), true);
    }

    private static void insert(Connection connection, String participant, SagaCommand command, String kind,
            String outcome, Reply reply, boolean deferred) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(Sql.INSERT_PARTICIPANT_REPLY)) {
            insert.setString(1, participant);
            insert.setObject(2, command.sagaId());
            insert.setInt(3, command.stepIndex());
            insert.setString(4, kind);
            insert.setString(5, command.type());
            insert.setString(6, outcome);
            insert.setBoolean(7, reply.retryable());
            insert.setString(8, reply.reason());
            insert.setString(9, reply.payload());
            insert.setObject(10, command.id());
            insert.setString(11, command.replyTo());
            insert.setString(12, command.sagaType());
            insert.setString(13, command.stepName());
            insert.setInt(14, command.attempt());
            // The command's payload is kept for whoever answers a deferred command; a reply given at once needs it not.
            if (deferred) {
                insert.setString(15, command.payload());
            } else {
                insert.setNull(15, Types.VARCHAR);
            }
            insert.setBoolean(16, deferred);
            insert.executeUpdate();
        }
    }

    /**
     * A later attempt of a pending forward command arrived: the answer is to refer to it, since the orchestrator
     * awaits that command now. An older attempt (a replay) changes nothing.
     */
    public static void retried(Connection connection, String participant, SagaCommand command) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(Sql.PENDING_RETRIED)) {
            update.setObject(1, command.id());
            update.setString(2, command.replyTo());
            update.setInt(3, command.attempt());
            update.setString(4, participant);
            update.setObject(5, command.sagaId());
            update.setInt(6, command.stepIndex());
            update.setInt(7, command.attempt());
            update.executeUpdate();
        }
    }

    /**
     * Closes a pending forward reply with {@code reply} (encoded), recording {@code closedBy}; false when it was not
     * pending.
     */
    public static boolean close(Connection connection, String participant, UUID sagaId, int step, Reply reply,
            String closedBy) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(Sql.CLOSE_PENDING)) {
            update.setString(1, reply.succeeded() ? SUCCESS : FAILURE);
            update.setString(2, reply.reason());
            update.setString(3, reply.payload());
            update.setString(4, closedBy);
            update.setString(5, participant);
            update.setObject(6, sagaId);
            update.setInt(7, step);
            return update.executeUpdate() == 1;
        }
    }

    /** A participant's pending commands, of {@code commandType} (every type when null), oldest first. */
    public static List<PendingCommand> pending(Connection connection, String participant, String commandType, int limit)
            throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.LIST_PENDING)) {
            query.setString(1, participant);
            query.setString(2, commandType);
            query.setString(3, commandType);
            query.setInt(4, limit);
            List<PendingCommand> pending = new ArrayList<>();
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    pending.add(stored(rows, participant).command());
                }
            }
            return pending;
        }
    }

    private static Stored stored(ResultSet rows, String participant) throws SQLException {
        String outcome = rows.getString(3);
        String reason = rows.getString(5);
        Reply reply = PENDING.equals(outcome) ? Reply.deferred(reason)
                : new Reply(SUCCESS.equals(outcome), rows.getBoolean(4), reason, rows.getString(6));
        Timestamp acceptedAt = rows.getTimestamp(8);
        PendingCommand command = acceptedAt == null ? null : new PendingCommand(participant,
                rows.getObject(1, UUID.class), rows.getString(11), rows.getInt(2), rows.getString(12),
                rows.getObject(9, UUID.class), rows.getString(10), rows.getInt(13), rows.getString(14),
                rows.getString(15), PENDING.equals(outcome) ? reason : null, acceptedAt.toInstant());
        return new Stored(outcome, reply, rows.getString(7), command, rows.getString(12));
    }
}
