package dev.outboxsaga.core.internal;

import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/** Tells database failures that a later attempt can overcome from those that will happen again. */
public final class DatabaseFailures {

    private DatabaseFailures() {
    }

    /**
     * Whether {@code failure}, or any of its causes, is a transient database failure: a later
     * transaction may well succeed. True for PostgreSQL's SQLState classes 08 (connection exception),
     * 40 (transaction rollback: serialization failure 40001, deadlock 40P01) and 53 (insufficient
     * resources), for 55P03 (lock not available, e.g. {@code lock_timeout}), 57P01 to 57P03 (server
     * shutting down, crashed, starting) and 57014 (statement cancelled, e.g. {@code statement_timeout}),
     * for JDBC's {@link SQLTransientException} and {@link SQLRecoverableException} (a pool that had no
     * connection in time), and for timeouts ({@link java.net.SocketTimeoutException},
     * {@link TimeoutException}).
     */
    public static boolean isTransient(Throwable failure) {
        return anyCause(failure, cause -> cause instanceof SQLTransientException
                || cause instanceof SQLRecoverableException || cause instanceof java.net.SocketTimeoutException
                || cause instanceof TimeoutException
                || cause instanceof SQLException sql && transientState(sql.getSQLState()));
    }

    /** Whether {@code failure} or any of its causes is one that {@code test} accepts. */
    public static boolean anyCause(Throwable failure, Predicate<Throwable> test) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (test.test(cause)) {
                return true;
            }
            if (cause.getCause() == cause) {
                return false;
            }
        }
        return false;
    }

    /** Whether {@code failure} or any of its causes carries an SQLState that {@code test} accepts. */
    public static boolean anySqlState(Throwable failure, Predicate<String> test) {
        return anyCause(failure, cause -> cause instanceof SQLException sql && sql.getSQLState() != null
                && test.test(sql.getSQLState()));
    }

    static boolean transientState(String state) {
        if (state == null || state.length() != 5) {
            return false;
        }
        return state.startsWith("08") || state.startsWith("40") || state.startsWith("53")
                || state.equals("55P03") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")
                || state.equals("57014");
    }
}
