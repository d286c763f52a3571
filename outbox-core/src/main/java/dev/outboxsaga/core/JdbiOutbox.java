package dev.outboxsaga.core;

import java.util.Collection;
import org.jdbi.v3.core.Handle;

/**
 * Appends to an {@link Outbox} inside a Jdbi {@link Handle}'s transaction. A class of its own so that
 * {@link Outbox} compiles and runs without Jdbi on the class path.
 *
 * <pre>{@code
 * jdbi.useTransaction(handle -> {
 *     handle.execute("UPDATE account SET balance = balance - ? WHERE id = ?", amount, id);
 *     JdbiOutbox.append(outbox, handle, message);
 * });
 * }</pre>
 */
public final class JdbiOutbox {

    private JdbiOutbox() {
    }

    /** {@link Outbox#append(java.sql.Connection, OutboxMessage)} on the handle's connection. */
    public static void append(Outbox outbox, Handle handle, OutboxMessage message) {
        outbox.append(handle.getConnection(), message);
    }

    /** {@link Outbox#appendAll(java.sql.Connection, Collection)} on the handle's connection. */
    public static void appendAll(Outbox outbox, Handle handle, Collection<OutboxMessage> messages) {
        outbox.appendAll(handle.getConnection(), messages);
    }
}
