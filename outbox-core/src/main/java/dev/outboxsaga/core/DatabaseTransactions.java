package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Runs the caller's code in a transaction on a connection of a {@link DataSource}, for work that needs no
 * {@link Outbox} of its own: e.g. inserting a business row and starting a saga on the same connection.
 * To append outbox messages as well, {@link Outbox#inTransaction(DataSource, TransactionCallback)} gives the
 * same transaction with {@link OutboxTransaction#append}.
 *
 * <pre>{@code
 * UUID sagaId = DatabaseTransactions.inTransaction(dataSource, connection -> {
 *     insertTransfer(connection, transfer);
 *     return sagas.begin(connection, TRANSFER, transfer);
 * });
 * }</pre>
 */
public final class DatabaseTransactions {

    private DatabaseTransactions() {
    }

    /**
     * Work on the transaction's connection. It may throw its own checked exception, which reaches the caller
     * unchanged, and {@link SQLException}, which reaches the caller wrapped in an {@link OutboxException}.
     * It must not commit, roll back or close the connection.
     *
     * @param <R> the result
     * @param <X> the exception the work may throw
     */
    @FunctionalInterface
    public interface Work<R, X extends Exception> {
        R apply(Connection connection) throws X, SQLException;
    }

    /**
     * Runs {@code work} in a new transaction on a connection from {@code dataSource}: commits when it returns,
     * rolls back when it throws (and rethrows), and always returns the connection to the pool. The transaction
     * runs at the connection's default isolation level (PostgreSQL's READ COMMITTED unless the pool sets
     *
     * @return what {@code work} returned
     * @throws X               what the work throws
     * @throws OutboxException when the database fails to begin or commit, or the work throws an SQLException
     */
    public static <R, X extends Exception> R inTransaction(DataSource dataSource, Work<R, X> work) throws X {
        Objects.requireNonNull(dataSource, "dataSource");
        Objects.requireNonNull(work, "work");
        return Transactions.inTransaction(dataSource, work::apply);
    }
}
