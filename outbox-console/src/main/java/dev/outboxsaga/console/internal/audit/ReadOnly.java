package dev.outboxsaga.console.internal.audit;

import dev.outboxsaga.core.OutboxException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Read-only transactions on a pooled connection, left as they were found. */
final class ReadOnly {

    interface Work<R> {
        R apply(Connection connection) throws SQLException;
    }

    private ReadOnly() {
    }

    /**
     * Runs {@code work} in a read-only transaction at {@code isolation}, then rolls it back (it wrote nothing).
     *
     * @param what what is read, for the error
     */
    static <R> R inTransaction(DataSource dataSource, int isolation, String what, Work<R> work) {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            boolean readOnly = connection.isReadOnly();
            int previousIsolation = connection.getTransactionIsolation();
            try {
                connection.setAutoCommit(false);
                connection.setReadOnly(true);
                connection.setTransactionIsolation(isolation);
                return work.apply(connection);
            } finally {
                connection.rollback();
                connection.setTransactionIsolation(previousIsolation);
                connection.setReadOnly(readOnly);
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            throw new OutboxException("the audit could not read " + what + ": " + e.getMessage(), e);
        }
    }

    static boolean tableExists(Connection connection, String table) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(AuditSql.TABLE_EXISTS)) {
            statement.setString(1, table);
            try (ResultSet result = statement.executeQuery()) {
                result.next();
                return result.getBoolean(1);
            }
        }
    }
}
