package dev.outboxsaga.saga;

import dev.outboxsaga.core.RetryPolicy;
import java.time.Duration;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One step of a {@link SagaDefinition}: a command to a participant (or local work), what to do with
 * its reply, and how to compensate it. Built by {@link SagaDefinition.StepBuilder}.
 *
 * @param name                   the step's name, unique in its saga
 * @param participant            which participant receives the command (from the saga data), or null for a local step
 * @param commandType            the command's type
 * @param command                the command's payload, from the saga data
 * @param onSuccess              the saga data after a successful reply
 * @param onReply                the saga data after a successful reply read as an object, or null
 * @param local                  the local work, for a local step
 * @param compensationType       the compensating command's type (to the same participant), or null
 * @param compensation           its payload, from the saga data
 * @param localCompensation      local compensating work, for a local step, or null
 * @param timeout                how long a reply may take before the attempt counts as failed
 * @param retry                  attempts and backoff for transient failures and timeouts (forward and compensation)
 * @param condition              whether the step runs, asked of the saga data on reaching it; null: it always runs
 * @param group                  the name of the parallel group this step is a branch of
 *                               ({@link SagaDefinition.Builder#parallel}), or null for a step on its own
 */
public record SagaStep<D>(
        String name,
        Function<D, String> participant,
        String commandType,
        Function<D, Object> command,
        BiFunction<D, Reply, D> onSuccess,
        ReplyUpdate<D, ?> onReply,
        LocalAction<D> local,
        String compensationType,
        Function<D, Object> compensation,
        LocalAction<D> localCompensation,
        Duration timeout,
        RetryPolicy retry,
        Predicate<D> condition,
        String group) {

    /** A step on its own, not a branch of a parallel group. */
    public SagaStep(String name, Function<D, String> participant, String commandType, Function<D, Object> command,
            BiFunction<D, Reply, D> onSuccess, ReplyUpdate<D, ?> onReply, LocalAction<D> local, String compensationType,
            Function<D, Object> compensation, LocalAction<D> localCompensation, Duration timeout, RetryPolicy retry,
            Predicate<D> condition) {
        this(name, participant, commandType, command, onSuccess, onReply, local, compensationType, compensation,
                localCompensation, timeout, retry, condition, null);
    }

    /**
     * A typed update of the saga data from a step's success reply ({@link SagaDefinition.StepBuilder#onReply}).
     *
     * @param replyType what the reply's payload is decoded to
     * @param update    the saga data after the reply
     */
    public record ReplyUpdate<D, R>(Class<R> replyType, BiFunction<D, R, D> update) {
    }

    /** Whether the step runs locally rather than commanding a participant. */
    public boolean isLocal() {
        return local != null;
    }

    /** Whether the step is a branch of a parallel group. */
    public boolean isBranch() {
        return group != null;
    }

    /** Whether the step has anything to undo. */
    public boolean hasCompensation() {
        return compensationType != null || localCompensation != null;
    }
}
