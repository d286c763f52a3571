package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.Map;

/**
 * Everything a saga type's page shows.
 *
 * @param shape      its steps, as recorded by its orchestrator or derived from history
 * @param recordedAt when its orchestrator recorded the shape; null when derived from history
 * @param sagasRead  how many of its latest sagas' histories the shape was derived from; 0 when recorded
 * @param inFlight   by step index, how many of its sagas are at that step now (a parallel group's running sagas at
 *                   each branch they await)
 */
public record SagaTypeDetail(SagaShape shape, Instant recordedAt, int sagasRead, Map<Integer, InFlight> inFlight) {

    public SagaTypeDetail {
        inFlight = Map.copyOf(inFlight);
    }

    /** Whether the shape was derived from history, the orchestrator having recorded none (older than sql/V13). */
    public boolean derived() {
        return recordedAt == null;
    }

    /** The sagas of the type at the step {@code index} now, none when no entry. */
    public InFlight at(int index) {
        return inFlight.getOrDefault(index, InFlight.NONE);
    }

    /**
     * How many sagas are at one step, by state.
     *
     * @param running      going forward
     * @param compensating undoing it
     * @param parked       waiting for an operator
     */
    public record InFlight(long running, long compensating, long parked) {

        static final InFlight NONE = new InFlight(0, 0, 0);

        /** All of them. */
        public long total() {
            return running + compensating + parked;
        }

        InFlight plus(String state, long count) {
            return switch (state) {
                case "RUNNING" -> new InFlight(running + count, compensating, parked);
                case "COMPENSATING" -> new InFlight(running, compensating + count, parked);
                case "PARKED" -> new InFlight(running, compensating, parked + count);
                default -> this;
            };
        }
    }
}
