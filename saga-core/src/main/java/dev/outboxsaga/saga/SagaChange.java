package dev.outboxsaga.saga;

import java.util.UUID;

/**
 * What a committed transition did that a {@link SagaListener} hears of.
 *
 * @param sagaId    the saga
 * @param sagaType  its definition's type
 * @param state     where the saga stands after the transition: the final state for an end
 * @param stepIndex the step concerned (0-based)
 * @param stepName  that step's name, or null when the saga has none at that index
 * @param event     the history event: {@code FAILED}, {@code TIMED_OUT} or {@code COMPENSATION_FAILED} for a
 *                  failed step, {@code PARKED}, or the end ({@code COMPLETED}, {@code COMPENSATED},
 *                  {@code FAILED}: the saga's state)
 * @param detail    the reason, or null
 * @param data      the saga data as JSON after the transition
 */
public record SagaChange(UUID sagaId, String sagaType, SagaState state, int stepIndex, String stepName, String event,
        String detail, String data) {
}
