package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.TransferSaga.Transfer;
import dev.outboxsaga.saga.internal.Definitions;
import dev.outboxsaga.saga.internal.SagaEngine;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The state machine's own contract: deadlines, attempts, command ids and no-ops, which the scenario DSL hides. */
class SagaEngineTest {

    private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
    private static final Transfer TRANSFER = new Transfer("t-1", "bank-a", "A1", "bank-b", "B1", 100, 2, null);
    private static final RetryPolicy RETRY = RetryPolicy.exponential(4, Duration.ofMillis(100), Duration.ofMillis(250));
    private static final SagaDefinition<Transfer> DEFINITION = TransferSaga.builder("transfer")
            .timeout(Duration.ofSeconds(2))
            .retry(RETRY)
            .build();

    private final TestClock clock = new TestClock();
    private final SagaEngine engine = new SagaEngine(JacksonPayloadCodec.create(), clock);
    private final UUID sagaId = UUID.randomUUID();

    @Test
    void beginSendsTheFirstCommandAndWaitsForItsReplyUntilTheTimeout() {
        SagaEngine.Transition begun = engine.begin(DEFINITION, sagaId, TRANSFER, null);

        SagaEngine.State state = begun.state();
        assertThat(state.id()).isEqualTo(sagaId);
        assertThat(state.type()).isEqualTo("transfer");
        assertThat(state.version()).isEqualTo(2);
        assertThat(state.state()).isEqualTo(SagaState.RUNNING);
        assertThat(state.stepIndex()).isZero();
        assertThat(state.attempt()).isEqualTo(1);
        assertThat(state.deadline()).isEqualTo(T0.plusSeconds(2));
        assertThat(begun.commands()).singleElement().satisfies(command -> {
            assertThat(command.id()).isEqualTo(state.awaitingCommandId());
            assertThat(command.participant()).isEqualTo("bank-a");
            assertThat(command.commandType()).isEqualTo("Debit");
            assertThat(command.stepIndex()).isZero();
            assertThat(command.stepName()).isEqualTo("debit");
            assertThat(command.compensation()).isFalse();
            assertThat(command.attempt()).isEqualTo(1);
        });
        assertThat(begun.history()).extracting(SagaEngine.Entry::event).containsExactly("STARTED", "COMMAND_SENT");
        assertThat(begun.history().get(0).detail()).isEqualTo("transfer v2");
    }

    @Test
    void retryableFailuresBackOffExponentiallyAndEachRetryIsANewCommand() {
        SagaEngine.State state = engine.begin(DEFINITION, sagaId, TRANSFER, null).state();
        UUID first = state.awaitingCommandId();

        clock.advance(Duration.ofMillis(500));
        SagaEngine.Transition failed = engine.onReply(DEFINITION, state, first, Reply.retryableFailure("busy"), null);
        assertThat(failed.commands()).isEmpty();
        assertThat(failed.state().awaitingCommandId()).isNull();
        assertThat(failed.state().deadline()).isEqualTo(clock.instant().plusMillis(100));
        assertThat(failed.state().lastError()).isEqualTo("busy");
        assertThat(failed.history()).extracting(SagaEngine.Entry::detail)
                .containsExactly("retryable: busy", "busy; attempt 2 in 100 ms");

        // Before the backoff has passed, the deadline is a no-op.
        clock.advance(Duration.ofMillis(99));
        SagaEngine.Transition early = engine.onDeadline(DEFINITION, failed.state(), null);
        assertThat(early.commands()).isEmpty();
        assertThat(early.history()).isEmpty();
        assertThat(early.state()).isEqualTo(failed.state());

        clock.advance(Duration.ofMillis(1));
        SagaEngine.Transition retried = engine.onDeadline(DEFINITION, failed.state(), null);
        assertThat(retried.commands()).singleElement().satisfies(command -> {
            assertThat(command.attempt()).isEqualTo(2);
            assertThat(command.id()).isNotEqualTo(first).isEqualTo(retried.state().awaitingCommandId());
        });
        assertThat(retried.state().attempt()).isEqualTo(2);
        assertThat(retried.state().deadline()).isEqualTo(clock.instant().plusSeconds(2));

        SagaEngine.Transition failedAgain = engine.onReply(DEFINITION, retried.state(),
                retried.state().awaitingCommandId(), Reply.retryableFailure("busy"), null);
        assertThat(failedAgain.state().deadline()).as("backoff doubles").isEqualTo(clock.instant().plusMillis(200));
        clock.advance(Duration.ofMillis(200));
        SagaEngine.State third = engine.onDeadline(DEFINITION, failedAgain.state(), null).state();
        SagaEngine.Transition failedThird = engine.onReply(DEFINITION, third, third.awaitingCommandId(),
                Reply.retryableFailure("busy"), null);
        assertThat(failedThird.state().deadline()).as("backoff capped").isEqualTo(clock.instant().plusMillis(250));
    }

