package dev.outboxsaga.core.internal;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** Counters and the last failure, shared by the workers of one consumer. */
public final class InboxMetrics {
    public final AtomicLong processed = new AtomicLong();
    public final AtomicLong duplicates = new AtomicLong();
    public final AtomicLong parked = new AtomicLong();
    public final AtomicLong retries = new AtomicLong();
    /** Polls that failed with a transient error and were retried. */
    public final AtomicLong pollRetries = new AtomicLong();
    /** Workers that ended on a failure instead of a stop. */
    public final AtomicLong workerFailures = new AtomicLong();

    /** What went wrong last, when: a worker's end or a retried poll; never a handler's failure (those park). */
    public record Failure(String description, Instant at) {
    }

    private volatile Failure lastFailure;

    public void failed(Throwable failure) {
        lastFailure = new Failure(describe(failure), Instant.now());
    }

    public Failure lastFailure() {
        return lastFailure;
    }

    static String describe(Throwable failure) {
        return failure.getMessage() == null ? failure.getClass().getName() : failure.toString();
    }
}
