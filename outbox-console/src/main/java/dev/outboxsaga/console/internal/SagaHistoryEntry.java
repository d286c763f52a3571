package dev.outboxsaga.console.internal;

import java.time.Instant;

/**
 * One step of a saga's timeline ({@code saga_event}).
 *
 * @param seq       order across all sagas
 * @param stepIndex the step it concerns
 * @param stepName  that step's name, or null
 * @param event     what happened: STARTED, COMMAND_SENT, SUCCEEDED, FAILED, TIMED_OUT, RETRY_SCHEDULED,
 *                  COMPENSATION_SENT, COMPENSATED, COMPENSATION_FAILED, LATE_REPLY_IGNORED, PARKED, REPAIR_RETRY,
 *                  REPAIRED, COMPLETED, ENDED_COMPENSATED, ENDED_FAILED, ...
 * @param detail    a reason or a command id, or null
 * @param at        when
 */
public record SagaHistoryEntry(long seq, int stepIndex, String stepName, String event, String detail, Instant at) {
}