    @Test
    void aTimeoutSendsTheNextAttemptAtOnce() {
        SagaEngine.State state = engine.begin(DEFINITION, sagaId, TRANSFER, null).state();
        clock.advance(Duration.ofSeconds(2));
        SagaEngine.Transition timedOut = engine.onDeadline(DEFINITION, state, null);

        assertThat(timedOut.history()).extracting(SagaEngine.Entry::event).containsExactly("TIMED_OUT", "COMMAND_SENT");
        assertThat(timedOut.history().get(0).detail())
                .isEqualTo("no reply to " + state.awaitingCommandId() + " within 2000 ms");
        assertThat(timedOut.state().attempt()).isEqualTo(2);
        assertThat(timedOut.state().lastError()).isEqualTo("no reply within 2000 ms");
        assertThat(timedOut.state().deadline()).isEqualTo(clock.instant().plusSeconds(2));
        assertThat(timedOut.commands()).singleElement()
                .satisfies(command -> assertThat(command.attempt()).isEqualTo(2));
    }

    @Test
    void compensationCommandsCarryTheStepAndTheCompensationFlag() {
        SagaEngine.State state = engine.begin(DEFINITION, sagaId, TRANSFER, null).state();
        state = engine.onReply(DEFINITION, state, state.awaitingCommandId(), Reply.success("{\"ref\": \"D-7\"}"), null)
                .state();
        SagaEngine.Transition failed = engine.onReply(DEFINITION, state, state.awaitingCommandId(),
                Reply.failure("unknown account B1"), null);

        assertThat(failed.state().state()).isEqualTo(SagaState.COMPENSATING);
        assertThat(failed.state().lastError()).isEqualTo("unknown account B1");
        assertThat(failed.commands()).singleElement().satisfies(command -> {
            assertThat(command.participant()).isEqualTo("bank-a");
            assertThat(command.commandType()).isEqualTo("Refund");
            assertThat(command.compensation()).isTrue();
            assertThat(command.stepIndex()).isZero();
            assertThat(command.stepName()).isEqualTo("debit");
            assertThat(command.attempt()).isEqualTo(1);
            assertThat(command.payload()).isEqualTo("{\"account\":\"A1\",\"amount\":100,\"ref\":\"D-7\"}");
        });
    }

    @Test
    void aTimedOutStepWithoutCompensationIsAbandonedWithTheForwardCommandsTypeAndAttemptsCountedOn() {
        SagaDefinition<Transfer> definition = SagaDefinition.builder("fire-and-forget", 1, Transfer.class)
                .step("notify").invoke("mailer", "Notify", t -> t)
                .retry(RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO))
                .timeout(Duration.ofSeconds(1))
                .build();
        SagaEngine.State state = engine.begin(definition, sagaId, TRANSFER, null).state();
        clock.advance(Duration.ofSeconds(1));
        SagaEngine.Transition timedOut = engine.onDeadline(definition, state, null);
        assertThat(timedOut.state().state()).isEqualTo(SagaState.RUNNING);
        assertThat(timedOut.state().attempt()).isEqualTo(2);
        assertThat(timedOut.state().deadline()).isEqualTo(clock.instant().plusSeconds(1));
        assertThat(timedOut.commands()).singleElement().satisfies(command -> {
            assertThat(command.kind()).isEqualTo(SagaMessages.ABANDON);
            assertThat(command.compensation()).isFalse();
            assertThat(command.commandType()).isEqualTo("Notify");
            assertThat(command.participant()).isEqualTo("mailer");
            assertThat(command.id()).isEqualTo(timedOut.state().awaitingCommandId());
        });

