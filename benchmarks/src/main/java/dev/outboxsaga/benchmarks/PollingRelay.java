package dev.outboxsaga.benchmarks;

import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The approach of polling outbox libraries: in one transaction, lock a batch of rows with
 * {@code FOR UPDATE SKIP LOCKED}, publish them with an idempotent producer and wait for the
 * acknowledgements, delete them, commit. At-least-once; no WAL, no slot.
 */
final class PollingRelay implements AutoCloseable {

    private static final String SELECT = "SELECT id, aggregatetype, aggregateid, type, payload::text, correlationid "
            + "FROM outbox_event ORDER BY created_at, id LIMIT 500 FOR UPDATE SKIP LOCKED";
    private static final String DELETE = "DELETE FROM outbox_event WHERE id = ANY (?)";

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private final KafkaProducer<byte[], byte[]> producer;

    PollingRelay(DataSource dataSource, String bootstrapServers) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrapServers);
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        config.put("linger.ms", "5");
        config.put("batch.size", "262144");
        config.put("compression.type", "lz4");
        producer = new KafkaProducer<>(config);
        thread = new Thread(() -> {
            while (running.get()) {
                try (Connection connection = dataSource.getConnection()) {
                    connection.setAutoCommit(false);
                    List<UUID> ids = new ArrayList<>();
                    List<Future<RecordMetadata>> sent = new ArrayList<>();
                    try (PreparedStatement select = connection.prepareStatement(SELECT);
                         ResultSet rows = select.executeQuery()) {
                        while (rows.next()) {
                            UUID id = rows.getObject(1, UUID.class);
                            ids.add(id);
                            RecordHeaders headers = new RecordHeaders();
                            headers.add("id", id.toString().getBytes(StandardCharsets.UTF_8));
                            headers.add("eventType", rows.getString(4).getBytes(StandardCharsets.UTF_8));
                            sent.add(producer.send(new ProducerRecord<>("outbox.event." + rows.getString(2), null,
                                    rows.getString(3).getBytes(StandardCharsets.UTF_8),
                                    rows.getString(5).getBytes(StandardCharsets.UTF_8), headers)));
                        }
                    }
                    for (Future<RecordMetadata> future : sent) {
                        future.get();
                    }
                    if (!ids.isEmpty()) {
                        Array array = connection.createArrayOf("uuid", ids.toArray());
                        try (PreparedStatement delete = connection.prepareStatement(DELETE)) {
                            delete.setArray(1, array);
                            delete.executeUpdate();
                        }
                    }
                    connection.commit();
                    if (ids.isEmpty()) {
                        Thread.sleep(20);
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    if (running.get()) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }, "polling-relay");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(10_000);
        producer.close();
    }
}
