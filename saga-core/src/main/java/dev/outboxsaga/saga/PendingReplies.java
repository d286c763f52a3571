package dev.outboxsaga.saga;

import dev.outboxsaga.core.DatabaseTransactions;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.saga.internal.ParticipantReplies;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The saga commands a participant accepted without answering ({@link Reply#deferred(String)}), and the way to answer
 * them later: from another transaction, thread or process that runs no {@link SagaParticipant} (a web application
 * where a manager approves), with only the participant's database, its {@link Outbox} and its payload codec.
 *
 * <pre>{@code
 * PendingReplies pending = PendingReplies.builder().participant("inventory").build();
 * List<PendingCommand> waiting = pending.list(connection, "Reserve", 50);     // for the approval screen
 * DatabaseTransactions.inTransaction(dataSource, connection -> {
 *     markApproved(connection, sagaId);                                        // your change and the answer
 *     return pending.complete(connection, sagaId, stepIndex, Reply.success()); // commit together
 * });
 * }</pre>
 *
 * <p>{@link #complete} answers exactly as the handler would have: the reply is stored (a command sent again gets it)
 * and goes out through the outbox in the caller's transaction, referring to the latest attempt of the command the
 * participant received. A pending command is answered once: completing one that is answered already, or that the
 * saga compensated or abandoned first, is refused with a {@link NotPendingException} saying which. The step's timeout
 * runs at the orchestrator all along; an answer it no longer awaits is recorded there as late and ignored (the saga
 * has given up on the step and compensates it, which closes the pending command here).
 *
 * <p>A failure answer ({@link Reply#failure(String)}) has the saga compensate the steps before this one, not this
 * one: undo what the acceptance wrote in the same transaction as {@code complete}.
 *
 * <p>Thread-safe; holds no connection.
 */
public final class PendingReplies {

    private final String participant;
    private final Outbox outbox;
    private final PayloadCodec codec;

    private PendingReplies(Builder builder) {
        this.participant = builder.participant;
        this.outbox = builder.outbox;
        this.codec = builder.payloadCodec;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The participant whose pending commands these are. */
    public String participant() {
        return participant;
    }

    /** Up to {@code limit} pending commands of every type, oldest first. */
    public List<PendingCommand> list(Connection connection, int limit) {
        return list(connection, null, limit);
    }

    /**
     * Up to {@code limit} pending commands of {@code commandType} (every type when null), oldest first (by when
     * they were accepted).
     *
     * @throws IllegalArgumentException when {@code limit} is not positive
     */
    public List<PendingCommand> list(Connection connection, String commandType, int limit) {
        Objects.requireNonNull(connection, "connection");
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, but was " + limit);
        }
        try {
            return ParticipantReplies.pending(connection, participant, commandType, limit);
        } catch (SQLException e) {
            throw new SagaException("could not list the pending commands of participant " + participant + ": "
                    + e.getMessage(), e);
        }
    }

    /** Step {@code stepIndex} of saga {@code sagaId}, when its command is pending here. */
    public Optional<PendingCommand> find(Connection connection, UUID sagaId, int stepIndex) {
        Objects.requireNonNull(connection, "connection");
        Objects.requireNonNull(sagaId, "sagaId");
        try {
            ParticipantReplies.Stored stored = ParticipantReplies.find(connection, participant, sagaId, stepIndex,
                    SagaMessages.FORWARD);
            return stored != null && stored.pending() ? Optional.of(stored.command()) : Optional.empty();
        } catch (SQLException e) {
            throw new SagaException("could not read step " + stepIndex + " of saga " + sagaId + " at participant "
                    + participant + ": " + e.getMessage(), e);
        }
    }

    /**
     * Answers the pending command of step {@code stepIndex} of saga {@code sagaId} in the caller's transaction: the
     * stored reply becomes {@code reply}, and the reply message is appended to the outbox, to be sent once the
     * transaction commits. Locks the step's row until then, so a concurrent answer waits and is then refused. Call it
     * in the transaction that makes the decision's own changes; when it throws, roll back. Never commits.
     *
     * @param reply a success, or a business failure ({@link Reply#failure}); typed results are encoded with the
     *              payload codec
     * @return the command answered, as it was pending
     * @throws NotPendingException      when the step's command is not pending here: answered already, compensated or
     *                                  abandoned by the saga first, or unknown (never deferred here, or not arrived)
     * @throws IllegalArgumentException when {@code reply} is deferred or a retryable failure, or cannot be encoded
     * @throws IllegalStateException    when the connection is in auto-commit mode
     */
    public PendingCommand complete(Connection connection, UUID sagaId, int stepIndex, Reply reply) {
        Objects.requireNonNull(connection, "connection");
        Objects.requireNonNull(sagaId, "sagaId");
        Objects.requireNonNull(reply, "reply");
        String step = "step " + stepIndex + " of saga " + sagaId + " at participant " + participant;
        if (reply.deferred()) {
            throw new IllegalArgumentException("the answer to " + step + " is deferred already; complete it with a "
                    + "success or a failure");
        }
        if (reply.retryable()) {
            throw new IllegalArgumentException("a deferred command is answered with a success or a business failure, "
                    + "not a retryable failure (" + step + "): keep it pending, or refuse it with Reply.failure");
        }
        Reply answer = reply.encodedWith(codec);
        try {
            if (connection.getAutoCommit()) {
                throw new IllegalStateException("complete needs the caller's transaction, but the connection is in "
                        + "auto-commit mode; call setAutoCommit(false) and commit yourself, or use "
                        + "DatabaseTransactions.inTransaction");
            }
            ParticipantReplies.Stored stored = ParticipantReplies.lock(connection, participant, sagaId, stepIndex,
                    SagaMessages.FORWARD);
            if (stored == null || !stored.pending()) {
                throw notPending(stored, sagaId, stepIndex, stored == null || stored.stepName() == null ? step
                        : "step " + stepIndex + " (" + stored.stepName() + ") of saga " + sagaId + " at participant "
                                + participant);
            }
            PendingCommand command = stored.command();
            ParticipantReplies.close(connection, participant, sagaId, stepIndex, answer, ParticipantReplies.ANSWERED);
            outbox.append(connection, SagaParticipant.replyMessage(outbox.message(), sagaId, command.replyTo(),
                    command.commandId(), SagaMessages.FORWARD, stepIndex, answer));
            return command;
        } catch (SQLException e) {
            throw new SagaException("could not answer " + step + ": " + e.getMessage(), e);
        }
    }

    /** {@link #complete(Connection, UUID, int, Reply)} in a transaction of its own. */
    public PendingCommand complete(DataSource dataSource, UUID sagaId, int stepIndex, Reply reply) {
        return DatabaseTransactions.inTransaction(dataSource,
                connection -> complete(connection, sagaId, stepIndex, reply));
    }

    private NotPendingException notPending(ParticipantReplies.Stored stored, UUID sagaId, int stepIndex, String step) {
        if (stored == null) {
            return new NotPendingException(NotPendingException.Why.UNKNOWN, sagaId, stepIndex, step
                    + " is not pending: no command of that step was accepted here (unknown saga or step, or its "
                    + "command has not arrived)");
        }
        String outcome = stored.reply().succeeded() ? "success" : "failure: " + stored.reply().reason();
        if (ParticipantReplies.COMPENSATED.equals(stored.closedBy())) {
            return new NotPendingException(NotPendingException.Why.COMPENSATED, sagaId, stepIndex, step
                    + " is not pending: the saga compensated it before it was answered");
        }
        if (ParticipantReplies.ABANDONED.equals(stored.closedBy())) {
            return new NotPendingException(NotPendingException.Why.ABANDONED, sagaId, stepIndex, step
                    + " is not pending: the saga abandoned it before it was answered");
        }
        return new NotPendingException(NotPendingException.Why.ANSWERED, sagaId, stepIndex, step
                + " is not pending: it was answered already (" + outcome + ")"
                + (stored.command() == null ? ", at once by its handler" : ""));
    }

    /** Why {@link #complete} refused: the step's command is not pending at the participant. */
    public static final class NotPendingException extends RuntimeException {

        private static final long serialVersionUID = 1L;

        /** What became of the command instead. */
        public enum Why {
            /** Answered already: by an earlier {@link #complete}, or at once by its handler. */
            ANSWERED,
            /** The saga compensated the step before it was answered (its timeout passed, or the saga was cancelled). */
            COMPENSATED,
            /** The saga abandoned the step (one without compensation) before it was answered. */
            ABANDONED,
            /** No command of the step was accepted here: an unknown saga or step, or the command has not arrived. */
            UNKNOWN
        }

        private final Why why;
        private final UUID sagaId;
        private final int stepIndex;

        NotPendingException(Why why, UUID sagaId, int stepIndex, String message) {
            super(message);
            this.why = why;
            this.sagaId = sagaId;
            this.stepIndex = stepIndex;
        }

        public Why why() {
            return why;
        }

        public UUID sagaId() {
            return sagaId;
        }

        public int stepIndex() {
            return stepIndex;
        }
    }

    /** Configures {@link PendingReplies}; use the participant's own settings. */
    public static final class Builder {
        private String participant;
        private Outbox outbox = Outbox.builder().build();
        private PayloadCodec payloadCodec = JacksonPayloadCodec.create();

        private Builder() {
        }

        /** Required: the participant's name, as its {@link SagaParticipant.Builder#name} says. */
        public Builder participant(String participant) {
            this.participant = SagaMessages.requireName("participant", participant);
            return this;
        }

        /** The outbox answers go through: the participant's; default {@code Outbox.builder().build()}. */
        public Builder outbox(Outbox outbox) {
            this.outbox = Objects.requireNonNull(outbox, "outbox");
            return this;
        }

        /**
         * Encodes answers given as objects ({@link Reply#success(Object)}): the participant's codec; default
         * {@link JacksonPayloadCodec#create()}.
         */
        public Builder payloadCodec(PayloadCodec payloadCodec) {
            this.payloadCodec = Objects.requireNonNull(payloadCodec, "payloadCodec");
            return this;
        }

        public PendingReplies build() {
            if (participant == null) {
                throw new IllegalArgumentException("participant is required");
            }
            return new PendingReplies(this);
        }
    }
}
