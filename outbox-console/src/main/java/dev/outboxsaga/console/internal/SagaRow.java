package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.UUID;

/**
 * A saga as a list shows it.
 *
 * @param id        the saga id, also the correlation id of its messages
 * @param type      its type
 * @param version   its definition version
 * @param state     RUNNING, COMPENSATING, COMPLETED, COMPENSATED, FAILED or PARKED
 * @param stepIndex the step in hand, from 0
 * @param attempt   the attempt at that step, from 1
 * @param key       its business key, or null
 * @param lastError its last failure, or null
 * @param createdAt when it began
 * @param updatedAt when it last changed
 * @param endedAt   when it ended, or null
 */
public record SagaRow(UUID id, String type, int version, String state, int stepIndex, int attempt, String key,
        String lastError, Instant createdAt, Instant updatedAt, Instant endedAt) {

    /** The cursor that makes this row the last of its page. */
    public SagaCursor cursor() {
        return new SagaCursor(createdAt, id);
    }

    /** The actions an operator may take on a saga in this state. */
    public java.util.List<SagaAction> allowedActions() {
        return SagaAction.allowedIn(state);
    }
}
