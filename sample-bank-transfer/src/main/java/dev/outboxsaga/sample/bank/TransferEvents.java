package dev.outboxsaga.sample.bank;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.saga.LocalAction;

/**
 * The events the transfer service publishes for other services to react to (choreography), under its own name as
 * the aggregate type: topic {@code outbox.event.<service>}, key the transfer id. Its name, not a fixed
 * {@code transfer}, so that demo runs sharing one Kafka keep apart.
 *
 * <p>{@value #COMPLETED} is written by the saga's last step, a local one: the engine runs it in the transaction
 * that applies the credit's success reply and records the saga COMPLETED, so the event commits with the end or
 * not at all. A {@code SagaListener} would not do: it hears after the commit, and a crash in between would lose
 * the event.
 */
final class TransferEvents {

    /** The event type of a completed transfer. */
    static final String COMPLETED = "TransferCompleted";

    /** The payload of {@value #COMPLETED}: who paid whom how much, in cents. */
    record TransferCompleted(String transferId, String fromBank, String fromAccount, String toBank, String toAccount,
            long amount) {
    }

    private static final Outbox OUTBOX = Outbox.builder().payloadCodec(JacksonPayloadCodec.create()).build();

    private TransferEvents() {
    }

    /** The saga's last step: appends {@value #COMPLETED} to the service's outbox in the saga's ending transaction. */
    static LocalAction<Transfer> announceCompleted(String service) {
        return (connection, t) -> {
            OUTBOX.append(connection, OUTBOX.message()
                    .aggregate(service, t.id())
                    .type(COMPLETED)
                    .payload(new TransferCompleted(t.id(), t.fromBank(), t.fromAccount(), t.toBank(), t.toAccount(),
                            t.amount()))
                    .correlationId(t.id())
                    .build());
            return t;
        };
    }
}
