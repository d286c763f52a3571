package dev.outboxsaga.sample.bank;

import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.core.DatabaseTransactions;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaOrchestrator;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The transfer service: records a transfer and starts its saga in one transaction, then lets the
 * orchestrator drive it: two checks at once, a parallel group (hold the amount against the source account's daily
 * limit at the source bank, compensated by releasing it; screen the payee at the destination bank, compensated by
 * clearing the screening), then debit the source bank (compensated by a refund), credit the destination
 * bank (compensated by a reversal, needed only when a credit's reply timed out or the saga was cancelled awaiting
 * it), and announce the completed transfer to whom it may concern ({@link TransferEvents}) in the transaction that
 * completes the saga.
 */
final class TransferService implements AutoCloseable {

    private final String service;
    private final DataSource dataSource;
    private final SagaDefinition<Transfer> saga;
    private final SagaOrchestrator orchestrator;

    TransferService(String service, DataSource dataSource, String bootstrapServers, Duration stepTimeout) {
        this(service, dataSource, bootstrapServers, stepTimeout, Map.of());
    }

    /** As above, with further Kafka consumer properties for the orchestrator's reply consumer. */
    TransferService(String service, DataSource dataSource, String bootstrapServers, Duration stepTimeout,
            Map<String, ?> kafkaProperties) {
        this.service = service;
        this.dataSource = dataSource;
        Schema.migrate(dataSource, "V1__transfers.sql");
        RetryPolicy retry = RetryPolicy.exponential(4, Duration.ofMillis(100), Duration.ofSeconds(1));
        this.saga = SagaDefinition.builder("transfer", 2, Transfer.class)
                // Both checks must pass before money moves; neither needs the other, so they run at once. The credit
                // keeps its own checks of the payee: the account may be frozen between the screening and the credit.
                .parallel("checks", checks -> checks
                    .step("holdLimit")
                        .invoke(Transfer::fromBank, "HoldLimit", t -> new Movement(t.id(), t.fromAccount(), t.amount()))
                        .compensateWith("ReleaseLimit", t -> new Movement(t.id(), t.fromAccount(), t.amount()))
                        .timeout(stepTimeout)
                        .retry(retry)
                    .step("screenPayee")
                        .invoke(Transfer::toBank, "ScreenPayee", t -> new Movement(t.id(), t.toAccount(), t.amount()))
                        .compensateWith("ClearScreening", t -> new Movement(t.id(), t.toAccount(), t.amount()))
                        .timeout(stepTimeout)
                        .retry(retry))
                .step("debit")
                    .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.id(), t.fromAccount(), t.amount()))
                    .compensateWith("Refund", t -> new Movement(t.id(), t.fromAccount(), t.amount()))
                    .timeout(stepTimeout)
                    .retry(retry)
                .step("credit")
                    .invoke(Transfer::toBank, "Credit", t -> new Movement(t.id(), t.toAccount(), t.amount()))
                    .compensateWith("ReverseCredit", t -> new Movement(t.id(), t.toAccount(), t.amount()))
                    .timeout(stepTimeout)
                    .retry(retry)
                // Last, and it must stay last: the event commits with COMPLETED, so nothing may fail after it.
                .step("announce")
                    .local(TransferEvents.announceCompleted(service))
                .build();
        this.orchestrator = SagaOrchestrator.builder()
                .service(service)
                .dataSource(dataSource)
                .bootstrapServers(bootstrapServers)
                .kafkaProperties(kafkaProperties)
                .definition(saga)
                .timerInterval(Duration.ofMillis(100))
                .concurrency(3)
                .build();
    }

    void start() {
        orchestrator.start();
    }

    SagaOrchestrator orchestrator() {
        return orchestrator;
    }

    /** The service's name, which names its orchestrator's consumers. */
    String name() {
        return service;
    }

    DataSource dataSource() {
        return dataSource;
    }

    /**
     * Waits until the saga has ended (or parked), for up to {@code patience}; the caller counts a saga still
     * running then as stuck. The orchestrator wakes the waiter after the commit that ends the saga, or, when
     * another process (the orchestrator run in a JVM of its own) ended it, by its one shared check for every
     * waiter. Looked at again while the database cannot be reached (it is restarting, say).
     */
    void awaitEnd(UUID sagaId, Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                orchestrator.awaitEnd(sagaId, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                return;
            } catch (IllegalStateException closed) {
                return;
            } catch (RuntimeException unreachable) {
                if (System.nanoTime() > deadline) {
                    return;
                }
                Thread.sleep(500);
            }
        }
    }

    /**
     * Records the transfer and starts its saga, atomically. The transfer's id is the saga's key: a call
     * retried after a commit of unknown outcome (the database went away) starts no second saga.
     */
    UUID transfer(Transfer transfer) {
        return DatabaseTransactions.inTransaction(dataSource, connection -> {
            UUID sagaId = orchestrator.begin(connection, saga, transfer, transfer.id());
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO transfer (id, from_bank, "
                    + "from_account, to_bank, to_account, amount, saga_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    + "ON CONFLICT (id) DO NOTHING")) {
                insert.setString(1, transfer.id());
                insert.setString(2, transfer.fromBank());
                insert.setString(3, transfer.fromAccount());
                insert.setString(4, transfer.toBank());
                insert.setString(5, transfer.toAccount());
                insert.setLong(6, transfer.amount());
                insert.setObject(7, sagaId);
                insert.executeUpdate();
            }
            return sagaId;
        });
    }

    @Override
    public void close() {
        orchestrator.close();
    }
}
