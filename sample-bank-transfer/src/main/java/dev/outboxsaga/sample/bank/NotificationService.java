package dev.outboxsaga.sample.bank;

import dev.outboxsaga.saga.EventContext;
import dev.outboxsaga.saga.EventHandlers;
import dev.outboxsaga.sample.bank.TransferEvents.TransferCompleted;
import java.sql.PreparedStatement;
import java.util.Locale;
import java.util.Random;
import javax.sql.DataSource;

/**
 * The notification service, by choreography: no saga step commands it; it reacts to the transfer service's
 * {@value TransferEvents#COMPLETED} events and tells the payee, recording each notification in its own database.
 * The inbox record and the notification row commit together, so each completed transfer is notified once however
 * often Kafka delivers its event; the demo's duplicator delivers some twice, and injected crashes (after the
 * insert, before the commit) make the handler run again.
 *
 * <p>It emits nothing itself. A service that does calls {@code context.emit(aggregateType, aggregateId, type,
 * payload)} in the handler, which appends to its outbox in the same transaction, and runs a relay on its database.
 */
final class NotificationService implements AutoCloseable {

    private final String name;
    private final DataSource dataSource;
    private final Faults faults;
    private final Random random;
    private final EventHandlers handlers;

    NotificationService(String name, DataSource dataSource, String bootstrapServers, String transferService,
            Faults faults, long seed) {
        this.name = name;
        this.dataSource = dataSource;
        this.faults = faults;
        this.random = new Random(seed);
        Schema.migrate(dataSource, "V1__notifications.sql");
        this.handlers = EventHandlers.builder()
                .name(name)
                .dataSource(dataSource)
                .bootstrapServers(bootstrapServers)
                .on(transferService, TransferEvents.COMPLETED, TransferCompleted.class, this::notifyPayee)
                .build();
    }

    void start() {
        handlers.start();
    }

    /** The service's name, which is its inbox consumer's. */
    String name() {
        return name;
    }

    DataSource dataSource() {
        return dataSource;
    }

    EventHandlers handlers() {
        return handlers;
    }

    private void notifyPayee(TransferCompleted transfer, EventContext context) throws Exception {
        try (PreparedStatement insert = context.connection().prepareStatement(
                "INSERT INTO notification (transfer_id, recipient, text) VALUES (?, ?, ?)")) {
            insert.setString(1, transfer.transferId());
            insert.setString(2, transfer.toBank() + "/" + transfer.toAccount());
            insert.setString(3, String.format(Locale.ROOT, "You received %d.%02d from %s (transfer %s)",
                    transfer.amount() / 100, transfer.amount() % 100, transfer.fromAccount(), transfer.transferId()));
            insert.executeUpdate();
        }
        // Not "<transfer>/<kind>" as the banks' keys: a notification comes after the saga and delays none.
        if (faults.hitsOnce("crash", "notification of " + transfer.transferId(), random)) {
            throw new IllegalStateException("injected crash in " + name + " while notifying " + transfer.transferId());
        }
    }

    @Override
    public void close() {
        handlers.close();
    }
}
