package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.PayloadCodec;
import java.sql.Connection;

/** The {@link MessageContext} of one handler call. */
public final class HandlerContext implements MessageContext {

    private final Connection connection;
    private final InboundMessage message;
    private final int attempt;
    private final Outbox outbox;
    private final PayloadCodec payloadCodec;

    public HandlerContext(Connection connection, InboundMessage message, int attempt, Outbox outbox,
            PayloadCodec payloadCodec) {
        this.connection = connection;
        this.message = message;
        this.attempt = attempt;
        this.outbox = outbox;
        this.payloadCodec = payloadCodec;
    }

    @Override
    public Connection connection() {
        return connection;
    }

    @Override
    public void send(OutboxMessage outgoing) {
        outbox.append(connection, outgoing);
    }

    @Override
    public OutboxMessage.Builder newMessage() {
        return OutboxMessage.builder(payloadCodec)
                .correlationId(message.correlationId())
                .traceparent(message.traceparent());
    }

    @Override
    public <T> T payload(Class<T> type) {
        return payloadCodec.decode(message.payload(), type);
    }

    @Override
    public int attempt() {
        return attempt;
    }
}
