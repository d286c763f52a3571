package dev.outboxsaga.sample.bank;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Fault injection: delivers a share of the saga commands and replies, and of the transfer service's events
 * ({@link TransferEvents}, topics {@code outbox.event.transfers.<run>}), a second time, byte for byte (same message
 * id), as a broker or a producer retry might. The inboxes must absorb every copy.
 */
final class Duplicator implements AutoCloseable {

    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong injected = new AtomicLong();

    Duplicator(String bootstrapServers, int percent, long seed) {
        Map<String, Object> consumerConfig = new HashMap<>();
        consumerConfig.put("bootstrap.servers", bootstrapServers);
        consumerConfig.put("group.id", "duplicator-" + UUID.randomUUID());
        consumerConfig.put("key.deserializer", ByteArrayDeserializer.class.getName());
        consumerConfig.put("value.deserializer", ByteArrayDeserializer.class.getName());
        consumerConfig.put("isolation.level", "read_committed");
        consumerConfig.put("auto.offset.reset", "earliest");
        consumerConfig.put("metadata.max.age.ms", "1000");
        Map<String, Object> producerConfig = new HashMap<>();
        producerConfig.put("bootstrap.servers", bootstrapServers);
        producerConfig.put("key.serializer", ByteArraySerializer.class.getName());
        producerConfig.put("value.serializer", ByteArraySerializer.class.getName());
        Random random = new Random(seed);
        thread = new Thread(() -> {
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig);
                 KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig)) {
                consumer.subscribe(Pattern.compile("outbox\\.event\\.(saga-(command|reply)|transfers)\\..*"));
                while (running.get()) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                        if (random.nextInt(100) < percent) {
                            producer.send(new ProducerRecord<>(record.topic(), null, record.key(), record.value(),
                                    record.headers()));
                            injected.incrementAndGet();
                        }
                    }
                }
            }
        }, "duplicator");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Copies delivered so far. */
    long injected() {
        return injected.get();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(10_000);
    }
}
