package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** An idle outbox in a busy database must not hold WAL back. */
class RelayHeartbeatTest extends RelayTestBase {


    private String scalar(String sql) {
        return fixture.db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(String.class).one());
    }

    @Test
    void heartbeatsMoveTheSlotPastBusyWritesToOtherTables() throws Exception {
        RelayConfig config = fixture.config().set(RelayConfig.HEARTBEAT_INTERVAL_MS, 300).build();
        OutboxRelay relay = fixture.start(config);
        fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
            tx.append(fixture.message("k", 1));
            return null;
        });
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= 1);

        // Busy elsewhere: WAL grows, but nothing of it is in the publication.
        fixture.db.execute("CREATE TABLE busy (n int, filler text)");
        fixture.db.execute("INSERT INTO busy SELECT g, repeat('x', 500) FROM generate_series(1, 20000) g");
        String walAfterBusyWork = scalar("SELECT pg_current_wal_lsn()::text");

        await().atMost(Duration.ofSeconds(30)).until(() -> "true".equals(scalar(
                "SELECT (pg_wal_lsn_diff(confirmed_flush_lsn, '" + walAfterBusyWork + "'::pg_lsn) >= 0)::text "
                        + "FROM pg_replication_slots WHERE slot_name = '" + config.slotName() + "'")));
        await().atMost(Duration.ofSeconds(30)).until(() -> relay.status().retainedWalBytes() >= 0);
        assertThat(relay.status().recordsPublished()).as("heartbeats are not published").isEqualTo(1);
        assertThat(Long.parseLong(scalar("SELECT count(*)::text FROM outbox_relay_heartbeat"))).isPositive();
    }
}
