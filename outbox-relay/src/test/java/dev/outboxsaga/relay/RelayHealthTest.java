package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A leader that publishes nothing, for whatever reason, is not healthy once rows could have waited too long. */
class RelayHealthTest extends RelayTestBase {

    private static final long MAX_LAG_MILLIS = 1_000;

    @Test
    void aLeaderThatDoesNotStreamIsUnhealthyAfterTheMaximumLag() throws Exception {
        RelayConfig config = fixture.config().build();
        // The relay will have to add the heartbeat table to the publication, and wait for the lock held here.
        fixture.db.execute("CREATE PUBLICATION " + config.publicationName()
                + " FOR TABLE public.outbox_event WITH (publish = 'insert')");
        OutboxRelay relay;
        try (Connection locker = fixture.db.dataSource().getConnection(); Statement lock = locker.createStatement()) {
            locker.setAutoCommit(false);
            lock.execute("LOCK TABLE public.outbox_relay_heartbeat IN ACCESS EXCLUSIVE MODE");
            relay = fixture.start(config);
            await().atMost(Duration.ofSeconds(30)).until(() -> relay.status().role() == RelayStatus.Role.LEADER);

            await("the blocked leader reported as not keeping up").atMost(Duration.ofSeconds(30))
                    .until(() -> !relay.status().keepingUp(MAX_LAG_MILLIS));
            assertThat(relay.status().streaming()).isFalse();
            assertThat(relay.status().lagMillis()).isGreaterThan(MAX_LAG_MILLIS);
            locker.rollback();
        }
        await("healthy again once it streams").atMost(Duration.ofSeconds(60))
                .until(() -> relay.status().streaming() && relay.status().keepingUp(MAX_LAG_MILLIS));
    }
}
