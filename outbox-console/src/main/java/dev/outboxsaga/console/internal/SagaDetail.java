package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.List;

/**
 * Everything the saga page shows.
 *
 * @param saga     the saga
 * @param stepName the name of the step in hand, from its history, or null
 * @param data     the saga data as JSON
 * @param deadline when the awaited reply times out or a retry is due, or null
 * @param history  its timeline, oldest first
 * @param branches the branches of the parallel group in hand, in declaration order; empty when none is
 * @param actions  the operator actions on it, newest first
 */
public record SagaDetail(SagaRow saga, String stepName, String data, Instant deadline, List<SagaHistoryEntry> history,
        List<SagaBranch> branches, List<OperatorAction> actions) {
    public SagaDetail {
        history = List.copyOf(history);
        branches = List.copyOf(branches);
        actions = List.copyOf(actions);
    }

    /** Whether an action on the saga waits for its service. */
    public boolean actionPending() {
        return actions.stream().anyMatch(OperatorAction::pending);
    }
}
