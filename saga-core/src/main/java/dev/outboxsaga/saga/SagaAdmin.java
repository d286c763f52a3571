package dev.outboxsaga.saga;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.internal.OperatorActions;
import dev.outboxsaga.core.internal.Transactions;
import dev.outboxsaga.saga.internal.Definitions;
import dev.outboxsaga.saga.internal.SagaEngine;
import dev.outboxsaga.saga.internal.SagaMicrometer;
import dev.outboxsaga.saga.internal.SagaNotices;
import dev.outboxsaga.saga.internal.SagaStore;
import dev.outboxsaga.saga.internal.Transitions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * What operators need: sagas by state, type and age, stuck sagas, one saga's history, the
 * repairs of a parked saga, and the cancel of a running one. Obtained from {@link SagaOrchestrator#admin()}.
 */
public final class SagaAdmin {

    /** The operator actions ({@code operator_action}) that an orchestrator carries out. */
    static final String RETRY_COMPENSATION = "RETRY_COMPENSATION";
    static final String MARK_COMPENSATED = "MARK_COMPENSATED";
    static final String CANCEL = "CANCEL";

    private final DataSource dataSource;
    private final Definitions definitions;
    private final SagaEngine engine;
    private final Outbox outbox;
    private final String replyChannel;
    private final Clock clock;
    /** Null without a meter registry. */
    private final SagaMicrometer meters;
    private final SagaNotices notices;

    SagaAdmin(DataSource dataSource, Definitions definitions, SagaEngine engine, Outbox outbox, String replyChannel,
            Clock clock, SagaMicrometer meters, SagaNotices notices) {
        this.dataSource = dataSource;
        this.definitions = definitions;
        this.engine = engine;
        this.outbox = outbox;
        this.replyChannel = replyChannel;
        this.clock = clock;
        this.meters = meters;
        this.notices = notices;
    }

    public Optional<SagaInstance> find(UUID id) {
        return Optional.ofNullable(Transactions.inTransaction(dataSource, connection ->
                SagaStore.find(connection, id, index -> null)))
                .map(found -> withStepName(found));
    }

    /**
     * The saga of {@code type} begun with business key {@code key} through
     * {@link SagaOrchestrator#begin(Connection, SagaDefinition, Object, String)}, of any version.
     *
     * @return empty when no saga of that type has that key
     */
    public Optional<SagaInstance> findByKey(String type, String key) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(key, "key");
        return Optional.ofNullable(Transactions.inTransaction(dataSource, connection -> {
            UUID id = SagaStore.findByKey(connection, type, key);
            return id == null ? null : SagaStore.find(connection, id, index -> null);
        })).map(found -> withStepName(found));
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

    /**
     * Cancels a RUNNING saga: it stops going forward and compensates what ran, in reverse order, as when a step
     * fails, and ends COMPENSATED. Its history records {@code CANCELLED} with the reason first, and its last error
     * is {@code "cancelled: <reason>"}.
     *
     * <p>The step in hand is compensated too: its command is out and may have taken effect, or may still run (it
     * is treated like a step whose last attempt timed out). The participant records that compensation, so the
     * command, should it arrive later, is refused; a compensation of a step that never ran there does nothing.
     * A step without compensation (only the last may lack one) cannot be undone: the saga sends the participant
     * an {@linkplain SagaMessages#ABANDON abandon}, and the participant decides. If the command had not run, it
     * never will, and the earlier steps are compensated; if it had run, the cancel came too late, and the saga
     * completes. While a {@linkplain SagaDefinition.Builder#parallel parallel group} is in hand, every branch still
     * awaited is given up this way (history {@code CANCELLED} under the group's name) and compensated along with
     * the branches that succeeded, in reverse declaration order, then the earlier steps.
     *
     * <p>Safe against a reply arriving at the same moment: the saga's row is locked, so the reply is applied wholly
     * before the cancel (and the cancel then stops the saga where the reply left it) or after it (and is recorded
     * as late and ignored).
     *
     * @param reason why, and who asks: recorded in the saga's history; required
     * @throws IllegalArgumentException when {@code reason} is null or blank
     * @throws IllegalStateException    when there is no such saga, or it is not RUNNING, naming its state: a
     *                                  COMPENSATING or PARKED saga is undoing its steps already (repair a parked
     *                                  one with {@link #retryCompensation} or {@link #markCompensated}), an ended
     *                                  one has nothing left to cancel
     */
    public void cancel(UUID sagaId, String reason) {
        repair(sagaId, (definition, state, connection) -> engine.cancel(definition, state, reason, connection));
    }

    /**
     * Carries out an operator action queued by the console or the CLI, in the caller's transaction (the one that
     * records it done): {@link #RETRY_COMPENSATION}, {@link #MARK_COMPENSATED} (the note is required) or
     * {@link #CANCEL} (the note is the reason), on the saga named by the target id, which must be of the type
     * named by the scope. The saga's history names the actor and the action beside the note.
     *
     * @return what it did
     * @throws IllegalArgumentException for an unknown action, a target that is no saga id or a missing note
     * @throws IllegalStateException    when the saga is missing, of another type, or in a state the action refuses
     */
    String perform(Connection connection, OperatorActions.Action action) throws SQLException {
        UUID sagaId;
        try {
            sagaId = UUID.fromString(action.targetId());
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("target_id '" + action.targetId() + "' is not a saga id");
        }
        boolean needsNote = action.action().equals(MARK_COMPENSATED) || action.action().equals(CANCEL);
        if (needsNote && (action.note() == null || action.note().isBlank())) {
            throw new IllegalArgumentException(action.action() + " needs a note: "
                    + (action.action().equals(CANCEL) ? "why the saga is cancelled" : "how the step was compensated"));
        }
        String note = needsNote ? action.note() + " (" + action.actor() + ", operator action " + action.id() + ")" : null;
        Repair repair = switch (action.action()) {
            case RETRY_COMPENSATION -> (definition, state, c) -> engine.retryParked(definition, state, c);
            case MARK_COMPENSATED -> (definition, state, c) -> engine.markCompensated(definition, state, note, c);
            case CANCEL -> (definition, state, c) -> engine.cancel(definition, state, note, c);
            default -> throw new IllegalArgumentException("unknown action '" + action.action() + "' for a saga; known: "
                    + RETRY_COMPENSATION + ", " + MARK_COMPENSATED + ", " + CANCEL);
        };
        SagaEngine.State state = repair(connection, sagaId, action.scope(), repair).state();
        String step = definitions.stepName(state.type(), state.version(), state.stepIndex());
        return action.action() + " done: saga " + sagaId + " is now " + state.state()
                + (step == null ? "" : " at step " + step);
    }

    @FunctionalInterface
    private interface Repair {
        SagaEngine.Transition apply(SagaDefinition<?> definition, SagaEngine.State state, Connection connection);
    }

    private void repair(UUID sagaId, Repair repair) {
        Transactions.inTransaction(dataSource, connection -> repair(connection, sagaId, null, repair));
    }

    /** Locks the saga, applies {@code repair} and persists it; {@code type}, when given, is the type it must be of. */
    private SagaEngine.Transition repair(Connection connection, UUID sagaId, String type, Repair repair)
            throws SQLException {
        SagaEngine.State state = SagaStore.lock(connection, sagaId);
        if (state == null) {
            throw new IllegalStateException("no saga " + sagaId);
        }
        if (type != null && !type.equals(state.type())) {
            throw new IllegalStateException("saga " + sagaId + " is of type " + state.type() + ", not " + type);
        }
        SagaEngine.Transition transition = repair.apply(definitions.get(state.type(), state.version()), state,
                connection);
        Transitions.persist(connection, outbox, replyChannel, transition, false, null);
        if (meters != null) {
            meters.persisted(connection, state, transition, null);
        }
        notices.persisted(connection, state, transition);
        return transition;
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
