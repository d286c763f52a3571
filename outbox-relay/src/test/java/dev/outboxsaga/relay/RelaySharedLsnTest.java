package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/**
 * {@code COPY} writes its rows with multi-insert WAL records: many rows share one LSN. A batch
 * boundary, or a restart, in the middle of such a group must neither skip nor repeat a row.
 */
class RelaySharedLsnTest extends RelayTestBase {

    private static final int ROWS = 5_000;

    @Test
    void everyRowOfOneLargeCopyIsPublishedOnceWhileStreaming() throws Exception {
        awaitStreaming();
        fixture.start(fixture.config().set(RelayConfig.MAX_BATCH_SIZE, 100).build());

        List<UUID> copied = copy(ROWS, "copy");

        assertExactlyOnceInOrder(copied);
    }

    /**
     * Relays halting in the middle of a COPY, each after its third Kafka commit, before the engine confirms the
     * slot: the worst moment there is. The second and third resume inside the COPY, the first transaction of their
     * run, where Debezium has seen no commit to order it by. Then the slot goes back to where it was before the
     * transactions ahead of the COPY, as after a crash: PostgreSQL writes a slot's confirmed position to disk only
     * now and then (when its restart point or catalog xmin moves, and at a clean shutdown), so a crashed server
     * resumes the slot from the last one saved, up to many transactions behind what the relay confirmed. (A copy
     * of the slot taken beforehand puts it back here.) The chaos suite met that: a successor published again the
     * transactions between the slot's saved position and the COPY.
     */
    @Test
    void everyRowOfOneLargeCopyIsPublishedOnceAcrossCrashesInTheMiddleOfItAndASlotPutBack() throws Exception {
        Map<String, String> smallBatches = Map.of(RelayConfig.MAX_BATCH_SIZE, "100");
        awaitStreaming();
        String slot = fixture.config().build().slotName();
        String saved = slot + "_saved";
        sql("SELECT pg_copy_logical_replication_slot('" + slot + "', '" + saved + "')");
        List<UUID> copied = new ArrayList<>(copy(3, "small-a"));
        copied.addAll(copy(3, "small-b"));
        copied.addAll(copy(1_500, "copy"));
        for (int crash = 1; crash <= 3; crash++) {
            RelayProcess relay = fixture.startProcess("halt-" + crash, smallBatches,
                    "-Doutbox.relay.test.halt-after-commits=3");
            await("relay " + crash + " halting after its third commit").atMost(Duration.ofSeconds(90))
                    .until(() -> !relay.isAlive());
            assertThat(relay.exitCode()).isEqualTo(137);
        }
        sql("SELECT pg_drop_replication_slot('" + slot + "')");
        sql("SELECT pg_copy_logical_replication_slot('" + saved + "', '" + slot + "')");
        sql("SELECT pg_drop_replication_slot('" + saved + "')");
        fixture.start(fixture.config().set(RelayConfig.INSTANCE_ID, "last").set(RelayConfig.MAX_BATCH_SIZE, 100).build());

        assertExactlyOnceInOrder(copied);
    }

    private void sql(String statement) throws Exception {
        try (Connection connection = fixture.db.dataSource().getConnection();
             java.sql.Statement run = connection.createStatement()) {
            run.execute(statement);
        }
    }

    /** Starts the slot, so that the rows written next are streamed rather than read by the first snapshot. */
    private void awaitStreaming() throws Exception {
        OutboxRelay starter = fixture.start(fixture.config().set(RelayConfig.INSTANCE_ID, "starter").build());
        await().atMost(Duration.ofSeconds(60)).until(() -> starter.status().streaming());
        List<UUID> first = copy(1, "first");
        await().atMost(Duration.ofSeconds(30)).until(() -> fixture.readAll(received).size() >= first.size());
        starter.close();
        await().atMost(Duration.ofSeconds(30)).until(() -> starter.status().role() == RelayStatus.Role.STOPPED);
        fixture.abortOpenTransaction();
        copiedBefore.addAll(first);
    }

    private final List<UUID> copiedBefore = new ArrayList<>();
    /** Everything read from the topic, across the whole test (the fixture's reader hands each record out once). */
    private final List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();

    /** One transaction, one {@code COPY} of {@code rows} rows over three keys; returns their ids in order. */
    private List<UUID> copy(int rows, String keyPrefix) throws Exception {
        List<UUID> ids = new ArrayList<>(rows);
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < rows; i++) {
            UUID id = UUID.randomUUID();
            ids.add(id);
            csv.append(id).append(',').append(fixture.aggregateType).append(',').append(keyPrefix).append(i % 3)
                    .append(",Placed,\"{\"\"seq\"\": ").append(i).append("}\"\n");
        }
        try (Connection connection = fixture.db.dataSource().getConnection()) {
            connection.setAutoCommit(false);
            long copied = connection.unwrap(PGConnection.class).getCopyAPI().copyIn(
                    "COPY outbox_event (id, aggregatetype, aggregateid, type, payload) FROM STDIN WITH (FORMAT csv)",
                    new StringReader(csv.toString()));
            connection.commit();
            assertThat(copied).isEqualTo(rows);
        }
        return ids;
    }

    /** Reads until every expected row is there and the stream is quiet, then checks once-each and per-key order. */
    private void assertExactlyOnceInOrder(List<UUID> copied) {
        List<UUID> expected = new ArrayList<>(copiedBefore);
        expected.addAll(copied);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .alias("all " + expected.size() + " rows in Kafka")
                .until(() -> fixture.readAll(received).size(), count -> count >= expected.size());
        // Drain: a duplicate would arrive after the expected count was reached.
        fixture.drain(received);

        List<UUID> ids = received.stream().map(RelayFixture::id).toList();
        Set<UUID> distinct = new LinkedHashSet<>(ids);
        assertThat(ids.size() - distinct.size()).as("rows published more than once").isZero();
        assertThat(distinct).as("rows published").containsExactlyInAnyOrderElementsOf(expected);

        Map<String, List<Integer>> sequenceByKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : received) {
            String key = new String(record.key(), StandardCharsets.UTF_8);
            String payload = new String(record.value(), StandardCharsets.UTF_8);
            int seq = Integer.parseInt(payload.replaceAll("\\D*(\\d+).*", "$1"));
            sequenceByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(seq);
        }
        sequenceByKey.forEach((key, sequence) -> assertThat(sequence).as("order of key %s", key).isSorted());
    }
}
