package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.TransferSaga.Transfer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The saga state machine through the unit-test DSL: no database, no broker, a clock that moves only on demand. */
class SagaScenarioTest {

    private static final Transfer TRANSFER = new Transfer("t-1", "bank-a", "A1", "bank-b", "B1", 100, 2, null);
    private static final Reply DEBITED = Reply.success("{\"ref\": \"D-1\"}");

    private static SagaDefinition<Transfer> transfer() {
        return TransferSaga.builder("transfer")
                .retry(RetryPolicy.exponential(3, Duration.ofMillis(100), Duration.ofMillis(400)))
                .timeout(Duration.ofSeconds(1))
                .build();
    }

    private static SagaScenario<Transfer> started() {
        return SagaScenario.given(transfer()).start(TRANSFER);
    }

    @Test
    void happyPathCommandsEachStepInTurnAndCompletes() {
        SagaScenario<Transfer> scenario = started()
                .expectCommand("bank-a", "Debit", payload -> assertThat(payload)
                        .isEqualTo("{\"account\":\"A1\",\"amount\":100,\"ref\":null}"))
                .reply(DEBITED)
                .expectCommand("bank-b", "Credit", payload -> assertThat(payload)
                        .isEqualTo("{\"account\":\"B1\",\"amount\":100,\"ref\":\"D-1\"}"))
                .reply(Reply.success())
                .expectCommand("bank-a", "ChargeFee", payload -> assertThat(payload).contains("\"amount\":2"))
                .reply(Reply.success())
                .expectNoCommand()
                .expectState(SagaState.COMPLETED)
                .expectData(data -> assertThat(data.debitRef()).isEqualTo("D-1"));

        assertThat(scenario.history()).containsExactly(
                "debit:STARTED", "debit:COMMAND_SENT", "debit:SUCCEEDED",
                "credit:COMMAND_SENT", "credit:SUCCEEDED",
                "fee:COMMAND_SENT", "fee:SUCCEEDED", "fee:COMPLETED");
        assertThat(scenario.awaitedCommand()).isNull();
    }

    @ParameterizedTest(name = "business failure at step {0}")
    @ValueSource(ints = {0, 1, 2})
    void businessFailureCompensatesTheCompletedStepsInReverseOrder(int failing) {
        SagaScenario<Transfer> scenario = started();
        for (int step = 0; step < failing; step++) {
            scenario.expectCommand(TRANSFER.bankOf(step), TransferSaga.COMMANDS[step]).reply(DEBITED);
        }
        scenario.expectCommand(TRANSFER.bankOf(failing), TransferSaga.COMMANDS[failing])
                .reply(Reply.failure("no"));
        List<String> compensations = new ArrayList<>();
        for (int step = failing - 1; step >= 0; step--) {
            scenario.expectState(SagaState.COMPENSATING)
                    .expectCompensation(TRANSFER.bankOf(step), TransferSaga.COMPENSATIONS[step])
                    .reply(Reply.success());
            compensations.add(TransferSaga.STEPS[step] + ":COMPENSATED");
        }
        scenario.expectNoCommand().expectState(failing == 0 ? SagaState.FAILED : SagaState.COMPENSATED);

        List<String> history = scenario.history();
        assertThat(history).contains(TransferSaga.STEPS[failing] + ":FAILED");
        assertThat(history.stream().filter(entry -> entry.endsWith(":COMPENSATED")).toList())
                .as("compensations, latest step first").containsExactlyElementsOf(compensations);
        // The failed step took no effect, so it is not compensated.
        assertThat(history).doesNotContain(TransferSaga.STEPS[failing] + ":COMPENSATION_SENT");
        assertThat(history.get(history.size() - 1))
                .isEqualTo(failing == 0 ? "debit:ENDED_FAILED" : "debit:ENDED_COMPENSATED");
    }

    @Test
    void retryableFailureWaitsForTheBackoffThenRetriesTheSameStep() {
        SagaScenario<Transfer> scenario = started()
                .expectCommand("bank-a", "Debit").reply(DEBITED)
                .expectCommand("bank-b", "Credit")
                .reply(Reply.retryableFailure("bank-b busy"))
                .expectNoCommand()
                .expectState(SagaState.RUNNING);
        assertThat(scenario.awaitedCommand()).as("nothing awaited during the backoff").isNull();

        scenario.deadlinePasses()
                .expectCommand("bank-b", "Credit")
                .reply(Reply.retryableFailure("bank-b still busy"))
                .expectNoCommand()
                .deadlinePasses()
                .expectCommand("bank-b", "Credit")
                .reply(Reply.success())
                .expectCommand("bank-a", "ChargeFee")
                .reply(Reply.success())
                .expectState(SagaState.COMPLETED);

        assertThat(scenario.history()).containsSubsequence(
                "credit:COMMAND_SENT", "credit:FAILED", "credit:RETRY_SCHEDULED",
                "credit:COMMAND_SENT", "credit:FAILED", "credit:RETRY_SCHEDULED",
                "credit:COMMAND_SENT", "credit:SUCCEEDED", "fee:COMMAND_SENT");
        assertThat(scenario.history()).doesNotContain("debit:COMPENSATION_SENT");
    }