        SagaEngine.Transition refused = engine.onReply(definition, timedOut.state(),
                timedOut.state().awaitingCommandId(), Reply.failure("abandoned"), null);
        assertThat(refused.state().state()).as("nothing before it to compensate").isEqualTo(SagaState.FAILED);
        assertThat(refused.state().deadline()).isNull();
        assertThat(refused.commands()).isEmpty();
    }

    @Test
    void endedSagasIgnoreDeadlinesAndReplies() {
        SagaEngine.State state = engine.begin(DEFINITION, sagaId, TRANSFER, null).state();
        UUID debit = state.awaitingCommandId();
        SagaEngine.State failed = engine.onReply(DEFINITION, state, debit, Reply.failure("no"), null).state();
        assertThat(failed.state()).isEqualTo(SagaState.FAILED);
        assertThat(failed.deadline()).isNull();

        clock.advance(Duration.ofHours(1));
        SagaEngine.Transition deadline = engine.onDeadline(DEFINITION, failed, null);
        assertThat(deadline.history()).isEmpty();
        assertThat(deadline.state()).isEqualTo(failed);

        SagaEngine.Transition late = engine.onReply(DEFINITION, failed, debit, Reply.success(), null);
        assertThat(late.state()).isEqualTo(failed);
        assertThat(late.commands()).isEmpty();
        assertThat(late.history()).extracting(SagaEngine.Entry::event).containsExactly("LATE_REPLY_IGNORED");
        assertThat(late.history().get(0).detail()).isEqualTo("success in reply to " + debit);
    }

    @Test
    void definitionsAreFoundByTypeAndVersionAndMissingOnesAreNamed() {
        Definitions definitions = new Definitions();
        SagaDefinition<Transfer> v1 = TransferSaga.builder("transfer").version(1).build();
        definitions.add(v1);
        definitions.add(DEFINITION);

        assertThat(definitions.get("transfer", 1)).isSameAs(v1);
        assertThat(definitions.get("transfer", 2)).isSameAs(DEFINITION);
        assertThat(definitions.contains(TransferSaga.builder("transfer").version(1).build()))
                .as("an equal definition that was not registered").isFalse();
        assertThat(definitions.stepName("transfer", 1, 1)).isEqualTo("credit");
        assertThat(definitions.stepName("transfer", 1, 2)).isNull();
        assertThat(definitions.stepName("unknown", 1, 0)).isNull();
        assertThatThrownBy(() -> definitions.add(TransferSaga.builder("transfer").version(1).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("saga transfer version 1 is registered twice");
        assertThatThrownBy(() -> definitions.get("transfer", 3))
                .isInstanceOf(SagaException.class)
                .hasMessageContaining("saga transfer has no version 3 registered (known: [1, 2])");
        assertThatThrownBy(() -> definitions.get("payment", 1))
                .isInstanceOf(SagaException.class)
                .hasMessageContaining("unknown saga type 'payment'");
    }

    @Test
    void sagaDataThatNoLongerFitsTheDataTypeIsASagaException() {
        SagaEngine.State state = engine.begin(DEFINITION, sagaId, TRANSFER, null).state();
        SagaEngine.State corrupt = new SagaEngine.State(state.id(), state.type(), state.version(), state.state(),
                state.stepIndex(), state.attempt(), state.awaitingCommandId(), state.deadline(), "{\"amount\": \"lots\"}",
                null);
        assertThatThrownBy(() -> engine.onReply(DEFINITION, corrupt, corrupt.awaitingCommandId(), Reply.success(), null))
                .isInstanceOf(SagaException.class)
                .hasMessageContaining("data of saga " + sagaId + " does not fit");
    }

    @Test
    void repliesAreValidated() {
        assertThatThrownBy(() -> Reply.success("not json")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("reply payload is not valid JSON");
        assertThatThrownBy(() -> new Reply(true, true, null, "{}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a successful reply cannot be retryable");
        assertThat(new Reply(true, false, null, null).payload()).isEqualTo("{}");
    }

    @Test
    void messageNamesBecomeChannels() {
        assertThat(SagaMessages.commandChannel("bank-a")).isEqualTo("saga-command.bank-a");
        assertThat(SagaMessages.replyChannel("transfers")).isEqualTo("saga-reply.transfers");
        assertThatThrownBy(() -> SagaMessages.commandChannel("Bank A"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("participant name must match [a-z0-9][a-z0-9._-]{0,99}, but was 'Bank A'");
    }

    private static final class TestClock extends Clock {
        private Instant now = T0;

        void advance(Duration duration) {
            now = now.plus(duration);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
