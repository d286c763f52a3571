package dev.outboxsaga.saga;

import java.time.Instant;
import java.util.UUID;

/**
 * One entry of a saga's history.
 *
 * @param seq       order of entries across all sagas
 * @param sagaId    the saga
 * @param stepIndex the step it concerns
 * @param stepName  that step's name, or a branch's for an entry about one branch of a parallel group; the group's
 *                  name for an entry about the whole group ({@code CANCELLED}, {@code DEADLINE_PASSED}), recorded
 *                  at the index of its first branch
 * @param event     what happened: {@code STARTED}, {@code COMMAND_SENT}, {@code SUCCEEDED}, {@code FAILED},
 *                  {@code TIMED_OUT}, {@code RETRY_SCHEDULED}, {@code COMPENSATION_SENT}, {@code COMPENSATED},
 *                  {@code COMPENSATION_FAILED}, {@code LATE_REPLY_IGNORED}, {@code PARKED}, {@code REPAIR_RETRY},
 *                  {@code REPAIRED}, {@code COMPLETED}, {@code ENDED_COMPENSATED}, {@code ENDED_FAILED}
 * @param detail    free text: a reason, a command id
 * @param at        when
 */
public record SagaEvent(long seq, UUID sagaId, int stepIndex, String stepName, String event, String detail, Instant at) {
}
