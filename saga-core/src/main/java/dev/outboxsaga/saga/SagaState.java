package dev.outboxsaga.saga;

/** Where a saga instance stands. */
public enum SagaState {
    /** Going forward through its steps. */
    RUNNING,
    /** A step failed; undoing the completed steps in reverse order. */
    COMPENSATING,
    /** Every step succeeded. */
    COMPLETED,
    /** A step failed and every completed step was compensated. */
    COMPENSATED,
    /** A step failed before any step needed compensating. */
    FAILED,
    /** A compensation could not succeed after its retries: an operator must retry it or mark it done. */
    PARKED;

    /** Whether the saga has ended (PARKED has not: it waits for an operator). */
    public boolean terminal() {
        return this == COMPLETED || this == COMPENSATED || this == FAILED;
    }
}
