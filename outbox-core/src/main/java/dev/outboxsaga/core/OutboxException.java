package dev.outboxsaga.core;

/** A failure of outbox-saga itself or of the database beneath it; the cause says which. */
public class OutboxException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public OutboxException(String message, Throwable cause) {
        super(message, cause);
    }

    public OutboxException(String message) {
        super(message);
    }
}
