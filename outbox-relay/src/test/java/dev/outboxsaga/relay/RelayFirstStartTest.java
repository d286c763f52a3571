package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** The first start: the rows already in the outbox, published once, in order per key, within a limit. */
class RelayFirstStartTest extends RelayTestBase {

    @Test
    void aSnapshotBeyondTheLimitStopsTheRelayWithTheNumberAndPublishesNothing() throws Exception {
        List<UUID> existing = fixture.writeConcurrently("k", 1, 6, 5);

        OutboxRelay tooSmall = OutboxRelay.create(fixture.config().set(RelayConfig.SNAPSHOT_MAX_ROWS, 20).build());
        assertThatThrownBy(tooSmall::run).isInstanceOf(RelayFailedException.class)
                .hasMessageContaining("more than 20 rows").hasMessageContaining(RelayConfig.SNAPSHOT_MAX_ROWS);
        assertThat(slotExists()).as("the new slot was dropped").isFalse();
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        assertThat(fixture.readAll(received, Duration.ofSeconds(2))).isEmpty();

        fixture.start(fixture.config().set(RelayConfig.SNAPSHOT_MAX_ROWS, 30).build());
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= existing.size());
        fixture.drain(received);
        List<UUID> ids = received.stream().map(RelayFixture::id).toList();
        assertThat(new LinkedHashSet<>(ids)).hasSameSizeAs(ids).containsExactlyInAnyOrderElementsOf(existing);
    }

    /**
     * The promise: rows of one key that were committed one after another (each written after the
     * previous commit, as one writer or a saga does) reach Kafka in that order. The snapshot orders by
     * {@code created_at}, the writing transaction's start; concurrent transactions of one key that
     * commit in another order than they began are not told apart.
     */
    @Test
    void theFirstStartPublishesTheRowsOfEachKeyInCommitOrder() throws Exception {
        Map<String, List<UUID>> writtenByKey = new LinkedHashMap<>();
        for (int round = 0; round < 12; round++) {
            for (String key : List.of("x", "y", "z")) {
                var message = fixture.message(key, round);
                fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
                    tx.append(message);
                    return null;
                });
                writtenByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(message.id());
            }
        }
        // Random ids (not time-ordered) for some rows: the order must not come from the id.
        try (Connection connection = fixture.db.dataSource().getConnection();
             PreparedStatement insert = connection.prepareStatement("INSERT INTO outbox_event "
                     + "(id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, 'x', 'Placed', '{\"seq\": 99}')")) {
            UUID random = UUID.randomUUID();
            insert.setObject(1, random);
            insert.setString(2, fixture.aggregateType);
            insert.executeUpdate();
            writtenByKey.get("x").add(random);
        }

        fixture.start(fixture.config().build());
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= 37);
        fixture.drain(received);
        Map<String, List<UUID>> publishedByKey = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : received) {
            publishedByKey.computeIfAbsent(new String(record.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                    .add(RelayFixture.id(record));
        }
        assertThat(publishedByKey).isEqualTo(writtenByKey);
    }

    private boolean slotExists() throws Exception {
        try (Connection connection = fixture.db.dataSource().getConnection();
             PreparedStatement query = connection.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?")) {
            query.setString(1, fixture.config().build().slotName());
            try (ResultSet rows = query.executeQuery()) {
                return rows.next();
            }
        }
    }
}
