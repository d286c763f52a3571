package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.OutboxMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Rows the relay cannot publish are parked with their reason and the stream goes on; a lost slot stops it loudly. */
class RelayBadInputTest extends RelayTestBase {

    private static final Duration PATIENCE = Duration.ofSeconds(60);


    private List<Map<String, Object>> parked() {
        return fixture.db.jdbi().withHandle(h -> h.createQuery(
                "SELECT id::text AS id, aggregatetype, reason, payload FROM outbox_relay_dead_letter ORDER BY parked_at").mapToMap().list());
    }

    private void write(OutboxMessage... messages) {
        fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
            tx.appendAll(List.of(messages));
            return null;
        });
    }

    @Test
    void unpublishableRowsAreParkedWithTheirReasonAndTheStreamGoesOn() throws Exception {
        fixture.start(fixture.config().set("kafka.max.request.size", 8192).build());
        OutboxMessage before = fixture.message("k", 1);
        OutboxMessage tooLarge = fixture.outbox.message().aggregate(fixture.aggregateType, "k").type("Huge")
                .payload("\"" + "x".repeat(20_000) + "\"").build();
        OutboxMessage after = fixture.message("k", 2);
        write(before, tooLarge, after);
        UUID emptyRouting = UUID.randomUUID();
        UUID badTopic = UUID.randomUUID();
        fixture.db.execute("INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload) VALUES ('"
                + emptyRouting + "', '', 'k', 'T', '{}'), ('" + badTopic + "', 'no spaces allowed!', 'k', 'T', '{}')");
        OutboxMessage last = fixture.message("k", 3);
        write(last);

        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= 3);
        fixture.drain(received);
        assertThat(received.stream().map(RelayFixture::id).toList()).containsExactly(before.id(), after.id(), last.id());

        await().atMost(PATIENCE).until(() -> parked().size() == 3);
        List<Map<String, Object>> parked = parked();
        assertThat(parked).anySatisfy(row -> {
            assertThat(row.get("id")).isEqualTo(tooLarge.id().toString());
            assertThat((String) row.get("reason")).contains("max.request.size of 8192");
            assertThat((String) row.get("payload")).hasSize(20_002);
        });
        assertThat(parked).anySatisfy(row -> {
            assertThat(row.get("id")).isEqualTo(emptyRouting.toString());
            assertThat((String) row.get("reason")).contains("routing column aggregatetype is empty");
        });
        assertThat(parked).anySatisfy(row -> {
            assertThat(row.get("id")).isEqualTo(badTopic.toString());
            assertThat((String) row.get("reason")).contains("'outbox.event.no spaces allowed!' is not a valid Kafka topic name");
        });
    }

    @Test
    void aRecordTheBrokerRefusesIsParkedAndTheRestOfItsBatchIsPublished() throws Exception {
        String topic = "outbox.event." + fixture.aggregateType;
        fixture.kafka.admin().createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                .configs(Map.of("max.message.bytes", "4000")))).all().get();
        fixture.start(fixture.config().set(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS, 1000).build());
        Random random = new Random(7);
        StringBuilder noise = new StringBuilder();
        for (int i = 0; i < 12_000; i++) {
            noise.append((char) ('a' + random.nextInt(26)));
        }
        OutboxMessage first = fixture.message("k", 1);
        OutboxMessage refused = fixture.outbox.message().aggregate(fixture.aggregateType, "k").type("Noise")
                .payload("\"" + noise + "\"").build();
        OutboxMessage second = fixture.message("k", 2);
        write(first, refused, second);

        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= 2);
        await().atMost(PATIENCE).until(() -> parked().size() == 1);
        fixture.drain(received);
        assertThat(received.stream().map(RelayFixture::id).toList()).containsExactly(first.id(), second.id());
        assertThat((String) parked().get(0).get("reason")).contains("Kafka refused it").contains("RecordTooLargeException");
    }

    @Test
    void aDroppedSlotStopsTheRelayLoudlyInsteadOfSkippingRows(@TempDir Path dir) throws Exception {
        RelayConfig config = fixture.config().build();
        OutboxRelay relay = fixture.start(config);
        OutboxMessage published = fixture.message("k", 1);
        write(published);
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= 1);
        relay.close();
        await().atMost(PATIENCE).until(() -> relay.status().role() == RelayStatus.Role.STOPPED);

        fixture.db.execute("SELECT pg_drop_replication_slot('" + config.slotName() + "')");
        write(fixture.message("k", 2));

        OutboxRelay restarted = OutboxRelay.create(config);
        assertThatThrownBy(restarted::run)
                .isInstanceOf(RelayFailedException.class)
                .hasMessageContaining("replication slot " + config.slotName() + " does not exist")
                .hasMessageContaining("may be lost");
        assertThat(restarted.status().role()).isEqualTo(RelayStatus.Role.FAILED);

        Path properties = dir.resolve("relay.properties");
        Files.writeString(properties, String.join("\n",
                RelayConfig.NAME + "=" + config.name(),
                RelayConfig.DATABASE_URL + "=" + config.databaseUrl(),
                RelayConfig.DATABASE_USER + "=" + config.databaseUser(),
                RelayConfig.DATABASE_PASSWORD + "=" + config.databasePassword(),
                RelayConfig.KAFKA_BOOTSTRAP_SERVERS + "=" + config.bootstrapServers(),
                RelayConfig.METRICS_PORT + "=-1"));
        int exitCode = new CommandLine(new RelayMain(Map.of())).execute("run", "--config", properties.toString());
        assertThat(exitCode).isEqualTo(RelayMain.RELAY_FAILED);
    }
}
