package dev.outboxsaga.benchmarks;

import dev.outboxsaga.relay.RelayConfig;

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
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;
import org.apache.kafka.connect.storage.StringConverter;

/**
 * The baseline users would assemble themselves: Debezium's embedded engine with its outbox event
 * router SMT and a plain (idempotent, not transactional) producer; each batch is sent, every future
 * awaited, then marked processed, as Debezium Server's Kafka sink does. Offsets in a file. The
 * constructor creates the slot and the publication; {@link #start()} starts the engine.
 */
final class StockDebezium implements AutoCloseable {

    static final String SLOT = "stock_slot";

    private final DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();
    private final KafkaProducer<byte[], byte[]> producer;

    StockDebezium(TestDatabase db, String bootstrapServers, boolean tuned) throws Exception {
        db.execute("CREATE PUBLICATION stock_pub FOR TABLE public.outbox_event WITH (publish = 'insert')");
        db.execute("SELECT pg_create_logical_replication_slot('stock_slot', 'pgoutput')");
        Map<String, Object> producerConfig = new HashMap<>();
        producerConfig.put("bootstrap.servers", bootstrapServers);
        producerConfig.put("key.serializer", ByteArraySerializer.class.getName());
        producerConfig.put("value.serializer", ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(producerConfig);
        StringConverter strings = new StringConverter();
        strings.configure(Map.of(), false);
        SimpleHeaderConverter headerConverter = new SimpleHeaderConverter();

        Properties properties = Infrastructure.engineProperties(db, "stock", "stock_slot", "stock_pub");
        properties.setProperty("transforms", "outbox");
        properties.setProperty("transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
        properties.setProperty("transforms.outbox.table.fields.additional.placement",
                "type:header:eventType,correlationid:header:correlationId");
        if (tuned) {
            // The same batching the relay uses by default, to separate its design from its settings.
            RelayConfig defaults = RelayConfig.builder().set(RelayConfig.NAME, "defaults")
                    .set(RelayConfig.DATABASE_URL, db.jdbcUrl()).set(RelayConfig.DATABASE_USER, db.username())
                    .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, bootstrapServers).build();
            properties.setProperty("max.batch.size", Integer.toString(defaults.maxBatchSize()));
            properties.setProperty("max.queue.size", Integer.toString(defaults.maxBatchSize() * 4));
            properties.setProperty("poll.interval.ms", Long.toString(defaults.pollInterval().toMillis()));
        }
        engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(properties)
                .notifying((records, committer) -> {
                    List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
                    for (RecordChangeEvent<SourceRecord> event : records) {
                        SourceRecord record = event.record();
                        if (record.topic() == null || !record.topic().startsWith("outbox.event.")) {
                            continue;
                        }
                        RecordHeaders headers = new RecordHeaders();
                        for (Header header : record.headers()) {
                            headers.add(header.key(), headerConverter.fromConnectHeader(record.topic(), header.key(),
                                    header.schema(), header.value()));
                        }
                        sent.add(producer.send(new ProducerRecord<>(record.topic(), null,
                                strings.fromConnectData(record.topic(), record.keySchema(), record.key()),
                                strings.fromConnectData(record.topic(), record.valueSchema(), record.value()), headers)));
                    }
                    Infrastructure.acknowledgeThenMark(sent, records, committer);
                })
                .build();
    }

    /** Starts the engine; the slot and the publication exist since the constructor, so a backlog is streamed too. */
    void start() {
        executor.execute(engine);
    }

    @Override
    public void close() throws Exception {
        engine.close();
        executor.shutdown();
        producer.close();
    }
}
