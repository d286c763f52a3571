package dev.outboxsaga.saga;

import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.util.ArrayList;
import java.util.List;

/**
 * Relays in threads of the test JVM, one per database whose outbox a test publishes, closed together; with the
 * short heartbeat and lease times the saga tests use.
 */
final class InProcessRelays implements AutoCloseable {

    private final TestKafka kafka;
    private final List<OutboxRelay> relays = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    InProcessRelays(TestKafka kafka) {
        this.kafka = kafka;
    }

    /** Starts a relay named {@code name} over {@code db}'s outbox (its schema migrated already). */
    void start(TestDatabase db, String name) {
        OutboxRelay relay = OutboxRelay.create(RelayConfig.builder()
                .set(RelayConfig.NAME, name)
                .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, db.username())
                .set(RelayConfig.DATABASE_PASSWORD, db.password())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers())
                .set(RelayConfig.METRICS_PORT, -1)
                .set(RelayConfig.HEARTBEAT_INTERVAL_MS, 1000)
                .set(RelayConfig.LEASE_TTL_MS, 3000)
                .set(RelayConfig.LEASE_RENEW_MS, 500)
                .build());
        Thread thread = new Thread(relay, "relay-" + name);
        thread.setDaemon(true);
        thread.start();
        relays.add(relay);
        threads.add(thread);
    }

    @Override
    public void close() throws InterruptedException {
        relays.forEach(OutboxRelay::close);
        for (Thread thread : threads) {
            thread.join(30_000);
        }
    }
}
