package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.UUID;

/**
 * A dead letter as a list shows it.
 *
 * @param id           its id
 * @param consumer     the consumer that parked it
 * @param messageId    the message id, or null when the record had none that could be read
 * @param topic        where the record was read
 * @param partition    its partition
 * @param offset       its offset
 * @param errorClass   the class of the last failure
 * @param errorMessage its message, or null
 * @param attempts     how often it was tried
 * @param status       PARKED, REPLAYED or DISCARDED
 * @param parkedAt     when it was parked
 * @param resolvedAt   when it was replayed or discarded, or null
 */
public record DeadLetterRow(long id, String consumer, UUID messageId, String topic, int partition, long offset,
        String errorClass, String errorMessage, int attempts, String status, Instant parkedAt, Instant resolvedAt) {

    /** Whether it waits for an operator. */
    public boolean parked() {
        return "PARKED".equals(status);
    }

    /** Whether a replay can be queued: parked, with a message id to deduplicate it by. */
    public boolean replayable() {
        return parked() && messageId != null;
    }
}
