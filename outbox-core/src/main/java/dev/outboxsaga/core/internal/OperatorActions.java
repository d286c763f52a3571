package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.OutboxException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the operator actions that the console and the CLI leave {@code PENDING} in {@code operator_action}
 * ({@code sql/V8__operations.sql}) for one target kind and a set of scopes: a consumer's dead-letter replays, an
 * orchestrator's saga repairs and cancels.
 *
 * <p>Each action has a transaction of its own, which claims it ({@code FOR UPDATE SKIP LOCKED}, oldest first: several
 * processes share the work and none runs an action another holds), carries out its effect and records it
 * {@code DONE} with what it did. Effect and record commit together or not at all, so a crash can neither lose an
 * effect that was recorded nor record one that was lost; an action whose transaction did not commit is still
 * pending and runs again. A failing effect (or commit) rolls that transaction back, and a second one records the
 * action {@code FAILED} with the reason, together with what the failure must leave behind
 * ({@link Executor#failed}). A failed action is not tried again: the operator sees why and decides. One
 * transaction per action, not per batch, so that one action's failure, even at commit, never rolls back or
 * repeats another's effect. Only when the second transaction fails as well (the database unreachable) does the
 * action stay pending, for a later poll.
 */
public final class OperatorActions implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OperatorActions.class);

    /** {@code target_kind} of saga repairs and cancels; the scope is the saga type. */
    public static final String SAGA = "SAGA";
    /** {@code target_kind} of dead-letter actions; the scope is the consumer's name. */
    public static final String DEAD_LETTER = "DEAD_LETTER";
    /** The table, in the connection's default schema unless qualified. */
    public static final String TABLE = "operator_action";

    /** One pending action, as the console or the CLI wrote it. */
    public record Action(long id, String actor, String action, String targetId, String scope, String note) {
    }

    /** Carries out the actions of one target kind. */
    public interface Executor {

        /**
         * Carries out {@code action} on {@code connection}, in the transaction that then records it {@code DONE}.
         * Must not commit or roll back.
         *
         * @return what it did, for the action's outcome
         * @throws Exception when the action cannot be carried out: an unknown action, a target in the wrong
         *                   state, a handler failing again; the action is recorded {@code FAILED} with it
         */
        String execute(Connection connection, Action action) throws Exception;

        /** After {@link #execute} failed, in the transaction that records the action {@code FAILED}. */
        default void failed(Connection connection, Action action, Throwable failure) throws SQLException {
        }
    }

    private final DataSource dataSource;
    private final Sql.OperatorAction sql;
    private final String targetKind;
    private final String[] scopes;
    private final Executor executor;
    private final String owner;
    private ScheduledExecutorService poller;
    private volatile boolean closed;
    /** Touched by the polling thread only. */
    private String lastPollFailure;

    /**
     * @param table      the operator action table, qualified or not
     * @param targetKind {@link #SAGA} or {@link #DEAD_LETTER}
     * @param scopes     the scopes this process carries out
     * @param owner      who carries them out, for logs and the thread's name
     */
    public OperatorActions(DataSource dataSource, String table, String targetKind, Collection<String> scopes,
            Executor executor, String owner) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.sql = Sql.OperatorAction.forTable(table);
        this.targetKind = Objects.requireNonNull(targetKind, "targetKind");
        this.scopes = scopes.toArray(String[]::new);
        this.executor = Objects.requireNonNull(executor, "executor");
        this.owner = owner;
    }

    /**
     * Polls for pending actions every {@code interval} on a daemon thread of its own while {@code active} holds;
     * does nothing for a zero interval.
     */
    public synchronized void start(Duration interval, BooleanSupplier active) {
        if (interval.isZero() || scopes.length == 0 || closed) {
            return;
        }
        if (poller != null) {
            throw new IllegalStateException("operator actions of " + owner + " are polled already");
        }
        poller = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "operator-actions-" + owner);
            thread.setDaemon(true);
            return thread;
        });
        long millis = Math.max(1, interval.toMillis());
        poller.scheduleWithFixedDelay(() -> poll(active), millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Stops polling after the action in hand; waits up to 10 s for it. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        if (poller == null) {
            return;
        }
        poller.shutdown();
        try {
            if (!poller.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("operator actions of {}: the action in hand did not finish within 10 s of close", owner);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void poll(BooleanSupplier active) {
        try {
            runPending(() -> !closed && active.getAsBoolean());
            lastPollFailure = null;
        } catch (RuntimeException | LinkageError | AssertionError e) {
            // Stopped by a failure that could not even be recorded (the database down, the table missing): what is
            // pending stays so. The same failure poll after poll is logged once, not every second.
            String failure = e.toString();
            if (failure.equals(lastPollFailure)) {
                LOG.debug("operator actions of {}: polling still fails: {}", owner, failure);
            } else {
                LOG.warn("operator actions of {}: polling failed, trying again on each poll (is sql/V8__operations.sql "
                        + "applied?): {}", owner, failure);
            }
            lastPollFailure = failure;
        }
    }

    /**
     * Carries out pending actions, oldest first, one transaction each, until none is left or {@code keepGoing}
     * turns false.
     *
     * @return how many were carried out or recorded as failed
     * @throws OutboxException when claiming, or recording a failure, fails; the action stays pending
     */
    public int runPending(BooleanSupplier keepGoing) {
        int handled = 0;
        while (keepGoing.getAsBoolean()) {
            Action[] claimed = new Action[1];
            String outcome;
            try {
                outcome = Transactions.inTransaction(dataSource, connection -> {
                    Action action = claim(connection);
                    if (action == null) {
                        return null;
                    }
                    claimed[0] = action;
                    String did = Objects.requireNonNullElse(executor.execute(connection, action), "done");
                    record(connection, sql.markDone(), action, did);
                    return did;
                });
            } catch (VirtualMachineError fatal) {
                throw fatal;
            } catch (Exception | Error failure) {
                if (claimed[0] == null) {
                    throw failure instanceof RuntimeException runtime ? runtime
                            : new OutboxException("could not claim an operator action: " + failure, failure);
                }
                recordFailure(claimed[0], failure);
                handled++;
                continue;
            }
            if (outcome == null) {
                return handled;
            }
            Action action = claimed[0];
            LOG.info("operator action {} of {}: {} {} {} by {}: DONE, {}", action.id(), owner, action.action(),
                    targetKind, action.targetId(), action.actor(), outcome);
            handled++;
        }
        return handled;
    }

    private void recordFailure(Action action, Throwable failure) {
        String reason = reason(failure);
        try {
            Transactions.inTransaction(dataSource, connection -> {
                // Zero rows when the action is no longer pending: another process carried it out meanwhile, or the
                // failure was the report of a commit that did happen.
                if (record(connection, sql.markFailed(), action, reason)) {
                    executor.failed(connection, action, failure);
                }
                return null;
            });
        } catch (RuntimeException recordFailure) {
            recordFailure.addSuppressed(failure);
            throw new OutboxException("operator action " + action.id() + " failed (" + reason
                    + ") and the failure could not be recorded; it stays PENDING: " + recordFailure, recordFailure);
        }
        LOG.warn("operator action {} of {}: {} {} {} by {}: FAILED, {}", action.id(), owner, action.action(),
                targetKind, action.targetId(), action.actor(), reason);
    }

    /** A refusal's or the library's message is written for the operator; any other failure is named by its class too. */
    static String reason(Throwable failure) {
        if ((failure instanceof IllegalStateException || failure instanceof IllegalArgumentException
                || failure instanceof OutboxException) && failure.getMessage() != null) {
            return failure.getMessage();
        }
        return failure.toString();
    }

    private Action claim(Connection connection) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.claimOldest())) {
            query.setString(1, targetKind);
            query.setArray(2, connection.createArrayOf("text", scopes));
            try (ResultSet rows = query.executeQuery()) {
                if (!rows.next()) {
                    return null;
                }
                return new Action(rows.getLong(1), rows.getString(2), rows.getString(3), rows.getString(4),
                        rows.getString(5), rows.getString(6));
            }
        }
    }

    private static boolean record(Connection connection, String statement, Action action, String outcome)
            throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(statement)) {
            update.setString(1, outcome);
            update.setLong(2, action.id());
            return update.executeUpdate() == 1;
        }
    }
}
