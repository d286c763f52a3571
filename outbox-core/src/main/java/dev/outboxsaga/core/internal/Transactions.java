package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.OutboxException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** The one place where outbox-saga opens, commits and rolls back a transaction of its own. */
public final class Transactions {

    private Transactions() {
    }

    /** Work on a connection inside a transaction. */
    @FunctionalInterface
    public interface Work<R, X extends Exception> {
        R apply(Connection connection) throws X, SQLException;
    }

    /**
     * Runs {@code work} in a new transaction: commit on return, rollback on any throwable, which is
     * rethrown unchanged (SQLException wrapped in {@link OutboxException}). What the work registered with
     * {@link AfterCommit} runs after the commit, before this returns.
     */
    public static <R, X extends Exception> R inTransaction(DataSource dataSource, Work<R, X> work) throws X {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            if (autoCommit) {
                connection.setAutoCommit(false);
            }
            AfterCommit.open(connection);
            boolean committed = false;
            try {
                R result = work.apply(connection);
                connection.commit();
                committed = true;
                return result;
            } catch (Throwable failure) {
                rollbackQuietly(connection, failure);
                if (failure instanceof SQLException sql) {
                    throw new OutboxException("transaction failed: " + sql.getMessage(), sql);
                }
                throw failure;
            } finally {
                AfterCommit.close(committed);
                if (autoCommit) {
                    connection.setAutoCommit(true);
                }
            }
        } catch (SQLException e) {
            throw new OutboxException("could not open, commit or close a transaction: " + e.getMessage(), e);
        }
    }

    private static void rollbackQuietly(Connection connection, Throwable failure) {
        try {
            connection.rollback();
        } catch (SQLException rollbackFailure) {
            failure.addSuppressed(rollbackFailure);
        }
    }
}
