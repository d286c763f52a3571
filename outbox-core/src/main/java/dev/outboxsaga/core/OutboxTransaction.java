package dev.outboxsaga.core;

import java.sql.Connection;
import java.util.Collection;

/**
 * An open database transaction in which the application changes its own state and appends
 * messages. Everything done through it commits or rolls back together.
 */
public interface OutboxTransaction {

    /** The transaction's connection, for the application's own statements. Do not commit or close it. */
    Connection connection();

    /** Appends one message to the outbox in this transaction. */
    void append(OutboxMessage message);

    /** Appends messages to the outbox in this transaction, in order, in one round trip. */
    void appendAll(Collection<OutboxMessage> messages);
}
