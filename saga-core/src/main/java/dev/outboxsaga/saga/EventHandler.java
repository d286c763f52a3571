package dev.outboxsaga.saga;

/**
 * Reacts to one type of another service's event, in the consumer's database transaction: what it writes
 * through {@code context.connection()} and emits through {@link EventContext#emit} commits together with the
 * inbox record, so the reaction happens once however often the event is delivered.
 *
 * <p>Throwing rolls the transaction back (the emitted events with it); the event is retried per the
 * {@linkplain EventHandlers.Builder#retry retry policy}, then parked as a dead letter, and later events go on.
 * A handler must not commit, roll back or close the connection.
 *
 * @param <T> the event's payload type, decoded by the {@linkplain EventHandlers.Builder#payloadCodec payload codec}
 */
@FunctionalInterface
public interface EventHandler<T> {

    void handle(T event, EventContext context) throws Exception;
}
