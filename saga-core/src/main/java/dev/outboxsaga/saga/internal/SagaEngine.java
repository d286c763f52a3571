package dev.outboxsaga.saga.internal;

import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.saga.LocalAction;
import dev.outboxsaga.saga.Reply;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaException;
import dev.outboxsaga.saga.SagaMessages;
import dev.outboxsaga.saga.SagaState;
import dev.outboxsaga.saga.SagaStep;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * The saga state machine, free of I/O: given an instance and what happened (a reply, a deadline, an
 * operator's repair), the next state, the commands to send and the history to record. The
 * orchestrator persists a {@link Transition} in one transaction; the unit-test DSL runs it in memory.
 */
public final class SagaEngine {

    /**
     * The persisted state of one instance. {@code skippedSteps}: the indexes of the steps skipped because their
     * condition did not hold, in order; compensation passes them by. {@code deadline}: when the timer is next due
     * (a reply timeout or a retry, of the step or of the earliest due branch), never later than {@code sagaDeadline}
     * while the saga runs. {@code sagaDeadline}: when the whole saga must have finished going forward
     * ({@link SagaDefinition#deadline()} after it began), or null when its definition has none or it has passed
     * already. {@code branches}: while a parallel group is in hand (going forward, waiting for branches after one
     * failed, or compensating the group), the state of each of its branches in declaration order; null otherwise.
     * While branches are awaited, {@code stepIndex} is the group's first branch and {@code awaitingCommandId} null:
     * each branch has its own awaited command, attempt and due time.
     */
    public record State(UUID id, String type, int version, SagaState state, int stepIndex, int attempt,
            UUID awaitingCommandId, Instant deadline, String data, String lastError, List<Integer> skippedSteps,
            Instant sagaDeadline, List<Branch> branches) {

        public State {
            skippedSteps = skippedSteps == null ? List.of() : List.copyOf(skippedSteps);
            branches = branches == null || branches.isEmpty() ? null : List.copyOf(branches);
        }

        /** A state with no parallel group in hand. */
        public State(UUID id, String type, int version, SagaState state, int stepIndex, int attempt,
                UUID awaitingCommandId, Instant deadline, String data, String lastError, List<Integer> skippedSteps,
                Instant sagaDeadline) {
            this(id, type, version, state, stepIndex, attempt, awaitingCommandId, deadline, data, lastError,
                    skippedSteps, sagaDeadline, null);
        }

        /** A state without a saga deadline. */
        public State(UUID id, String type, int version, SagaState state, int stepIndex, int attempt,
                UUID awaitingCommandId, Instant deadline, String data, String lastError, List<Integer> skippedSteps) {
            this(id, type, version, state, stepIndex, attempt, awaitingCommandId, deadline, data, lastError,
                    skippedSteps, null);
        }

        /** A state with no skipped steps recorded. */
        public State(UUID id, String type, int version, SagaState state, int stepIndex, int attempt,
                UUID awaitingCommandId, Instant deadline, String data, String lastError) {
            this(id, type, version, state, stepIndex, attempt, awaitingCommandId, deadline, data, lastError, List.of());
        }
    }

    /**
     * A command to send through the outbox; its id is the outbox message id that replies refer to. {@code kind} is
     * {@link SagaMessages#FORWARD}, {@link SagaMessages#COMPENSATION} or {@link SagaMessages#ABANDON}.
     */
    public record Command(UUID id, String participant, String commandType, String payload, int stepIndex,
            String stepName, String kind, int attempt) {

        /** Whether the command undoes its step. */
        public boolean compensation() {
            return SagaMessages.COMPENSATION.equals(kind);
        }
    }

    /**
     * One branch of the parallel group in hand: its step, how far it got, and while it is {@linkplain #awaited()
     * awaited} the command it awaits a reply to (PENDING) and when its timeout or retry is due.
     */
    public record Branch(int stepIndex, Status status, UUID awaitingCommandId, int attempt, Instant due) {

        /** How far a branch got. */
        public enum Status {
            /** Its command is out; {@code due} is its timeout. */
            PENDING,
            /** Its last attempt failed and may be retried; {@code due} is when it is sent again. */
            RETRY_DUE,
            /** It took effect: compensated if the saga compensates. */
            SUCCEEDED,
            /** Its condition did not hold, so it never ran. */
            SKIPPED,
            /** Its participant refused it: it took no effect and is not compensated. */
            FAILED,
            /** Given up without a final answer (timed out, retries used up, cancelled): compensated. */
            GIVEN_UP
        }

        /** Whether the group still waits for this branch. */
        public boolean awaited() {
            return status == Status.PENDING || status == Status.RETRY_DUE;
        }

        Branch settled(Status outcome) {
            return new Branch(stepIndex, outcome, null, attempt, null);
        }
    }

    /** One history entry. */
    public record Entry(int stepIndex, String stepName, String event, String detail) {
    }

    /** The outcome of one event. */
    public record Transition(State state, List<Command> commands, List<Entry> history) {
    }

    private final PayloadCodec codec;
    private final Clock clock;

    public SagaEngine(PayloadCodec codec, Clock clock) {
        this.codec = codec;
        this.clock = clock;
    }

    /** A new instance, with its first step entered; its saga deadline, if any, counts from now. */
    public <D> Transition begin(SagaDefinition<D> definition, UUID id, D data, Connection connection) {
        Instant sagaDeadline = definition.deadline().map(clock.instant()::plus).orElse(null);
        Work<D> work = new Work<>(definition, connection, new State(id, definition.type(), definition.version(),
                SagaState.RUNNING, 0, 1, null, null, encode(data), null, List.of(), sagaDeadline));
        work.log(0, "STARTED", definition.type() + " v" + definition.version());
        work.enterStep(0);
        return work.transition();
    }

    /** A participant replied to {@code commandId}, a command of unknown step and kind. */
    public <D> Transition onReply(SagaDefinition<D> definition, State state, UUID commandId, Reply reply,
            Connection connection) {
        return onReply(definition, state, commandId, null, null, reply, connection);
    }

    /**
     * A participant replied to {@code commandId}, which it says was of step {@code stepIndex} and {@code kind}
     * (either null when the reply does not say). They matter only for a reply that is not awaited: a late
     * compensation outcome for the step a saga is parked at is applied (a success resumes the saga).
     */
    public <D> Transition onReply(SagaDefinition<D> definition, State state, UUID commandId, Integer stepIndex,
            String kind, Reply reply, Connection connection) {
        Work<D> work = new Work<>(definition, connection, state);
        work.reply(commandId, stepIndex, kind, reply.encodedWith(codec));
        return work.transition();
    }

    /**
     * The instance's deadline passed: a reply timed out, a retry is due, or the saga deadline passed. No-op when
     * nothing is due. With a parallel group in hand, every branch that is due is handled, each by its own timeout
     * and retry policy. A RUNNING saga past its saga deadline records {@code DEADLINE_PASSED} and gives up the step in
     * hand as {@link #cancel} does; a step without compensation whose abandon is out already gets the abandon again
     * (the timer found the saga at the saga deadline, not at the abandon's own timeout). A COMPENSATING saga goes on.
     */
    public <D> Transition onDeadline(SagaDefinition<D> definition, State state, Connection connection) {
        Work<D> work = new Work<>(definition, connection, state);
        work.deadline();
        return work.transition();
    }

    /**
     * Operator: send the parked compensation again, with fresh attempts. A saga parked while branches of a parallel
     * group were awaited (the timer failed on it) has no compensation parked: every awaited branch is given up and
     * the group compensated, as a cancel would.
     */
    public <D> Transition retryParked(SagaDefinition<D> definition, State state, Connection connection) {
        requireParked(state);
        Work<D> work = new Work<>(definition, connection, state);
        work.log(state.stepIndex(), "REPAIR_RETRY", "compensation retried by an operator");
        work.state = SagaState.COMPENSATING;
        if (work.groupInHand()) {
            work.giveUpGroup();
        } else {
            work.compensate(state.stepIndex());
        }
        return work.transition();
    }

    /**
     * Operator: the parked compensation was done by hand; go on with the earlier steps. A saga parked while branches
     * of a parallel group were awaited is parked at the group's first branch: the mark covers the whole group.
     */
    public <D> Transition markCompensated(SagaDefinition<D> definition, State state, String note, Connection connection) {
        requireParked(state);
        Work<D> work = new Work<>(definition, connection, state);
        work.log(state.stepIndex(), "REPAIRED", "compensated by hand: " + note);
        work.state = SagaState.COMPENSATING;
        work.nextCompensation(state.stepIndex() - 1);
        return work.transition();
    }

    /**
     * Operator: stop a RUNNING saga and undo what it did. Records {@code CANCELLED} with the reason, then gives
     * up on the step in hand exactly as a timeout with no attempts left does, because its outcome is just as
     * unknown (its command may have taken effect, or may still be queued at the participant):
     * <ul>
     * <li>a step with compensation is compensated, then the earlier ones, in reverse order (the path of a
     * failed step), ending COMPENSATED; the participant's record of the compensation refuses the step's forward
     * command whenever it comes, and a compensation of a step that never ran there succeeds without effect;</li>
     * <li>a parallel group in hand: every branch still awaited is given up at once, as a branch whose last attempt
     * timed out (a reply arriving for it later is ignored), and the group's branches that took or may have taken
     * effect are compensated, then the earlier steps;</li>
     * <li>a step without compensation (only the last may lack one) cannot be undone, so it is
     * {@linkplain SagaMessages#ABANDON abandoned}: the participant decides. A refusal (the command had not run,
     * and now never will) compensates the earlier steps; a success means the cancel came too late, and the saga
     * completes. The attempts are counted past the retry policy's, so a timeout sends the abandon again rather
     * than the command. When an abandon is out already, the cancel only records itself.</li>
     * </ul>
     * A reply to the command that was awaited arrives late from now on (the awaited command changed) and is
     * recorded and ignored. The caller holds the saga's row lock, so a reply is applied wholly before or after.
     *
     * @throws IllegalArgumentException when {@code reason} is blank
     * @throws IllegalStateException    when the saga is not RUNNING: a COMPENSATING or PARKED saga is undoing its
     *                                  steps already (a cancel could add nothing but a misleading entry), an
     *                                  ended one has nothing left to stop
     */
    public <D> Transition cancel(SagaDefinition<D> definition, State state, String reason, Connection connection) {
        if (reason == null || reason.isBlank()) {
            throw new IllegalArgumentException("reason must say why the saga is cancelled, but was "
                    + (reason == null ? "null" : "'" + reason + "'"));
        }
        if (state.state() != SagaState.RUNNING) {
            throw new IllegalStateException("saga " + state.id() + " is " + state.state() + ", not RUNNING: "
                    + switch (state.state()) {
                        case COMPENSATING -> "it is undoing its steps already";
                        case PARKED -> "it is undoing its steps already and waits for an operator to retry or mark "
                                + "the parked compensation";
                        default -> "it has ended";
                    });
        }
        Work<D> work = new Work<>(definition, connection, state);
        work.cancel(reason);
        return work.transition();
    }

    private static void requireParked(State state) {
        if (state.state() != SagaState.PARKED) {
            throw new IllegalStateException("saga " + state.id() + " is " + state.state() + ", not PARKED");
        }
    }

    private String encode(Object data) {
        return codec.encode(data);
    }

    /** A success reply whose payload does not decode to the step's reply type. */
    private static final class UnreadableReply extends Exception {
        UnreadableReply(String message) {
            super(message, null, false, false);
        }
    }

    /** Mutable working copy of one transition. */
    private final class Work<D> {
        private final SagaDefinition<D> definition;
        private final Connection connection;
        private final UUID id;
        private final Instant now = clock.instant();
        private SagaState state;
        private int step;
        private int attempt;
        private UUID awaiting;
        private Instant deadline;
        private String data;
        private String lastError;
        private Instant sagaDeadline;
        private final List<Integer> skipped;
        /** The branches of the parallel group in hand, or null. */
        private List<Branch> branches;
        private final List<Command> commands = new ArrayList<>();
        private final List<Entry> history = new ArrayList<>();

        Work(SagaDefinition<D> definition, Connection connection, State initial) {
            this.definition = definition;
            this.connection = connection;
            this.id = initial.id();
            this.state = initial.state();
            this.step = initial.stepIndex();
            this.attempt = initial.attempt();
            this.awaiting = initial.awaitingCommandId();
            this.deadline = initial.deadline();
            this.data = initial.data();
            this.lastError = initial.lastError();
            this.skipped = new ArrayList<>(initial.skippedSteps());
            this.sagaDeadline = initial.sagaDeadline();
            this.branches = initial.branches() == null ? null : new ArrayList<>(initial.branches());
        }

        Transition transition() {
            // The group is out of hand once the saga has ended or compensation went below it.
            List<Branch> kept = branches == null || state.terminal() || step < branches.get(0).stepIndex() ? null
                    : branches;
            return new Transition(new State(id, definition.type(), definition.version(), state, step, attempt, awaiting,
                    deadline, data, lastError, skipped, sagaDeadline, kept), List.copyOf(commands),
                    List.copyOf(history));
        }

        SagaStep<D> stepAt(int index) {
            return definition.steps().get(index);
        }

        void log(int index, String event, String detail) {
            String name = index >= 0 && index < definition.steps().size() ? stepAt(index).name() : null;
            history.add(new Entry(index, name, event, detail));
        }

        D decoded() {
            try {
                return codec.decode(data, definition.dataType());
            } catch (RuntimeException e) {
                throw new SagaException("data of saga " + id + " does not fit " + definition.dataType().getName()
                        + ": " + e.getMessage(), e);
            }
        }

        void enterStep(int index) {
            int next = index;
            while (next < definition.steps().size()) {
                step = next;
                attempt = 1;
                SagaStep<D> current = stepAt(next);
                if (current.isBranch()) {
                    if (enterGroup(next)) {
                        return;
                    }
                    next = groupEnd(next);
                    continue;
                }
                if (skips(next, decoded())) {
                    next++;
                    continue;
                }
                if (!current.isLocal()) {
                    sendForward();
                    return;
                }
                try {
                    data = encode(runLocal(current.local()));
                    log(next, "SUCCEEDED", "local step");
                    next++;
                } catch (Exception failure) {
                    lastError = failure.toString();
                    log(next, "FAILED", "local step: " + failure);
                    startCompensation(next - 1);
                    return;
                }
            }
            state = SagaState.COMPLETED;
            awaiting = null;
            deadline = null;
            step = definition.steps().size() - 1;
            log(step, "COMPLETED", null);
        }

        /** Whether the step at {@code index} is skipped, its condition not holding for {@code value}; recorded so. */
        boolean skips(int index, D value) {
            SagaStep<D> current = stepAt(index);
            if (current.condition() == null || current.condition().test(value)) {
                return false;
            }
            skipped.add(index);
            log(index, "SKIPPED", "its condition does not hold");
            return true;
        }

        /**
         * Forks the parallel group whose first branch is at {@code first}: sends the command of every branch whose
         * condition holds for the data as it is now. False, leaving no group in hand, when every branch is skipped.
         */
        boolean enterGroup(int first) {
            D value = decoded();
            branches = new ArrayList<>();
            for (int index = first; index < groupEnd(first); index++) {
                branches.add(skips(index, value) ? new Branch(index, Branch.Status.SKIPPED, null, 1, null)
                        : sendBranch(index, 1));
            }
            if (branches.stream().noneMatch(Branch::awaited)) {
                branches = null;
                return false;
            }
            awaiting = null;
            dueAtEarliestBranch();
            return true;
        }

        /** The index after the last branch of the group that the step at {@code index} belongs to. */
        int groupEnd(int index) {
            String group = stepAt(index).group();
            int end = index;
            while (end < definition.steps().size() && group.equals(stepAt(end).group())) {
                end++;
            }
            return end;
        }

        /** Whether branches of a parallel group are awaited: going forward, or waited for after a sibling failed. */
        boolean groupInHand() {
            return branches != null && branches.stream().anyMatch(Branch::awaited);
        }

        /** Sends attempt {@code attempt} of the branch at {@code index}; the branch then awaits its reply. */
        Branch sendBranch(int index, int attempt) {
            Command command = forward(index, attempt);
            commands.add(command);
            return new Branch(index, Branch.Status.PENDING, command.id(), attempt, now.plus(stepAt(index).timeout()));
        }

        void dueAtEarliestBranch() {
            due(branches.stream().filter(Branch::awaited).map(Branch::due).min(Comparator.naturalOrder())
                    .orElseThrow());
        }

        /** The branch of the group in hand that awaits a reply to {@code commandId}, or -1. */
        int branchAwaiting(UUID commandId) {
            if (branches == null || (state != SagaState.RUNNING && state != SagaState.COMPENSATING)) {
                return -1;
            }
            for (int i = 0; i < branches.size(); i++) {
                if (branches.get(i).status() == Branch.Status.PENDING
                        && commandId.equals(branches.get(i).awaitingCommandId())) {
                    return i;
                }
            }
            return -1;
        }

        /**
         * A branch's participant answered. Going forward, a success updates the data (replies in the order they
         * come) and, once no branch is awaited, joins; a failure retries the branch alone, or fails the group. After
         * a sibling failed, the answer only says whether the branch is to be compensated.
         */
        void branchReply(int i, Reply reply) {
            Branch branch = branches.get(i);
            int index = branch.stepIndex();
            SagaStep<D> current = stepAt(index);
            boolean running = state == SagaState.RUNNING;
            if (reply.succeeded()) {
                branches.set(i, branch.settled(Branch.Status.SUCCEEDED));
                try {
                    data = encode(updated(current, reply));
                    log(index, "SUCCEEDED", running ? null : "after a sibling failed: to be compensated");
                } catch (UnreadableReply unreadable) {
                    // It took effect, and stays SUCCEEDED: compensated with the data as it was.
                    String error = unfitting(current, unreadable);
                    log(index, "FAILED", error);
                    if (running) {
                        failGroup(error);
                    }
                }
            } else if (running && reply.retryable() && branch.attempt() < current.retry().maxAttempts()) {
                log(index, "FAILED", "retryable: " + reply.reason());
                lastError = reply.reason();
                branches.set(i, new Branch(index, Branch.Status.RETRY_DUE, null, branch.attempt(),
                        retryAt(index, branch.attempt(), reply.reason())));
            } else if (reply.retryable()) {
                // Not stored by the participant: an earlier attempt parked there could still run.
                log(index, "FAILED", (running ? "retries exhausted: " : "retryable, not retried as a sibling failed: ")
                        + reply.reason());
                branches.set(i, branch.settled(Branch.Status.GIVEN_UP));
                if (running) {
                    failGroup(reply.reason());
                }
            } else {
                log(index, "FAILED", refusal(reply));
                branches.set(i, branch.settled(Branch.Status.FAILED));
                if (running) {
                    failGroup(reply.reason());
                }
            }
            groupMoved();
        }

        /**
         * A branch failed: the saga turns to compensation. Branches whose retry was due are given up (their last
         * attempt failed retryably, so an earlier one may still run); those whose reply is awaited are waited for.
         */
        void failGroup(String reason) {
            lastError = reason;
            state = SagaState.COMPENSATING;
            for (int i = 0; i < branches.size(); i++) {
                if (branches.get(i).status() == Branch.Status.RETRY_DUE) {
                    branches.set(i, branches.get(i).settled(Branch.Status.GIVEN_UP));
                }
            }
        }

        /** Gives up every branch still awaited, as if its last attempt had timed out, and compensates the group. */
        void giveUpGroup() {
            int last = groupEnd(branches.get(0).stepIndex()) - 1;
            for (int i = 0; i < branches.size(); i++) {
                if (branches.get(i).awaited()) {
                    branches.set(i, branches.get(i).settled(Branch.Status.GIVEN_UP));
                }
            }
            startCompensation(last);
        }

        /**
         * After a branch moved: going forward with no branch awaited, the group joins and the saga enters the next
         * step; compensating with none awaited, the group's compensation starts; otherwise the saga waits for the
         * earliest due branch.
         */
        void groupMoved() {
            if (!groupInHand()) {
                int first = branches.get(0).stepIndex();
                if (state == SagaState.RUNNING) {
                    branches = null;
                    enterStep(groupEnd(first));
                } else {
                    startCompensation(groupEnd(first) - 1);
                }
                return;
            }
            awaiting = null;
            dueAtEarliestBranch();
        }

        /**
         * The timer found a branch due: a timed-out one is sent again while it has attempts left and the group goes
         * forward, and given up otherwise (its effect unknown: compensated), failing the group; one whose retry is
         * due is sent again.
         */
        void branchesDue() {
            for (int i = 0; i < branches.size(); i++) {
                Branch branch = branches.get(i);
                if (!branch.awaited() || now.isBefore(branch.due())) {
                    continue;
                }
                int index = branch.stepIndex();
                SagaStep<D> current = stepAt(index);
                if (branch.status() == Branch.Status.RETRY_DUE) {
                    branches.set(i, sendBranch(index, branch.attempt() + 1));
                    continue;
                }
                String timedOut = "no reply within " + current.timeout().toMillis() + " ms";
                log(index, "TIMED_OUT", "no reply to " + branch.awaitingCommandId() + " within "
                        + current.timeout().toMillis() + " ms");
                if (state == SagaState.RUNNING && branch.attempt() < current.retry().maxAttempts()) {
                    lastError = timedOut;
                    branches.set(i, sendBranch(index, branch.attempt() + 1));
                    continue;
                }
                branches.set(i, branch.settled(Branch.Status.GIVEN_UP));
                if (state == SagaState.RUNNING) {
                    failGroup(timedOut);
                }
            }
            groupMoved();
        }

        D runLocal(LocalAction<D> action) throws Exception {
            if (connection == null) {
                return action.apply(null, decoded());
            }
            // A local step that fails must leave nothing behind in the saga's transaction.
            Savepoint savepoint = connection.setSavepoint();
            try {
                D result = action.apply(connection, decoded());
                connection.releaseSavepoint(savepoint);
                return result;
            } catch (Exception | Error failure) {
                try {
                    connection.rollback(savepoint);
                } catch (SQLException rollbackFailure) {
                    failure.addSuppressed(rollbackFailure);
                }
                throw failure;
            }
        }

        void sendForward() {
            send(forward(step, attempt), stepAt(step).timeout());
        }

        /** Attempt {@code attempt} of the forward command of the step at {@code index}, recorded as sent. */
        Command forward(int index, int attempt) {
            SagaStep<D> current = stepAt(index);
            D value = decoded();
            Command command = new Command(UUID.randomUUID(), current.participant().apply(value), current.commandType(),
                    encode(current.command().apply(value)), index, current.name(), SagaMessages.FORWARD, attempt);
            log(index, "COMMAND_SENT", current.commandType() + " to " + command.participant() + ", attempt " + attempt
                    + ", id " + command.id());
            return command;
        }

        void sendCompensation() {
            SagaStep<D> current = stepAt(step);
            D value = decoded();
            Command command = new Command(UUID.randomUUID(), current.participant().apply(value),
                    current.compensationType(), encode(current.compensation().apply(value)), step, current.name(),
                    SagaMessages.COMPENSATION, attempt);
            send(command, current.timeout());
            log(step, "COMPENSATION_SENT", current.compensationType() + " to " + command.participant() + ", attempt "
                    + attempt + ", id " + command.id());
        }

        /**
         * Gives up on the forward command of a step without compensation by settling it with the participant:
         * the participant answers with the step's final forward reply, recording a refusal first when the
         * command has not run there, so it never will. Until that answer comes the saga stays at the step
         * (RUNNING, attempts counted on past the retry policy's), sending the abandon again after each timeout.
         */
        void abandon() {
            SagaStep<D> current = stepAt(step);
            attempt++;
            Command command = new Command(UUID.randomUUID(), current.participant().apply(decoded()),
                    current.commandType(), "{}", step, current.name(), SagaMessages.ABANDON, attempt);
            send(command, current.timeout());
            log(step, "ABANDON_SENT", current.commandType() + " to " + command.participant() + ", id " + command.id());
        }

        /** Whether the awaited command settles a step without compensation (see {@link #abandon()}). */
        boolean settling() {
            if (state != SagaState.RUNNING || step < 0 || step >= definition.steps().size()) {
                return false;
            }
            SagaStep<D> current = stepAt(step);
            return !current.isLocal() && !current.hasCompensation() && attempt > current.retry().maxAttempts();
        }

        /**
         * The forward command of the step in hand, or every awaited branch of the group in hand, is given up on
         * without a final answer from the participant.
         */
        void giveUpForward() {
            if (groupInHand()) {
                giveUpGroup();
            } else if (stepAt(step).hasCompensation()) {
                // Its effect is unknown, or an earlier attempt may still run: compensate it too. The
                // participant records the compensation, which refuses any forward command that comes later.
                startCompensation(step);
            } else {
                abandon();
            }
        }

        /** See {@link SagaEngine#cancel}. */
        void cancel(String reason) {
            stopForward("CANCELLED", reason, "cancelled: " + reason);
        }

        /**
         * Stops a RUNNING saga going forward, as {@link SagaEngine#cancel} describes; false when a step without
         * compensation is being settled already, so there was nothing more to give up.
         */
        boolean stopForward(String event, String detail, String error) {
            lastError = error;
            if (groupInHand()) {
                // About the whole group, so recorded under its name.
                history.add(new Entry(step, stepAt(step).group(), event, detail));
            } else {
                log(step, event, detail);
                if (settling()) {
                    return false;
                }
                // As a step whose last attempt timed out: a step without compensation is settled by an abandon, and
                // settling() must hold from now on so that a timeout re-sends the abandon, never the command.
                attempt = Math.max(attempt, stepAt(step).retry().maxAttempts());
            }
            giveUpForward();
            return true;
        }

        /** Whether this is a RUNNING saga whose saga deadline has come. */
        boolean sagaDeadlinePassed() {
            return state == SagaState.RUNNING && sagaDeadline != null && !now.isBefore(sagaDeadline);
        }

        void send(Command command, Duration timeout) {
            commands.add(command);
            awaiting = command.id();
            due(now.plus(timeout));
        }

        /** Sets when the timer is next due; a RUNNING saga is due at its saga deadline at the latest. */
        void due(Instant at) {
            deadline = state == SagaState.RUNNING && sagaDeadline != null && sagaDeadline.isBefore(at)
                    ? sagaDeadline : at;
        }

        void startCompensation(int from) {
            int first = lastCompensable(from);
            if (first < 0) {
                state = SagaState.FAILED;
                awaiting = null;
                deadline = null;
                log(step, "ENDED_FAILED", lastError);
                return;
            }
            state = SagaState.COMPENSATING;
            compensate(first);
        }

        void compensate(int index) {
            step = index;
            attempt = 1;
            SagaStep<D> current = stepAt(index);
            if (current.localCompensation() == null) {
                sendCompensation();
                return;
            }
            try {
                data = encode(runLocal(current.localCompensation()));
                log(index, "COMPENSATED", "local step");
                nextCompensation(index - 1);
            } catch (Exception failure) {
                park("local compensation failed: " + failure);
            }
        }

        void nextCompensation(int from) {
            int next = lastCompensable(from);
            if (next < 0) {
                state = SagaState.COMPENSATED;
                awaiting = null;
                deadline = null;
                log(Math.max(step, 0), "ENDED_COMPENSATED", null);
                return;
            }
            compensate(next);
        }

        int lastCompensable(int from) {
            for (int index = Math.min(from, definition.steps().size() - 1); index >= 0; index--) {
                if (stepAt(index).hasCompensation() && !skipped.contains(index) && !refusedBranch(index)) {
                    return index;
                }
            }
            return -1;
        }

        /** Whether the step at {@code index} is a branch of the group in hand that its participant refused. */
        boolean refusedBranch(int index) {
            return branches != null && branches.stream()
                    .anyMatch(branch -> branch.stepIndex() == index && branch.status() == Branch.Status.FAILED);
        }

        void park(String reason) {
            state = SagaState.PARKED;
            awaiting = null;
            deadline = null;
            lastError = reason;
            log(step, "PARKED", reason);
        }

        void scheduleRetry(String reason) {
            lastError = reason;
            awaiting = null;
            due(retryAt(step, attempt, reason));
        }

        /** When the step at {@code index} is tried again after attempt {@code attempt} failed; recorded. */
        Instant retryAt(int index, int attempt, String reason) {
            Duration backoff = stepAt(index).retry().backoffAfter(attempt);
            log(index, "RETRY_SCHEDULED", reason + "; attempt " + (attempt + 1) + " in " + backoff.toMillis() + " ms");
            return now.plus(backoff);
        }

        void reply(UUID commandId, Integer stepIndex, String kind, Reply reply) {
            int branch = branchAwaiting(commandId);
            if (branch >= 0) {
                branchReply(branch, reply);
                return;
            }
            if (awaiting == null || !awaiting.equals(commandId)
                    || (state != SagaState.RUNNING && state != SagaState.COMPENSATING)) {
                String outcome = (reply.succeeded() ? "success" : "failure: " + reply.reason()) + " in reply to "
                        + (kind == null ? "" : kind + " ") + commandId;
                if (state == SagaState.PARKED && SagaMessages.COMPENSATION.equals(kind) && stepIndex != null
                        && stepIndex == step && step >= 0 && step < definition.steps().size()
                        && stepAt(step).compensationType() != null) {
                    lateCompensation(outcome, reply);
                } else {
                    // A late reply of a branch of the group in hand is recorded under that branch.
                    boolean ofBranch = branches != null && stepIndex != null
                            && branches.stream().anyMatch(b -> b.stepIndex() == stepIndex);
                    log(ofBranch ? stepIndex : step, "LATE_REPLY_IGNORED", outcome);
                }
                return;
            }
            SagaStep<D> current = stepAt(step);
            int maxAttempts = current.retry().maxAttempts();
            if (settling()) {
                if (reply.succeeded()) {
                    log(step, "SETTLED", "took effect before the abandon");
                    succeed(current, reply);
                } else {
                    lastError = reply.reason();
                    log(step, "SETTLED", "not carried out: " + reply.reason());
                    startCompensation(step - 1);
                }
                return;
            }
            if (state == SagaState.RUNNING) {
                if (reply.succeeded()) {
                    succeed(current, reply);
                } else if (reply.retryable() && attempt < maxAttempts) {
                    log(step, "FAILED", "retryable: " + reply.reason());
                    scheduleRetry(reply.reason());
                } else if (reply.retryable()) {
                    // Not stored by the participant: an earlier attempt parked there could still run.
                    lastError = reply.reason();
                    log(step, "FAILED", "retries exhausted: " + reply.reason());
                    giveUpForward();
                } else {
                    lastError = reply.reason();
                    log(step, "FAILED", refusal(reply));
                    // The failed step took no effect: compensate the ones before it.
                    startCompensation(step - 1);
                }
                return;
            }
            if (reply.succeeded()) {
                log(step, "COMPENSATED", null);
                nextCompensation(step - 1);
            } else if (attempt < maxAttempts) {
                log(step, "COMPENSATION_FAILED", reply.reason());
                scheduleRetry(reply.reason());
            } else {
                log(step, "COMPENSATION_FAILED", reply.reason());
                park("compensation failed after " + attempt + " attempt(s): " + reply.reason());
            }
        }

        /** The step in hand succeeded: its reply updates the data, then the next step is entered. */
        void succeed(SagaStep<D> current, Reply reply) {
            try {
                data = encode(updated(current, reply));
            } catch (UnreadableReply unreadable) {
                // The step took effect, but the saga cannot go on without what it returned: undo it.
                lastError = unfitting(current, unreadable);
                log(step, "FAILED", lastError);
                startCompensation(step);
                return;
            }
            log(step, "SUCCEEDED", null);
            enterStep(step + 1);
        }

        /** The data after {@code current}'s success reply. */
        D updated(SagaStep<D> current, Reply reply) throws UnreadableReply {
            D updated = current.onSuccess().apply(decoded(), reply);
            return current.onReply() == null ? updated : updated(current.onReply(), updated, reply.payload());
        }

        String unfitting(SagaStep<D> current, UnreadableReply unreadable) {
            return "the reply of step " + current.name() + " does not fit "
                    + current.onReply().replyType().getSimpleName() + ": " + unreadable.getMessage();
        }

        /** A business failure as recorded: its reason, and its details when it has any. */
        String refusal(Reply reply) {
            return "{}".equals(reply.payload()) ? reply.reason() : reply.reason() + " " + reply.payload();
        }

        /** The data after a typed reply update; a failure of the update function itself propagates. */
        <R> D updated(SagaStep.ReplyUpdate<D, R> onReply, D data, String payload) throws UnreadableReply {
            R value;
            try {
                value = codec.decode(payload, onReply.replyType());
            } catch (RuntimeException e) {
                throw new UnreadableReply(e.getMessage());
            }
            return onReply.update().apply(data, value);
        }

        /**
         * A compensation of the step the saga is parked at answered after the saga gave up waiting (its
         * command was still live). A success means the step is undone: the saga goes on compensating, so
         * an operator's repair of it is refused from now on instead of undoing the step twice. A failure
         * is recorded and the saga stays parked.
         */
        void lateCompensation(String outcome, Reply reply) {
            if (!reply.succeeded()) {
                log(step, "LATE_COMPENSATION_FAILED", outcome);
                return;
            }
            log(step, "LATE_COMPENSATION_SUCCEEDED", outcome);
            log(step, "COMPENSATED", "after the saga was parked");
            state = SagaState.COMPENSATING;
            lastError = null;
            nextCompensation(step - 1);
        }

        void deadline() {
            if (deadline == null || now.isBefore(deadline)
                    || (state != SagaState.RUNNING && state != SagaState.COMPENSATING)) {
                return;
            }
            if (sagaDeadlinePassed()) {
                Instant passed = sagaDeadline;
                // Cleared first, so that the steps given up and an abandon sent are due at their own timeouts.
                sagaDeadline = null;
                String detail = "the saga deadline " + passed + " (" + definition.deadline().map(Duration::toMillis)
                        .map(ms -> ms + " ms").orElse("?") + " after it began) passed";
                if (!stopForward("DEADLINE_PASSED", detail, "deadline passed: " + detail)) {
                    abandon();
                }
                return;
            }
            if (groupInHand()) {
                branchesDue();
                return;
            }
            SagaStep<D> current = stepAt(step);
            boolean running = state == SagaState.RUNNING;
            if (settling()) {
                if (awaiting != null) {
                    log(step, "TIMED_OUT", "no answer to abandon " + awaiting + " within " + current.timeout().toMillis()
                            + " ms");
                }
                abandon();
                return;
            }
            if (awaiting != null) {
                lastError = "no reply within " + current.timeout().toMillis() + " ms";
                log(step, "TIMED_OUT", "no reply to " + awaiting + " within " + current.timeout().toMillis() + " ms");
                if (attempt >= current.retry().maxAttempts()) {
                    if (running) {
                        // Whether the timed-out step took effect is unknown.
                        giveUpForward();
                    } else {
                        park("compensation timed out after " + attempt + " attempt(s)");
                    }
                    return;
                }
            }
            attempt++;
            if (running) {
                sendForward();
            } else {
                sendCompensation();
            }
        }
    }
}
