package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.HandlerContext;
import dev.outboxsaga.core.internal.InboxStore;
import dev.outboxsaga.core.internal.RecordReader;
import dev.outboxsaga.core.internal.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The parked messages of one {@link InboxConsumer}: list them, replay them through the consumer's
 * handler once the cause is fixed, or discard them with a note. Obtained from
 * {@link InboxConsumer#deadLetters()}; usable whether or not the consumer is running.
 */
public final class DeadLetterQueue {

    private final DataSource dataSource;
    private final InboxStore store;
    private final MessageHandler handler;
    private final Outbox outbox;
    private final PayloadCodec payloadCodec;

    DeadLetterQueue(DataSource dataSource, InboxStore store, MessageHandler handler, Outbox outbox,
            PayloadCodec payloadCodec) {
        this.dataSource = dataSource;
        this.store = store;
        this.handler = handler;
        this.outbox = outbox;
        this.payloadCodec = payloadCodec;
    }

    /** Parked (unresolved) dead letters, oldest first, at most {@code limit}. */
    public List<DeadLetter> parked(int limit) {
        return list(DeadLetter.Status.PARKED, 0, limit);
    }

    /**
     * Dead letters in id order after {@code afterId} (0 for the first page), at most {@code limit}.
     *
     * @param status only those in this status, or every status when null
     */
    public List<DeadLetter> list(DeadLetter.Status status, long afterId, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, but was " + limit);
        }
        return Transactions.inTransaction(dataSource, connection -> store.list(connection, status, afterId, limit));
    }

    /** One dead letter by id. */
    public Optional<DeadLetter> find(long id) {
        return Optional.ofNullable(Transactions.inTransaction(dataSource, connection -> store.find(connection, id, false)));
    }

    /** How many dead letters wait for an operator. */
    public long countParked() {
        return Transactions.inTransaction(dataSource, store::countParked);
    }

    /**
     * Runs the consumer's handler once more on a parked message, in one transaction with marking it
     * {@code REPLAYED}; so a replay takes effect at most once, even if called twice. The message's
     * inbox row (kept by {@link InboxConsumer#purgeInbox} while the dead letter is parked) turns from
     * {@code PARKED} to {@code PROCESSED} in the same transaction, so a redelivery of the original
     * record after the replay is skipped; a message that was processed otherwise meanwhile is marked
     * {@code REPLAYED} without running the handler, with a note saying so.
     *
     * @throws IllegalStateException when no parked dead letter has this id, or it has no message id
     * @throws OutboxException       when the handler fails again; the failure is recorded on the
     *                               dead letter, which stays parked
     */
    public void replay(long id) {
        try {
            Transactions.inTransaction(dataSource, connection -> replay(connection, id));
        } catch (ReplayFailed handlerFailure) {
            Transactions.inTransaction(dataSource, connection -> {
                recordReplayFailure(connection, id, handlerFailure.getCause());
                return null;
            });
            throw handlerFailure;
        } catch (IllegalStateException notReplayable) {
            throw notReplayable;
        } catch (Exception failure) {
            Transactions.inTransaction(dataSource, connection -> {
                recordReplayFailure(connection, id, failure);
                return null;
            });
            throw new OutboxException("replay of dead letter " + id + " failed again: " + failure, failure);
        }
    }

    /** The handler failed on a replay; the cause is its failure. */
    static final class ReplayFailed extends OutboxException {

        private static final long serialVersionUID = 1L;

        ReplayFailed(long id, Exception handlerFailure) {
            super("replay of dead letter " + id + " failed again: " + handlerFailure, handlerFailure);
        }
    }

    /**
     * {@link #replay(long)} in the caller's transaction, which must commit for it to take effect (an operator
     * action records its outcome in it); a failure is the caller's to record with
     * {@link #recordReplayFailure}.
     *
     * @return what the replay did
     * @throws ReplayFailed          when the handler fails
     * @throws IllegalStateException when the dead letter cannot be replayed: not parked, or without message id
     */
    String replay(Connection connection, long id) throws Exception {
        DeadLetter deadLetter = store.find(connection, id, true);
        if (deadLetter == null) {
            throw new IllegalStateException("no parked dead letter " + id + " for consumer " + store.consumer());
        }
        if (deadLetter.messageId() == null) {
            throw new IllegalStateException("dead letter " + id + " has no message id, so a replay could not "
                    + "be deduplicated; discard it and republish the message with an id instead");
        }
        ConsumerRecord<byte[], byte[]> record = RecordReader.original(deadLetter);
        InboundMessage message = RecordReader.read(record);
        // The inbox row is claimed before the handler runs, as a consumer would: a message that a
        // redelivery processed meanwhile (its PARKED row purged by an older version) is not applied again.
        boolean apply = store.markProcessed(connection, deadLetter.messageId())
                || store.claim(connection, deadLetter.messageId(), InboxStore.PROCESSED, record);
        if (apply) {
            try {
                handler.handle(message, new HandlerContext(connection, message, deadLetter.attempts() + 1, outbox,
                        payloadCodec));
            } catch (Exception handlerFailure) {
                // Told apart from the refusals above, whatever the handler throws (an IllegalStateException too).
                throw new ReplayFailed(id, handlerFailure);
            }
        }
        String note = apply ? null : "already processed by a redelivery; the handler was not run again";
        store.resolve(connection, id, DeadLetter.Status.REPLAYED, note);
        return note == null ? "replayed dead letter " + id + ": the handler ran" : "dead letter " + id + " " + note;
    }

    /**
     * Records a replay's failure on the dead letter (its error and one more attempt), which stays parked, in the
     * caller's transaction. Not for a dead letter that could not be replayed at all ({@link IllegalStateException}).
     */
    void recordReplayFailure(Connection connection, long id, Throwable failure) throws SQLException {
        store.recordReplayFailure(connection, id, failure);
    }

    /**
     * Marks a parked message {@code DISCARDED} with the operator's note; it stays in the table. Its
     * inbox row stays {@code PARKED} (a redelivery is skipped) until {@link InboxConsumer#purgeInbox}
     * removes it with the other old rows.
     *
     * @throws IllegalStateException when no parked dead letter has this id
     */
    public void discard(long id, String note) {
        boolean discarded = Transactions.inTransaction(dataSource,
                connection -> store.resolve(connection, id, DeadLetter.Status.DISCARDED, note));
        if (!discarded) {
            throw new IllegalStateException("no parked dead letter " + id + " for consumer " + store.consumer());
        }
    }
}
