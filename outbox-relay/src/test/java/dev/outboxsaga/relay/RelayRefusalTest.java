package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.relay.internal.HttpEndpoint;
import dev.outboxsaga.testkit.EmbeddedKafka;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A row Kafka keeps refusing (here: its topic does not exist and the broker does not create topics)
 * is parked after {@code publish.refusal.timeout.ms} and the stream goes on; a broker outage longer
 * than that parks nothing. Meanwhile {@code /health} measures how long the oldest row has waited.
 * Runs on a broker of its own, with {@code auto.create.topics.enable=false}.
 */
class RelayRefusalTest extends RelayTestBase {

    private static final Duration PATIENCE = Duration.ofSeconds(90);
    private static final int REFUSAL_TIMEOUT_MS = 5000;
    private static final int MAX_LAG_MS = 1000;

    private static EmbeddedKafka broker;
    private static TestKafka kafka;

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private PrometheusMeterRegistry registry;
    private HttpEndpoint endpoint;

    @BeforeAll
    static void startBroker() {
        broker = EmbeddedKafka.start(Map.of("auto.create.topics.enable", "false"));
        kafka = TestKafka.create(broker);
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @BeforeEach
    void onTheBrokerWithoutAutoCreation(TestDatabase db) {
        fixture = new RelayFixture(db, kafka);
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    @AfterEach
    void closeEndpoint() {
        if (endpoint != null) {
            endpoint.close();
        }
        registry.close();
    }

    private OutboxRelay start() throws Exception {
        kafka.admin().createTopics(List.of(new NewTopic("outbox.event." + fixture.aggregateType, 1, (short) 1)))
                .all().get();
        RelayConfig config = fixture.config()
                .set(RelayConfig.PUBLISH_REFUSAL_TIMEOUT_MS, REFUSAL_TIMEOUT_MS)
                .set(RelayConfig.HEALTH_MAX_LAG_MS, MAX_LAG_MS)
                // How long the producer waits for a topic's metadata, so a missing topic shows quickly.
                .set("kafka.max.block.ms", 2000)
                .build();
        OutboxRelay relay = fixture.start(config, registry);
        endpoint = HttpEndpoint.start(0, registry, relay::status, config.healthMaxLag().toMillis());
        return relay;
    }

    private int health() throws Exception {
        return get("/health").statusCode();
    }

    private HttpResponse<String> get(String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + endpoint.port() + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private List<Map<String, Object>> parked() {
        return fixture.db.jdbi().withHandle(h -> h.createQuery(
                "SELECT id::text AS id, aggregatetype, reason FROM outbox_relay_dead_letter ORDER BY parked_at")
                .mapToMap().list());
    }

    private UUID write(OutboxMessage message) {
        fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
            tx.append(message);
            return null;
        });
        return message.id();
    }

    /** Writes a last row and waits for it: the topic has one partition, so nothing else can still come. */
    private List<UUID> everythingPublished(List<ConsumerRecord<byte[], byte[]>> received, UUID marker) {
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).stream().map(RelayFixture::id).toList()
                .contains(marker));
        return received.stream().map(RelayFixture::id).toList();
    }

    @Test
    void aRowWhoseTopicDoesNotExistIsParkedAfterTheRefusalTimeoutAndTheRowsAfterItArePublishedOnce()
            throws Exception {
        OutboxRelay relay = start();
        List<UUID> expected = new ArrayList<>();
        expected.add(write(fixture.message("k", 0)));
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() == 1);
        await().atMost(PATIENCE).until(() -> health() == 200);

        String missingTopic = "outbox.event.missing_" + fixture.aggregateType;
        UUID refused = write(fixture.outbox.message().aggregate("missing_" + fixture.aggregateType, "k")
                .type("Placed").payload("{}").build());
        for (int i = 1; i <= 20; i++) {
            expected.add(write(fixture.message("k", i)));
        }

        // Stuck behind the refused row: /health says so long before the row may be parked.
        await().atMost(PATIENCE).until(() -> health() == 503);
        assertThat(parked()).isEmpty();
        assertThat(get("/health").body()).contains("\"keepingUp\":false");

        await().atMost(PATIENCE).until(() -> parked().size() == 1);
        Map<String, Object> row = parked().get(0);
        assertThat(row.get("id")).isEqualTo(refused.toString());
        assertThat((String) row.get("reason")).contains("UnknownTopicOrPartitionException", missingTopic);

        expected.add(write(fixture.message("k", 21)));
        assertThat(everythingPublished(received, expected.get(expected.size() - 1)))
                .as("every other row once, in commit order").containsExactlyElementsOf(expected);
        assertThat(relay.status().recordsParked()).isEqualTo(1);
        assertThat(get("/metrics").body().lines()
                .filter(line -> line.startsWith("outbox_relay_records_parked_total{"))
                .filter(line -> line.contains("reason=\"unknown_topic\"")))
                .singleElement().satisfies(line -> assertThat(line).endsWith(" 1.0"));
        await().atMost(PATIENCE).until(() -> health() == 200);
        assertThat(parked()).hasSize(1);
    }

    @Test
    void aBrokerOutageLongerThanTheRefusalTimeoutParksNothingAndEveryRowIsPublishedOnceAfterIt() throws Exception {
        OutboxRelay relay = start();
        List<UUID> expected = new ArrayList<>();
        expected.add(write(fixture.message("k", 0)));
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() == 1);
        await().atMost(PATIENCE).until(() -> health() == 200);

        broker.stop();
        try {
            for (int i = 1; i <= 20; i++) {
                expected.add(write(fixture.message("k", i)));
            }
            // The rows have waited for twice the refusal timeout; the relay tells, and parks nothing.
            await().atMost(PATIENCE).until(() -> relay.status().lagMillis() > 2L * REFUSAL_TIMEOUT_MS);
            assertThat(health()).isEqualTo(503);
            assertThat(parked()).isEmpty();
        } finally {
            broker.restart();
        }

        expected.add(write(fixture.message("k", 21)));
        assertThat(everythingPublished(received, expected.get(expected.size() - 1)))
                .as("every row once, in commit order").containsExactlyElementsOf(expected);
        assertThat(parked()).isEmpty();
        assertThat(relay.status().recordsParked()).isZero();
        await().atMost(PATIENCE).until(() -> health() == 200);
    }
}
