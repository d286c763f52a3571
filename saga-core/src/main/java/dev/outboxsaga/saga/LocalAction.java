package dev.outboxsaga.saga;

import java.sql.Connection;

/**
 * Work a saga step does in the orchestrator's own database, in the transaction that advances the
 * saga. Returns the (possibly changed) saga data; throwing fails the step.
 *
 * @param <D> the saga data
 */
@FunctionalInterface
public interface LocalAction<D> {

    D apply(Connection connection, D data) throws Exception;
}
