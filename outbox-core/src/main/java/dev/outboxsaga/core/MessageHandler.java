package dev.outboxsaga.core;

/**
 * Applies one message inside the consumer's database transaction. Whatever it does through
 * {@link MessageContext#connection()} and {@link MessageContext#send(OutboxMessage)} commits
 * together with the inbox record, so its effect happens once however often Kafka delivers.
 *
 * <p>Throwing rolls the transaction back; the consumer retries per its {@link RetryPolicy}, then
 * parks the message as a dead letter. A handler must not commit, roll back or close the connection.
 */
@FunctionalInterface
public interface MessageHandler {

    void handle(InboundMessage message, MessageContext context) throws Exception;
}
