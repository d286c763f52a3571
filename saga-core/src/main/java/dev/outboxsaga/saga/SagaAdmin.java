package dev.outboxsaga.saga;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.internal.Transactions;
import dev.outboxsaga.saga.internal.Definitions;
import dev.outboxsaga.saga.internal.SagaEngine;
import dev.outboxsaga.saga.internal.SagaMicrometer;
import dev.outboxsaga.saga.internal.SagaStore;
import dev.outboxsaga.saga.internal.Transitions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * What operators need: sagas by state, type and age, stuck sagas, one saga's history, and the
 * repairs of a parked saga. Obtained from {@link SagaOrchestrator#admin()}.
 */
public final class SagaAdmin {

    private final DataSource dataSource;
    private final Definitions definitions;
    private final SagaEngine engine;
    private final Outbox outbox;
    private final String replyChannel;
    private final Clock clock;
    /** Null without a meter registry. */
    private final SagaMicrometer meters;

    SagaAdmin(DataSource dataSource, Definitions definitions, SagaEngine engine, Outbox outbox, String replyChannel,
            Clock clock, SagaMicrometer meters) {
        this.dataSource = dataSource;
        this.definitions = definitions;
        this.engine = engine;
        this.outbox = outbox;
        this.replyChannel = replyChannel;
        this.clock = clock;
        this.meters = meters;
    }

    public Optional<SagaInstance> find(UUID id) {
        return Optional.ofNullable(Transactions.inTransaction(dataSource, connection ->
                SagaStore.find(connection, id, index -> null)))
                .map(found -> withStepName(found));
    }

    /**
     * Sagas oldest first.
     *
     * @param state     only in this state, or any when null
     * @param type      only of this type, or any when null
     * @param olderThan only those created at least this long ago, or any age when null
     */
    public List<SagaInstance> list(SagaState state, String type, Duration olderThan, int limit) {
        requireLimit(limit);
        return Transactions.inTransaction(dataSource, connection -> SagaStore.list(connection, state, type,
                clock.instant().minus(olderThan == null ? Duration.ZERO : olderThan), limit, definitions::stepName));
    }

    /** Sagas not ended (running, compensating or parked) that have not changed for {@code noProgressFor}. */
    public List<SagaInstance> stuck(Duration noProgressFor, int limit) {
        requireLimit(limit);
        return Transactions.inTransaction(dataSource, connection ->
                SagaStore.stuck(connection, clock.instant().minus(noProgressFor), limit, definitions::stepName));
    }

    /** How many sagas are in each state. */
    public Map<SagaState, Long> countByState() {
        return Transactions.inTransaction(dataSource, SagaStore::countByState);
    }

    /** Everything that happened to one saga, in order. */
    public List<SagaEvent> history(UUID sagaId) {
        return Transactions.inTransaction(dataSource, connection -> SagaStore.history(connection, sagaId));
    }

    /**
     * Sends a parked saga's compensation again, with fresh attempts. Always safe: a compensation that ran
     * already is answered from the participant's record, without a second effect. A saga whose compensation
     * succeeded late has resumed by itself and is no longer PARKED, so this is refused.
     *
     * @throws IllegalStateException when the saga is not PARKED
     */
    public void retryCompensation(UUID sagaId) {
        repair(sagaId, (definition, state, connection) -> engine.retryParked(definition, state, connection));
    }

    /**
     * Records that the parked compensation was done by hand, and goes on compensating the earlier steps.
     * Only for a compensation the participant cannot carry out, and only once none of that step's
     * compensations is pending there (its dead letters discarded, its consumer caught up): one that runs
     * after the manual fix undoes the step a second time. A compensation that succeeded late has resumed
     * the saga already, so this is refused then.
     *
     * @throws IllegalStateException when the saga is not PARKED
     */
    public void markCompensated(UUID sagaId, String note) {
        repair(sagaId, (definition, state, connection) -> engine.markCompensated(definition, state, note, connection));
    }

    @FunctionalInterface
    private interface Repair {
        SagaEngine.Transition apply(SagaDefinition<?> definition, SagaEngine.State state, java.sql.Connection connection);
    }

    private void repair(UUID sagaId, Repair repair) {
        Transactions.inTransaction(dataSource, connection -> {
            SagaEngine.State state = SagaStore.lock(connection, sagaId);
            if (state == null) {
                throw new IllegalStateException("no saga " + sagaId);
            }
            SagaEngine.Transition transition = repair.apply(definitions.get(state.type(), state.version()), state,
                    connection);
            Transitions.persist(connection, outbox, replyChannel, transition, false, null);
            if (meters != null) {
                meters.persisted(connection, state, transition, null);
            }
            return null;
        });
    }

    private SagaInstance withStepName(SagaInstance instance) {
        return new SagaInstance(instance.id(), instance.type(), instance.version(), instance.state(),
                instance.stepIndex(), definitions.stepName(instance.type(), instance.version(), instance.stepIndex()),
                instance.attempt(), instance.data(), instance.deadline(), instance.lastError(), instance.createdAt(),
                instance.updatedAt(), instance.endedAt());
    }

    private static void requireLimit(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, but was " + limit);
        }
    }
}
