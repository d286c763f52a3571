package dev.outboxsaga.core;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * How often and how patiently a failing handler is retried before its message is parked.
 * Backoff grows from {@code initialBackoff} by {@code multiplier} per attempt, capped at
 * {@code maxBackoff}. Failures for which {@code retryable} is false are parked at once.
 *
 * @param maxAttempts    attempts in all, at least 1
 * @param initialBackoff the wait after the first failure
 * @param maxBackoff     the longest wait
 * @param multiplier     growth per attempt, at least 1
 * @param retryable      which failures are worth another attempt
 */
public record RetryPolicy(
        int maxAttempts,
        Duration initialBackoff,
        Duration maxBackoff,
        double multiplier,
        Predicate<Throwable> retryable) {

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, but was " + maxAttempts);
        }
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("backoff must satisfy 0 <= initialBackoff (" + initialBackoff
                    + ") <= maxBackoff (" + maxBackoff + ")");
        }
        if (!(multiplier >= 1.0)) {
            throw new IllegalArgumentException("multiplier must be at least 1, but was " + multiplier);
        }
        Objects.requireNonNull(retryable, "retryable");
    }

    /**
     * The default: 5 attempts, backoff 200 ms doubling up to 5 s (about 3 s of waiting in all),
     * every exception retryable.
     */
    public static RetryPolicy defaults() {
        return new RetryPolicy(5, Duration.ofMillis(200), Duration.ofSeconds(5), 2.0, failure -> true);
    }

    /** No retries: the first failure parks the message. */
    public static RetryPolicy noRetries() {
        return new RetryPolicy(1, Duration.ZERO, Duration.ZERO, 1.0, failure -> false);
    }

    /** An exponential policy with every exception retryable. */
    public static RetryPolicy exponential(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, 2.0, failure -> true);
    }

    /** This policy, retrying only the failures that {@code retryable} accepts. */
    public RetryPolicy retryingOnly(Predicate<Throwable> retryable) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, multiplier, retryable);
    }

    /** The wait after failed attempt {@code attempt} (from 1). */
    public Duration backoffAfter(int attempt) {
        double millis = initialBackoff.toMillis() * Math.pow(multiplier, Math.max(0, attempt - 1));
        return millis >= maxBackoff.toMillis() ? maxBackoff : Duration.ofMillis((long) millis);
    }

    /** The longest a message can be retried before it is parked: the sum of all waits. */
    public Duration worstCaseDelay() {
        Duration total = Duration.ZERO;
        for (int attempt = 1; attempt < maxAttempts; attempt++) {
            total = total.plus(backoffAfter(attempt));
        }
        return total;
    }
}
