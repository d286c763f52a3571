package dev.outboxsaga.relay.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A transactional producer that publishes one batch per Kafka transaction. Every instance of a
 * relay uses the same {@code transactional.id}; {@link #open()} (initTransactions) fences whichever
 * instance held it before, whose next send or commit then fails with {@link Fenced}.
 */
public final class TransactionalPublisher implements AutoCloseable {

    /** Another relay instance took over; this one must stop publishing. */
    public static final class Fenced extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Fenced(Throwable cause) {
            super("fenced by a newer relay instance: " + cause.getMessage(), cause);
        }
    }

    /** Kafka refused these records (by index in the batch); the rest of the batch was not committed. */
    public static final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final Map<Integer, String> reasons;

        Rejected(Map<Integer, String> reasons) {
            super("Kafka refused " + reasons.size() + " record(s): " + reasons.values());
            this.reasons = reasons;
        }

        public Map<Integer, String> reasons() {
            return reasons;
        }
    }

    private final Map<String, Object> config;
    private KafkaProducer<byte[], byte[]> producer;

    public TransactionalPublisher(Map<String, Object> baseConfig, String transactionalId) {
        Map<String, Object> config = new HashMap<>();
        // Throughput defaults; the operator's kafka.* settings override them.
        config.put("linger.ms", "5");
        config.put("batch.size", "262144");
        config.put("compression.type", "lz4");
        config.put("transaction.timeout.ms", "300000");
        config.putAll(baseConfig);
        config.put("transactional.id", transactionalId);
        config.put("enable.idempotence", "true");
        config.put("acks", "all");
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        this.config = config;
    }

    /** The producer's {@code max.request.size}, the largest record it will send. */
    public int maxRequestSize() {
        Object value = config.get("max.request.size");
        return value == null ? 1048576 : Integer.parseInt(value.toString());
    }

    /** Creates the producer and claims the transactional id, fencing any older holder. */
    public void open() {
        close();
        KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(config);
        try {
            created.initTransactions();
        } catch (RuntimeException e) {
            created.close(java.time.Duration.ZERO);
            throw e;
        }
        producer = created;
    }

    public boolean isOpen() {
        return producer != null;
    }

    /**
     * Publishes {@code records} and then {@code position} in one transaction.
     *
     * @throws Fenced       when a newer instance holds the transactional id
     * @throws Rejected     when Kafka refused particular records (too large, invalid); nothing was committed
     * @throws KafkaException on anything else (broker down, timeouts); call {@link #open()} before retrying,
     *                      since whether the transaction committed is unknown
     */
    public void publish(List<ProducerRecord<byte[], byte[]>> records, ProducerRecord<byte[], byte[]> position) {
        if (producer == null) {
            throw new IllegalStateException("publisher is not open");
        }
        List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
        try {
            producer.beginTransaction();
            for (ProducerRecord<byte[], byte[]> record : records) {
                sent.add(producer.send(record));
            }
            producer.send(position);
            producer.commitTransaction();
        } catch (ProducerFencedException | InvalidProducerEpochException fenced) {
            closeQuietly();
            throw new Fenced(fenced);
        } catch (OutOfOrderSequenceException | AuthorizationException | UnsupportedVersionException fatal) {
            closeQuietly();
            throw fatal;
        } catch (KafkaException failure) {
            Map<Integer, String> rejected = rejected(sent);
            closeQuietly();
            if (!rejected.isEmpty()) {
                throw new Rejected(rejected);
            }
            throw failure;
        }
    }

    private static Map<Integer, String> rejected(List<Future<RecordMetadata>> sent) {
        Map<Integer, String> reasons = new HashMap<>();
        for (int i = 0; i < sent.size(); i++) {
            Future<RecordMetadata> future = sent.get(i);
            if (!future.isDone()) {
                continue;
            }
            try {
                future.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RecordTooLargeException
                        || e.getCause() instanceof org.apache.kafka.common.errors.InvalidTopicException
                        || e.getCause() instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException) {
                    reasons.put(i, e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return reasons;
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException ignored) {
            // The producer is being discarded after a failure.
        }
    }

    @Override
    public void close() {
        if (producer != null) {
            KafkaProducer<byte[], byte[]> closing = producer;
            producer = null;
            closing.close(java.time.Duration.ofSeconds(5));
        }
    }
}
