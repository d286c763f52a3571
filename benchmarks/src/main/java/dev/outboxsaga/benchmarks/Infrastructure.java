package dev.outboxsaga.benchmarks;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.EmbeddedPostgresOptions;
import dev.outboxsaga.testkit.KafkaServer;
import dev.outboxsaga.testkit.PostgresServer;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/** The servers of one benchmark run (fsync on: figures with fsync off mean nothing), and shared steps. */
final class Infrastructure implements AutoCloseable {

    final PostgresServer postgres;
    final KafkaServer kafkaServer;
    final TestKafka kafka;
    final Outbox outbox = Outbox.builder().build();

    Infrastructure() {
        postgres = PostgresServer.embedded(EmbeddedPostgresOptions.builder().fsync(true).build());
        kafkaServer = KafkaServer.embedded();
        kafka = TestKafka.create(kafkaServer);
    }

    /** A fresh, migrated database. */
    TestDatabase database() {
        TestDatabase db = TestDatabase.create(postgres);
        OutboxSchema.migrate(db.dataSource());
        return db;
    }

    /** A topic for {@code aggregateType}, created ahead so that auto-creation does not enter the figures. */
    String topicFor(String aggregateType) throws Exception {
        String topic = "outbox.event." + aggregateType;
        kafka.admin().createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
        return topic;
    }

    static String aggregateType() {
        return "bench_" + UUID.randomUUID().toString().substring(0, 8);
    }

    List<OutboxMessage> messages(String aggregateType, int count, int offset) {
        List<OutboxMessage> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int n = offset + i;
            messages.add(outbox.message().aggregate(aggregateType, "acc-" + (n % 1000)).type("AccountDebited")
                    .payload("{\"transfer\": \"t-" + n + "\", \"amount\": " + (n % 997) + ", \"currency\": \"EUR\"}")
                    .correlationId("t-" + n).build());
        }
        return messages;
    }

    /** Inserts {@code messages} in transactions of {@code batch} rows; returns the wall time taken in nanoseconds. */
    long insert(TestDatabase db, List<OutboxMessage> messages, int batch) {
        long start = System.nanoTime();
        for (int i = 0; i < messages.size(); i += batch) {
            List<OutboxMessage> slice = messages.subList(i, Math.min(messages.size(), i + batch));
            outbox.inTransaction(db.dataSource(), tx -> {
                tx.appendAll(slice);
                return null;
            });
        }
        return System.nanoTime() - start;
    }

    KafkaConsumer<byte[], byte[]> reader(String topic) {
        return reader(topic, Map.of());
    }

    /** A read_committed reader of {@code topic} from its start, with {@code settings} on top. */
    KafkaConsumer<byte[], byte[]> reader(String topic, Map<String, String> settings) {
        Map<String, Object> config = new HashMap<>(kafka.consumerConfig("bench-" + UUID.randomUUID()));
        config.put("max.poll.records", "5000");
        config.putAll(settings);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config);
        consumer.subscribe(List.of(topic));
        return consumer;
    }

    /**
     * A reader that has joined its group and holds its partitions, so that a drain measurement does not
     * count the group join; the topic must be empty.
     */
    KafkaConsumer<byte[], byte[]> joinedReader(String topic) {
        KafkaConsumer<byte[], byte[]> consumer = reader(topic);
        long end = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (consumer.assignment().isEmpty()) {
            if (!consumer.poll(Duration.ofMillis(50)).isEmpty()) {
                throw new IllegalStateException("topic " + topic + " is not empty");
            }
            if (System.nanoTime() > end) {
                throw new IllegalStateException("reader of " + topic + " got no partition within a minute");
            }
        }
        return consumer;
    }

    /**
     * Waits until the first of {@code slots} is active (a WAL sender streams from it), watching every
     * 2 ms; returns the nanoTime it was seen active: where a drain measurement starts its clock.
     */
    static long awaitSlotActive(TestDatabase db, List<String> slots, Duration deadline) {
        long end = System.nanoTime() + deadline.toNanos();
        try (java.sql.Connection connection = db.openConnection();
             java.sql.PreparedStatement query = connection.prepareStatement(
                     "SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = ANY (?)")) {
            query.setArray(1, connection.createArrayOf("text", slots.toArray()));
            while (true) {
                try (java.sql.ResultSet row = query.executeQuery()) {
                    row.next();
                    if (row.getLong(1) > 0) {
                        return System.nanoTime();
                    }
                }
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("no slot of " + slots + " became active within " + deadline);
                }
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads until {@code count} records arrived (or the deadline passes); returns the nanoTime of the last one. */
    static long readUntil(KafkaConsumer<byte[], byte[]> consumer, long count, Duration deadline) {
        long seen = 0;
        long last = System.nanoTime();
        long end = System.nanoTime() + deadline.toNanos();
        while (seen < count) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("only " + seen + " of " + count + " records arrived within " + deadline);
            }
            for (ConsumerRecord<byte[], byte[]> ignored : consumer.poll(Duration.ofMillis(50))) {
                seen++;
                last = System.nanoTime();
            }
        }
        return last;
    }

    /**
     * Engine properties for a Debezium PostgreSQL connector on {@code db}, reading the outbox through a slot
     * and a publication the caller created, offsets in a temporary file: what both baselines share.
     */
    static java.util.Properties engineProperties(TestDatabase db, String name, String slot, String publication)
            throws java.io.IOException {
        var url = org.postgresql.Driver.parseURL(db.jdbcUrl(), null);
        java.util.Properties properties = new java.util.Properties();
        properties.setProperty("name", name);
        properties.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        properties.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        properties.setProperty("offset.storage.file.filename",
                java.nio.file.Files.createTempFile(name + "-offsets", ".dat").toString());
        properties.setProperty("database.hostname", url.getProperty("PGHOST"));
        properties.setProperty("database.port", url.getProperty("PGPORT"));
        properties.setProperty("database.dbname", url.getProperty("PGDBNAME"));
        properties.setProperty("database.user", db.username());
        properties.setProperty("database.password", db.password());
        properties.setProperty("topic.prefix", name);
        properties.setProperty("plugin.name", "pgoutput");
        properties.setProperty("slot.name", slot);
        properties.setProperty("publication.name", publication);
        properties.setProperty("publication.autocreate.mode", "disabled");
        properties.setProperty("snapshot.mode", "no_data");
        properties.setProperty("table.include.list", "public\\.outbox_event");
        return properties;
    }

    /**
     * The tail of an at-least-once sink, as Debezium Server's Kafka sink does it: wait for every
     * acknowledgement of the batch, then mark its records processed.
     */
    static <R> void acknowledgeThenMark(java.util.List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent,
            java.util.List<R> records, io.debezium.engine.DebeziumEngine.RecordCommitter<R> committer)
            throws InterruptedException {
        for (var future : sent) {
            try {
                future.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }
        for (R record : records) {
            committer.markProcessed(record);
        }
        committer.markBatchFinished();
    }

    @Override
    public void close() {
        kafka.close();
        kafkaServer.close();
        postgres.close();
    }
}
