package dev.outboxsaga.console.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * What a service did over the last hours, per minute, for the overview's charts.
 *
 * @param from    the first minute of the window (inclusive)
 * @param to      the end of the window (exclusive): the minute after the current one
 * @param ended   sagas ended per minute, by the minute they ended in; minutes without any are absent
 * @param parked  dead letters parked per minute (whatever became of them since); minutes without any are absent
 * @param failure why the activity could not be read, or null
 */
public record ServiceActivity(Instant from, Instant to, NavigableMap<Instant, Ended> ended,
        NavigableMap<Instant, Long> parked, String failure) {

    public ServiceActivity {
        ended = java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(ended));
        parked = java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(parked));
    }

    /**
     * Sagas ended in one minute, by how.
     *
     * @param completed   COMPLETED
     * @param compensated COMPENSATED
     * @param failed      FAILED
     */
    public record Ended(long completed, long compensated, long failed) {

        static final Ended NONE = new Ended(0, 0, 0);

        public long total() {
            return completed + compensated + failed;
        }

        Ended plus(Ended other) {
            return new Ended(completed + other.completed, compensated + other.compensated, failed + other.failed);
        }

        Ended plus(String state, long count) {
            return switch (state) {
                case "COMPLETED" -> new Ended(completed + count, compensated, failed);
                case "COMPENSATED" -> new Ended(completed, compensated + count, failed);
                case "FAILED" -> new Ended(completed, compensated, failed + count);
                default -> this;
            };
        }
    }

    /** A window whose activity could not be read. */
    static ServiceActivity failed(Instant from, Instant to, String failure) {
        return new ServiceActivity(from, to, new TreeMap<>(), new TreeMap<>(), failure);
    }

    /** How long the window is. */
    public Duration window() {
        return Duration.between(from, to);
    }

    /**
     * Reads each service's activity at once, on {@code executor}; a service whose database fails gets a
     * {@linkplain #failure() failure} rather than failing the others.
     */
    static CompletableFuture<Map<String, ServiceActivity>> readAll(Map<String, ServiceDatabase> databases,
            Duration window, Executor executor) {
        Map<String, CompletableFuture<ServiceActivity>> reads = new LinkedHashMap<>();
        databases.forEach((name, database) -> reads.put(name, CompletableFuture.supplyAsync(() -> {
            try {
                return database.activity(window);
            } catch (RuntimeException e) {
                Instant now = Instant.now();
                return failed(now.minus(window), now, "activity: " + ServiceProbes.rootMessage(e));
            }
        }, executor)));
        return CompletableFuture.allOf(reads.values().toArray(CompletableFuture[]::new)).thenApply(done -> {
            Map<String, ServiceActivity> activity = new LinkedHashMap<>();
            reads.forEach((name, read) -> activity.put(name, read.join()));
            return activity;
        });
    }

    /** The windows the overview offers, in hours; 3 by default. */
    static final List<Integer> WINDOW_HOURS = List.of(1, 3, 6, 12, 24);
    static final int DEFAULT_WINDOW_HOURS = 3;

    /**
     * The overview's window from its {@code hours} parameter: one of {@link #WINDOW_HOURS}, or the default when absent.
     *
     * @throws IllegalArgumentException for any other value
     */
    static Duration window(String hours) {
        if (hours == null || hours.isBlank()) {
            return Duration.ofHours(DEFAULT_WINDOW_HOURS);
        }
        for (int offered : WINDOW_HOURS) {
            if (hours.strip().equals(Integer.toString(offered))) {
                return Duration.ofHours(offered);
            }
        }
        throw new IllegalArgumentException("hours must be one of " + WINDOW_HOURS + ", but was '" + hours + "'");
    }
}
