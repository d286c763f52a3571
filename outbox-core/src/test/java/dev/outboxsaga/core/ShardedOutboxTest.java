package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(OutboxSagaExtension.class)
class ShardedOutboxTest {

    @Test
    void shardIsKafkasDefaultPartitionerHashOfTheAggregateId() {
        Outbox outbox = Outbox.builder().shards(4).build();
        for (String id : List.of("", "a", "ab", "abc", "abcd", "acc-17", "ünïcödé-€", "9f1c1e2a-0d3b-4f7e-8a55-6c2f0e1b9d44")) {
            int expected = Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % 4;
            assertThat(outbox.shardOf(id)).as(id).isEqualTo(expected);
        }
        assertThat(Outbox.builder().build().shardOf("anything")).isZero();
    }

    @Test
    void shardTablesAreTheTableThenNumberedCopies() {
        Outbox outbox = Outbox.builder().schema("app").table("orders_outbox").shards(3).build();
        assertThat(outbox.tables()).containsExactly("orders_outbox", "orders_outbox_1", "orders_outbox_2");
        assertThat(outbox.qualifiedTables()).containsExactly("app.orders_outbox", "app.orders_outbox_1",
                "app.orders_outbox_2");
        assertThat(outbox.qualifiedTable()).isEqualTo("app.orders_outbox");
        assertThatThrownBy(() -> Outbox.builder().shards(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shards");
    }

    @Test
    void everyMessageOfAnAggregateLandsInItsShardTableInOrder(TestDatabase db) throws Exception {
        OutboxSchema.migrate(db.dataSource());
        Outbox outbox = Outbox.builder().shards(3).build();
        OutboxSchema.migrateShards(db.dataSource(), outbox);
        OutboxSchema.migrateShards(db.dataSource(), outbox); // idempotent

        Map<String, List<Integer>> writtenByKey = new HashMap<>();
        for (int tx = 0; tx < 10; tx++) {
            List<OutboxMessage> batch = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                String key = "acc-" + (i % 12);
                int seq = tx * 30 + i;
                batch.add(outbox.message().aggregate("account", key).type("Debited")
                        .payload("{\"seq\": " + seq + "}").build());
                writtenByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(seq);
            }
            outbox.inTransaction(db.dataSource(), t -> {
                t.appendAll(batch);
                return null;
            });
        }
        outbox.inTransaction(db.dataSource(), t -> {
            t.append(outbox.message().aggregate("account", "acc-0").type("Debited").payload("{\"seq\": 300}").build());
            return null;
        });
        writtenByKey.get("acc-0").add(300);

        Map<String, List<Integer>> readByKey = new HashMap<>();
        int[] rowsPerTable = new int[3];
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            for (int shard = 0; shard < 3; shard++) {
                // Insertion order within a table: created_at is the transaction's start, so sort by it and then
                // by the physical order of the one multi-row insert (ctid), which is array order.
                try (ResultSet rows = statement.executeQuery("SELECT aggregateid, (payload->>'seq')::int FROM "
                        + outbox.tables().get(shard) + " ORDER BY created_at, ctid")) {
                    while (rows.next()) {
                        String key = rows.getString(1);
                        assertThat(outbox.shardOf(key)).as("table of %s", key).isEqualTo(shard);
                        readByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(rows.getInt(2));
                        rowsPerTable[shard]++;
                    }
                }
            }
        }
        assertThat(readByKey).isEqualTo(writtenByKey);
        assertThat(rowsPerTable).doesNotContain(0);
        assertThat(rowsPerTable[0] + rowsPerTable[1] + rowsPerTable[2]).isEqualTo(301);

        assertThat(outbox.purge(db.dataSource(), Duration.ZERO, 50)).isEqualTo(301);
    }
}
