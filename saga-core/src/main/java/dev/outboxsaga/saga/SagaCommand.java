package dev.outboxsaga.saga;

import java.util.UUID;

/**
 * A command a participant received from a saga.
 *
 * @param id           the command (message) id; the reply refers to it
 * @param sagaId       the saga
 * @param sagaType     the saga's type
 * @param stepIndex    the step, from 0
 * @param stepName     the step's name
 * @param type         the command type, e.g. {@code Debit}
 * @param compensation whether it undoes the step
 * @param attempt      the attempt, from 1 (a retry carries the same step and kind)
 * @param payload      the command's JSON payload
 * @param replyTo      where the reply goes
 */
public record SagaCommand(
        UUID id,
        UUID sagaId,
        String sagaType,
        int stepIndex,
        String stepName,
        String type,
        boolean compensation,
        int attempt,
        String payload,
        String replyTo) {
}
