package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.OutboxSchema;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Scale-out: an outbox sharded over two tables by aggregate id ({@code Outbox.builder().shards(2)}), one
 * relay per table (own slot, publication, lease, positions topic), both publishing to the same topic.
 * Every message of one aggregate goes through one table and arrives in order; none is lost or doubled.
 */
class RelayScaleOutTest extends RelayTestBase {

    private static final int SHARDS = 2;
    private static final Pattern SEQ = Pattern.compile("\"seq\": (\\d+)");

    private final Outbox sharded = Outbox.builder().shards(SHARDS).build();

    @BeforeEach
    void createShardTables() {
        OutboxSchema.migrateShards(fixture.db.dataSource(), sharded);
    }

    @Test
    void twoRelaysInThisJvmKeepEveryAggregateInOneTableAndInOrder() throws Exception {
        Map<String, List<Integer>> written = write("before", 2, 5, 20);
        List<OutboxRelay> relays = new ArrayList<>();
        for (int shard = 0; shard < SHARDS; shard++) {
            relays.add(fixture.start(shardConfig(shard)));
        }
        merge(written, write("during", 4, 30, 10));

        List<ConsumerRecord<byte[], byte[]>> received = receiveAll(written);
        assertExactlyOnceInOrder(received, written);
        assertEachAggregateInItsOwnTable(written);
        long total = written.values().stream().mapToLong(List::size).sum();
        assertThat(relays).allSatisfy(relay -> assertThat(relay.status().recordsPublished()).isPositive());
        assertThat(relays.stream().mapToLong(relay -> relay.status().recordsPublished()).sum()).isEqualTo(total);
    }

