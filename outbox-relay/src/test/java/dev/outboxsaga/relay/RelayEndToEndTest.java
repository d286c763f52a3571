package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class RelayEndToEndTest extends RelayTestBase {


    @Test
    void rowsFromManyConcurrentTransactionsArriveOnceEachInOrderPerAggregate() throws Exception {
        List<UUID> before = fixture.writeConcurrently("before", 1, 5, 4);
        OutboxRelay relay = fixture.start(fixture.config().build());
        List<UUID> during = fixture.writeConcurrently("during", 6, 40, 5);
        List<UUID> expected = new ArrayList<>(before);
        expected.addAll(during);

        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= expected.size());
        fixture.drain(received);
        List<UUID> ids = received.stream().map(RelayFixture::id).toList();
        assertThat(ids).hasSameSizeAs(expected).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(new HashSet<>(ids)).hasSameSizeAs(ids);

        Map<String, List<Integer>> sequenceByKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : received) {
            String key = new String(record.key(), StandardCharsets.UTF_8);
            String payload = new String(record.value(), StandardCharsets.UTF_8);
            int seq = Integer.parseInt(payload.replaceAll(".*\"seq\": (\\d+).*", "$1"));
            sequenceByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(seq);
        }
        sequenceByKey.forEach((key, sequence) -> assertThat(sequence).as("order of %s: %s", key, sequence).isSorted());
        assertThat(relay.status().role()).isEqualTo(RelayStatus.Role.LEADER);
        assertThat(relay.status().recordsPublished()).isEqualTo(expected.size());
    }
}
