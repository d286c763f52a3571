package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.Outbox;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** {@code init} prepares a relay before services write: nothing written after it is ever missed, nothing twice. */
class RelayInitTest extends RelayTestBase {

    @Test
    void initCreatesTheSlotSoThatRowsDeletedInTheirOwnTransactionAreNotMissed() throws Exception {
        RelayConfig config = fixture.config().build();
        OutboxRelay.initialize(config);
        SlotReport slot = OutboxRelay.inspect(config);
        assertThat(slot.exists()).isTrue();
        assertThat(slot.active()).isFalse();
        assertThat(slot.publishedOffset()).as("initialized, nothing streamed yet").isNull();

        // Written before any relay runs, by a service that deletes its outbox rows at once.
        Outbox deleting = Outbox.builder().deleteAfterInsert(true).build();
        List<UUID> written = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            var message = fixture.message("k", i);
            deleting.inTransaction(fixture.db.dataSource(), tx -> {
                tx.append(message);
                return null;
            });
            written.add(message.id());
        }
        fixture.start(config);
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= written.size());
        fixture.drain(received);
        assertThat(received.stream().map(RelayFixture::id).toList()).containsExactlyElementsOf(written);
    }

    @Test
    void initRefusesWhileTheRelayRuns() {
        RelayConfig config = fixture.config().build();
        OutboxRelay relay = fixture.start(config);
        await().atMost(Duration.ofSeconds(60)).until(() -> relay.status().streaming());
        assertThatThrownBy(() -> OutboxRelay.initialize(config))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("is running");
    }
}
