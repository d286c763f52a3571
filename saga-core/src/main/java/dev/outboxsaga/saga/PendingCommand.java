package dev.outboxsaga.saga;

import java.time.Instant;
import java.util.UUID;

/**
 * A saga command a participant accepted without answering yet ({@link Reply#deferred(String)}): what an approval
 * screen lists ({@link PendingReplies#list}) and what {@link PendingReplies#complete} answers.
 *
 * @param participant the participant that accepted it
 * @param sagaId      the saga
 * @param sagaType    the saga's type
 * @param stepIndex   the step, from 0; with {@code sagaId} it names the pending command
 * @param stepName    the step's name
 * @param commandId   the command the answer will refer to: the latest attempt received, the one the orchestrator awaits
 * @param commandType the command type, e.g. {@code Reserve}
 * @param attempt     that command's attempt, from 1
 * @param payload     the command's JSON payload
 * @param replyTo     where the answer goes (the orchestrator's reply channel)
 * @param reason      why the answer waits, as the handler said ({@link Reply#deferred(String)}), or null
 * @param acceptedAt  when the handler deferred the answer (the database's clock)
 */
public record PendingCommand(
        String participant,
        UUID sagaId,
        String sagaType,
        int stepIndex,
        String stepName,
        UUID commandId,
        String commandType,
        int attempt,
        String payload,
        String replyTo,
        String reason,
        Instant acceptedAt) {
}
