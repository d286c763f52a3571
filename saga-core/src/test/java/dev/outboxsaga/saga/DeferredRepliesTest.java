package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.TransferSaga.DebitResult;
import dev.outboxsaga.saga.TransferSaga.Transfer;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Deferred replies without a database: what {@link Reply#deferred(String)} is and is not, what
 * {@link PendingReplies#complete} refuses before it touches the database, and, in {@link SagaScenario}, that the step's
 * timeout stays in force at the orchestrator whatever the participant does meanwhile. The participant's side is
 * tested on PostgreSQL and Kafka in {@link SagaGuardsIntegrationTest} ("Deferred replies").
 */
class DeferredRepliesTest {

    private static final RetryPolicy ONCE = RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO);
    /** Bank b's credit waits for a person: its step may take two days. */
    private static final SagaDefinition<Transfer> TRANSFER = TransferSaga.builder("transfer")
            .timeout("credit", Duration.ofHours(48))
            .retry("credit", ONCE)
            .build();
    private static final Transfer T = new Transfer("t-1", "bank-a", "A1", "bank-b", "B1", 100, 5, null);

    @Test
    void aDeferredReplyIsNeitherASuccessNorAFailureAndCarriesNoResult() {
        Reply deferred = Reply.deferred("awaiting a manager's approval");

        assertThat(deferred.deferred()).isTrue();
        assertThat(deferred.succeeded()).isFalse();
        assertThat(deferred.retryable()).isFalse();
        assertThat(deferred.reason()).isEqualTo("awaiting a manager's approval");
        assertThat(deferred.payload()).isEqualTo("{}");
        assertThat(deferred.encodedWith(JacksonPayloadCodec.create())).isEqualTo(deferred);
        assertThat(Reply.deferred(null).reason()).isNull();
        assertThat(Reply.success().deferred()).isFalse();
        assertThat(Reply.failure("no").deferred()).isFalse();
        assertThat(Reply.success(new DebitResult("r-1")).deferred()).isFalse();
        assertThatThrownBy(() -> new Reply(true, false, null, "{}", null, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("a deferred reply is neither a success nor a failure");
        assertThatThrownBy(() -> new Reply(false, true, null, "{}", null, true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Reply(false, false, null, "{\"id\":1}", null, true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Reply(false, false, null, null, new DebitResult("r-1"), true))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aScenarioTakesNoDeferredReplyAsAnAnswer() {
        SagaScenario<Transfer> scenario = SagaScenario.given(TRANSFER).start(T)
                .expectCommand("bank-a", "Debit");

        assertThatThrownBy(() -> scenario.reply(Reply.deferred("later")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Reply.deferred is no answer: the participant sends nothing then");
        scenario.reply(Reply.success(new DebitResult("r-1"))).expectCommand("bank-b", "Credit");
    }

    /**
     * Bank b defers the credit (sending nothing). Its answer, however late, moves the saga on while the step's timeout
     * has not passed; once it has, the saga compensates the step, and an answer that comes after that is ignored.
     */
    @Test
    void anAnswerWithinTheStepTimeoutMovesTheSagaOnAndOneAfterItIsIgnored() {
        SagaScenario.given(TRANSFER).start(T)
                .expectCommand("bank-a", "Debit")
                .reply(Reply.success(new DebitResult("r-1")))
                .expectCommand("bank-b", "Credit")
                // Bank b accepted the credit and answers once a person approved it, within the 48 hours.
                .reply(Reply.success())
                .expectCommand("bank-a", "ChargeFee")
                .reply(Reply.success())
                .expectState(SagaState.COMPLETED);

        SagaScenario<Transfer> tooLate = SagaScenario.given(TRANSFER).start(T)
                .expectCommand("bank-a", "Debit")
                .reply(Reply.success(new DebitResult("r-1")))
                .expectCommand("bank-b", "Credit");
        UUID credit = tooLate.awaitedCommand();
        tooLate.deadlinePasses()
                // The compensation closes the pending credit at bank b; its handler undoes what the acceptance did.
                .expectCompensation("bank-b", "ReverseCredit")
                .replyTo(credit, Reply.success())
                .expectNoCommand()
                .expectState(SagaState.COMPENSATING)
                .reply(Reply.success())
                .expectCompensation("bank-a", "Refund")
                .reply(Reply.success())
                .expectState(SagaState.COMPENSATED)
                .expectLastError("no reply within 172800000 ms");
        assertThat(tooLate.history()).containsSubsequence("credit:COMMAND_SENT", "credit:TIMED_OUT",
                "credit:COMPENSATION_SENT", "credit:LATE_REPLY_IGNORED", "credit:COMPENSATED", "debit:COMPENSATED");
    }

    @Test
    void completeRefusesADeferredOrRetryableAnswerAndAnAutoCommitConnectionNamingTheStep() {
        PendingReplies pending = PendingReplies.builder().participant("inventory").build();
        UUID sagaId = UUID.randomUUID();
        // Refused before any statement: this connection fails every call but the auto-commit question.
        Connection autoCommit = connection(true);

        assertThatThrownBy(() -> pending.complete(autoCommit, sagaId, 2, Reply.deferred("still waiting")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the answer to step 2 of saga " + sagaId + " at participant inventory is deferred already; "
                        + "complete it with a success or a failure");
        assertThatThrownBy(() -> pending.complete(autoCommit, sagaId, 2, Reply.retryableFailure("busy")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a retryable failure (step 2 of saga " + sagaId
                        + " at participant inventory)");
        assertThatThrownBy(() -> pending.complete(autoCommit, sagaId, 2, Reply.success()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("complete needs the caller's transaction, but the connection is in "
                        + "auto-commit");
        assertThatThrownBy(() -> pending.list(autoCommit, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limit must be positive, but was 0");
    }

    @Test
    void pendingRepliesNeedAParticipantName() {
        assertThatThrownBy(() -> PendingReplies.builder().build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("participant is required");
        assertThatThrownBy(() -> PendingReplies.builder().participant("Inventory Service"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'Inventory Service'");
        assertThat(PendingReplies.builder().participant("inventory").build().participant()).isEqualTo("inventory");
    }

    /** A connection that answers only whether it auto-commits. */
    private static Connection connection(boolean autoCommit) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getAutoCommit")) {
                        return autoCommit;
                    }
                    throw new AssertionError("unexpected call " + method.getName());
                });
    }
}
