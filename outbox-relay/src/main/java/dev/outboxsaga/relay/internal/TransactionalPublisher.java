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
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
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

    /**
     * Why Kafka refused one record: the broker's answer about that record or its topic, which no retry
     * over the same connection changes by itself (unlike a broker that cannot be reached).
     *
     * @param reason    the exception's class and message, with the metadata error behind a timeout
     * @param topicWide whether every record for {@link #topic()} meets the same refusal (topic missing,
     *                  not writable, invalid), rather than this record alone (too large, invalid record)
     * @param topic     the record's topic
     * @param kind      a short, fixed name for metrics: {@code unknown_topic}, {@code not_authorized},
     *                  {@code invalid_topic}, {@code too_large}, {@code invalid_record}
     */
    public record Refusal(String reason, boolean topicWide, String topic, String kind) {
    }

    /** Kafka refused these records (by index in the batch); nothing of the batch was committed. */
    public static final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient Map<Integer, Refusal> refusals;

        Rejected(Map<Integer, Refusal> refusals) {
            super("Kafka refused " + refusals.size() + " record(s): "
                    + refusals.values().stream().map(Refusal::reason).toList());
            this.refusals = refusals;
        }

        public Map<Integer, Refusal> refusals() {
            return refusals;
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
     * @throws Rejected     when Kafka refused particular records (see {@link Refusal}); nothing was committed
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
                // A send that fails (a missing topic: after max.block.ms) puts the transaction in an
                // error state; the next send or the commit then throws, and nothing is committed.
                sent.add(producer.send(record));
            }
            producer.send(position);
            producer.commitTransaction();
        } catch (ProducerFencedException | InvalidProducerEpochException fenced) {
            closeQuietly();
            throw new Fenced(fenced);
        } catch (KafkaException failure) {
            Map<Integer, Refusal> refused = refused(records, sent);
            closeQuietly();
            if (!refused.isEmpty()) {
                throw new Rejected(refused);
            }
            throw failure;
        }
    }

    /** The records whose sends failed with a refusal, by index; those not yet failed or failed otherwise are not. */
    private static Map<Integer, Refusal> refused(List<ProducerRecord<byte[], byte[]>> records,
            List<Future<RecordMetadata>> sent) {
        Map<Integer, Refusal> refusals = new HashMap<>();
        for (int i = 0; i < sent.size(); i++) {
            Future<RecordMetadata> future = sent.get(i);
            if (!future.isDone()) {
                continue;
            }
            try {
                future.get();
            } catch (ExecutionException e) {
                Refusal refusal = refusal(records.get(i).topic(), e.getCause());
                if (refusal != null) {
                    refusals.put(i, refusal);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return refusals;
    }

    /**
     * The refusal that {@code error} (a failed send of a record to {@code topic}) means, or null when it
     * says nothing against the record: timeouts and network errors of a broker that is down or busy,
     * leader elections, aborted transactions. A metadata wait that timed out counts only when the broker
     * answered it with an error for the topic, which an unreachable broker cannot do.
     */
    static Refusal refusal(String topic, Throwable error) {
        if (error instanceof TimeoutException timeout && timeout.getCause() instanceof ApiException answer) {
            Refusal behind = refusal(topic, answer);
            return behind == null ? null : new Refusal(behind.reason() + "; " + describe(timeout), behind.topicWide(),
                    topic, behind.kind());
        }
        if (error instanceof UnknownTopicOrPartitionException) {
            return new Refusal(describe(error) + " (topic " + topic + ")", true, topic, "unknown_topic");
        }
        if (error instanceof TopicAuthorizationException) {
            return new Refusal(describe(error), true, topic, "not_authorized");
        }
        if (error instanceof InvalidTopicException) {
            return new Refusal(describe(error) + " (topic " + topic + ")", true, topic, "invalid_topic");
        }
        if (error instanceof RecordTooLargeException || error instanceof RecordBatchTooLargeException) {
            return new Refusal(describe(error), false, topic, "too_large");
        }
        if (error instanceof InvalidRecordException || error instanceof InvalidTimestampException) {
            return new Refusal(describe(error), false, topic, "invalid_record");
        }
        return null;
    }

    private static String describe(Throwable error) {
        return error.getClass().getSimpleName() + ": " + error.getMessage();
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
