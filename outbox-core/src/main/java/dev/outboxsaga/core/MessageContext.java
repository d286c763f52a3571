package dev.outboxsaga.core;

import java.sql.Connection;

/** What a {@link MessageHandler} may use: the transaction, and the outbox for follow-up messages. */
public interface MessageContext {

    /** The transaction's connection, shared with the inbox record. Do not commit, roll back or close it. */
    Connection connection();

    /** Appends a follow-up message to the outbox in this transaction. */
    void send(OutboxMessage message);

    /**
     * A builder for a follow-up message that carries on the received message's correlation id and
     * {@code traceparent}, with the consumer's payload codec.
     */
    OutboxMessage.Builder newMessage();

    /** The received payload decoded by the consumer's {@link PayloadCodec}. */
    <T> T payload(Class<T> type);

    /** Which attempt this is at handling the message in this process, from 1. */
    int attempt();
}
