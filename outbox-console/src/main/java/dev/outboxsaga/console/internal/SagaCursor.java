package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/**
 * Where a page of sagas ends: the (created_at, id) of its last row; the next page starts after it.
 *
 * @param createdAt the last row's creation time
 * @param id        the last row's id
 */
public record SagaCursor(Instant createdAt, UUID id) {

    /** As text for a URL or a command line: {@code <created_at ISO-8601>_<id>}. */
    public String encode() {
        return createdAt + "_" + id;
    }

    /**
     * Reads {@link #encode()}'s text.
     *
     * @throws IllegalArgumentException when the text is not a cursor
     */
    public static SagaCursor parse(String text) {
        int separator = text == null ? -1 : text.lastIndexOf('_');
        if (separator < 0) {
            throw new IllegalArgumentException("not a saga list cursor: '" + text + "'");
        }
        try {
            return new SagaCursor(Instant.parse(text.substring(0, separator)), UUID.fromString(text.substring(separator + 1)));
        } catch (DateTimeParseException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a saga list cursor: '" + text + "'");
        }
    }
}
