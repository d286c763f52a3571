package dev.outboxsaga.core.internal;

import java.util.concurrent.atomic.AtomicLong;

/** Counters shared by the workers of one consumer. */
public final class InboxMetrics {
    public final AtomicLong processed = new AtomicLong();
    public final AtomicLong duplicates = new AtomicLong();
    public final AtomicLong parked = new AtomicLong();
    public final AtomicLong retries = new AtomicLong();
}
