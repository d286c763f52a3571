package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outboxsaga.testkit.EmbeddedKafka;
import dev.outboxsaga.testkit.TestInfrastructure;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** The relay through broker and database restarts: it retries, does not advance, loses and repeats nothing. */
class RelayResilienceTest extends RelayTestBase {

    private static final Duration PATIENCE = Duration.ofSeconds(90);


    @Test
    void aKafkaBrokerRestartWhileRowsStreamInLosesAndDuplicatesNothing(TestInfrastructure infra) throws Exception {
        assumeTrue(infra.kafka() instanceof EmbeddedKafka, "restarting the broker needs the embedded Kafka");
        EmbeddedKafka kafka = (EmbeddedKafka) infra.kafka();
        OutboxRelay relay = fixture.start(fixture.config().build());
        List<UUID> first = fixture.writeConcurrently("a", 2, 20, 5);
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= first.size());

        CompletableFuture<List<UUID>> during = CompletableFuture.supplyAsync(() -> {
            try {
                return fixture.writeConcurrently("b", 2, 60, 5);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        kafka.restart();
        List<UUID> expected = new ArrayList<>(first);
        expected.addAll(during.get());

        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= expected.size());
        fixture.drain(received);
        assertExactlyOnceInKeyOrder(received, expected);
        assertThat(relay.status().role()).isEqualTo(RelayStatus.Role.LEADER);
    }

    @Test
    void aPostgresRestartIsReconnectedAndTheStreamGoesOnExactlyOnce(TestInfrastructure infra) throws Exception {
        assumeTrue(infra.postgres() instanceof dev.outboxsaga.testkit.internal.EmbeddedPostgresServer,
                "restarting PostgreSQL needs the embedded server");
        fixture.start(fixture.config().build());
        List<UUID> expected = new ArrayList<>(fixture.writeConcurrently("a", 2, 20, 5));
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= expected.size());

        infra.postgres().restart();
        expected.addAll(fixture.writeConcurrently("b", 2, 20, 5));

        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= expected.size());
        fixture.drain(received);
        assertExactlyOnceInKeyOrder(received, expected);
    }

    static void assertExactlyOnceInKeyOrder(List<ConsumerRecord<byte[], byte[]>> received, List<UUID> expected) {
        List<UUID> ids = received.stream().map(RelayFixture::id).toList();
        assertThat(ids).as("every row exactly once").hasSameSizeAs(expected).containsExactlyInAnyOrderElementsOf(expected);
        Map<String, List<Integer>> sequenceByKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : received) {
            String key = new String(record.key(), StandardCharsets.UTF_8);
            String payload = new String(record.value(), StandardCharsets.UTF_8);
            sequenceByKey.computeIfAbsent(key, k -> new ArrayList<>())
                    .add(Integer.parseInt(payload.replaceAll(".*\"seq\": (\\d+).*", "$1")));
        }
        sequenceByKey.forEach((key, sequence) -> assertThat(sequence).as("order of %s", key).isSorted());
    }
}
