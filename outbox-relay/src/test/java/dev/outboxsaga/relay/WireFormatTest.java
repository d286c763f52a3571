package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.relay.internal.RelayOffsetStore;
import dev.outboxsaga.testkit.TestDatabase;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.debezium.transforms.outbox.EventRouter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;
import org.apache.kafka.connect.storage.StringConverter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's records are those Debezium's own outbox event router writes for the same rows under
 * Kafka Connect with {@code StringConverter} for keys and values, the default
 * {@code SimpleHeaderConverter} and {@code table.fields.additional.placement=type:header:eventType,
 * correlationid:header:correlationId}: a deployment can move the capture to Kafka Connect without
 * changing a consumer.
 */
class WireFormatTest extends RelayTestBase {

    private DebeziumEngine<RecordChangeEvent<SourceRecord>> oracle;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @BeforeEach
    void createOracleSlot() {
        TestDatabase db = fixture.db;
        db.execute("CREATE PUBLICATION oracle_pub FOR TABLE public.outbox_event WITH (publish = 'insert')");
        db.execute("SELECT pg_create_logical_replication_slot('oracle_slot', 'pgoutput')");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (oracle != null) {
            oracle.close();
        }
        executor.shutdownNow();
    }

    @Test
    void recordsMatchWhatDebeziumsOutboxEventRouterWrites() throws Exception {
        fixture.start(fixture.config().build());
        List<OutboxMessage> messages = List.of(
                fixture.outbox.message().aggregate(fixture.aggregateType, "a-1").type("Placed")
                        .payload("{\"amount\":  10.50, \"items\": [1,2,{\"sku\":\"x\"}], \"note\":\"Zoë \\u00e9 \\\"q\\\"\"}")
                        .correlationId("saga-1").build(),
                fixture.outbox.message().aggregate(fixture.aggregateType, "a-2").type("Cancelled")
                        .payload("\"just a string\"").build(),
                fixture.outbox.message().aggregate(fixture.aggregateType, "a-1").type("Shipped")
                        .payload("{ \"nested\" : { \"deep\" : [ true, false, null ] }, \"big\": 12345678901234567890 }")
                        .correlationId("saga-1").build(),
                fixture.outbox.message().aggregate(fixture.aggregateType, "a-3").type("Empty").payload("{}").build());
        fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
            tx.appendAll(messages);
            return null;
        });

        List<SourceRecord> captured = new CopyOnWriteArrayList<>();
        oracle = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(oracleProperties())
                .notifying((records, committer) -> {
                    for (RecordChangeEvent<SourceRecord> record : records) {
                        captured.add(record.record());
                        committer.markProcessed(record);
                    }
                    committer.markBatchFinished();
                })
                .build();
        executor.execute(oracle);
        await().atMost(Duration.ofSeconds(30)).until(() -> captured.stream().filter(r -> r.value() instanceof Struct).count() >= messages.size());

        List<ConsumerRecord<byte[], byte[]>> relayed = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).until(() -> fixture.readAll(relayed).size() >= messages.size());
        fixture.drain(relayed);

        Map<String, Expected> expected = new TreeMap<>();
        try (EventRouter<SourceRecord> router = new EventRouter<>()) {
            router.configure(Map.of("table.fields.additional.placement",
                    "type:header:eventType,correlationid:header:correlationId"));
            StringConverter strings = new StringConverter();
            strings.configure(Map.of(), false);
            SimpleHeaderConverter headerConverter = new SimpleHeaderConverter();
            for (SourceRecord change : captured) {
                SourceRecord routed = router.apply(change);
                if (routed == null || !(change.value() instanceof Struct)) {
                    continue;
                }
                Map<String, String> headers = new TreeMap<>();
                for (Header header : routed.headers()) {
                    if (header.key().startsWith("__debezium.context.")) {
                        // Debezium's run and task ids: internal to a Connect deployment, deliberately not relayed.
                        continue;
                    }
                    byte[] bytes = headerConverter.fromConnectHeader(routed.topic(), header.key(), header.schema(), header.value());
                    headers.put(header.key(), bytes == null ? null : new String(bytes, StandardCharsets.UTF_8));
                }
                String id = headers.get("id");
                expected.put(id, new Expected(routed.topic(),
                        new String(strings.fromConnectData(routed.topic(), routed.keySchema(), routed.key()), StandardCharsets.UTF_8),
                        new String(strings.fromConnectData(routed.topic(), routed.valueSchema(), routed.value()), StandardCharsets.UTF_8),
                        headers));
            }
        }
        assertThat(expected).hasSize(messages.size());

        for (ConsumerRecord<byte[], byte[]> record : relayed) {
            Map<String, String> headers = new TreeMap<>();
            record.headers().forEach(h -> headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8)));
            Expected router = expected.get(headers.get("id"));
            assertThat(router).as("router output for %s", headers.get("id")).isNotNull();
            assertThat(record.topic()).isEqualTo(router.topic());
            assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo(router.key());
            assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo(router.value());
            assertThat(headers).isEqualTo(router.headers());
            assertThat(headers.keySet()).noneMatch(key -> key.startsWith("__debezium"));
        }
        assertThat(relayed.stream().map(RelayFixture::id).toList())
                .containsExactlyInAnyOrderElementsOf(messages.stream().map(OutboxMessage::id).toList());
    }

    private record Expected(String topic, String key, String value, Map<String, String> headers) {
    }

    private Properties oracleProperties() {
        Properties properties = new Properties();
        properties.setProperty("name", "oracle");
        properties.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        properties.setProperty("offset.storage", RelayOffsetStore.class.getName());
        properties.setProperty(RelayOffsetStore.RELAY_KEY, "oracle-" + UUID.randomUUID());
        properties.setProperty("offset.flush.interval.ms", "0");
        String url = fixture.db.jdbcUrl();
        var parsed = org.postgresql.Driver.parseURL(url, null);
        properties.setProperty("database.hostname", parsed.getProperty("PGHOST"));
        properties.setProperty("database.port", parsed.getProperty("PGPORT"));
        properties.setProperty("database.dbname", parsed.getProperty("PGDBNAME"));
        properties.setProperty("database.user", fixture.db.username());
        properties.setProperty("database.password", fixture.db.password());
        properties.setProperty("topic.prefix", "oracle");
        properties.setProperty("plugin.name", "pgoutput");
        properties.setProperty("slot.name", "oracle_slot");
        properties.setProperty("publication.name", "oracle_pub");
        properties.setProperty("publication.autocreate.mode", "disabled");
        properties.setProperty("snapshot.mode", "no_data");
        properties.setProperty("table.include.list", "public.outbox_event");
        return properties;
    }
}