    @Test
    void retriesExhaustedCompensatesTheEarlierSteps() {
        SagaScenario<Transfer> scenario = started()
                .expectCommand("bank-a", "Debit").reply(DEBITED)
                .expectCommand("bank-b", "Credit").reply(Reply.retryableFailure("busy 1"))
                .deadlinePasses()
                .expectCommand("bank-b", "Credit").reply(Reply.retryableFailure("busy 2"))
                .deadlinePasses()
                .expectCommand("bank-b", "Credit").reply(Reply.retryableFailure("busy 3"))
                // three attempts used: the step failed; an earlier attempt could still run at bank b (parked there
                // and replayed), so the credit is compensated too, which bank b records, then the debit.
                .expectState(SagaState.COMPENSATING)
                .expectCompensation("bank-b", "ReverseCredit")
                .reply(Reply.success())
                .expectCompensation("bank-a", "Refund")
                .reply(Reply.success())
                .expectState(SagaState.COMPENSATED);

        assertThat(scenario.history().stream().filter("credit:COMMAND_SENT"::equals)).hasSize(3);
        assertThat(scenario.history()).containsSubsequence("credit:FAILED", "credit:COMPENSATION_SENT",
                "debit:COMPENSATION_SENT");
    }

    @Nested
    class StepWithoutCompensation {

        /** Debit (refunded on failure), then a credit without compensation, the last step. */
        private SagaDefinition<Transfer> debitThenCredit() {
            return debitThenCredit(2);
        }

        private SagaDefinition<Transfer> debitThenCredit(int creditAttempts) {
            return SagaDefinition.builder("pivot", 1, Transfer.class)
                    .step("debit").invoke("bank-a", "Debit", t -> t).compensateWith("Refund", t -> t)
                    .step("credit").invoke("bank-b", "Credit", t -> t)
                        .timeout(Duration.ofSeconds(1))
                        .retry(RetryPolicy.exponential(creditAttempts, Duration.ofMillis(100), Duration.ofMillis(100)))
                    .build();
        }

        private SagaScenario<Transfer> creditTimedOut() {
            return SagaScenario.given(debitThenCredit()).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(Reply.success())
                    .expectCommand("bank-b", "Credit")
                    .deadlinePasses().expectCommand("bank-b", "Credit")
                    .deadlinePasses();
        }

        @Test
        void aTimedOutLastStepIsAbandonedAndNeitherFailedNorCompensatedUntilTheParticipantAnswers() {
            SagaScenario<Transfer> scenario = creditTimedOut()
                    .expectAbandon("bank-b", "Credit")
                    .expectState(SagaState.RUNNING);
            // No answer: the abandon is sent again, never given up.
            scenario.deadlinePasses().expectAbandon("bank-b", "Credit")
                    .deadlinePasses().expectAbandon("bank-b", "Credit")
                    .expectState(SagaState.RUNNING);
            assertThat(scenario.history()).containsSubsequence("credit:TIMED_OUT", "credit:ABANDON_SENT",
                    "credit:TIMED_OUT", "credit:ABANDON_SENT", "credit:TIMED_OUT", "credit:ABANDON_SENT");
            assertThat(scenario.history()).doesNotContain("debit:COMPENSATION_SENT");
        }

        @Test
        void anAbandonAnsweredWithTheStepsSuccessCompletesTheSaga() {
            SagaScenario<Transfer> scenario = creditTimedOut()
                    .expectAbandon("bank-b", "Credit")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPLETED);
            assertThat(scenario.history()).containsSubsequence("credit:ABANDON_SENT", "credit:SETTLED",
                    "credit:SUCCEEDED", "credit:COMPLETED");
        }

        @Test
        void anAbandonAnsweredWithARefusalCompensatesTheEarlierSteps() {
            creditTimedOut()
                    .expectAbandon("bank-b", "Credit")
                    .reply(Reply.failure("abandoned before it ran"))
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
        }

        @Test
        void retriesUsedUpOnALastStepWithoutCompensationAbandonItToo() {
            SagaScenario.given(debitThenCredit()).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(Reply.success())
                    .expectCommand("bank-b", "Credit").reply(Reply.retryableFailure("busy"))
                    .deadlinePasses()
                    .expectCommand("bank-b", "Credit").reply(Reply.retryableFailure("busy"))
                    .expectAbandon("bank-b", "Credit")
                    .expectState(SagaState.RUNNING);
        }

        @Test
        void aBusinessRefusalIsFinalAndNeedsNoAbandon() {
            SagaScenario.given(debitThenCredit()).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(Reply.success())
                    .expectCommand("bank-b", "Credit").reply(Reply.failure("unknown account"))
                    .expectCompensation("bank-a", "Refund");
        }

        @Test
        void aCancelAtAStepWithoutCompensationAbandonsItAndARefusalCompensatesTheEarlierSteps() {
            SagaScenario<Transfer> scenario = SagaScenario.given(debitThenCredit(5)).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(Reply.success())
                    .expectCommand("bank-b", "Credit")
                    .operatorCancels("wrong beneficiary")
                    .expectAbandon("bank-b", "Credit")
                    .expectState(SagaState.RUNNING)
                    // No answer in time: the abandon is sent again, never the credit, though it has attempts left.
                    .deadlinePasses()
                    .expectAbandon("bank-b", "Credit")
                    .reply(Reply.failure("abandoned before it ran"))
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("credit:COMMAND_SENT", "credit:CANCELLED",
                    "credit:ABANDON_SENT", "credit:TIMED_OUT", "credit:ABANDON_SENT", "credit:SETTLED",
                    "debit:COMPENSATION_SENT", "debit:ENDED_COMPENSATED");
        }

