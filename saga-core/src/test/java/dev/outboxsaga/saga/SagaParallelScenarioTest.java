package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.internal.SagaEngine;
import dev.outboxsaga.saga.internal.SagaStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Parallel steps through the unit-test DSL: a group of branches sent at once, joined when all succeed, undone
 * whatever state each branch reached when one fails. Every event sees the state as stored and read back (the
 * scenario round-trips it), as an orchestrator restarted between any two events would. No database, no broker.
 */
class SagaParallelScenarioTest {

    /** An order: reserve stock; check fraud and limit at once (sanctions too if international); charge. */
    record Order(String id, String customer, long amount, boolean international, Integer score, String hold) {

        Order withScore(int score) {
            return new Order(id, customer, amount, international, score, hold);
        }

        Order withHold(String hold) {
            return new Order(id, customer, amount, international, score, hold);
        }
    }

    record Reserve(String order) {
    }

    record CheckFraud(String order, String customer) {
    }

    record Score(int value) {
    }

    record HoldLimit(String customer, long amount) {
    }

    record ReleaseLimit(String customer, String hold) {
    }

    record Held(String id) {
    }

    record Charge(String order, long amount, Integer score, String hold) {
    }

    private static final Order ORDER = new Order("o-1", "c-1", 100, false, null, null);
    private static final RetryPolicy ONCE = RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO);
    /** The limit check: two attempts, one second apart. */
    private static final RetryPolicy TWICE = RetryPolicy.exponential(2, Duration.ofSeconds(1), Duration.ofSeconds(1));
    private static final Duration FRAUD_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration LIMIT_TIMEOUT = Duration.ofSeconds(5);

    private static SagaDefinition.Builder<Order> reserve(SagaDefinition.Builder<Order> saga) {
        return saga
                .step("reserve")
                    .invoke("stock", "Reserve", o -> new Reserve(o.id()))
                    .compensateWith("Release", o -> new Reserve(o.id()))
                    .retry(ONCE)
                .parallel("checks", checks -> checks
                    .step("fraudCheck")
                        .invoke("fraud", "CheckFraud", o -> new CheckFraud(o.id(), o.customer()))
                        .onReply(Score.class, (o, score) -> o.withScore(score.value()))
                        .compensateWith("ForgetCheck", o -> new CheckFraud(o.id(), o.customer()))
                        .timeout(FRAUD_TIMEOUT)
                        .retry(ONCE)
                    .step("limitCheck")
                        .invoke("limits", "HoldLimit", o -> new HoldLimit(o.customer(), o.amount()))
                        .onReply(Held.class, (o, held) -> o.withHold(held.id()))
                        .compensateWith("ReleaseLimit", o -> new ReleaseLimit(o.customer(), o.hold()))
                        .timeout(LIMIT_TIMEOUT)
                        .retry(TWICE)
                    .step("sanctionsCheck")
                        .invoke("sanctions", "Screen", o -> new CheckFraud(o.id(), o.customer()))
                        .compensateWith("ForgetScreen", o -> new CheckFraud(o.id(), o.customer()))
                        .when(Order::international)
                        .retry(ONCE));
    }

    private static SagaDefinition<Order> definition(SagaDefinition.Builder<Order> saga) {
        return reserve(saga)
                .step("charge")
                    .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.score(), o.hold()))
                    .retry(ONCE)
                .build();
    }

    private static final SagaDefinition<Order> ORDER_SAGA = definition(SagaDefinition.builder("order", 1, Order.class));

    /** Reserved, and both checks sent; the sanctions check skipped (a domestic order). */
    private static SagaScenario<Order> checking() {
        return SagaScenario.given(ORDER_SAGA).start(ORDER)
                .expectCommand("stock", "Reserve")
                .reply(Reply.success())
                .expectCommands("fraud:CheckFraud", "limits:HoldLimit")
                .expectSkipped("sanctionsCheck")
                .expectState(SagaState.RUNNING);
    }

    @Nested
    class Join {

        @Test
        void whenEveryBranchSucceedsTheNextStepRunsWithTheDataBothRepliesUpdated() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .expectNoCommand()
                    .expectState(SagaState.RUNNING)
                    .replyTo("fraudCheck", Reply.success(new Score(12)))
                    .expectCommand("payment", "Charge", Charge.class,
                            charge -> assertThat(charge).isEqualTo(new Charge("o-1", 100, 12, "h-7")))
                    .reply(Reply.success())
                    .expectState(SagaState.COMPLETED)
                    .expectData(order -> assertThat(order).isEqualTo(new Order("o-1", "c-1", 100, false, 12, "h-7")));

            assertThat(scenario.history()).containsExactly("reserve:STARTED", "reserve:COMMAND_SENT",
                    "reserve:SUCCEEDED", "fraudCheck:COMMAND_SENT", "limitCheck:COMMAND_SENT", "sanctionsCheck:SKIPPED",
                    "limitCheck:SUCCEEDED", "fraudCheck:SUCCEEDED", "charge:COMMAND_SENT", "charge:SUCCEEDED",
                    "charge:COMPLETED");
        }

        @Test
        void aBranchWhoseConditionHoldsIsSentWithTheOthers() {
            SagaScenario.given(ORDER_SAGA).start(new Order("o-2", "c-1", 100, true, null, null))
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success())
                    .expectCommands("fraud:CheckFraud", "limits:HoldLimit", "sanctions:Screen")
                    .replyTo("sanctionsCheck", Reply.success())
                    .replyTo("fraudCheck", Reply.success(new Score(1)))
                    .expectNoCommand()
                    .replyTo("limitCheck", Reply.success(new Held("h-1")))
                    .expectCommand("payment", "Charge");
        }

        @Test
        void aGroupWhoseEveryBranchIsSkippedIsPassedAtOnce() {
            SagaDefinition<Order> definition = SagaDefinition.builder("order", 1, Order.class)
                    .parallel("abroad", abroad -> abroad
                        .step("sanctions")
                            .invoke("sanctions", "Screen", o -> new Reserve(o.id()))
                            .compensateWith("ForgetScreen", o -> new Reserve(o.id()))
                            .when(Order::international)
                        .step("customs")
                            .invoke("customs", "Declare", o -> new Reserve(o.id()))
                            .compensateWith("Withdraw", o -> new Reserve(o.id()))
                            .when(Order::international))
                    .step("charge")
                        .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.score(), o.hold()))
                    .build();

            SagaScenario<Order> scenario = SagaScenario.given(definition).start(ORDER)
                    .expectCommand("payment", "Charge")
                    .reply(Reply.failure("card declined"))
                    .expectNoCommand()
                    .expectState(SagaState.FAILED);

            assertThat(scenario.history()).containsExactly("sanctions:STARTED", "sanctions:SKIPPED", "customs:SKIPPED",
                    "charge:COMMAND_SENT", "charge:FAILED", "charge:ENDED_FAILED");
        }

        @Test
        void aStepFailingAfterTheGroupCompensatesItsBranchesInReverseAndPassesTheSkippedOneBy() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("fraudCheck", Reply.success(new Score(12)))
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.failure("card declined"))
                    .expectCompensation("limits", "ReleaseLimit", payload -> assertThat(payload)
                            .isEqualTo("{\"customer\":\"c-1\",\"hold\":\"h-7\"}"))
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);

            assertThat(scenario.history()).doesNotContain("sanctionsCheck:COMPENSATION_SENT");
        }
    }

    @Nested
    class OneBranchFails {

        @Test
        void aSiblingThatSucceededIsCompensatedThenTheStepsBefore() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .replyTo("fraudCheck", Reply.failure("suspicious"))
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("limits", "ReleaseLimit", payload -> assertThat(payload).contains("\"h-7\""))
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("suspicious");

            assertThat(scenario.history()).containsSubsequence("limitCheck:SUCCEEDED", "fraudCheck:FAILED",
                    "limitCheck:COMPENSATION_SENT", "limitCheck:COMPENSATED", "reserve:COMPENSATION_SENT",
                    "reserve:COMPENSATED", "reserve:ENDED_COMPENSATED");
            assertThat(scenario.history()).as("a refused branch took no effect")
                    .doesNotContain("fraudCheck:COMPENSATION_SENT");
        }

        @Test
        void aPendingSiblingIsWaitedForAndCompensatedAfterItsSuccess() {
            checking()
                    .replyTo("fraudCheck", Reply.failure("suspicious"))
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATING)
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .expectCompensation("limits", "ReleaseLimit", payload -> assertThat(payload)
                            .as("its reply updated the data").contains("\"h-7\""))
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("suspicious");
        }

        @Test
        void aPendingSiblingThatIsRefusedIsNotCompensated() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("fraudCheck", Reply.failure("suspicious"))
                    .expectNoCommand()
                    .replyTo("limitCheck", Reply.failure("over the limit"))
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("suspicious");

            assertThat(scenario.history())
                    .doesNotContain("limitCheck:COMPENSATION_SENT", "fraudCheck:COMPENSATION_SENT");
        }

        @Test
        void aPendingSiblingThatTimesOutIsCompensatedWithoutRetryAndItsLateReplyIgnored() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("fraudCheck", Reply.failure("suspicious"));
            UUID limitCommand = scenario.awaitedCommand("limitCheck");

            scenario.deadlinePasses()
                    .expectCompensation("limits", "ReleaseLimit")
                    .replyTo(limitCommand, Reply.success(new Held("h-late")))
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);

            assertThat(scenario.history()).containsSubsequence("fraudCheck:FAILED", "limitCheck:TIMED_OUT",
                    "limitCheck:COMPENSATION_SENT", "limitCheck:LATE_REPLY_IGNORED", "limitCheck:COMPENSATED");
            assertThat(scenario.history()).as("the limit check has a second attempt, not used once the group failed")
                    .containsOnlyOnce("limitCheck:COMMAND_SENT");
        }

        @Test
        void bothBranchesRefusedWithNothingBeforeEndsFailed() {
            SagaDefinition<Order> checksFirst = SagaDefinition.builder("order", 1, Order.class)
                    .parallel("checks", checks -> checks
                        .step("fraudCheck")
                            .invoke("fraud", "CheckFraud", o -> new CheckFraud(o.id(), o.customer()))
                            .compensateWith("ForgetCheck", o -> new CheckFraud(o.id(), o.customer()))
                        .step("limitCheck")
                            .invoke("limits", "HoldLimit", o -> new HoldLimit(o.customer(), o.amount()))
                            .compensateWith("ReleaseLimit", o -> new ReleaseLimit(o.customer(), o.hold())))
                    .build();

            SagaScenario.given(checksFirst).start(ORDER)
                    .expectCommands("fraud:CheckFraud", "limits:HoldLimit")
                    .replyTo("limitCheck", Reply.failure("over the limit"))
                    .expectState(SagaState.COMPENSATING)
                    .replyTo("fraudCheck", Reply.failure("suspicious"))
                    .expectNoCommand()
                    .expectState(SagaState.FAILED)
                    .expectLastError("over the limit");
        }

        @Test
        void aBranchWhoseLastAttemptTimesOutIsCompensatedWithTheSiblingThatSucceeded() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .deadlinePasses()
                    // The fraud check has one attempt: its effect is unknown, so it is compensated too.
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("no reply within 10000 ms");

            assertThat(scenario.history()).containsSubsequence("fraudCheck:TIMED_OUT", "limitCheck:COMPENSATION_SENT");
        }

        @Test
        void aSuccessReplyThatDoesNotFitFailsTheGroupAndTheBranchIsCompensated() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("fraudCheck", Reply.success("{\"value\": \"not a number\"}"))
                    .expectState(SagaState.COMPENSATING)
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);

            assertThat(scenario.historyDetails()).anySatisfy(entry -> assertThat(entry)
                    .startsWith("fraudCheck:FAILED the reply of step fraudCheck does not fit Score: "));
        }
    }

    @Nested
    class Retries {

        @Test
        void aBranchIsRetriedOnItsOwnWhileItsSiblingWaits() {
            SagaScenario<Order> scenario = checking();
            UUID fraudCommand = scenario.awaitedCommand("fraudCheck");

            scenario.replyTo("limitCheck", Reply.retryableFailure("limits busy"))
                    .expectNoCommand()
                    .expectState(SagaState.RUNNING)
                    .deadlinePasses()
                    .expectCommands("limits:HoldLimit")
                    .replyTo("limitCheck", Reply.success(new Held("h-2")))
                    .expectNoCommand()
                    .replyTo("fraudCheck", Reply.success(new Score(3)))
                    .expectCommand("payment", "Charge", Charge.class,
                            charge -> assertThat(charge).isEqualTo(new Charge("o-1", 100, 3, "h-2")));

            assertThat(scenario.awaitedCommand("charge")).isNotNull();
            assertThat(scenario.history()).containsSubsequence("limitCheck:FAILED", "limitCheck:RETRY_SCHEDULED",
                    "limitCheck:COMMAND_SENT", "limitCheck:SUCCEEDED", "fraudCheck:SUCCEEDED");
            assertThat(scenario.history()).as("the fraud check was sent once, its command kept throughout")
                    .containsOnlyOnce("fraudCheck:COMMAND_SENT");
            assertThat(fraudCommand).isNotNull();
        }

        @Test
        void aBranchThatTimesOutWithAttemptsLeftIsSentAgainAloneAndItsFirstAttemptsReplyIsLate() {
            SagaScenario<Order> scenario = checking();
            UUID firstLimitCommand = scenario.awaitedCommand("limitCheck");

            scenario.deadlinePasses()
                    .expectCommands("limits:HoldLimit")
                    .replyTo(firstLimitCommand, Reply.success(new Held("h-first")))
                    .expectNoCommand()
                    .replyTo("limitCheck", Reply.success(new Held("h-second")))
                    .replyTo("fraudCheck", Reply.success(new Score(3)))
                    .expectCommand("payment", "Charge", Charge.class,
                            charge -> assertThat(charge.hold()).isEqualTo("h-second"));

            assertThat(scenario.history()).containsSubsequence("limitCheck:TIMED_OUT", "limitCheck:COMMAND_SENT",
                    "limitCheck:LATE_REPLY_IGNORED", "limitCheck:SUCCEEDED");
        }

        @Test
        void aBranchWhoseRetriesAreUsedUpFailsTheGroupAndIsCompensatedAsItsEffectIsUnknown() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("limitCheck", Reply.retryableFailure("limits busy"))
                    .deadlinePasses()
                    .expectCommands("limits:HoldLimit")
                    .replyTo("limitCheck", Reply.retryableFailure("limits busy"))
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATING)
                    .replyTo("fraudCheck", Reply.success(new Score(3)))
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("limits busy");

            assertThat(scenario.historyDetails()).contains("limitCheck:FAILED retries exhausted: limits busy");
        }

        @Test
        void aBranchWaitingForItsRetryWhenASiblingFailsIsGivenUpAndCompensated() {
            checking()
                    .replyTo("limitCheck", Reply.retryableFailure("limits busy"))
                    .replyTo("fraudCheck", Reply.failure("suspicious"))
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
        }
    }

    @Nested
    class CancelAndSagaDeadline {

        @Test
        void aCancelGivesUpThePendingBranchesAndCompensatesEveryBranchThatRanOrMayHave() {
            SagaScenario<Order> scenario = checking()
                    .replyTo("fraudCheck", Reply.success(new Score(12)));
            UUID limitCommand = scenario.awaitedCommand("limitCheck");

            scenario.operatorCancels("customer left")
                    .expectCompensation("limits", "ReleaseLimit")
                    .replyTo(limitCommand, Reply.success(new Held("h-late")))
                    .expectNoCommand()
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("cancelled: customer left");

            assertThat(scenario.history()).containsSubsequence("fraudCheck:SUCCEEDED", "checks:CANCELLED",
                    "limitCheck:COMPENSATION_SENT", "limitCheck:LATE_REPLY_IGNORED", "limitCheck:COMPENSATED",
                    "fraudCheck:COMPENSATED", "reserve:COMPENSATED");
        }

        @Test
        void aCancelWhileABranchWaitsForItsRetryCompensatesIt() {
            checking()
                    .replyTo("limitCheck", Reply.retryableFailure("limits busy"))
                    .operatorCancels("customer left")
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
        }

        @Test
        void aCancelAfterABranchFailedIsRefusedAsTheSagaIsCompensatingAlready() {
            SagaScenario<Order> scenario = checking().replyTo("fraudCheck", Reply.failure("suspicious"));

            assertThatThrownBy(() -> scenario.operatorCancels("too late"))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("COMPENSATING");
        }

        @Test
        void theSagaDeadlineDuringAGroupGivesUpItsBranchesAsACancelDoes() {
            SagaDefinition<Order> definition = definition(SagaDefinition.builder("order", 1, Order.class)
                    .deadline(Duration.ofSeconds(3)));

            SagaScenario<Order> scenario = SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success())
                    .expectCommands("fraud:CheckFraud", "limits:HoldLimit")
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    // Due at the saga deadline (3 s), before either branch's timeout (5 s, 10 s).
                    .deadlinePasses()
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("fraud", "ForgetCheck")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);

            assertThat(scenario.history()).containsSubsequence("limitCheck:SUCCEEDED", "checks:DEADLINE_PASSED",
                    "limitCheck:COMPENSATION_SENT");
            assertThat(scenario.history()).doesNotContain("fraudCheck:TIMED_OUT", "limitCheck:TIMED_OUT");
        }
    }

    @Nested
    class OperatorRepair {

        /** The fraud check refused; the limit's release fails on both its attempts and parks. */
        private SagaScenario<Order> parkedAtTheLimitRelease() {
            return checking()
                    .replyTo("limitCheck", Reply.success(new Held("h-7")))
                    .replyTo("fraudCheck", Reply.failure("suspicious"))
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.failure("limits down"))
                    .deadlinePasses()
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.failure("limits down"))
                    .expectState(SagaState.PARKED);
        }

        @Test
        void aParkedBranchCompensationRetriedByAnOperatorGoesOnWithTheStepsBeforeTheGroup() {
            SagaScenario<Order> scenario = parkedAtTheLimitRelease()
                    .operatorRetriesCompensation()
                    .expectCompensation("limits", "ReleaseLimit")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);

            assertThat(scenario.history()).containsSubsequence("limitCheck:PARKED", "limitCheck:REPAIR_RETRY",
                    "limitCheck:COMPENSATED", "reserve:COMPENSATED");
            assertThat(scenario.history()).doesNotContain("fraudCheck:COMPENSATION_SENT");
        }

        @Test
        void aParkedBranchCompensationMarkedDoneByHandPassesTheRefusedSiblingBy() {
            parkedAtTheLimitRelease()
                    .operatorMarksCompensated("released in the limits console")
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
        }

        @Test
        void aSagaParkedByTheTimerWhileBranchesWereAwaitedIsCompensatedWholeOnRetry() {
            // The timer parks a saga whose deadline fails to fire on a deterministic failure, keeping its branches.
            SagaEngine.State checking = reserved();
            checking = engine.onReply(ORDER_SAGA, checking, checking.branches().get(0).awaitingCommandId(),
                    Reply.success("{\"value\": 4}"), null).state();
            SagaEngine.State parked = new SagaEngine.State(checking.id(), checking.type(), checking.version(),
                    SagaState.PARKED, checking.stepIndex(), checking.attempt(), null, null, checking.data(),
                    "boom", checking.skippedSteps(), null, checking.branches());

            SagaEngine.Transition retried = engine.retryParked(ORDER_SAGA, parked, null);

            assertThat(retried.state().state()).isEqualTo(SagaState.COMPENSATING);
            assertThat(retried.commands()).singleElement().satisfies(command -> {
                assertThat(command.stepName()).as("the awaited limit check, given up").isEqualTo("limitCheck");
                assertThat(command.compensation()).isTrue();
            });
            SagaEngine.State released = engine.onReply(ORDER_SAGA, retried.state(), retried.commands().get(0).id(),
                    Reply.success(), null).state();
            assertThat(released.stepIndex()).as("then the fraud check, which succeeded").isEqualTo(1);
            assertThat(released.awaitingCommandId()).isNotNull();
        }
    }

    @Nested
    class Persistence {

        @Test
        void everyBranchStateSurvivesItsStoredForm() {
            Instant due = Instant.parse("2026-01-01T00:00:05.123456Z");
            List<SagaEngine.Branch> branches = List.of(
                    new SagaEngine.Branch(1, SagaEngine.Branch.Status.PENDING, UUID.randomUUID(), 2, due),
                    new SagaEngine.Branch(2, SagaEngine.Branch.Status.RETRY_DUE, null, 1, due),
                    new SagaEngine.Branch(3, SagaEngine.Branch.Status.SUCCEEDED, null, 1, null),
                    new SagaEngine.Branch(4, SagaEngine.Branch.Status.SKIPPED, null, 1, null),
                    new SagaEngine.Branch(5, SagaEngine.Branch.Status.FAILED, null, 3, null),
                    new SagaEngine.Branch(6, SagaEngine.Branch.Status.GIVEN_UP, null, 1, null));

            assertThat(SagaStore.branches(SagaStore.branchesJson(branches))).isEqualTo(branches);
            assertThat(SagaStore.branchesJson(null)).isNull();
            assertThat(SagaStore.branches(null)).isNull();
            assertThatThrownBy(() -> SagaStore.branches("[{\"step\": 1}]")).isInstanceOf(SagaException.class)
                    .hasMessageContaining("cannot be read");
        }

        @Test
        void theGroupIsOutOfHandOnceItJoinedOrWasUndone() {
            SagaEngine.State reserved = reserved();
            assertThat(reserved.branches()).extracting(SagaEngine.Branch::status).containsExactly(
                    SagaEngine.Branch.Status.PENDING, SagaEngine.Branch.Status.PENDING,
                    SagaEngine.Branch.Status.SKIPPED);
            assertThat(reserved.awaitingCommandId()).isNull();
            assertThat(reserved.deadline()).as("the earliest due branch").isEqualTo(T0.plus(LIMIT_TIMEOUT));

            SagaEngine.State joined = reserved;
            for (SagaEngine.Branch branch : reserved.branches().subList(0, 2)) {
                joined = engine.onReply(ORDER_SAGA, joined, branch.awaitingCommandId(), Reply.success("{}"), null)
                        .state();
            }
            assertThat(joined.stepIndex()).isEqualTo(4);
            assertThat(joined.branches()).isNull();
        }
    }

    @Nested
    class Definitions {

        @Test
        void theDefinitionListsTheGroupWithItsBranches() {
            assertThat(ORDER_SAGA.toString())
                    .isEqualTo("saga order v1 [reserve, checks(fraudCheck | limitCheck | sanctionsCheck), charge]");
            assertThat(ORDER_SAGA.steps()).extracting(SagaStep::group)
                    .containsExactly(null, "checks", "checks", "checks", null);
        }

        @Test
        void aGroupNeedsTwoBranches() {
            assertThatThrownBy(() -> SagaDefinition.builder("order", 1, Order.class)
                    .parallel("checks", checks -> checks
                        .step("fraudCheck")
                            .invoke("fraud", "CheckFraud", o -> o)
                            .compensateWith("ForgetCheck", o -> o))
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("parallel group checks of saga order has 1 branch(es) [fraudCheck], but a group needs "
                            + "at least 2; make a single one an ordinary step");
            assertThatThrownBy(() -> SagaDefinition.builder("order", 1, Order.class)
                    .parallel("checks", checks -> { })
                    .build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has 0 branch(es)");
        }

        @Test
        void everyBranchNeedsACompensationEvenInTheLastPosition() {
            assertThatThrownBy(() -> SagaDefinition.builder("order", 1, Order.class)
                    .step("reserve")
                        .invoke("stock", "Reserve", o -> o)
                        .compensateWith("Release", o -> o)
                    .parallel("checks", checks -> checks
                        .step("fraudCheck")
                            .invoke("fraud", "CheckFraud", o -> o)
                            .compensateWith("ForgetCheck", o -> o)
                        .step("limitCheck")
                            .invoke("limits", "HoldLimit", o -> o))
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("branch limitCheck of parallel group checks of saga order has no "
                            + "compensation: when a sibling fails");
        }

        @Test
        void aBranchMustInvokeAParticipant() {
            assertThatThrownBy(() -> SagaDefinition.builder("order", 1, Order.class)
                    .parallel("checks", checks -> checks
                        .step("fraudCheck")
                            .compensateWith("ForgetCheck", o -> o)
                        .step("limitCheck")
                            .invoke("limits", "HoldLimit", o -> o)
                            .compensateWith("ReleaseLimit", o -> o))
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("branch fraudCheck of parallel group checks of saga order invokes no participant; "
                            + "give it invoke(...)");
        }

        @Test
        void namesOfStepsBranchesAndGroupsAreUnique() {
            assertThatThrownBy(() -> reserve(SagaDefinition.builder("order", 1, Order.class))
                    .step("limitCheck")
                        .invoke("limits", "HoldLimit", o -> o)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("saga order has two steps named limitCheck");
            assertThatThrownBy(() -> reserve(SagaDefinition.builder("order", 1, Order.class))
                    .step("checks")
                        .invoke("limits", "HoldLimit", o -> o)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("saga order has two steps or parallel groups named checks");
            assertThatThrownBy(() -> SagaDefinition.builder("order", 1, Order.class)
                    .parallel(" ", checks -> { }))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("parallel group name of saga order must not be blank");
        }

        @Test
        void aGroupMayFollowAStepAndEndTheSaga() {
            SagaDefinition<Order> definition = SagaDefinition.builder("order", 1, Order.class)
                    .step("reserve")
                        .invoke("stock", "Reserve", o -> new Reserve(o.id()))
                        .compensateWith("Release", o -> new Reserve(o.id()))
                    .parallel("notify", notify -> notify
                        .step("mail")
                            .invoke("mail", "Send", o -> new Reserve(o.id()))
                            .compensateWith("Retract", o -> new Reserve(o.id()))
                        .step("sms")
                            .invoke("sms", "Send", o -> new Reserve(o.id()))
                            .compensateWith("Retract", o -> new Reserve(o.id())))
                    .build();

            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success())
                    .expectCommands("mail:Send", "sms:Send")
                    .replyTo("sms", Reply.success())
                    .replyTo("mail", Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPLETED);
        }
    }

    @Nested
    class ScenarioExpectations {

        @Test
        void expectCommandsSaysWhatWasSentAndReplySaysWhichBranchesAwait() {
            SagaScenario<Order> scenario = checking();

            assertThatThrownBy(() -> scenario.expectCommands("fraud:CheckFraud"))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("expected commands [fraud:CheckFraud], but sent [fraud:CheckFraud, "
                            + "limits:HoldLimit]");
            assertThatThrownBy(() -> scenario.reply(Reply.success()))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining(
                            "branches [fraudCheck, limitCheck] await theirs: answer with replyTo(step, reply)");
            assertThatThrownBy(() -> scenario.replyTo("charge", Reply.success()))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("step charge awaits no reply");
        }
    }

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private final SagaEngine engine = new SagaEngine(JacksonPayloadCodec.create(), Clock.fixed(T0, ZoneOffset.UTC));

    /** Through the engine itself: the stock reserved, both checks awaited. */
    private SagaEngine.State reserved() {
        SagaEngine.State begun = engine.begin(ORDER_SAGA, UUID.randomUUID(), ORDER, null).state();
        return engine.onReply(ORDER_SAGA, begun, begun.awaitingCommandId(), Reply.success(), null).state();
    }
}
