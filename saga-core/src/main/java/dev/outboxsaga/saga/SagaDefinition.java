package dev.outboxsaga.saga;

import dev.outboxsaga.core.RetryPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A saga, written as the business process reads: a sequence of steps, each commanding a participant
 * (or doing local work), with an optional compensation. An instance runs on the definition version it
 * started with, so a new version can be deployed while older instances finish: roll it out in two
 * phases, first registering the new version in every orchestrator process (a process leaves alone the
 * due sagas of versions it does not know, but would park their replies), then starting sagas on it.
 *
 * <pre>{@code
 * SagaDefinition<Transfer> transfer = SagaDefinition.builder("transfer", 1, Transfer.class)
 *     .step("debit")
 *         .invoke(t -> t.fromBank(), "Debit", t -> new Debit(t.id(), t.fromAccount(), t.amount()))
 *         .compensateWith("Refund", t -> new Refund(t.id(), t.fromAccount(), t.amount()))
 *         .timeout(Duration.ofSeconds(10))
 *     .step("credit")            // the last step, so it may go without a compensation
 *         .invoke(t -> t.toBank(), "Credit", t -> new Credit(t.id(), t.toAccount(), t.amount()))
 *     .build();
 * }</pre>
 *
 * <p>A step may update the saga data from its reply, typed ({@link StepBuilder#onReply}), so later steps use what
 * a participant returned, and may run only when a predicate of the data holds ({@link StepBuilder#when}).
 *
 * <p><b>Steps without compensation.</b> Only the last step may lack one: once such a step has taken
 * effect, nothing after it could fail without leaving the saga half undone, so the builder refuses a
 * step without compensation that is followed by another (give it a compensation, a no-op one if its
 * effect needs no undoing). When the saga gives up on a last step without compensation (no reply in
 * time, or retries used up), it neither fails it nor compensates around it at once: it sends the
 * participant an {@linkplain SagaMessages#ABANDON abandon} and waits for the answer, which is final.
 * If the command ran, the saga carries on as if the reply had come in time (in the example: the credit
 * stands and the saga completes); if not, the participant records a refusal, so the command never
 * runs, and the saga compensates the earlier steps (the debit is refunded). No clocks are compared;
 * while the participant does not answer, the saga waits at the step, sending the abandon again after
 * each timeout.
 *
 * <p><b>Saga deadline.</b> Besides each step's timeout, a saga may have a deadline for going forward as a whole,
 * counted from when it began ({@link Builder#deadline}). A saga still RUNNING when it passes records
 * {@code DEADLINE_PASSED} and gives up the step in hand exactly as {@link SagaAdmin#cancel cancelling} it would:
 * it compensates what ran (ending COMPENSATED, or FAILED when nothing needed undoing), or settles a last step
 * without compensation by an abandon. A saga compensating already is not affected: compensations are never cut
 * short.
 *
 * @param <D> the saga data, stored as JSON
 */
public final class SagaDefinition<D> {

    /** Default time a participant has to reply: 30 s. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** Default retries of a step: 3 attempts, 500 ms doubling to 5 s. */
    public static final RetryPolicy DEFAULT_RETRY =
            RetryPolicy.exponential(3, Duration.ofMillis(500), Duration.ofSeconds(5));

    private final String type;
    private final int version;
    private final Class<D> dataType;
    private final List<SagaStep<D>> steps;
    private final Duration deadline;

    private SagaDefinition(String type, int version, Class<D> dataType, List<SagaStep<D>> steps, Duration deadline) {
        this.type = type;
        this.version = version;
        this.dataType = dataType;
        this.steps = List.copyOf(steps);
        this.deadline = deadline;
    }

    /**
     * @param type     the saga's type, e.g. {@code transfer}; with the version, how instances find their definition
     * @param version  the definition's version, at least 1
     * @param dataType the class of the saga data, (de)serialized as JSON
     */
    public static <D> Builder<D> builder(String type, int version, Class<D> dataType) {
        return new Builder<>(type, version, dataType);
    }

    public String type() {
        return type;
    }

    public int version() {
        return version;
    }

    public Class<D> dataType() {
        return dataType;
    }

    public List<SagaStep<D>> steps() {
        return steps;
    }

    /** How long an instance may go forward, counted from when it began; empty (the default) for no limit. */
    public Optional<Duration> deadline() {
        return Optional.ofNullable(deadline);
    }

    @Override
    public String toString() {
        return "saga " + type + " v" + version + " " + steps.stream().map(SagaStep::name).toList();
    }

    /** Builds a {@link SagaDefinition}; start each step with {@link #step(String)}. */
    public static final class Builder<D> {
        private final String type;
        private final int version;
        private final Class<D> dataType;
        private final List<SagaStep<D>> steps = new ArrayList<>();
        private Duration deadline;

        private Builder(String type, int version, Class<D> dataType) {
            if (type == null || !type.matches("[A-Za-z0-9._-]{1,100}")) {
                throw new IllegalArgumentException("saga type must be 1 to 100 letters, digits, '.', '_' or '-', but was '"
                        + type + "'");
            }
            if (version < 1) {
                throw new IllegalArgumentException("saga version must be at least 1, but was " + version);
            }
            this.type = type;
            this.version = version;
            this.dataType = Objects.requireNonNull(dataType, "dataType");
        }

        /**
         * How long an instance may go forward, counted from when it began; default none. A saga still RUNNING
         * when it passes stops and compensates what ran (see the class documentation); one compensating already
         * is not affected. Call before the first {@link #step(String)}.
         *
         * @throws IllegalArgumentException when {@code deadline} is null, zero or negative
         */
        public Builder<D> deadline(Duration deadline) {
            if (deadline == null || deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("saga deadline must be positive, but was " + deadline);
            }
            this.deadline = deadline;
            return this;
        }

        /** Begins a step. */
        public StepBuilder<D> step(String name) {
            return new StepBuilder<>(this, name);
        }

        private SagaDefinition<D> finish() {
            if (steps.isEmpty()) {
                throw new IllegalArgumentException("saga " + type + " has no steps");
            }
            Set<String> names = new HashSet<>();
            for (SagaStep<D> step : steps) {
                if (!names.add(step.name())) {
                    throw new IllegalArgumentException("saga " + type + " has two steps named " + step.name());
                }
            }
            for (int index = 0; index < steps.size() - 1; index++) {
                SagaStep<D> step = steps.get(index);
                if (!step.hasCompensation()) {
                    throw new IllegalArgumentException("step " + step.name() + " of saga " + type + " has no compensation "
                            + "but is followed by step " + steps.get(index + 1).name() + ": once it took effect, a "
                            + "later failure could not be undone; give it a compensation (a no-op one if its effect "
                            + "needs no undoing) or make it the last step");
                }
            }
            return new SagaDefinition<>(type, version, dataType, steps, deadline);
        }
    }

    /** Builds one step; {@link #step(String)} begins the next, {@link #build()} ends the saga. */
    public static final class StepBuilder<D> {
        private final Builder<D> saga;
        private final String name;
        private Function<D, String> participant;
        private String commandType;
        private Function<D, Object> command;
        private BiFunction<D, Reply, D> onSuccess = (data, reply) -> data;
        private boolean onSuccessSet;
        private SagaStep.ReplyUpdate<D, ?> onReply;
        private LocalAction<D> local;
        private String compensationType;
        private Function<D, Object> compensation;
        private LocalAction<D> localCompensation;
        private Duration timeout = DEFAULT_TIMEOUT;
        private RetryPolicy retry = DEFAULT_RETRY;
        private Predicate<D> condition;

        private StepBuilder(Builder<D> saga, String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("step name must not be blank");
            }
            this.saga = saga;
            this.name = name;
        }

        /** Commands {@code participant} with a command of {@code commandType} and payload {@code command(data)}. */
        public StepBuilder<D> invoke(String participant, String commandType, Function<D, Object> command) {
            SagaMessages.requireName("participant", participant);
            return invoke(data -> participant, commandType, command);
        }

        /** As {@link #invoke(String, String, Function)}, with the participant chosen from the saga data. */
        public StepBuilder<D> invoke(Function<D, String> participant, String commandType, Function<D, Object> command) {
            this.participant = Objects.requireNonNull(participant, "participant");
            this.commandType = requireName("commandType", commandType);
            this.command = Objects.requireNonNull(command, "command");
            return this;
        }

        /**
         * Updates the saga data from a successful reply, read as it came; default: keeps the data. See
         * {@link #onReply(Class, BiFunction)} for the typed form; a step has one or the other.
         */
        public StepBuilder<D> onSuccess(BiFunction<D, Reply, D> onSuccess) {
            this.onSuccess = Objects.requireNonNull(onSuccess, "onSuccess");
            this.onSuccessSet = true;
            return this;
        }

        /**
         * Updates the saga data from a successful reply's payload, decoded to {@code replyType} by the
         * orchestrator's payload codec, e.g. {@code .onReply(Reserved.class, (order, reserved) ->
         * order.withReservation(reserved.id()))}; default: keeps the data. The new data is stored with the
         * saga's move to the next step, in the reply's transaction, and the later steps' commands (and every
         * compensation) are built from it. A success reply whose payload does not fit {@code replyType} counts
         * as a failure of a step that took effect: the saga compensates it (when it has a compensation) and the
         * steps before it, with the reason in its history and last error.
         */
        public <R> StepBuilder<D> onReply(Class<R> replyType, BiFunction<D, R, D> update) {
            this.onReply = new SagaStep.ReplyUpdate<>(Objects.requireNonNull(replyType, "replyType"),
                    Objects.requireNonNull(update, "update"));
            return this;
        }

        /** Makes this a local step: work in the orchestrator's database, in the saga's transaction. */
        public StepBuilder<D> local(LocalAction<D> local) {
            this.local = Objects.requireNonNull(local, "local");
            return this;
        }

        /**
         * The compensating command, sent to the same participant; none by default, which only the last step
         * may have (see the class documentation for what a timed-out step without compensation means).
         */
        public StepBuilder<D> compensateWith(String commandType, Function<D, Object> compensation) {
            this.compensationType = requireName("compensation commandType", commandType);
            this.compensation = Objects.requireNonNull(compensation, "compensation");
            return this;
        }

        /** Local compensating work, for a local step; none by default, which only the last step may have. */
        public StepBuilder<D> compensateLocally(LocalAction<D> compensation) {
            this.localCompensation = Objects.requireNonNull(compensation, "compensation");
            return this;
        }

        /** How long a reply may take; default {@link SagaDefinition#DEFAULT_TIMEOUT}. */
        public StepBuilder<D> timeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, but was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** Retries for transient failures and timeouts; default {@link SagaDefinition#DEFAULT_RETRY}. */
        public StepBuilder<D> retry(RetryPolicy retry) {
            this.retry = Objects.requireNonNull(retry, "retry");
            return this;
        }

        /**
         * Runs the step only when {@code condition} holds for the saga data as it is on reaching the step (after
         * the earlier steps' updates); default: always. A step whose condition does not hold is skipped
         * (history {@code SKIPPED}) and the saga goes on with the next; as it never ran, compensation going
         * backwards skips it too, whatever the data says by then.
         */
        public StepBuilder<D> when(Predicate<D> condition) {
            this.condition = Objects.requireNonNull(condition, "condition");
            return this;
        }

        /** Ends this step and begins the next. */
        public StepBuilder<D> step(String nextName) {
            saga.steps.add(finish());
            return saga.step(nextName);
        }

        /** Ends this step and the saga. */
        public SagaDefinition<D> build() {
            saga.steps.add(finish());
            return saga.finish();
        }

        private SagaStep<D> finish() {
            if ((local == null) == (commandType == null)) {
                throw new IllegalArgumentException("step " + name + " of saga " + saga.type
                        + " must either invoke a participant or be local, not both or neither");
            }
            if (local != null && compensationType != null) {
                throw new IllegalArgumentException("local step " + name + " compensates locally, not with a command");
            }
            if (onReply != null && onSuccessSet) {
                throw new IllegalArgumentException("step " + name + " of saga " + saga.type
                        + " updates the data with both onSuccess and onReply; keep one");
            }
            if (local != null && onReply != null) {
                throw new IllegalArgumentException("local step " + name + " gets no reply; its action returns the data");
            }
            if (local == null && localCompensation != null) {
                throw new IllegalArgumentException("step " + name + " commands a participant; compensate it with a command");
            }
            return new SagaStep<>(name, participant, commandType, command, onSuccess, onReply, local, compensationType,
                    compensation, localCompensation, timeout, retry, condition);
        }

        private static String requireName(String what, String value) {
            if (value == null || value.isBlank() || value.length() > 255) {
                throw new IllegalArgumentException(what + " must be 1 to 255 characters, but was '" + value + "'");
            }
            return value;
        }
    }
}
