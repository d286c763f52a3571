package dev.outboxsaga.core;

/**
 * Names of the Kafka record headers that outbox-saga writes and reads. The relay writes the outbox
 * row's id as {@value #ID} (as Debezium's outbox event router does), its type as {@value #TYPE}
 * (the router's documented {@code type:header:eventType} placement), and the columns below.
 */
public final class MessageHeaders {

    /** The message id, a UUID in text; the inbox deduplicates on it. */
    public static final String ID = "id";
    /** The message type (the outbox {@code type} column). */
    public static final String TYPE = "eventType";
    /** The correlation (saga) id, when the message has one. */
    public static final String CORRELATION_ID = "correlationId";
    /** A W3C trace context, when the message carries one. */
    public static final String TRACEPARENT = "traceparent";

    private MessageHeaders() {
    }

    /** Whether {@code name} is one of the headers above, which applications may not set by hand. */
    public static boolean isReserved(String name) {
        return ID.equals(name) || TYPE.equals(name) || CORRELATION_ID.equals(name);
    }
}
