package dev.outboxsaga.saga;

import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.internal.FixedParticipant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;
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
 * <p><b>Steps without compensation.</b> Only the last step may lack one (never a branch of a parallel group, see
 * below): once such a step has taken
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
 * <p><b>Parallel steps.</b> A {@linkplain Builder#parallel parallel group} sends the commands of its branches at once
 * (fork) and goes on with the step after it when every branch has succeeded or was skipped (join):
 *
 * <pre>{@code
 *     .step("reserve") ...
 *     .parallel("checks", checks -> checks
 *         .step("fraudCheck")
 *             .invoke("fraud", "CheckFraud", o -> new CheckFraud(o.id()))
 *             .onReply(Score.class, (o, score) -> o.withScore(score.value()))
 *             .compensateWith("ForgetCheck", o -> new ForgetCheck(o.id()))
 *         .step("limitCheck")
 *             .invoke("limits", "HoldLimit", o -> new HoldLimit(o.customer(), o.amount()))
 *             .compensateWith("ReleaseLimit", o -> new ReleaseLimit(o.customer(), o.amount()))
 *             .timeout(Duration.ofSeconds(5)))
 *     .step("charge") ...
 * }</pre>
 *
 * Each branch is an ordinary participant step: its own command, compensation, timeout, retries, condition
 * ({@code when}, asked of the data as it is on reaching the group) and data update from its reply. Replies update
 * the data in the order they arrive, each in its own transition, so let branches update different parts of it.
 * When a branch fails (refused, retries used up, or no reply after its last attempt), the saga turns to compensation
 * and undoes the group whatever state each sibling reached: a sibling still awaiting its reply is waited for, then
 * compensated after a success and left alone after a refusal; one that does not answer in time is compensated, as its
 * effect is unknown (its participant's record of the compensation refuses the command if it comes later); a branch
 * that was refused or skipped is not compensated. Once no branch is awaited, the group's compensations are sent one
 * at a time in reverse declaration order, then those of the steps before the group, as for any failed step; one at a
 * time so that each compensation has the saga's one awaited command, timeout, retries and operator repair when it
 * parks, exactly as a step on its own. A {@linkplain SagaAdmin#cancel cancel} or the saga deadline while a group is
 * in hand gives up every branch still awaited at once, as a timeout would. Every branch needs a compensation, even in
 * the saga's last position: a branch that took effect is undone when a sibling fails.
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

    /** Lists the steps, each parallel group as {@code group(branch | branch)}. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("saga " + type + " v" + version + " [");
        String group = null;
        for (int index = 0; index < steps.size(); index++) {
            SagaStep<D> step = steps.get(index);
            boolean sameGroup = step.group() != null && step.group().equals(group);
            if (group != null && !sameGroup) {
                text.append(')');
            }
            if (index > 0) {
                text.append(sameGroup ? " | " : ", ");
            }
            if (step.group() != null && !sameGroup) {
                text.append(step.group()).append('(');
            }
            text.append(step.name());
            group = step.group();
        }
        return text.append(group == null ? "]" : ")]").toString();
    }

    /**
     * Builds a {@link SagaDefinition}; start each step with {@link #step(String)}, each parallel group with
     * {@link #parallel}.
     */
    public static final class Builder<D> {
        private final String type;
        private final int version;
        private final Class<D> dataType;
        private final List<SagaStep<D>> steps = new ArrayList<>();
        private final List<String> groups = new ArrayList<>();
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
            return new StepBuilder<>(this, name, null);
        }

        /**
         * Adds a parallel group of at least two branches, each begun with {@link Parallel#step(String)}: their
         * commands are sent at once when the saga reaches the group, and the saga goes on with what follows it once
         * every branch has succeeded or was skipped; when one fails, the group is undone (see the class
         * documentation). A branch is a participant step like any other, except that it must have a compensation,
         * wherever the group stands. Continue with {@link #step(String)}, another group or {@link #build()}.
         *
         * @param name     the group's name, unique in the saga among steps and groups; history entries about the
         *                 whole group (a cancel, the saga deadline) are recorded under it
         * @param branches declares the branches on the {@link Parallel} it is given
         * @throws IllegalArgumentException naming the group and branch: a blank name, fewer than two branches, a
         *                                  branch that invokes no participant or has no compensation
         */
        public Builder<D> parallel(String name, Consumer<Parallel<D>> branches) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("parallel group name of saga " + type + " must not be blank");
            }
            Objects.requireNonNull(branches, "branches");
            Parallel<D> group = new Parallel<>(this, name);
            branches.accept(group);
            steps.addAll(group.finish());
            groups.add(name);
            return this;
        }

        /** Ends the saga after a {@linkplain #parallel parallel group}. */
        public SagaDefinition<D> build() {
            return finish();
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
            for (String group : groups) {
                if (!names.add(group)) {
                    throw new IllegalArgumentException("saga " + type + " has two steps or parallel groups named "
                            + group);
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
        private final String group;
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

        private StepBuilder(Builder<D> saga, String name, String group) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("step name must not be blank"
                        + (group == null ? "" : " (in parallel group " + group + ")"));
            }
            this.saga = saga;
            this.name = name;
            this.group = group;
        }

        /** Commands {@code participant} with a command of {@code commandType} and payload {@code command(data)}. */
        public StepBuilder<D> invoke(String participant, String commandType, Function<D, Object> command) {
            SagaMessages.requireName("participant", participant);
            return invoke(new FixedParticipant<>(participant), commandType, command);
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

        /** Ends this step and adds a parallel group after it; see {@link Builder#parallel}. */
        public Builder<D> parallel(String name, Consumer<Parallel<D>> branches) {
            saga.steps.add(finish());
            return saga.parallel(name, branches);
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
                    compensation, localCompensation, timeout, retry, condition, group);
        }

        private static String requireName(String what, String value) {
            if (value == null || value.isBlank() || value.length() > 255) {
                throw new IllegalArgumentException(what + " must be 1 to 255 characters, but was '" + value + "'");
            }
            return value;
        }
    }

    /** The branches of a {@linkplain Builder#parallel parallel group}; begin each with {@link #step(String)}. */
    public static final class Parallel<D> {
        private final Builder<D> saga;
        private final String name;
        private final List<BranchBuilder<D>> branches = new ArrayList<>();

        private Parallel(Builder<D> saga, String name) {
            this.saga = saga;
            this.name = name;
        }

        /** Begins a branch: a step whose command is sent with those of its siblings. */
        public BranchBuilder<D> step(String name) {
            BranchBuilder<D> branch = new BranchBuilder<>(this, new StepBuilder<>(saga, name, this.name));
            branches.add(branch);
            return branch;
        }

        private List<SagaStep<D>> finish() {
            if (branches.size() < 2) {
                throw new IllegalArgumentException("parallel group " + name + " of saga " + saga.type + " has "
                        + branches.size() + " branch(es) " + branches.stream().map(b -> b.step.name).toList()
                        + ", but a group needs at least 2; make a single one an ordinary step");
            }
            List<SagaStep<D>> steps = new ArrayList<>();
            for (BranchBuilder<D> branch : branches) {
                steps.add(branch.finish());
            }
            return steps;
        }
    }

    /**
     * Builds one branch of a parallel group, as {@link StepBuilder} builds a step (same methods, same defaults), but
     * always commanding a participant, and with a compensation required; {@link #step(String)} begins the next branch.
     */
    public static final class BranchBuilder<D> {
        private final Parallel<D> group;
        private final StepBuilder<D> step;

        private BranchBuilder(Parallel<D> group, StepBuilder<D> step) {
            this.group = group;
            this.step = step;
        }

        /** See {@link StepBuilder#invoke(String, String, Function)}. */
        public BranchBuilder<D> invoke(String participant, String commandType, Function<D, Object> command) {
            step.invoke(participant, commandType, command);
            return this;
        }

        /** See {@link StepBuilder#invoke(Function, String, Function)}. */
        public BranchBuilder<D> invoke(Function<D, String> participant, String commandType,
                Function<D, Object> command) {
            step.invoke(participant, commandType, command);
            return this;
        }

        /** See {@link StepBuilder#onSuccess}; the updates of the group's replies apply in the order they arrive. */
        public BranchBuilder<D> onSuccess(BiFunction<D, Reply, D> onSuccess) {
            step.onSuccess(onSuccess);
            return this;
        }

        /** See {@link StepBuilder#onReply}; the updates of the group's replies apply in the order they arrive. */
        public <R> BranchBuilder<D> onReply(Class<R> replyType, BiFunction<D, R, D> update) {
            step.onReply(replyType, update);
            return this;
        }

        /** Required: the compensating command, sent to the same participant; see {@link StepBuilder#compensateWith}. */
        public BranchBuilder<D> compensateWith(String commandType, Function<D, Object> compensation) {
            step.compensateWith(commandType, compensation);
            return this;
        }

        /** How long this branch's reply may take; default {@link SagaDefinition#DEFAULT_TIMEOUT}. */
        public BranchBuilder<D> timeout(Duration timeout) {
            step.timeout(timeout);
            return this;
        }

        /** This branch's retries, independent of its siblings'; default {@link SagaDefinition#DEFAULT_RETRY}. */
        public BranchBuilder<D> retry(RetryPolicy retry) {
            step.retry(retry);
            return this;
        }

        /**
         * Sends this branch's command only when {@code condition} holds for the saga data on reaching the group;
         * default: always. A branch whose condition does not hold is skipped (history {@code SKIPPED}) and counts as
         * done for the join; it is never compensated.
         */
        public BranchBuilder<D> when(Predicate<D> condition) {
            step.when(condition);
            return this;
        }

        /** Ends this branch and begins the next of the group. */
        public BranchBuilder<D> step(String nextName) {
            return group.step(nextName);
        }

        private SagaStep<D> finish() {
            String where = "branch " + step.name + " of parallel group " + group.name + " of saga " + step.saga.type;
            if (step.commandType == null) {
                throw new IllegalArgumentException(where + " invokes no participant; give it invoke(...)");
            }
            if (step.compensationType == null) {
                throw new IllegalArgumentException(where + " has no compensation: when a sibling fails, each branch "
                        + "that took effect is undone, wherever the group stands; give it a compensation (a no-op one "
                        + "if its effect needs no undoing)");
            }
            return step.finish();
        }
    }
}
