package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.MessageHandler;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Kafka consumer thread of an inbox consumer. For each record, in partition order: one database
 * transaction claims the message id in the inbox and runs the handler; only after it commits is the
 * record's offset eligible for commit to Kafka. A crash in between replays the record, and the
 * inbox claim turns the replay into a no-op.
 */
public final class InboxWorker implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(InboxWorker.class);

    /** What a worker needs; shared by all workers of one consumer. */
    public record Settings(
            String consumerName,
            DataSource dataSource,
            List<String> topics,
            MessageHandler handler,
            RetryPolicy retryPolicy,
            Outbox outbox,
            PayloadCodec payloadCodec,
            InboxStore store,
            Map<String, Object> kafkaProperties,
            Duration pollTimeout,
            InboxHooks hooks,
            InboxMetrics metrics,
            FailureListener onFailure) {
    }

    /** Told when a worker ends on a failure rather than a stop: the consumer can no longer work as built. */
    @FunctionalInterface
    public interface FailureListener {
        void workerFailed(String clientId, Throwable failure);
    }

    /** The longest wait between polls that keep failing with transient errors. */
    static final Duration MAX_POLL_BACKOFF = Duration.ofSeconds(30);

    private enum Outcome { PROCESSED, DUPLICATE }

    /** Thrown inside the worker when it is asked to stop while waiting to retry. */
    private static final class Stopping extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Stopping() {
            super(null, null, false, false);
        }
    }

    /** A test hook "killed" the worker. */
    private static final class Crash extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Crash(Throwable cause) {
            super("simulated crash", cause);
        }
    }

    private final Settings settings;
    private final String clientId;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
    private int pollFailuresInARow;
    private volatile boolean crashed;
    private volatile Throwable failure;
    private KafkaConsumer<byte[], byte[]> kafka;

    public InboxWorker(Settings settings, String clientId) {
        this.settings = settings;
        this.clientId = clientId;
    }

    /** Asks the worker to stop after the record in hand; offsets of finished records are committed. */
    public void stop() {
        stopRequested.countDown();
    }

    /** Whether a test hook crashed this worker. */
    public boolean crashed() {
        return crashed;
    }

    /** The failure that ended the worker, or null. */
    public Throwable failure() {
        return failure;
    }

    @Override
    public void run() {
        Map<String, Object> properties = new HashMap<>(settings.kafkaProperties());
        properties.put("client.id", clientId);
        // Static membership: each worker's consumer needs an instance id of its own within the group.
        properties.computeIfPresent("group.instance.id", (key, id) -> id + "-" + clientId);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            kafka = consumer;
            consumer.subscribe(settings.topics(), new CommitOnRevoke());
            while (!stopping()) {
                ConsumerRecords<byte[], byte[]> records = poll(consumer);
                try {
                    for (TopicPartition partition : records.partitions()) {
                        for (ConsumerRecord<byte[], byte[]> record : records.records(partition)) {
                            if (stopping()) {
                                throw new Stopping();
                            }
                            handle(record);
                            pending.put(partition, new OffsetAndMetadata(record.offset() + 1));
                        }
                    }
                } finally {
                    if (!crashed) {
                        commitPending();
                    }
                }
            }
        } catch (Stopping stopping) {
            LOG.debug("inbox consumer {} stopped", clientId);
        } catch (Crash crash) {
            LOG.warn("inbox consumer {} crashed by a test hook; offsets left uncommitted", clientId);
            ended(crash);
        } catch (org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException stop) {
            if (!stopping()) {
                ended(stop);
            }
        } catch (Throwable unexpected) {
            ended(unexpected);
        } finally {
            kafka = null;
        }
    }

    private void ended(Throwable cause) {
        failure = cause;
        settings.metrics().workerFailures.incrementAndGet();
        settings.metrics().failed(cause);
        LOG.error("inbox consumer {} stopped on a failure; its records are not being processed", clientId, cause);
        settings.onFailure().workerFailed(clientId, cause);
    }

    /**
     * Polls; a transient failure (Kafka's {@link RetriableException}: a timeout, a coordinator moving)
     * is logged, counted and retried after a backoff growing to {@link #MAX_POLL_BACKOFF}. Any other
     * failure (authorization, no offset with {@code auto.offset.reset=none}, a corrupt record) is
     * thrown: no retry can fix it, and the worker ends loudly.
     */
    private ConsumerRecords<byte[], byte[]> poll(KafkaConsumer<byte[], byte[]> consumer) {
        try {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(settings.pollTimeout());
            pollFailuresInARow = 0;
            return records;
        } catch (RetriableException transientFailure) {
            pollFailuresInARow++;
            settings.metrics().pollRetries.incrementAndGet();
            settings.metrics().failed(transientFailure);
            Duration backoff = pollBackoff(pollFailuresInARow);
            LOG.warn("inbox consumer {}: poll failed {} time(s) in a row, retrying in {}: {}", clientId,
                    pollFailuresInARow, backoff, transientFailure.toString());
            pause(backoff);
            return ConsumerRecords.empty();
        }
    }

    static Duration pollBackoff(int failuresInARow) {
        long millis = 100L << Math.min(failuresInARow - 1, 20);
        return millis >= MAX_POLL_BACKOFF.toMillis() ? MAX_POLL_BACKOFF : Duration.ofMillis(millis);
    }

    /**
     * Errors that leave the JVM unfit to go on: the consumer stops rather than park the record.
     * A {@link StackOverflowError} is a deterministic bug of the handler, so it is handled like any failure.
     */
    static boolean fatal(Throwable failure) {
        return failure instanceof VirtualMachineError && !(failure instanceof StackOverflowError);
    }

    private boolean stopping() {
        return stopRequested.getCount() == 0;
    }

    private void commitPending() {
        if (pending.isEmpty()) {
            return;
        }
        try {
            kafka.commitSync(pending);
        } catch (org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException stop) {
            throw stop;
        } catch (org.apache.kafka.common.KafkaException notCommitted) {
            // A rebalance or a broker hiccup: the records come again, and the inbox turns them into no-ops.
            LOG.warn("inbox consumer {}: could not commit offsets {}; they will be redelivered: {}", clientId, pending,
                    notCommitted.toString());
        }
        pending.clear();
    }

    private void handle(ConsumerRecord<byte[], byte[]> record) {
        InboundMessage message;
        try {
            message = RecordReader.read(record);
        } catch (IllegalArgumentException unreadable) {
            park(null, record, unreadable, 0);
            return;
        }
        RetryPolicy policy = settings.retryPolicy();
        int attempt = 1;
        while (true) {
            int thisAttempt = attempt;
            try {
                Outcome outcome = Transactions.inTransaction(settings.dataSource(), connection -> {
                    if (!settings.store().claim(connection, message.id(), InboxStore.PROCESSED, record)) {
                        return Outcome.DUPLICATE;
                    }
                    settings.handler().handle(message, new HandlerContext(connection, message, thisAttempt, settings.outbox(), settings.payloadCodec()));
                    return Outcome.PROCESSED;
                });
                afterCommit(record);
                (outcome == Outcome.DUPLICATE ? settings.metrics().duplicates : settings.metrics().processed)
                        .incrementAndGet();
                return;
            } catch (Crash | Stopping control) {
                throw control;
            } catch (Throwable failed) {
                // An Error of the handler (an assertion, a missing class) is retried and parked like an
                // exception; only an error that leaves the JVM unfit (out of memory) ends the consumer.
                if (fatal(failed)) {
                    throw (VirtualMachineError) failed;
                }
                if (databaseUnavailable(failed)) {
                    LOG.warn("inbox consumer {}: database unavailable while handling message {}; waiting {} ({})",
                            clientId, message.id(), policy.maxBackoff(), failed.toString());
                    pause(policy.maxBackoff());
                    continue;
                }
                if (attempt >= policy.maxAttempts() || !policy.retryable().test(failed)) {
                    park(message.id(), record, failed, attempt);
                    return;
                }
                Duration backoff = policy.backoffAfter(attempt);
                LOG.warn("inbox consumer {}: attempt {} of {} at message {} ({}) failed, retrying in {}: {}",
                        clientId, attempt, policy.maxAttempts(), message.id(), message.type(), backoff,
                        failed.toString());
                settings.metrics().retries.incrementAndGet();
                pause(backoff);
                attempt++;
            }
        }
    }

    private void park(UUID messageId, ConsumerRecord<byte[], byte[]> record, Throwable reason, int attempts) {
        while (true) {
            try {
                boolean parked = Transactions.inTransaction(settings.dataSource(), connection -> {
                    // A replica of this record handled elsewhere (after a rebalance) must not be parked too.
                    if (messageId != null
                            && !settings.store().claim(connection, messageId, InboxStore.PARKED, record)) {
                        return false;
                    }
                    settings.store().park(connection, messageId, record, reason, attempts);
                    return true;
                });
                afterCommit(record);
                if (parked) {
                    settings.metrics().parked.incrementAndGet();
                    LOG.error("inbox consumer {}: parked record {}-{}@{} (message {}) after {} attempt(s): {}",
                            clientId, record.topic(), record.partition(), record.offset(), messageId, attempts,
                            reason.toString());
                } else {
                    settings.metrics().duplicates.incrementAndGet();
                }
                return;
            } catch (Crash | Stopping control) {
                throw control;
            } catch (RuntimeException databaseFailure) {
                LOG.error("inbox consumer {}: could not park record {}-{}@{}; retrying in {}", clientId,
                        record.topic(), record.partition(), record.offset(), settings.retryPolicy().maxBackoff(),
                        databaseFailure);
                pause(settings.retryPolicy().maxBackoff());
            }
        }
    }

    private void afterCommit(ConsumerRecord<byte[], byte[]> record) {
        try {
            settings.hooks().afterDatabaseCommit(record);
        } catch (Throwable injected) {
            crashed = true;
            throw new Crash(injected);
        }
    }

    private void pause(Duration duration) {
        try {
            if (stopRequested.await(Math.max(1, duration.toMillis()), TimeUnit.MILLISECONDS)) {
                throw new Stopping();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stopping();
        }
    }

    /** Connection failures: waiting helps, and they say nothing about the message. */
    static boolean databaseUnavailable(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLTransientConnectionException) {
                return true;
            }
            if (cause instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                // 08: connection exception; 57P01-57P03: server shutting down or starting.
                if (state.startsWith("08") || state.startsWith("57P0")) {
                    return true;
                }
            }
        }
        return false;
    }

    private final class CommitOnRevoke implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (crashed) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> revoked = new HashMap<>();
            for (TopicPartition partition : partitions) {
                OffsetAndMetadata offset = pending.remove(partition);
                if (offset != null) {
                    revoked.put(partition, offset);
                }
            }
            if (!revoked.isEmpty()) {
                try {
                    kafka.commitSync(revoked);
                } catch (org.apache.kafka.common.KafkaException notCommitted) {
                    LOG.warn("inbox consumer {}: could not commit offsets of revoked partitions {}: {}", clientId,
                            revoked, notCommitted.toString());
                }
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            LOG.debug("inbox consumer {} assigned {}", clientId, partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            partitions.forEach(pending::remove);
        }
    }
}
