package dev.outboxsaga.saga;

import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.InvalidMessageException;
import dev.outboxsaga.core.MessageContext;
import java.util.UUID;

/**
 * What an {@link EventHandler} may use: the transaction's connection for the service's own writes, the event
 * as received, and {@link #emit} for the service's own events, appended to its outbox in the same transaction.
 */
public interface EventContext extends MessageContext {

    /**
     * The event as received: its message id, the aggregate id ({@link InboundMessage#key()}), type, headers,
     * correlation id, topic and offset.
     */
    InboundMessage message();

    /**
     * Appends an event of this service to its outbox in the handler's transaction, published (by the
     * service's relay) on {@code outbox.event.<aggregateType>} with key {@code aggregateId}. It carries on the
     * received event's correlation id and {@code traceparent}; {@code payload} is encoded by the payload codec
     * (an object with the default Jackson codec, or JSON text). For further headers, build the message with
     * {@link #newMessage()} and {@link #send}.
     *
     * @return the emitted message's id
     * @throws InvalidMessageException naming the field, when a name is blank or too long, or the payload is null
     *                                 or cannot be encoded; like any failure of the handler, it rolls back
     */
    UUID emit(String aggregateType, String aggregateId, String eventType, Object payload);
}
