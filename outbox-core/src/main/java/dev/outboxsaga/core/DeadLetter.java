package dev.outboxsaga.core;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A parked message: a record that could not be handled, kept with its reason and original bytes.
 *
 * @param id             the dead letter's own id
 * @param consumer       the consumer that parked it
 * @param messageId      the message id, or null when the record carried none that could be read
 * @param topic          where the record was read
 * @param partition      its partition
 * @param offset         its offset
 * @param key            the original key bytes, or null
 * @param value          the original value bytes, or null
 * @param headers        the original headers, in order
 * @param errorClass     the class of the last failure
 * @param errorMessage   its message
 * @param errorStack     its stack trace
 * @param attempts       how many times it was tried (0 when it could not be read at all)
 * @param status         {@code PARKED}, {@code REPLAYED} or {@code DISCARDED}
 * @param parkedAt       when it was parked
 * @param resolvedAt     when it was replayed or discarded, or null
 * @param resolutionNote the operator's note on discarding, or null
 */
public record DeadLetter(
        long id,
        String consumer,
        UUID messageId,
        String topic,
        int partition,
        long offset,
        byte[] key,
        byte[] value,
        List<Header> headers,
        String errorClass,
        String errorMessage,
        String errorStack,
        int attempts,
        Status status,
        Instant parkedAt,
        Instant resolvedAt,
        String resolutionNote) {

    /** Where a dead letter stands. */
    public enum Status { PARKED, REPLAYED, DISCARDED }

    /** One original record header. */
    public record Header(String key, byte[] value) {
        /** The value as UTF-8 text, or null. */
        public String text() {
            return value == null ? null : new String(value, StandardCharsets.UTF_8);
        }
    }

    public DeadLetter {
        headers = List.copyOf(headers);
    }

    /** The original value as UTF-8 text, or null. */
    public String valueText() {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }
}
