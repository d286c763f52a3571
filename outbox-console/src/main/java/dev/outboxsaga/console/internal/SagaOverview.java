package dev.outboxsaga.console.internal;

import java.util.Map;

/**
 * A service's sagas at a glance.
 *
 * @param countByState how many sagas are in each state
 * @param stuck        how many not ended have not changed for the console's stuck-after
 * @param pendingActions how many operator actions wait for the service, by target kind and scope
 *                     ({@code SAGA:transfer}, {@code DEAD_LETTER:bank-b})
 */
public record SagaOverview(Map<String, Long> countByState, long stuck, Map<String, Long> pendingActions) {

    public SagaOverview {
        countByState = Map.copyOf(countByState);
        pendingActions = Map.copyOf(pendingActions);
    }

    /** How many sagas are parked. */
    public long parked() {
        return countByState.getOrDefault("PARKED", 0L);
    }

    /** How many sagas there are. */
    public long total() {
        return countByState.values().stream().mapToLong(Long::longValue).sum();
    }
}
