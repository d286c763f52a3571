package dev.outboxsaga.saga;

/**
 * A saga message or instance outbox-saga cannot process: an unknown saga type or version, a reply for
 * an unknown saga, malformed saga data, a command without a handler. Never retried; the message is
 * parked with this as its reason.
 */
public final class SagaException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SagaException(String message) {
        super(message);
    }

    public SagaException(String message, Throwable cause) {
        super(message, cause);
    }
}
