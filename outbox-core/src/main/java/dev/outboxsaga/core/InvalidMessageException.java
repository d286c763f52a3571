package dev.outboxsaga.core;

/**
 * A message was refused before anything was written, because one of its fields is invalid.
 * {@link #field()} names the field; the message says what is wrong with it.
 */
public final class InvalidMessageException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String field;

    public InvalidMessageException(String field, String problem) {
        super(field + " " + problem);
        this.field = field;
    }

    /** The name of the offending field, e.g. {@code aggregateId} or {@code payload}. */
    public String field() {
        return field;
    }
}
