package dev.outboxsaga.console.internal;

import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;

/**
 * Which sagas a list shows; every part is optional (null: any).
 *
 * @param type      the saga type
 * @param version   its definition version
 * @param state     RUNNING, COMPENSATING, COMPLETED, COMPENSATED, FAILED or PARKED
 * @param olderThan only sagas created at least this long ago
 * @param stuckFor  only sagas not ended (running, compensating, parked) that have not changed for this long
 * @param idOrKey   a saga id (also the correlation id of its messages) or a business key ({@code saga_key})
 */
public record SagaFilter(String type, Integer version, String state, Duration olderThan, Duration stuckFor,
        String idOrKey) {

    /** The states a saga row may have ({@code sql/V5__saga.sql}). */
    public static final Set<String> STATES = Set.of("RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED",
            "PARKED");

    /** Blank parts become null; the state is upper-cased. */
    public SagaFilter {
        type = blankToNull(type);
        idOrKey = blankToNull(idOrKey);
        state = blankToNull(state);
        if (state != null) {
            state = state.toUpperCase(Locale.ROOT);
            if (!STATES.contains(state)) {
                throw new IllegalArgumentException("state must be one of " + new java.util.TreeSet<>(STATES)
                        + ", but was '" + state + "'");
            }
        }
        if (type != null && type.length() > 255) {
            throw new IllegalArgumentException("type must be at most 255 characters");
        }
        if (idOrKey != null && idOrKey.length() > 255) {
            throw new IllegalArgumentException("id or key must be at most 255 characters");
        }
        if (olderThan != null && olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must not be negative, but was " + olderThan);
        }
        if (stuckFor != null && stuckFor.isNegative()) {
            throw new IllegalArgumentException("stuckFor must not be negative, but was " + stuckFor);
        }
    }

    /** Every saga. */
    public static SagaFilter none() {
        return new SagaFilter(null, null, null, null, null, null);
    }

    public SagaFilter withType(String type) {
        return new SagaFilter(type, version, state, olderThan, stuckFor, idOrKey);
    }

    public SagaFilter withVersion(Integer version) {
        return new SagaFilter(type, version, state, olderThan, stuckFor, idOrKey);
    }

    public SagaFilter withState(String state) {
        return new SagaFilter(type, version, state, olderThan, stuckFor, idOrKey);
    }

    public SagaFilter withOlderThan(Duration olderThan) {
        return new SagaFilter(type, version, state, olderThan, stuckFor, idOrKey);
    }

    public SagaFilter withStuckFor(Duration stuckFor) {
        return new SagaFilter(type, version, state, olderThan, stuckFor, idOrKey);
    }

    public SagaFilter withIdOrKey(String idOrKey) {
        return new SagaFilter(type, version, state, olderThan, stuckFor, idOrKey);
    }

    static UUID uuidOrNull(String text) {
        if (text == null || text.length() != 36) {
            return null;
        }
        try {
            return UUID.fromString(text);
        } catch (IllegalArgumentException notAnId) {
            return null;
        }
    }

    static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}
