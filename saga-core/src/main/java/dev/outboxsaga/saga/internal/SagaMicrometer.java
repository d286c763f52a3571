package dev.outboxsaga.saga.internal;

import dev.outboxsaga.core.internal.AfterCommit;
import dev.outboxsaga.core.internal.Transactions;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaMessages;
import dev.outboxsaga.saga.SagaState;
import dev.outboxsaga.saga.SagaStep;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Micrometer meters of one orchestrator's sagas (see docs/OBSERVABILITY.md). Created only when the
 * application hands in a registry, so Micrometer's classes are loaded only then.
 *
 * <p>A transition is counted once its transaction has committed: in outbox-saga's own transactions (replies,
 * the timer, repairs, {@code Outbox.inTransaction}) right after the commit ({@link AfterCommit}). A saga begun
 * in a transaction the caller runs on a connection of their own is counted when the timer thread first finds it
 * committed (one query per tick while there are such sagas); one not found within {@link #FORGET_UNSEEN} is
 * taken as rolled back.
 */
public final class SagaMicrometer {

    private static final Logger LOG = LoggerFactory.getLogger(SagaMicrometer.class);
    /** How long a saga begun in a caller's transaction may stay invisible before it counts as rolled back. */
    static final Duration FORGET_UNSEEN = Duration.ofMinutes(10);
    /** At most this many begins wait for their caller's commit to be seen; more are not counted. */
    private static final int MAX_UNCONFIRMED = 100_000;
    private static final List<SagaState> IN_FLIGHT = List.of(SagaState.RUNNING, SagaState.COMPENSATING, SagaState.PARKED);

    private final MeterRegistry registry;
    private final Definitions definitions;
    private final Clock clock;
    private final long gaugeIntervalNanos;
    private final Map<String, TypeMeters> types = new ConcurrentHashMap<>();
    private final Map<String, Timer> stepTimers = new ConcurrentHashMap<>();
    /** Keyed {@code type + ' ' + state}. */
    private final Map<String, AtomicLong> inFlight = new ConcurrentHashMap<>();
    private final List<Unconfirmed> unconfirmed = new ArrayList<>();
    private boolean unconfirmedFull;
    private long nextGaugeNanos = System.nanoTime();

    /** What one committed transition counts. */
    record Observation(String type, boolean started, SagaState ended, boolean parked, double ageSeconds,
            String step, String kind, Instant sentAt) {
    }

    private record Unconfirmed(UUID sagaId, Observation observation, long sinceNanos) {
    }

    private final class TypeMeters {
        final String type;
        final Counter started;
        final Counter completed;
        final Counter compensated;
        final Counter failed;
        final Counter parked;
        final Map<SagaState, Timer> durations = new ConcurrentHashMap<>();

        TypeMeters(String type) {
            this.type = type;
            Tags tags = Tags.of("type", type);
            started = counter("saga.started", tags, "Sagas begun (counted once their transaction committed)");
            completed = counter("saga.completed", tags, "Sagas whose every step succeeded");
            compensated = counter("saga.compensated", tags, "Sagas that ended with their completed steps compensated");
            failed = counter("saga.failed", tags, "Sagas that failed before any step needed compensating");
            parked = counter("saga.parked", tags, "Times a saga was parked for an operator");
        }

        Timer duration(SagaState state) {
            return durations.computeIfAbsent(state, ended -> Timer.builder("saga.duration")
                    .tags("type", type, "state", ended.name())
                    .description("Time from a saga's begin to its end, by how it ended")
                    .register(registry));
        }

        private Counter counter(String name, Tags tags, String description) {
            return Counter.builder(name).tags(tags).description(description).register(registry);
        }
    }

    private SagaMicrometer(MeterRegistry registry, Definitions definitions, Clock clock, Duration gaugeInterval) {
        this.registry = registry;
        this.definitions = definitions;
        this.clock = clock;
        this.gaugeIntervalNanos = gaugeInterval.toNanos();
        for (String type : definitions.types()) {
            types.put(type, new TypeMeters(type));
            for (SagaState state : IN_FLIGHT) {
                AtomicLong count = new AtomicLong();
                inFlight.put(type + " " + state.name(), count);
                Gauge.builder("saga.instances", count, AtomicLong::doubleValue)
                        .tags("type", type, "state", state.name())
                        .description("Sagas not ended, by state; counted by the orchestrator's timer thread")
                        .register(registry);
            }
        }
    }

    /**
     * @param registry      a {@code MeterRegistry}
     * @param gaugeInterval how often the {@code saga.instances} gauges are counted again
     */
    public static SagaMicrometer create(Object registry, Definitions definitions, Clock clock, Duration gaugeInterval) {
        return new SagaMicrometer((MeterRegistry) registry, definitions, clock, gaugeInterval);
    }

    /**
     * A transition was written on {@code connection}, in its transaction: what it counts is recorded once that
     * commits.
     *
     * @param before    the saga before it, or null for a saga begun by it
     * @param repliedTo the command whose reply caused it, or null
     */
    public void persisted(Connection connection, SagaEngine.State before, SagaEngine.Transition transition,
            UUID repliedTo) throws SQLException {
        Observation observation = observe(connection, before, transition, repliedTo);
        if (observation == null || AfterCommit.register(connection, () -> record(observation))) {
            return;
        }
        if (before != null) {
            // Only a begin can run in the caller's own transaction; anything else is counted at once.
            record(observation);
            return;
        }
        synchronized (unconfirmed) {
            if (unconfirmed.size() < MAX_UNCONFIRMED) {
                unconfirmed.add(new Unconfirmed(transition.state().id(), observation, System.nanoTime()));
            } else if (!unconfirmedFull) {
                unconfirmedFull = true;
                LOG.warn("{} sagas begun in callers' own transactions wait to be seen committed; further ones are not "
                        + "counted by the saga meters (is the orchestrator started?)", MAX_UNCONFIRMED);
            }
        }
    }

    private Observation observe(Connection connection, SagaEngine.State before, SagaEngine.Transition transition,
            UUID repliedTo) throws SQLException {
        SagaEngine.State after = transition.state();
        boolean started = before == null;
        SagaState was = before == null ? null : before.state();
        SagaState ended = after.state().terminal() && (was == null || !was.terminal()) ? after.state() : null;
        boolean parked = after.state() == SagaState.PARKED && was != SagaState.PARKED;
        String step = null;
        String kind = null;
        Instant sentAt = null;
        if (repliedTo != null && before != null && repliedTo.equals(before.awaitingCommandId())
                && before.deadline() != null) {
            // The awaited command was sent when its deadline was set: deadline = sent + the step's timeout.
            SagaDefinition<?> definition = definitions.get(before.type(), before.version());
            if (before.stepIndex() >= 0 && before.stepIndex() < definition.steps().size()) {
                SagaStep<?> awaited = definition.steps().get(before.stepIndex());
                step = awaited.name();
                kind = was == SagaState.COMPENSATING ? SagaMessages.COMPENSATION : SagaMessages.FORWARD;
                sentAt = before.deadline().minus(awaited.timeout());
            }
        }
        if (repliedTo != null && before != null && before.branches() != null) {
            SagaDefinition<?> definition = definitions.get(before.type(), before.version());
            for (SagaEngine.Branch branch : before.branches()) {
                if (repliedTo.equals(branch.awaitingCommandId()) && branch.status() == SagaEngine.Branch.Status.PENDING
                        && branch.stepIndex() < definition.steps().size()) {
                    // Its due time is its send plus the branch's timeout, as for a step on its own.
                    SagaStep<?> awaited = definition.steps().get(branch.stepIndex());
                    step = awaited.name();
                    kind = SagaMessages.FORWARD;
                    sentAt = branch.due().minus(awaited.timeout());
                }
            }
        }
        if (!started && ended == null && !parked && sentAt == null) {
            return null;
        }
        double age = ended == null ? 0 : ageSeconds(connection, after.id());
        return new Observation(after.type(), started, ended, parked, age, step, kind, sentAt);
    }

    private static double ageSeconds(Connection connection, UUID sagaId) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.AGE_SECONDS)) {
            query.setObject(1, sagaId);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? Math.max(0, rows.getDouble(1)) : 0;
            }
        }
    }

    void record(Observation observation) {
        TypeMeters meters = types.computeIfAbsent(observation.type(), TypeMeters::new);
        if (observation.started()) {
            meters.started.increment();
        }
        if (observation.ended() != null) {
            switch (observation.ended()) {
                case COMPLETED -> meters.completed.increment();
                case COMPENSATED -> meters.compensated.increment();
                case FAILED -> meters.failed.increment();
                default -> throw new IllegalStateException("not an end: " + observation.ended());
            }
            meters.duration(observation.ended()).record((long) (observation.ageSeconds() * 1e9), TimeUnit.NANOSECONDS);
        }
        if (observation.parked()) {
            meters.parked.increment();
        }
        if (observation.sentAt() != null) {
            long nanos = Math.max(0, Duration.between(observation.sentAt(), clock.instant()).toNanos());
            stepTimers.computeIfAbsent(observation.type() + " " + observation.step() + " " + observation.kind(),
                    key -> Timer.builder("saga.step.latency")
                            .tags("type", observation.type(), "step", observation.step(), "kind", observation.kind())
                            .description("Time from a saga command's send to the handling of its awaited reply")
                            .register(registry))
                    .record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * The timer thread's share, every tick: counts the begins whose callers' commits are now visible, and, every
     * gauge interval, the sagas in flight. Never throws: the meters must not stop the timer.
     */
    public void tick(DataSource dataSource) {
        try {
            confirmBegins(dataSource);
            long now = System.nanoTime();
            if (now - nextGaugeNanos >= 0) {
                nextGaugeNanos = now + gaugeIntervalNanos;
                countInFlight(dataSource);
            }
        } catch (RuntimeException failure) {
            LOG.debug("saga meters could not be brought up to date; trying again next tick: {}", failure.toString());
        }
    }

    private void confirmBegins(DataSource dataSource) {
        List<Unconfirmed> waiting;
        synchronized (unconfirmed) {
            if (unconfirmed.isEmpty()) {
                return;
            }
            waiting = new ArrayList<>(unconfirmed);
            unconfirmed.clear();
        }
        Set<UUID> committed;
        try {
            committed = Transactions.inTransaction(dataSource, connection -> {
                try (PreparedStatement query = connection.prepareStatement(Sql.EXISTING)) {
                    query.setArray(1, connection.createArrayOf("uuid",
                            waiting.stream().map(Unconfirmed::sagaId).toArray()));
                    Set<UUID> found = new HashSet<>();
                    try (ResultSet rows = query.executeQuery()) {
                        while (rows.next()) {
                            found.add(rows.getObject(1, UUID.class));
                        }
                    }
                    return found;
                }
            });
        } catch (RuntimeException failure) {
            synchronized (unconfirmed) {
                unconfirmed.addAll(0, waiting);
            }
            throw failure;
        }
        long now = System.nanoTime();
        List<Unconfirmed> still = new ArrayList<>();
        for (Unconfirmed begin : waiting) {
            if (committed.contains(begin.sagaId())) {
                record(begin.observation());
            } else if (now - begin.sinceNanos() < FORGET_UNSEEN.toNanos()) {
                still.add(begin);
            }
        }
        if (!still.isEmpty()) {
            synchronized (unconfirmed) {
                unconfirmed.addAll(0, still);
            }
        }
    }

    private void countInFlight(DataSource dataSource) {
        Map<String, Long> counts = Transactions.inTransaction(dataSource, connection -> {
            try (PreparedStatement query = connection.prepareStatement(Sql.COUNT_IN_FLIGHT)) {
                query.setArray(1, connection.createArrayOf("text", definitions.types().toArray()));
                Map<String, Long> found = new java.util.HashMap<>();
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        found.put(rows.getString(1) + " " + rows.getString(2), rows.getLong(3));
                    }
                }
                return found;
            }
        });
        inFlight.forEach((key, count) -> count.set(counts.getOrDefault(key, 0L)));
    }
}