        @Test
        void aCancelAtAStepWithoutCompensationThatHadRunComesTooLateAndTheSagaCompletes() {
            SagaScenario<Transfer> scenario = SagaScenario.given(debitThenCredit()).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(Reply.success())
                    .expectCommand("bank-b", "Credit")
                    .operatorCancels("wrong beneficiary")
                    .expectAbandon("bank-b", "Credit")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPLETED);
            assertThat(scenario.history()).containsSubsequence("credit:CANCELLED", "credit:ABANDON_SENT",
                    "credit:SETTLED", "credit:COMPLETED");
        }

        @Test
        void aCancelWhileAnAbandonIsOutOnlyRecordsItselfAndTheParticipantStillDecides() {
            SagaScenario<Transfer> scenario = creditTimedOut().expectAbandon("bank-b", "Credit");
            UUID abandon = scenario.awaitedCommand();
            scenario.operatorCancels("wrong beneficiary")
                    .expectNoCommand()
                    .expectState(SagaState.RUNNING);
            assertThat(scenario.awaitedCommand()).isEqualTo(abandon);
            scenario.reply(Reply.failure("abandoned before it ran"))
                    .expectCompensation("bank-a", "Refund");
            assertThat(scenario.history()).containsSubsequence("credit:ABANDON_SENT", "credit:CANCELLED",
                    "credit:SETTLED");
        }

        @Test
        void aStepWithoutCompensationThatIsNotTheLastIsRefusedNamingIt() {
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("debit").invoke("bank-a", "Debit", t -> t).compensateWith("Refund", t -> t)
                    .step("credit").invoke("bank-b", "Credit", t -> t)
                    .step("fee").invoke("bank-a", "ChargeFee", t -> t).compensateWith("RefundFee", t -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("step credit of saga transfer has no compensation but is followed by step fee");
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("record").local((c, t) -> t)
                    .step("credit").invoke("bank-b", "Credit", t -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("step record of saga transfer has no compensation");
        }
    }

    @Test
    void timeoutsRetryThenCompensateIncludingTheTimedOutStep() {
        SagaScenario<Transfer> scenario = started()
                .expectCommand("bank-a", "Debit").reply(DEBITED)
                .expectCommand("bank-b", "Credit");
        UUID first = scenario.awaitedCommand();
        scenario.deadlinePasses()
                .expectState(SagaState.RUNNING)
                .expectCommand("bank-b", "Credit");
        UUID second = scenario.awaitedCommand();
        assertThat(second).as("a retry is a new command").isNotEqualTo(first);
        scenario.deadlinePasses()
                .expectCommand("bank-b", "Credit")
                .deadlinePasses()
                // the credit may have happened without its reply arriving: undo it, then the debit
                .expectState(SagaState.COMPENSATING)
                .expectCompensation("bank-b", "ReverseCredit")
                .reply(Reply.success())
                .expectCompensation("bank-a", "Refund")
                .reply(Reply.success())
                .expectState(SagaState.COMPENSATED);

        assertThat(scenario.history()).containsSubsequence(
                "credit:COMMAND_SENT", "credit:TIMED_OUT", "credit:COMMAND_SENT", "credit:TIMED_OUT",
                "credit:COMMAND_SENT", "credit:TIMED_OUT", "credit:COMPENSATION_SENT", "credit:COMPENSATED",
                "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
    }

    @Test
    void timeoutOfTheFirstStepCompensatesIt() {
        started().expectCommand("bank-a", "Debit")
                .deadlinePasses().deadlinePasses().deadlinePasses()
                .expectCompensation("bank-a", "Refund")
                .reply(Reply.success())
                .expectState(SagaState.COMPENSATED);
    }

    @Test
    void lateReplyAfterATimeoutIsRecordedAndIgnored() {
        SagaScenario<Transfer> scenario = started()
                .expectCommand("bank-a", "Debit").reply(DEBITED)
                .expectCommand("bank-b", "Credit");
        UUID timedOut = scenario.awaitedCommand();
        scenario.deadlinePasses().expectCommand("bank-b", "Credit");
        UUID retry = scenario.awaitedCommand();

        scenario.replyTo(timedOut, Reply.failure("late no"))
                .expectNoCommand()
                .expectState(SagaState.RUNNING);
        assertThat(scenario.awaitedCommand()).as("still waiting for the retry").isEqualTo(retry);
        assertThat(scenario.history()).last().isEqualTo("credit:LATE_REPLY_IGNORED");

        scenario.replyTo(retry, Reply.success())
                .expectCommand("bank-a", "ChargeFee")
                .reply(Reply.success())
                .expectState(SagaState.COMPLETED);
        int entries = scenario.history().size();

        // A reply arriving after the saga ended changes nothing either.
        scenario.replyTo(timedOut, Reply.success()).expectNoCommand().expectState(SagaState.COMPLETED);
        assertThat(scenario.history()).hasSize(entries + 1).last().isEqualTo("fee:LATE_REPLY_IGNORED");
    }

    @Test
    void aReplyToADuplicateOfTheAwaitedCommandIdIsAppliedOnce() {
        SagaScenario<Transfer> scenario = started().expectCommand("bank-a", "Debit");
        UUID debit = scenario.awaitedCommand();
        scenario.replyTo(debit, DEBITED).expectCommand("bank-b", "Credit");
        scenario.replyTo(debit, DEBITED).expectNoCommand().expectState(SagaState.RUNNING);
        assertThat(scenario.history()).filteredOn("debit:SUCCEEDED"::equals).hasSize(1);
    }

    @Nested
    class ParkedCompensation {

        private SagaScenario<Transfer> parkedAtCredit() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.success())
                    .expectCommand("bank-a", "ChargeFee").reply(Reply.failure("fee account closed"))
                    .expectCompensation("bank-b", "ReverseCredit").reply(Reply.failure("B1 frozen"));
            for (int attempt = 2; attempt <= 3; attempt++) {
                scenario.expectState(SagaState.COMPENSATING)
                        .expectNoCommand()
                        .deadlinePasses()
                        .expectCompensation("bank-b", "ReverseCredit")
                        .reply(Reply.failure("B1 frozen"));
            }
            return scenario.expectState(SagaState.PARKED).expectNoCommand();
        }

        @Test
        void aLateCompensationSuccessAfterParkingResumesTheSagaAndRepairsAreRefused() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.success())
                    .expectCommand("bank-a", "ChargeFee").reply(Reply.failure("fee account closed"))
                    .expectCompensation("bank-b", "ReverseCredit");
            UUID first = scenario.awaitedCommand();
            scenario.deadlinePasses().expectCompensation("bank-b", "ReverseCredit")
                    .deadlinePasses().expectCompensation("bank-b", "ReverseCredit");
            UUID last = scenario.awaitedCommand();
            scenario.deadlinePasses().expectState(SagaState.PARKED).expectNoCommand();

            scenario.replyTo(first, Reply.failure("B1 frozen"))
                    .expectNoCommand()
                    .expectState(SagaState.PARKED);
            assertThat(scenario.history()).last().isEqualTo("credit:LATE_COMPENSATION_FAILED");

            scenario.replyTo(last, Reply.success())
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("bank-a", "Refund");
            assertThatThrownBy(() -> scenario.operatorMarksCompensated("reversed by hand"))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("is COMPENSATING, not PARKED");
            assertThatThrownBy(scenario::operatorRetriesCompensation).isInstanceOf(IllegalStateException.class);
            scenario.reply(Reply.success()).expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("credit:PARKED", "credit:LATE_COMPENSATION_FAILED",
                    "credit:LATE_COMPENSATION_SUCCEEDED", "credit:COMPENSATED", "debit:COMPENSATION_SENT",
                    "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        }

        @Test
        void aLateForwardReplyToAParkedSagaIsIgnored() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit");
            UUID credit = scenario.awaitedCommand();
            scenario.deadlinePasses().deadlinePasses().deadlinePasses()
                    .expectCompensation("bank-b", "ReverseCredit")
                    .deadlinePasses().deadlinePasses().deadlinePasses()
                    .expectState(SagaState.PARKED);
            scenario.replyTo(credit, Reply.success()).expectNoCommand().expectState(SagaState.PARKED);
            assertThat(scenario.history()).last().isEqualTo("credit:LATE_REPLY_IGNORED");
        }

        @Test
        void aCompensationThatKeepsFailingIsParkedAndNothingIsDue() {
            SagaScenario<Transfer> scenario = parkedAtCredit();
            assertThat(scenario.history()).containsSubsequence("credit:COMPENSATION_FAILED", "credit:RETRY_SCHEDULED",
                    "credit:COMPENSATION_FAILED", "credit:RETRY_SCHEDULED", "credit:COMPENSATION_FAILED",
                    "credit:PARKED");
            assertThatThrownBy(scenario::deadlinePasses).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("nothing is due");
            assertThatThrownBy(() -> scenario.reply(Reply.success())).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("no command awaits a reply");
        }

        @Test
        void operatorRetryThenSuccessCompensatesTheRest() {
            parkedAtCredit()
                    .operatorRetriesCompensation()
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("bank-b", "ReverseCredit")
                    .reply(Reply.success())
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
        }

        @Test
        void operatorRetryGetsFreshAttempts() {
            SagaScenario<Transfer> scenario = parkedAtCredit()
                    .operatorRetriesCompensation()
                    .expectCompensation("bank-b", "ReverseCredit")
                    .reply(Reply.failure("still frozen"))
                    .expectState(SagaState.COMPENSATING)
                    .deadlinePasses()
                    .expectCompensation("bank-b", "ReverseCredit");
            assertThat(scenario.history()).contains("credit:REPAIR_RETRY");
        }

        @Test
        void operatorMarksCompensatedAndTheSagaGoesOnToTheEarlierSteps() {
            SagaScenario<Transfer> scenario = parkedAtCredit()
                    .operatorMarksCompensated("reversed by hand, ticket 42")
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("credit:PARKED", "credit:REPAIRED",
                    "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        }

        @Test
        void operatorMarksTheFirstStepCompensatedAndTheSagaEnds() {
            started().expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.failure("unknown account"))
                    .expectCompensation("bank-a", "Refund")
                    .deadlinePasses().deadlinePasses().deadlinePasses()
                    .expectState(SagaState.PARKED)
                    .operatorMarksCompensated("refunded by hand")
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED);
        }

        @Test
        void aCompensationThatTimesOutIsParkedToo() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.failure("unknown account"))
                    .expectCompensation("bank-a", "Refund")
                    .deadlinePasses().expectCompensation("bank-a", "Refund")
                    .deadlinePasses().expectCompensation("bank-a", "Refund")
                    .deadlinePasses()
                    .expectNoCommand()
                    .expectState(SagaState.PARKED);
            assertThat(scenario.history()).last().isEqualTo("debit:PARKED");
        }

        @Test
        void operatorRepairsRefuseASagaThatIsNotParked() {
            SagaScenario<Transfer> running = started();
            assertThatThrownBy(running::operatorRetriesCompensation).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is RUNNING, not PARKED");
            assertThatThrownBy(() -> running.operatorMarksCompensated("x")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("not PARKED");
        }
    }

    @Nested
    class SagaDeadline {

        /** Steps time out after 1 s, retried 3 times; the whole saga has 2.5 s to go forward. */
        private SagaScenario<Transfer> started() {
            return SagaScenario.given(TransferSaga.builder("transfer")
                    .retry(RetryPolicy.exponential(3, Duration.ofMillis(100), Duration.ofMillis(400)))
                    .timeout(Duration.ofSeconds(1))
                    .deadline(Duration.ofMillis(2500))
                    .build()).start(TRANSFER);
        }

        @Test
        void aStepTimeoutLaterThanTheSagaDeadlineIsCutToItSoTheTimerFindsTheSagaInTime() {
            SagaScenario<Transfer> scenario = SagaScenario.given(TransferSaga.builder("transfer")
                    .timeout(Duration.ofSeconds(30)).deadline(Duration.ofSeconds(5)).build()).start(TRANSFER)
                    .expectCommand("bank-a", "Debit")
                    .deadlinePasses()
                    .expectCompensation("bank-a", "Refund")
                    .expectState(SagaState.COMPENSATING);
            assertThat(scenario.history()).containsExactly("debit:STARTED", "debit:COMMAND_SENT",
                    "debit:DEADLINE_PASSED", "debit:COMPENSATION_SENT");
        }

        @Test
        void aRunningSagaPastItsDeadlineCompensatesTheStepInHandAndTheEarlierOnes() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit")
                    .sagaDeadlinePasses()
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("bank-b", "ReverseCredit")
                    .reply(Reply.success())
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("deadline passed: the saga deadline 2026-01-01T00:00:02.500Z (2500 ms after it "
                            + "began) passed");
            assertThat(scenario.history()).containsSubsequence("credit:COMMAND_SENT", "credit:DEADLINE_PASSED",
                    "credit:COMPENSATION_SENT", "credit:COMPENSATED", "debit:COMPENSATION_SENT", "debit:COMPENSATED",
                    "debit:ENDED_COMPENSATED");
            assertThat(scenario.history()).noneMatch(entry -> entry.startsWith("fee:"));
        }

        @Test
        void aRetryScheduledPastTheDeadlineIsDueAtTheDeadlineAndGivenUp() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit")
                    .deadlinePasses().expectCommand("bank-a", "Debit")
                    .deadlinePasses().expectCommand("bank-a", "Debit")
                    // 2 s in, the third attempt's timeout (3 s) lies past the saga deadline (2.5 s).
                    .deadlinePasses()
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("debit:TIMED_OUT", "debit:TIMED_OUT",
                    "debit:DEADLINE_PASSED", "debit:COMPENSATION_SENT", "debit:ENDED_COMPENSATED");
            assertThat(scenario.history()).filteredOn(entry -> entry.endsWith(":TIMED_OUT")).hasSize(2);
        }

        @Test
        void aSagaThatFinishesBeforeItsDeadlineIsUnaffected() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.success())
                    .expectCommand("bank-a", "ChargeFee").reply(Reply.success())
                    .expectState(SagaState.COMPLETED)
                    .sagaDeadlinePasses()
                    .expectNoCommand()
                    .expectState(SagaState.COMPLETED);
            assertThat(scenario.history()).noneMatch(entry -> entry.endsWith(":DEADLINE_PASSED"));
        }

        @Test
        void aCompensatingSagaPastItsDeadlineGoesOnCompensating() {
            SagaScenario<Transfer> scenario = SagaScenario.given(TransferSaga.builder("transfer")
                    .timeout(Duration.ofSeconds(30)).deadline(Duration.ofMillis(2500)).build()).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.failure("unknown account B1"))
                    .expectCompensation("bank-a", "Refund");
            UUID refund = scenario.awaitedCommand();
            scenario.sagaDeadlinePasses()
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATING);
            assertThat(scenario.awaitedCommand()).isEqualTo(refund);
            // The compensation keeps its own timeout (30 s, not cut to the saga deadline) and retries.
            assertThat(scenario.history()).last().isEqualTo("debit:COMPENSATION_SENT");
            scenario.deadlinePasses()
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).noneMatch(entry -> entry.endsWith(":DEADLINE_PASSED"));
        }

        @Test
        void aLastStepWithoutCompensationIsAbandonedAtTheDeadlineAndAnAbandonOutIsSentAgain() {
            SagaDefinition<Transfer> definition = SagaDefinition.builder("pay", 1, Transfer.class)
                    .deadline(Duration.ofSeconds(5))
                    .step("debit")
                        .invoke("bank-a", "Debit", t -> t).compensateWith("Refund", t -> t)
                        .timeout(Duration.ofSeconds(1)).retry(RetryPolicy.exponential(1, Duration.ofMillis(100),
                                Duration.ofMillis(100)))
                    .step("credit")
                        .invoke("bank-b", "Credit", t -> t)
                        .timeout(Duration.ofSeconds(3)).retry(RetryPolicy.exponential(1, Duration.ofMillis(100),
                                Duration.ofMillis(100)))
                    .build();
            SagaScenario<Transfer> scenario = SagaScenario.given(definition).start(TRANSFER)
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit")
                    .deadlinePasses() // 3 s of 5: the credit timed out, its abandon is due at 5 s, cut from 6 s
                    .expectAbandon("bank-b", "Credit")
                    .deadlinePasses() // 5 s: the saga deadline
                    .expectAbandon("bank-b", "Credit")
                    .expectState(SagaState.RUNNING)
                    .reply(Reply.failure("not carried out"))
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("credit:TIMED_OUT", "credit:ABANDON_SENT",
                    "credit:DEADLINE_PASSED", "credit:ABANDON_SENT", "credit:SETTLED", "debit:ENDED_COMPENSATED");
        }

        @Test
        void aSagaWithoutDeadlineCannotLetOnePass() {
            assertThatThrownBy(() -> SagaScenarioTest.started().sagaDeadlinePasses())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("has no deadline");
        }

        @Test
        void theDeadlineMustBePositive() {
            assertThatThrownBy(() -> SagaDefinition.builder("pay", 1, Transfer.class).deadline(Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("saga deadline must be positive, but was PT0S");
            assertThat(transfer().deadline()).isEmpty();
        }
    }

    @Nested
    class Cancel {

        private static final String REASON = "customer withdrew the order (ticket 7)";

        @Test
        void aCancelAtTheFirstStepCompensatesThatStepWhoseCommandIsOut() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit")
                    .operatorCancels(REASON)
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsExactly("debit:STARTED", "debit:COMMAND_SENT", "debit:CANCELLED",
                    "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        }

        @Test
        void aCancelWithTheMiddleStepsReplyPendingCompensatesItThenTheEarlierStepsAndIgnoresTheReply() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit");
            UUID credit = scenario.awaitedCommand();
            scenario.operatorCancels(REASON)
                    .expectCompensation("bank-b", "ReverseCredit", payload -> assertThat(payload).contains("\"D-1\""));
            UUID reverseCredit = scenario.awaitedCommand();

            // The credit's reply was in flight: it comes after the cancel, is late, and changes nothing.
            scenario.replyTo(credit, Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATING);
            assertThat(scenario.awaitedCommand()).isEqualTo(reverseCredit);
            assertThat(scenario.history()).last().isEqualTo("credit:LATE_REPLY_IGNORED");

            scenario.reply(Reply.success())
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("credit:COMMAND_SENT", "credit:CANCELLED",
                    "credit:COMPENSATION_SENT", "credit:LATE_REPLY_IGNORED", "credit:COMPENSATED",
                    "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
            assertThat(scenario.history()).noneMatch(entry -> entry.startsWith("fee:"));
            assertThat(scenario.history()).filteredOn(entry -> entry.endsWith(":COMPENSATED")).hasSize(2);
        }

        @Test
        void aReplyAppliedJustBeforeTheCancelMovesTheSagaOnAndTheCancelUndoesFromThere() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.success())
                    .expectCommand("bank-a", "ChargeFee")
                    .operatorCancels(REASON)
                    .expectCompensation("bank-a", "RefundFee").reply(Reply.success())
                    .expectCompensation("bank-b", "ReverseCredit").reply(Reply.success())
                    .expectCompensation("bank-a", "Refund").reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
            assertThat(scenario.history()).containsSubsequence("fee:COMMAND_SENT", "fee:CANCELLED",
                    "fee:COMPENSATION_SENT");
        }

        @Test
        void aCancelDuringARetryBackoffCompensatesTheRetriedStepAndNothingIsRetried() {
            SagaScenario<Transfer> scenario = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.retryableFailure("busy"))
                    .expectNoCommand()
                    .operatorCancels(REASON)
                    // An attempt that failed retryably is not stored at bank b and may still run there: undo it.
                    .expectCompensation("bank-b", "ReverseCredit")
                    .deadlinePasses()
                    .expectCompensation("bank-b", "ReverseCredit");
            assertThat(scenario.history()).containsSubsequence("credit:RETRY_SCHEDULED", "credit:CANCELLED",
                    "credit:COMPENSATION_SENT", "credit:TIMED_OUT", "credit:COMPENSATION_SENT");
        }

        @Test
        void aCancelIsRefusedOnceTheSagaHasEndedNamingItsState() {
            SagaScenario<Transfer> completed = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.success())
                    .expectCommand("bank-a", "ChargeFee").reply(Reply.success())
                    .expectState(SagaState.COMPLETED);
            SagaScenario<Transfer> compensated = started()
                    .expectCommand("bank-a", "Debit").operatorCancels(REASON)
                    .reply(Reply.success()).expectState(SagaState.COMPENSATED);
            SagaScenario<Transfer> failed = started()
                    .expectCommand("bank-a", "Debit").reply(Reply.failure("no account"))
                    .expectState(SagaState.FAILED);
            Map<SagaState, SagaScenario<Transfer>> ended = Map.of(SagaState.COMPLETED, completed,
                    SagaState.COMPENSATED, compensated, SagaState.FAILED, failed);
            ended.forEach((state, scenario) -> {
                int entries = scenario.history().size();
                assertThatThrownBy(() -> scenario.operatorCancels(REASON))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageEndingWith(" is " + state + ", not RUNNING: it has ended");
                assertThat(scenario.history()).as("a refused cancel records nothing").hasSize(entries);
                scenario.expectState(state).expectNoCommand();
            });
        }

        @Test
        void aCancelIsRefusedForASagaThatIsUndoingItsStepsAlready() {
            SagaScenario<Transfer> compensating = started()
                    .expectCommand("bank-a", "Debit").reply(DEBITED)
                    .expectCommand("bank-b", "Credit").reply(Reply.failure("unknown account"))
                    .expectState(SagaState.COMPENSATING);
            assertThatThrownBy(() -> compensating.operatorCancels(REASON)).isInstanceOf(IllegalStateException.class)
                    .hasMessageEndingWith("is COMPENSATING, not RUNNING: it is undoing its steps already");

            SagaScenario<Transfer> parked = compensating.expectCompensation("bank-a", "Refund")
                    .deadlinePasses().deadlinePasses().deadlinePasses()
                    .expectState(SagaState.PARKED);
            assertThatThrownBy(() -> parked.operatorCancels(REASON)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is PARKED, not RUNNING: it is undoing its steps already");
            parked.expectState(SagaState.PARKED).expectNoCommand();
        }

        @Test
        void aCancelNeedsAReason() {
            SagaScenario<Transfer> scenario = started();
            for (String blank : new String[] {null, "", "  "}) {
                assertThatThrownBy(() -> scenario.operatorCancels(blank)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageStartingWith("reason must say why the saga is cancelled");
            }
            scenario.expectState(SagaState.RUNNING).expectCommand("bank-a", "Debit");
        }
    }

    @Nested
    class LocalSteps {

        /** reserve (local) -> debit (bank-a) -> record (local) */
        private SagaDefinition<Transfer> withLocalSteps(boolean reserveFails, boolean recordFails,
                boolean unreserveFails, List<String> calls) {
            return SagaDefinition.builder("local-transfer", 1, Transfer.class)
                    .step("reserve")
                        .local((connection, t) -> {
                            calls.add("reserve with " + connection);
                            if (reserveFails) {
                                throw new IllegalStateException("limit reached");
                            }
                            return t.withDebitRef("reserved");
                        })
                        .compensateLocally((connection, t) -> {
                            calls.add("unreserve " + t.debitRef());
                            if (unreserveFails) {
                                throw new IllegalStateException("reservation table locked");
                            }
                            return t.withDebitRef("unreserved");
                        })
                    .step("debit")
                        .invoke("bank-a", "Debit", t -> new TransferSaga.Movement(t.fromAccount(), t.amount(), t.debitRef()))
                        .compensateWith("Refund", t -> new TransferSaga.Movement(t.fromAccount(), t.amount(), null))
                        .retry(RetryPolicy.exponential(2, Duration.ofMillis(10), Duration.ofMillis(10)))
                    .step("record")
                        .local((connection, t) -> {
                            calls.add("record");
                            if (recordFails) {
                                throw new IllegalStateException("journal full");
                            }
                            return t.withDebitRef(t.debitRef() + "+recorded");
                        })
                    .build();
        }

        @Test
        void localStepsRunWithANullConnectionAndChangeTheData() {
            List<String> calls = new ArrayList<>();
            SagaScenario<Transfer> scenario = SagaScenario.given(withLocalSteps(false, false, false, calls))
                    .start(TRANSFER)
                    .expectCommand("bank-a", "Debit", payload -> assertThat(payload).contains("\"ref\":\"reserved\""))
                    .expectData(t -> assertThat(t.debitRef()).isEqualTo("reserved"))
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPLETED)
                    .expectData(t -> assertThat(t.debitRef()).isEqualTo("reserved+recorded"));
            assertThat(calls).containsExactly("reserve with null", "record");
            assertThat(scenario.history()).containsExactly("reserve:STARTED", "reserve:SUCCEEDED",
                    "debit:COMMAND_SENT", "debit:SUCCEEDED", "record:SUCCEEDED", "record:COMPLETED");
        }

        @Test
        void aFailingFirstLocalStepFailsTheSaga() {
            List<String> calls = new ArrayList<>();
            SagaScenario.given(withLocalSteps(true, false, false, calls))
                    .start(TRANSFER)
                    .expectNoCommand()
                    .expectState(SagaState.FAILED)
                    .expectData(t -> assertThat(t.debitRef()).as("the failed step's data is dropped").isNull());
            assertThat(calls).containsExactly("reserve with null");
        }

        @Test
        void aFailingLaterLocalStepCompensatesRemoteAndLocalStepsInReverseOrder() {
            List<String> calls = new ArrayList<>();
            SagaScenario<Transfer> scenario = SagaScenario.given(withLocalSteps(false, true, false, calls))
                    .start(TRANSFER)
                    .expectCommand("bank-a", "Debit")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATING)
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED)
                    .expectData(t -> assertThat(t.debitRef()).isEqualTo("unreserved"));
            assertThat(calls).containsExactly("reserve with null", "record", "unreserve reserved");
            assertThat(scenario.history()).containsSubsequence("record:FAILED", "debit:COMPENSATION_SENT",
                    "debit:COMPENSATED", "reserve:COMPENSATED", "reserve:ENDED_COMPENSATED");
        }

        @Test
        void aCancelAfterALocalStepCompensatesTheRemoteStepThenTheLocalOne() {
            List<String> calls = new ArrayList<>();
            SagaScenario<Transfer> scenario = SagaScenario.given(withLocalSteps(false, false, false, calls))
                    .start(TRANSFER)
                    .expectCommand("bank-a", "Debit")
                    .operatorCancels("duplicate order")
                    .expectCompensation("bank-a", "Refund")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED)
                    .expectData(t -> assertThat(t.debitRef()).isEqualTo("unreserved"));
            assertThat(calls).containsExactly("reserve with null", "unreserve reserved");
            assertThat(scenario.history()).containsSubsequence("reserve:SUCCEEDED", "debit:COMMAND_SENT",
                    "debit:CANCELLED", "debit:COMPENSATION_SENT", "debit:COMPENSATED", "reserve:COMPENSATED",
                    "reserve:ENDED_COMPENSATED");
        }

        @Test
        void aFailingLocalCompensationParksAndCanBeMarkedDone() {
            List<String> calls = new ArrayList<>();
            SagaScenario.given(withLocalSteps(false, false, true, calls))
                    .start(TRANSFER)
                    .expectCommand("bank-a", "Debit")
                    .reply(Reply.failure("insufficient funds"))
                    .expectNoCommand()
                    .expectState(SagaState.PARKED)
                    .operatorMarksCompensated("released by hand")
                    .expectState(SagaState.COMPENSATED);
            assertThat(calls).containsExactly("reserve with null", "unreserve reserved");
        }
    }

    @Nested
    class Definitions {

        @Test
        void duplicateStepNamesAreRefused() {
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("debit").invoke("bank-a", "Debit", t -> t)
                    .step("debit").invoke("bank-a", "Debit", t -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("saga transfer has two steps named debit");
        }

        @Test
        void aStepMustEitherInvokeOrBeLocal() {
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("debit").invoke("bank-a", "Debit", t -> t).local((c, t) -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("step debit of saga transfer must either invoke a participant or be local, not both or neither");
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("debit").step("credit").invoke("bank-b", "Credit", t -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("step debit of saga transfer must either invoke a participant or be local");
        }

        @Test
        void compensationsMustMatchTheKindOfStep() {
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("reserve").local((c, t) -> t).compensateWith("Unreserve", t -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("local step reserve compensates locally, not with a command");
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("debit").invoke("bank-a", "Debit", t -> t).compensateLocally((c, t) -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("step debit commands a participant; compensate it with a command");
        }

        @ParameterizedTest(name = "type ''{0}''")
        @ValueSource(strings = {"", "money transfer", "transfer/v2", "überweisung"})
        void badTypeNamesAreRefused(String type) {
            assertThatThrownBy(() -> SagaDefinition.builder(type, 1, Transfer.class))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("saga type must be 1 to 100 letters, digits, '.', '_' or '-', but was '" + type + "'");
        }

        @Test
        void otherBadSettingsAreRefusedWithTheirValue() {
            assertThatThrownBy(() -> SagaDefinition.builder(null, 1, Transfer.class))
                    .hasMessageContaining("but was 'null'");
            assertThatThrownBy(() -> SagaDefinition.builder("x".repeat(101), 1, Transfer.class))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 0, Transfer.class))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("saga version must be at least 1, but was 0");
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class).step(" "))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("step name must not be blank");
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class).step("debit")
                    .timeout(Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("timeout must be positive, but was PT0S");
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class).step("debit")
                    .invoke("bank-a", " ", t -> t))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("commandType must be 1 to 255 characters, but was ' '");
        }

        /**
         * A participant name is known when the definition is built; SagaMessages refuses it only when
         * the command is about to be sent, in the middle of a running saga.
         */
        @Test
        void aFixedParticipantNameThatCannotBeATopicIsRefusedWhenTheDefinitionIsBuilt() {
            assertThatThrownBy(() -> SagaDefinition.builder("transfer", 1, Transfer.class)
                    .step("debit").invoke("Bank A", "Debit", t -> t)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Bank A");
        }

        @Test
        void defaultsAreStatedAndKept() {
            SagaDefinition<Transfer> definition = SagaDefinition.builder("transfer", 3, Transfer.class)
                    .step("debit").invoke("bank-a", "Debit", t -> t)
                    .build();
            SagaStep<Transfer> step = definition.steps().get(0);
            assertThat(step.timeout()).isEqualTo(SagaDefinition.DEFAULT_TIMEOUT).isEqualTo(Duration.ofSeconds(30));
            assertThat(step.retry()).isEqualTo(SagaDefinition.DEFAULT_RETRY);
            assertThat(step.hasCompensation()).isFalse();
            assertThat(step.isLocal()).isFalse();
            assertThat(definition).hasToString("saga transfer v3 [debit]");
            assertThatThrownBy(() -> definition.steps().clear()).isInstanceOf(UnsupportedOperationException.class);
        }
    }

    @Nested
    class ScenarioExpectations {

        @Test
        void expectCommandToTheWrongParticipantFails() {
            assertThatThrownBy(() -> started().expectCommand("bank-b", "Debit"))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageStartingWith("expected command Debit to bank-b, but sent command Debit to bank-a")
                    .hasMessageContaining("saga is RUNNING");
        }

        @Test
        void expectCommandOfTheWrongTypeOrKindFails() {
            assertThatThrownBy(() -> started().expectCommand("bank-a", "Credit"))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageStartingWith("expected command Credit to bank-a, but sent command Debit to bank-a");
            assertThatThrownBy(() -> started().expectCompensation("bank-a", "Debit"))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageStartingWith("expected compensation Debit to bank-a, but sent command Debit to bank-a");
        }

        @Test
        void expectCommandWhenNothingWasSentFails() {
            assertThatThrownBy(() -> started().expectCommand("bank-a", "Debit").reply(Reply.failure("no"))
                    .expectCommand("bank-a", "Debit"))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("but sent nothing; saga is FAILED; history: debit:STARTED, debit:COMMAND_SENT,"
                            + " debit:FAILED, debit:ENDED_FAILED");
        }

        @Test
        void aFailingPayloadCheckFails() {
            assertThatThrownBy(() -> started().expectCommand("bank-a", "Debit",
                    payload -> assertThat(payload).contains("\"amount\":99")))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("\"amount\":99");
        }

        @Test
        void expectNoCommandWhenOneWasSentFails() {
            assertThatThrownBy(() -> started().expectNoCommand())
                    .isInstanceOf(AssertionError.class)
                    .hasMessage("expected no command, but sent command Debit to bank-a");
        }

        @Test
        void expectTheWrongStateFailsWithTheHistory() {
            assertThatThrownBy(() -> started().reply(Reply.failure("insufficient funds")).expectState(SagaState.COMPLETED))
                    .isInstanceOf(AssertionError.class)
                    .hasMessage("expected saga to be COMPLETED but it is FAILED at step debit (insufficient funds); "
                            + "history: debit:STARTED, debit:COMMAND_SENT, debit:FAILED, debit:ENDED_FAILED");
        }

        @Test
        void aFailingDataCheckFails() {
            assertThatThrownBy(() -> started().expectData(t -> assertThat(t.amount()).isEqualTo(1)))
                    .isInstanceOf(AssertionError.class);
        }

        @Test
        void stepsOutOfOrderAreRefused() {
            SagaScenario<Transfer> scenario = SagaScenario.given(transfer());
            assertThatThrownBy(() -> scenario.expectCommand("bank-a", "Debit")).isInstanceOf(IllegalStateException.class)
                    .hasMessage("start the saga first");
            assertThatThrownBy(() -> scenario.reply(Reply.success())).isInstanceOf(IllegalStateException.class);
            scenario.start(TRANSFER);
            assertThatThrownBy(() -> scenario.start(TRANSFER)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("the scenario's saga was started already");
            assertThatThrownBy(() -> started().reply(Reply.success()).reply(Reply.success()).reply(Reply.success())
                    .reply(Reply.success()))
                    .isInstanceOf(AssertionError.class)
                    .hasMessage("no command awaits a reply; saga is COMPLETED at step fee");
        }
    }
}
