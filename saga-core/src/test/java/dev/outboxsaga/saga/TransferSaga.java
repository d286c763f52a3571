package dev.outboxsaga.saga;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The saga the tests run: move {@code amount} from an account at one bank to an account at another,
 * then charge a fee at the first bank. Each step compensates; the fee step is left out of version 1.
 *
 * <pre>
 * debit  (fromBank: Debit,     compensated by Refund)
 * credit (toBank:   Credit,    compensated by ReverseCredit)
 * fee    (fromBank: ChargeFee, compensated by RefundFee)      -- version 2 and later
 * </pre>
 */
final class TransferSaga {

    private static final PayloadCodec CODEC = JacksonPayloadCodec.create();

    static final String[] STEPS = {"debit", "credit", "fee"};
    static final String[] COMMANDS = {"Debit", "Credit", "ChargeFee"};
    static final String[] COMPENSATIONS = {"Refund", "ReverseCredit", "RefundFee"};

    /** The saga data. {@code debitRef} is filled in from the Debit reply. */
    record Transfer(String id, String fromBank, String fromAccount, String toBank, String toAccount, long amount,
            long fee, String debitRef) {

        Transfer withDebitRef(String ref) {
            return new Transfer(id, fromBank, fromAccount, toBank, toAccount, amount, fee, ref);
        }

        /** Which bank a step commands. */
        String bankOf(int step) {
            return step == 1 ? toBank : fromBank;
        }
    }

    /** The payload of every command: which account, how much, and for a refund the original reference. */
    record Movement(String account, long amount, String ref) {
    }

    /** The Debit reply payload. */
    record DebitResult(String ref) {
    }

    private TransferSaga() {
    }

    static Builder builder(String type) {
        return new Builder(type);
    }

    /** The three-step saga with the defaults of {@link Builder}. */
    static SagaDefinition<Transfer> definition(String type) {
        return builder(type).build();
    }

    /** Builds the transfer saga with per-step timeouts and retries. */
    static final class Builder {
        private final String type;
        private int version = 2;
        private boolean withFee = true;
        private Duration defaultTimeout = Duration.ofSeconds(30);
        private RetryPolicy defaultRetry = RetryPolicy.exponential(3, Duration.ofMillis(100), Duration.ofMillis(400));
        private final Map<String, Duration> timeouts = new HashMap<>();
        private final Map<String, RetryPolicy> retries = new HashMap<>();
        private Duration sagaDeadline;

        private Builder(String type) {
            this.type = type;
        }

        /** Version 1 has no fee step; version 2 (the default) has. */
        Builder version(int version) {
            this.version = version;
            this.withFee = version >= 2;
            return this;
        }

        Builder timeout(Duration timeout) {
            this.defaultTimeout = timeout;
            return this;
        }

        Builder retry(RetryPolicy retry) {
            this.defaultRetry = retry;
            return this;
        }

        /** The whole saga's deadline; none by default. */
        Builder deadline(Duration deadline) {
            this.sagaDeadline = deadline;
            return this;
        }

        Builder timeout(String step, Duration timeout) {
            timeouts.put(step, timeout);
            return this;
        }

        Builder retry(String step, RetryPolicy retry) {
            retries.put(step, retry);
            return this;
        }

        SagaDefinition<Transfer> build() {
            SagaDefinition.Builder<Transfer> saga = SagaDefinition.builder(type, version, Transfer.class);
            if (sagaDeadline != null) {
                saga.deadline(sagaDeadline);
            }
            SagaDefinition.StepBuilder<Transfer> steps = saga
                    .step("debit")
                        .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount(), null))
                        .onSuccess((t, reply) -> t.withDebitRef(CODEC.decode(reply.payload(), DebitResult.class).ref()))
                        .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount(), t.debitRef()))
                        .timeout(timeoutOf("debit"))
                        .retry(retryOf("debit"))
                    .step("credit")
                        .invoke(Transfer::toBank, "Credit", t -> new Movement(t.toAccount(), t.amount(), t.debitRef()))
                        .compensateWith("ReverseCredit", t -> new Movement(t.toAccount(), t.amount(), t.debitRef()))
                        .timeout(timeoutOf("credit"))
                        .retry(retryOf("credit"));
            if (withFee) {
                steps = steps.step("fee")
                        .invoke(Transfer::fromBank, "ChargeFee", t -> new Movement(t.fromAccount(), t.fee(), t.debitRef()))
                        .compensateWith("RefundFee", t -> new Movement(t.fromAccount(), t.fee(), t.debitRef()))
                        .timeout(timeoutOf("fee"))
                        .retry(retryOf("fee"));
            }
            return steps.build();
        }

        private Duration timeoutOf(String step) {
            return timeouts.getOrDefault(step, defaultTimeout);
        }

        private RetryPolicy retryOf(String step) {
            return retries.getOrDefault(step, defaultRetry);
        }
    }
}
