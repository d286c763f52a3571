package dev.outboxsaga.relay;

/**
 * The relay stopped on a condition it must not paper over (a dropped or invalidated replication slot,
 * a publication that does not cover the outbox), so an operator has to act. The message says what and how.
 */
public final class RelayFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public RelayFailedException(String message) {
        super(message);
    }

    public RelayFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
