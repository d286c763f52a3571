package dev.outboxsaga.benchmarks;

import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.relay.internal.OutboxRow;
import dev.outboxsaga.relay.internal.RecordMapper;
import dev.outboxsaga.testkit.TestDatabase;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * The relay's pipeline without Kafka transactions: the same engine settings and the same record
 * mapping, but an idempotent producer whose acknowledgements are awaited per batch (at-least-once).
 * The ratio of the relay to this is the cost of exactly-once.
 */
final class IdempotentVariant implements AutoCloseable {

    private final DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();
    private final KafkaProducer<byte[], byte[]> producer;

    IdempotentVariant(TestDatabase db, String bootstrapServers) throws Exception {
        db.execute("CREATE PUBLICATION variant_pub FOR TABLE public.outbox_event WITH (publish = 'insert')");
        db.execute("SELECT pg_create_logical_replication_slot('variant_slot', 'pgoutput')");
        Map<String, Object> producerConfig = new HashMap<>();
        producerConfig.put("bootstrap.servers", bootstrapServers);
        producerConfig.put("key.serializer", ByteArraySerializer.class.getName());
        producerConfig.put("value.serializer", ByteArraySerializer.class.getName());
        producerConfig.put("linger.ms", "5");
        producerConfig.put("batch.size", "262144");
        producerConfig.put("compression.type", "lz4");
        producer = new KafkaProducer<>(producerConfig);
        RelayConfig relayDefaults = RelayConfig.builder()
                .set(RelayConfig.NAME, "variant")
                .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, db.username())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, bootstrapServers)
                .build();
        RecordMapper mapper = new RecordMapper(relayDefaults, 1 << 20);
        Properties properties = Infrastructure.engineProperties(db, "variant", "variant_slot", "variant_pub");
        properties.setProperty("offset.flush.interval.ms", "0");
        properties.setProperty("column.exclude.list", "public\\.outbox_event\\.created_at");
        properties.setProperty("skipped.operations", "u,d,t");
        properties.setProperty("extended.headers.enabled", "false");
        // The relay's engine settings, whatever their defaults: only the producer differs. (No batch.linger.ms:
        // lingering is the relay's answer to the cost of a transaction, which this pipeline does not pay.)
        properties.setProperty("max.batch.size", Integer.toString(relayDefaults.maxBatchSize()));
        properties.setProperty("max.queue.size", Integer.toString(relayDefaults.maxBatchSize() * 4));
        properties.setProperty("poll.interval.ms", Long.toString(relayDefaults.pollInterval().toMillis()));
        engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(properties)
                .notifying((records, committer) -> {
                    List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
                    for (RecordChangeEvent<SourceRecord> event : records) {
                        if (event.record().value() instanceof Struct envelope && envelope.schema().field("op") != null
                                && "c".equals(envelope.getString("op"))) {
                            try {
                                sent.add(producer.send(mapper.toRecord(OutboxRow.of("public.outbox_event",
                                        envelope.getStruct("after"), envelope.getStruct("source")))));
                            } catch (RecordMapper.Unpublishable e) {
                                throw new IllegalStateException(e);
                            }
                        }
                    }
                    Infrastructure.acknowledgeThenMark(sent, records, committer);
                })
                .build();
        executor.execute(engine);
    }

    @Override
    public void close() throws Exception {
        engine.close();
        executor.shutdown();
        producer.close();
    }
}
