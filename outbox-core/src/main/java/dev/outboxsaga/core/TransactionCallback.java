package dev.outboxsaga.core;

/**
 * Work done inside a transaction opened by {@link Outbox#inTransaction}. It may throw its own
 * checked exception, which rolls the transaction back and reaches the caller unchanged.
 *
 * @param <R> the result
 * @param <X> the exception the work may throw
 */
@FunctionalInterface
public interface TransactionCallback<R, X extends Exception> {

    R apply(OutboxTransaction transaction) throws X;
}