    @Test
    void oneRelayProcessRunsTwoConfigsWithOneHealthEndpoint() throws Exception {
        int port = freePort();
        Map<String, String> first = processConfig(0);
        first.put(RelayConfig.METRICS_PORT, Integer.toString(port));
        RelayProcess process = new RelayProcess(fixture.relayName + "-both", first, List.of())
                .alsoRunning(processConfig(1));
        Map<String, List<Integer>> written = write("before", 2, 5, 20);
        process.start();
        merge(written, write("during", 4, 30, 10));

        List<ConsumerRecord<byte[], byte[]>> received = receiveAll(written);
        assertExactlyOnceInOrder(received, written);
        assertEachAggregateInItsOwnTable(written);

        HttpClient http = HttpClient.newHttpClient();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            HttpResponse<String> response = http.send(health, HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(response.body()).startsWith("{\"status\":\"UP\",\"relays\":{")
                    .contains("\"" + fixture.relayName + "-0\":{\"status\":\"UP\",\"role\":\"LEADER\"")
                    .contains("\"" + fixture.relayName + "-1\":{\"status\":\"UP\",\"role\":\"LEADER\"");
            long published = 0;
            Matcher counts = Pattern.compile("\"recordsPublished\":(\\d+)").matcher(response.body());
            while (counts.find()) {
                published += Long.parseLong(counts.group(1));
            }
            assertThat(published).isEqualTo(received.size());
        });
        // 143: the JVM's code for a SIGTERM it handled (see the README); the log shows both relays closed cleanly.
        assertThat(process.terminate()).as(process.log()).isEqualTo(143);
        assertThat(process.log()).contains("relay " + fixture.relayName + "-0 (p0) stopped",
                "relay " + fixture.relayName + "-1 (p1) stopped", "outbox relays stopped");
    }

    private RelayConfig shardConfig(int shard) {
        return fixture.config()
                .set(RelayConfig.NAME, fixture.relayName + "-" + shard)
                .set(RelayConfig.OUTBOX_TABLES, "public." + sharded.tables().get(shard))
                .build();
    }

    private Map<String, String> processConfig(int shard) {
        Map<String, String> config = fixture.processConfig("p" + shard);
        config.put(RelayConfig.NAME, fixture.relayName + "-" + shard);
        config.put(RelayConfig.OUTBOX_TABLES, "public." + sharded.tables().get(shard));
        return config;
    }

    /**
     * {@code clients} threads, each writing {@code transactions} transactions of {@code rowsEach} rows over keys of its
     * own ({@code <prefix>-<client>-<0..4>}); returns each key's sequence numbers in the order written.
     */
    private Map<String, List<Integer>> write(String prefix, int clients, int transactions, int rowsEach) throws Exception {
        Map<String, List<Integer>> written = new HashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Map<String, List<Integer>>>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                futures.add(pool.submit(() -> {
                    Map<String, List<Integer>> mine = new LinkedHashMap<>();
                    for (int t = 0; t < transactions; t++) {
                        List<OutboxMessage> batch = new ArrayList<>();
                        for (int r = 0; r < rowsEach; r++) {
                            String key = prefix + "-" + client + "-" + (r % 5);
                            int seq = t * rowsEach + r;
                            batch.add(sharded.message().aggregate(fixture.aggregateType, key).type("Placed")
                                    .payload("{\"seq\": " + seq + "}").build());
                            mine.computeIfAbsent(key, k -> new ArrayList<>()).add(seq);
                        }
                        sharded.inTransaction(fixture.db.dataSource(), tx -> {
                            tx.appendAll(batch);
                            return null;
                        });
                    }
                    return mine;
                }));
            }
            for (Future<Map<String, List<Integer>>> future : futures) {
                merge(written, future.get());
            }
        } finally {
            pool.shutdown();
        }
        return written;
    }

    private static void merge(Map<String, List<Integer>> into, Map<String, List<Integer>> more) {
        more.forEach((key, seqs) -> into.computeIfAbsent(key, k -> new ArrayList<>()).addAll(seqs));
    }

    private List<ConsumerRecord<byte[], byte[]>> receiveAll(Map<String, List<Integer>> written) {
        long total = written.values().stream().mapToLong(List::size).sum();
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(90)).until(() -> fixture.readAll(received).size() >= total);
        return fixture.drain(received);
    }

    private static void assertExactlyOnceInOrder(List<ConsumerRecord<byte[], byte[]>> received,
            Map<String, List<Integer>> written) {
        List<UUID> ids = received.stream().map(RelayFixture::id).toList();
        assertThat(new HashSet<>(ids)).as("distinct ids").hasSameSizeAs(ids);
        Map<String, List<Integer>> arrived = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : received) {
            Matcher seq = SEQ.matcher(new String(record.value(), StandardCharsets.UTF_8));
            assertThat(seq.find()).isTrue();
            arrived.computeIfAbsent(new String(record.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                    .add(Integer.parseInt(seq.group(1)));
        }
        // Exactly the sequences written, per key, in the order written: nothing lost, doubled or reordered.
        assertThat(arrived).isEqualTo(written);
    }

    /** Each key's rows are all in the table its shard names, and both tables got some. */
    private void assertEachAggregateInItsOwnTable(Map<String, List<Integer>> written) throws Exception {
        Map<String, Integer> rowsByKey = new HashMap<>();
        List<Integer> rowsByTable = new ArrayList<>();
        try (Connection connection = fixture.db.dataSource().getConnection();
             Statement statement = connection.createStatement()) {
            for (int shard = 0; shard < SHARDS; shard++) {
                int rows = 0;
                try (ResultSet row = statement.executeQuery("SELECT aggregateid, count(*) FROM "
                        + sharded.tables().get(shard) + " GROUP BY aggregateid")) {
                    while (row.next()) {
                        String key = row.getString(1);
                        assertThat(sharded.shardOf(key)).as("shard of %s", key).isEqualTo(shard);
                        assertThat(rowsByKey.put(key, row.getInt(2))).as("%s in two tables", key).isNull();
                        rows += row.getInt(2);
                    }
                }
                rowsByTable.add(rows);
            }
        }
        Map<String, Integer> expected = new HashMap<>();
        written.forEach((key, seqs) -> expected.put(key, seqs.size()));
        assertThat(rowsByKey).isEqualTo(expected);
        assertThat(rowsByTable).doesNotContain(0);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
