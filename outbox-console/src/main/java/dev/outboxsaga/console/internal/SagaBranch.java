package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.UUID;

/**
 * One branch of the parallel group a saga has in hand ({@code saga_instance.branches}, sql/V11).
 *
 * @param stepIndex the branch's step index
 * @param stepName  its name, from the saga's history, or null
 * @param status    {@code PENDING}, {@code RETRY_DUE}, {@code SUCCEEDED}, {@code SKIPPED}, {@code FAILED} or
 *                  {@code GIVEN_UP}
 * @param attempt   its attempt, from 1
 * @param command   the command whose reply it awaits, or null
 * @param due       when that reply times out or its retry is due, or null
 */
public record SagaBranch(int stepIndex, String stepName, String status, int attempt, UUID command, Instant due) {
}
