package dev.outboxsaga.saga;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.saga.internal.SagaEngine;
import dev.outboxsaga.saga.internal.SagaStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Unit tests for saga definitions, without a database or a broker: given a saga, start it, expect a
 * command, reply to it, let its deadline pass, repair or cancel it as an operator, expect compensations and
 * the end state. Runs the same state machine as {@link SagaOrchestrator}. Local steps get a null
 * connection.
 *
 * <pre>{@code
 * SagaScenario.given(TRANSFER).start(new Transfer("t-1", "bank-a", "A1", "bank-b", "B1", 100))
 *     .expectCommand("bank-a", "Debit")
 *     .reply(Reply.success())
 *     .expectCommand("bank-b", "Credit")
 *     .reply(Reply.failure("unknown account B1"))
 *     .expectCompensation("bank-a", "Refund")
 *     .reply(Reply.success())
 *     .expectState(SagaState.COMPENSATED);
 * }</pre>
 *
 * Typed replies ({@code reply(Reply.success(new Reserved("r-1")))}) are encoded with the scenario's codec, as
 * the participant would; {@link #expectCommand(String, String, Class, Consumer)} reads a command typed, and
 * {@link #expectSkipped(String)} checks a conditional step that did not run, and {@link #sagaDeadlinePasses()}
 * runs the saga into its {@linkplain SagaDefinition.Builder#deadline saga deadline}.
 *
 * <p>A {@linkplain SagaDefinition.Builder#parallel parallel group} sends several commands at once: expect them with
 * {@link #expectCommands(String...)} and answer each branch by its step name with {@link #replyTo(String, Reply)}, in
 * the order the test chooses; {@link #deadlinePasses()} moves to the earliest due branch. Each event sees the state
 * as the orchestrator would read it back from the database, as after a restart:
 *
 * <pre>{@code
 *     .expectCommands("fraud:CheckFraud", "limits:HoldLimit")
 *     .replyTo("limitCheck", Reply.success())
 *     .expectNoCommand()                           // the fraud check is still awaited
 *     .replyTo("fraudCheck", Reply.failure("suspicious"))
 *     .expectCompensation("limits", "ReleaseLimit")
 * }</pre>
 *
 * Each {@code expect...} method throws {@link AssertionError} with what happened instead.
 *
 * @param <D> the saga data
 */
public final class SagaScenario<D> {

    private final SagaDefinition<D> definition;
    private final PayloadCodec codec;
    private final MutableClock clock = new MutableClock();
    private final SagaEngine engine;
    private final List<SagaEngine.Entry> history = new ArrayList<>();
    private SagaEngine.State state;
    private Instant startedAt;
    private List<SagaEngine.Command> sent = List.of();
    private final Map<UUID, SagaEngine.Command> everSent = new HashMap<>();

    private SagaScenario(SagaDefinition<D> definition, PayloadCodec codec) {
        this.definition = definition;
        this.codec = codec;
        this.engine = new SagaEngine(codec, clock);
    }

    /** A scenario for {@code definition}, with the Jackson codec the orchestrator uses by default. */
    public static <D> SagaScenario<D> given(SagaDefinition<D> definition) {
        return new SagaScenario<>(definition, JacksonPayloadCodec.create());
    }

    /** A scenario with another codec. */
    public static <D> SagaScenario<D> given(SagaDefinition<D> definition, PayloadCodec codec) {
        return new SagaScenario<>(definition, codec);
    }

    /** Starts the saga with {@code data}. */
    public SagaScenario<D> start(D data) {
        if (state != null) {
            throw new IllegalStateException("the scenario's saga was started already");
        }
        startedAt = clock.now;
        apply(engine.begin(definition, UUID.randomUUID(), data, null));
        return this;
    }

    /** Expects the last event to have sent exactly one forward command of {@code type} to {@code participant}. */
    public SagaScenario<D> expectCommand(String participant, String type) {
        return expectSent(participant, type, SagaMessages.FORWARD, payload -> { });
    }

    /** As {@link #expectCommand(String, String)}, then checks the command's JSON payload. */
    public SagaScenario<D> expectCommand(String participant, String type, Consumer<String> payload) {
        return expectSent(participant, type, SagaMessages.FORWARD, payload);
    }

    /**
     * As {@link #expectCommand(String, String)}, then decodes the command's payload to {@code payloadType} with the
     * scenario's codec and checks it, e.g. that it carries what an earlier step's reply returned.
     */
    public <T> SagaScenario<D> expectCommand(String participant, String type, Class<T> payloadType, Consumer<T> check) {
        return expectSent(participant, type, SagaMessages.FORWARD, payload -> check.accept(codec.decode(payload,
                payloadType)));
    }

    /** Expects the last event to have sent exactly one compensating command of {@code type} to {@code participant}. */
    public SagaScenario<D> expectCompensation(String participant, String type) {
        return expectSent(participant, type, SagaMessages.COMPENSATION, payload -> { });
    }

    /** As {@link #expectCompensation(String, String)}, then checks the compensating command's JSON payload. */
    public SagaScenario<D> expectCompensation(String participant, String type, Consumer<String> payload) {
        return expectSent(participant, type, SagaMessages.COMPENSATION, payload);
    }

    /**
     * Expects the last event to have sent exactly one {@linkplain SagaMessages#ABANDON abandon} of the forward
     * command {@code type} to {@code participant}: the saga gave up on a step without compensation. Reply with
     * the participant's final answer: {@link Reply#success()} if the command had run, a failure if not.
     */
    public SagaScenario<D> expectAbandon(String participant, String type) {
        return expectSent(participant, type, SagaMessages.ABANDON, payload -> { });
    }

    /**
     * Expects the last event to have sent exactly these forward commands, each given as {@code participant:Type}, in
     * the order sent: entering a parallel group sends one per branch whose condition holds, in declaration order.
     */
    public SagaScenario<D> expectCommands(String... commands) {
        requireStarted();
        List<String> expected = List.of(commands);
        List<String> actual = sent.stream().map(c -> SagaMessages.FORWARD.equals(c.kind())
                ? c.participant() + ":" + c.commandType() : describe(List.of(c))).toList();
        if (!actual.equals(expected)) {
            throw new AssertionError("expected commands " + expected + ", but sent " + actual + "; saga is "
                    + state.state() + "; history: " + historyText());
        }
        return this;
    }

    /** Expects the last event to have sent nothing. */
    public SagaScenario<D> expectNoCommand() {
        if (!sent.isEmpty()) {
            throw new AssertionError("expected no command, but sent " + describe(sent));
        }
        return this;
    }

    /** The participant answers the awaited command. */
    public SagaScenario<D> reply(Reply reply) {
        requireStarted();
        if (state.awaitingCommandId() == null) {
            throw new AssertionError("no command awaits a reply; saga is " + state.state() + " at step "
                    + stepName(state.stepIndex()) + (awaitedBranches().isEmpty() ? ""
                    : "; branches " + awaitedBranches() + " await theirs: answer with replyTo(step, reply)"));
        }
        return replyTo(state.awaitingCommandId(), reply);
    }

    /**
     * The participant of step {@code step} answers the command it awaits: a branch of the parallel group in hand, or
     * the step in hand.
     */
    public SagaScenario<D> replyTo(String step, Reply reply) {
        return replyTo(awaitedCommand(step), reply);
    }

    /**
     * A reply to a given command id, e.g. one sent before a timeout (a late reply, or the answer to a deferred command
     * completed after the step timed out); it carries the step and kind of that command, as a participant's reply
     * does.
     */
    public SagaScenario<D> replyTo(UUID commandId, Reply reply) {
        requireStarted();
        if (reply.deferred()) {
            throw new IllegalArgumentException("Reply.deferred is no answer: the participant sends nothing then. Reply "
                    + "later with the answer it completes the command with, or let the step time out (deadlinePasses)");
        }
        SagaEngine.Command command = everSent.get(commandId);
        apply(engine.onReply(definition, state, commandId, command == null ? null : command.stepIndex(),
                command == null ? null : command.kind(), reply, null));
        return this;
    }

    /** Lets the deadline pass (the awaited reply times out, or a scheduled retry falls due). */
    public SagaScenario<D> deadlinePasses() {
        requireStarted();
        if (state.deadline() == null) {
            throw new AssertionError("nothing is due; saga is " + state.state() + " at step " + stepName(state.stepIndex()));
        }
        clock.now = state.deadline();
        apply(engine.onDeadline(definition, state, null));
        return this;
    }

    /**
     * Lets the saga deadline pass ({@link SagaDefinition.Builder#deadline}): the clock moves to it, counted from
     * {@link #start}, and the timer runs, as it finds the saga then. A RUNNING saga records {@code DEADLINE_PASSED}
     * and gives up the step in hand, as {@link #operatorCancels} does; a compensating one is not affected.
     *
     * @throws IllegalStateException when the definition has no saga deadline
     */
    public SagaScenario<D> sagaDeadlinePasses() {
        requireStarted();
        Duration limit = definition.deadline().orElseThrow(() -> new IllegalStateException("saga "
                + definition.type() + " has no deadline; set one with SagaDefinition.Builder.deadline"));
        Instant due = startedAt.plus(limit);
        if (due.isAfter(clock.now)) {
            clock.now = due;
        }
        apply(engine.onDeadline(definition, state, null));
        return this;
    }

    /** An operator retries a parked compensation. */
    public SagaScenario<D> operatorRetriesCompensation() {
        requireStarted();
        apply(engine.retryParked(definition, state, null));
        return this;
    }

    /** An operator marks a parked compensation done by hand. */
    public SagaScenario<D> operatorMarksCompensated(String note) {
        requireStarted();
        apply(engine.markCompensated(definition, state, note, null));
        return this;
    }

    /**
     * An operator cancels the running saga ({@link SagaAdmin#cancel}): expect the compensation of the step in
     * hand (or an abandon of a step without compensation) next.
     *
     * @throws IllegalStateException when the saga is not RUNNING, as {@link SagaAdmin#cancel} does
     */
    public SagaScenario<D> operatorCancels(String reason) {
        requireStarted();
        apply(engine.cancel(definition, state, reason, null));
        return this;
    }

    /** Expects the saga to be in {@code expected}. */
    public SagaScenario<D> expectState(SagaState expected) {
        requireStarted();
        if (state.state() != expected) {
            throw new AssertionError("expected saga to be " + expected + " but it is " + state.state() + " at step "
                    + stepName(state.stepIndex()) + (state.lastError() == null ? "" : " (" + state.lastError() + ")")
                    + "; history: " + historyText());
        }
        return this;
    }

    /** Checks the saga data. */
    public SagaScenario<D> expectData(Consumer<D> check) {
        requireStarted();
        check.accept(codec.decode(state.data(), definition.dataType()));
        return this;
    }

    /** Expects step {@code step} to have been skipped: its condition did not hold when the saga reached it. */
    public SagaScenario<D> expectSkipped(String step) {
        requireStarted();
        if (history.stream().noneMatch(entry -> step.equals(entry.stepName()) && entry.event().equals("SKIPPED"))) {
            throw new AssertionError("expected step " + step + " to be skipped; history: " + historyText());
        }
        return this;
    }

    /** Expects the saga's last error (a failure's reason or code, a timeout) to be {@code expected}. */
    public SagaScenario<D> expectLastError(String expected) {
        requireStarted();
        if (!Objects.equals(state.lastError(), expected)) {
            throw new AssertionError("expected last error '" + expected + "' but it is '" + state.lastError()
                    + "'; history: " + historyText());
        }
        return this;
    }

    /** The id of the command awaiting a reply, to reply to it late later. */
    public UUID awaitedCommand() {
        requireStarted();
        return state.awaitingCommandId();
    }

    /**
     * The id of the command that step {@code step} awaits a reply to (a branch of the parallel group in hand, or the
     * step in hand), e.g. to reply to it late later.
     *
     * @throws AssertionError when step {@code step} awaits no reply
     */
    public UUID awaitedCommand(String step) {
        requireStarted();
        if (state.branches() != null) {
            for (SagaEngine.Branch branch : state.branches()) {
                if (branch.awaitingCommandId() != null && stepName(branch.stepIndex()).equals(step)) {
                    return branch.awaitingCommandId();
                }
            }
        }
        if (state.awaitingCommandId() != null && stepName(state.stepIndex()).equals(step)) {
            return state.awaitingCommandId();
        }
        throw new AssertionError("step " + step + " awaits no reply; saga is " + state.state() + " at step "
                + stepName(state.stepIndex()) + (awaitedBranches().isEmpty() ? "" : ", branches " + awaitedBranches()
                + " await theirs") + "; history: " + historyText());
    }

    /** The history so far, as {@code step:EVENT} strings. */
    public List<String> history() {
        return history.stream().map(entry -> entry.stepName() + ":" + entry.event()).toList();
    }

    /** The history so far, as {@code step:EVENT detail} strings ({@code step:EVENT} when there is no detail). */
    public List<String> historyDetails() {
        return history.stream().map(entry -> entry.stepName() + ":" + entry.event()
                + (entry.detail() == null ? "" : " " + entry.detail())).toList();
    }

    private SagaScenario<D> expectSent(String participant, String type, String kind, Consumer<String> payload) {
        requireStarted();
        if (sent.size() != 1 || !sent.get(0).participant().equals(participant) || !sent.get(0).commandType().equals(type)
                || !sent.get(0).kind().equals(kind)) {
            throw new AssertionError("expected " + describe(kind) + " " + type + " to "
                    + participant + ", but sent " + describe(sent) + "; saga is " + state.state() + "; history: "
                    + historyText());
        }
        payload.accept(sent.get(0).payload());
        return this;
    }

    private void apply(SagaEngine.Transition transition) {
        state = stored(transition.state());
        sent = transition.commands();
        sent.forEach(command -> everSent.put(command.id(), command));
        history.addAll(transition.history());
    }

    /** The state as the orchestrator reads it back: the branches through their stored form. */
    private static SagaEngine.State stored(SagaEngine.State state) {
        return new SagaEngine.State(state.id(), state.type(), state.version(), state.state(), state.stepIndex(),
                state.attempt(), state.awaitingCommandId(), state.deadline(), state.data(), state.lastError(),
                state.skippedSteps(), state.sagaDeadline(),
                SagaStore.branches(SagaStore.branchesJson(state.branches())));
    }

    /** The names of the branches whose command awaits a reply. */
    private List<String> awaitedBranches() {
        return state.branches() == null ? List.of() : state.branches().stream()
                .filter(branch -> branch.awaitingCommandId() != null).map(branch -> stepName(branch.stepIndex()))
                .toList();
    }

    private void requireStarted() {
        if (state == null) {
            throw new IllegalStateException("start the saga first");
        }
    }

    private String stepName(int index) {
        return index >= 0 && index < definition.steps().size() ? definition.steps().get(index).name() : "-";
    }

    private String historyText() {
        return String.join(", ", history());
    }

    private static String describe(List<SagaEngine.Command> commands) {
        if (commands.isEmpty()) {
            return "nothing";
        }
        return commands.stream().map(c -> describe(c.kind()) + " " + c.commandType() + " to "
                + c.participant()).collect(Collectors.joining(", "));
    }

    private static String describe(String kind) {
        return switch (kind) {
            case SagaMessages.COMPENSATION -> "compensation";
            case SagaMessages.ABANDON -> "abandon of";
            default -> "command";
        };
    }

    private static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
