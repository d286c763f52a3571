package dev.outboxsaga.saga;

/**
 * Hears of what the sagas of one orchestrator did, once the transition's transaction has committed: never of a
 * transition that rolled back, and once per committed transition. Register with
 * {@link SagaOrchestrator.Builder#listener(SagaListener)}; implement only the methods you need.
 *
 * <p>Called on the orchestrator's own threads (its reply consumer, its timer, or the thread of an admin call),
 * right after the commit: keep it short, or hand the work to an executor of your own. A listener that throws is
 * logged and skipped; the saga and the other listeners go on. Only transitions persisted by this orchestrator (or
 * its {@link SagaAdmin}) are heard of, not those of another process on the same database; and a saga begun on a
 * connection whose transaction the caller opens and commits by hand (not through
 * {@link dev.outboxsaga.core.DatabaseTransactions} or {@code Outbox.inTransaction}) is not heard of for what
 * happened within its begin, since its commit is not seen.
 */
public interface SagaListener {

    /** The saga ended: {@link SagaChange#state()} is COMPLETED, COMPENSATED or FAILED. */
    default void sagaEnded(SagaChange change) {
    }

    /** A step (forward or compensation) failed or timed out; the saga retries, compensates or parks. */
    default void stepFailed(SagaChange change) {
    }

    /** The saga parked: a compensation could not succeed, or a deadline could not be fired; an operator decides. */
    default void sagaParked(SagaChange change) {
    }
}
