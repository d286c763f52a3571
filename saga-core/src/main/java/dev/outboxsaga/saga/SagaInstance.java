package dev.outboxsaga.saga;

import java.time.Instant;
import java.util.UUID;

/**
 * A saga instance as stored, for queries.
 *
 * @param id        the saga id (also the correlation id of its messages)
 * @param type      its definition's type
 * @param version   the definition version it runs on, to its end
 * @param state     where it stands
 * @param stepIndex the step in hand (0-based)
 * @param stepName  that step's name
 * @param attempt   the attempt at that step, from 1
 * @param data      the saga data as JSON
 * @param deadline  when the awaited reply times out or a retry is due, or null
 * @param lastError the last failure, or null
 * @param createdAt when it began
 * @param updatedAt when it last changed
 * @param endedAt   when it ended, or null
 */
public record SagaInstance(
        UUID id,
        String type,
        int version,
        SagaState state,
        int stepIndex,
        String stepName,
        int attempt,
        String data,
        Instant deadline,
        String lastError,
        Instant createdAt,
        Instant updatedAt,
        Instant endedAt) {
}
