package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.InboxConsumer;
import dev.outboxsaga.core.MessageHandler;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 * One Kafka consumer of an inbox consumer: a polling thread that owns the Kafka consumer, and handler
 * threads that apply what it polls. Records of one key (or one partition, by {@link InboxConsumer.Ordering})
 * are applied in order; records of different keys at once. A handler thread takes the queued records
 * of keys no other thread holds, up to the batch size, and applies them in one database transaction:
 * for each, a savepoint, the inbox claim of its message id, the handler. A record whose handler fails
 * is rolled back to its savepoint alone and retried later (holding only its key) or parked; the rest
 * commit. Only after the commit do the records' offsets count as finished; the polling thread commits,
 * per partition, up to the lowest unfinished record. A crash in between replays records, and the
 * inbox claims turn the replays into no-ops.
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
            InboxConsumer.Ordering ordering,
            int parallelism,
            int maxBatchSize,
            InboxHooks hooks,
            InboxMetrics metrics,
            FailureListener onFailure,
            InboxMicrometer meters,
            InboxTracing tracing) {
    }

    /** Told when a worker ends on a failure rather than a stop: the consumer can no longer work as built. */
    @FunctionalInterface
    public interface FailureListener {
        void workerFailed(String clientId, Throwable failure);
    }

    /** The longest wait between polls that keep failing with transient errors. */
    static final Duration MAX_POLL_BACKOFF = Duration.ofSeconds(30);

    /** Write conflicts (deadlock, serialization failure) retried before they count as an attempt. */
    static final int FREE_CONFLICT_RETRIES = 10;

    /** Offsets are committed this often while records flow: a crash replays at most that much, as no-ops. */
    private static final long COMMIT_INTERVAL_NANOS = 100_000_000;

    /** How often the lag gauges are brought up to date while records flow. */
    private static final long LAG_INTERVAL_NANOS = 1_000_000_000L;

    /** How long a revoked partition's records in handlers' hands are waited for before its offsets are committed. */
    private static final long REVOKE_PATIENCE_MILLIS = 60_000;

    private enum Result { PROCESSED, DUPLICATE, PARKED, PARKED_ELSEWHERE, RETRY, DEFERRED, NOT_RUN }

    /**
     * How long a record after the first of a transaction may wait for a row lock before it is deferred
     * to a transaction of its own: while it waits, the transaction holds the locks of the records before
     * it, and two such transactions waiting on each other would stand still until PostgreSQL's deadlock
     * detection (a second, by default) breaks the cycle.
     */
    static final long BATCHED_LOCK_WAIT_MILLIS = 50;

    /** A test hook "killed" the worker. */
    private static final class Crash extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Crash(Throwable cause) {
            super("simulated crash", cause);
        }
    }

    private final Settings settings;
    private final String clientId;
    private final Dispatch dispatch;
    private final int maxBuffered;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final Map<TopicPartition, Long> committed = new HashMap<>();
    private final List<Thread> handlerThreads = new ArrayList<>();
    private ScheduledExecutorService retries;
    private int pollFailuresInARow;
    private boolean paused;
    private long lastCommitNanos;
    private long nextLagNanos = System.nanoTime();
    private volatile boolean crashed;
    private volatile Throwable failure;
    /** A handler thread ended the worker: a crash hook or an error that leaves the JVM unfit. */
    private volatile Throwable handlerFailure;
    private KafkaConsumer<byte[], byte[]> kafka;

    public InboxWorker(Settings settings, String clientId) {
        this.settings = settings;
        this.clientId = clientId;
        this.dispatch = new Dispatch(settings.ordering(), settings.maxBatchSize());
        this.maxBuffered = Math.max(500, settings.parallelism() * settings.maxBatchSize() * 4);
    }

    /** Asks the worker to stop after the batches in hand; offsets of finished records are committed. */
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
        retries = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "inbox-" + clientId + "-retries");
            thread.setDaemon(true);
            return thread;
        });
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            kafka = consumer;
            consumer.subscribe(settings.topics(), new CommitOnRevoke());
            startHandlers();
            try {
                while (!stopping() && handlerFailure == null) {
                    ConsumerRecords<byte[], byte[]> records = poll(consumer);
                    if (stopping()) {
                        break; // what this poll brought is read again by whoever has the partitions next
                    }
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        dispatch.add(record);
                    }
                    holdBackWhenFull(consumer);
                    commitFinished(false);
                    measureLag(consumer);
                }
            } finally {
                stopHandlers();
                if (!crashed) {
                    commitFinished(true);
                }
            }
            if (handlerFailure instanceof Crash crash) {
                throw crash;
            }
            if (handlerFailure != null) {
                ended(handlerFailure);
                return;
            }
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
            retries.shutdownNow();
        }
    }

    private void ended(Throwable cause) {
        failure = cause;
        settings.metrics().workerFailures.incrementAndGet();
        settings.metrics().failed(cause);
        LOG.error("inbox consumer {} stopped on a failure; its records are not being processed", clientId, cause);
        settings.onFailure().workerFailed(clientId, cause);
    }

    private void startHandlers() {
        for (int i = 0; i < settings.parallelism(); i++) {
            Thread thread = new Thread(this::handleBatches, "inbox-" + clientId + "-h" + i);
            thread.setDaemon(true);
            handlerThreads.add(thread);
            thread.start();
        }
    }

    /** Lets every handler thread finish its batch in hand, then waits for them. */
    private void stopHandlers() {
        dispatch.close();
        for (Thread thread : handlerThreads) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Keeps polling (the consumer stays in its group) but fetches nothing more while the handlers
     * hold many records unfinished, so that one slow key cannot make the worker buffer without bound.
     */
    private void holdBackWhenFull(KafkaConsumer<byte[], byte[]> consumer) {
        int buffered = dispatch.size();
        if (!paused && buffered >= maxBuffered) {
            consumer.pause(consumer.assignment());
            paused = true;
        } else if (paused && buffered <= maxBuffered / 2) {
            consumer.resume(consumer.assignment());
            paused = false;
        }
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
            awaitStop(backoff);
            return ConsumerRecords.empty();
        }
    }

    /**
     * Sets the lag gauges, at most every {@link #LAG_INTERVAL_NANOS}: per assigned partition, the records
     * after the fetch position up to the last stable offset (Kafka's own figure, kept by the consumer without
     * a request) and those polled but not finished.
     */
    private void measureLag(KafkaConsumer<byte[], byte[]> consumer) {
        InboxMicrometer meters = settings.meters();
        if (meters == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - nextLagNanos < 0) {
            return;
        }
        nextLagNanos = now + LAG_INTERVAL_NANOS;
        for (TopicPartition partition : consumer.assignment()) {
            OptionalLong notFetched = consumer.currentLag(partition);
            if (notFetched.isPresent()) {
                meters.lag(partition, notFetched.getAsLong() + dispatch.unfinished(partition));
            }
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

    /**
     * Commits, per partition, up to the lowest unfinished record, where that moved since the last
     * commit; without {@code wait}, at most every {@link #COMMIT_INTERVAL_NANOS} and asynchronously.
     */
    private void commitFinished(boolean wait) {
        if (!wait && System.nanoTime() - lastCommitNanos < COMMIT_INTERVAL_NANOS) {
            return;
        }
        lastCommitNanos = System.nanoTime();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        dispatch.committable().forEach((partition, offset) -> {
            // A waiting commit sends everything: it also completes the asynchronous commits still pending.
            if (wait || !offset.equals(committed.get(partition))) {
                offsets.put(partition, new OffsetAndMetadata(offset));
            }
        });
        if (offsets.isEmpty()) {
            return;
        }
        try {
            if (wait) {
                kafka.commitSync(offsets);
            } else {
                kafka.commitAsync(offsets, (done, failed) -> {
                    if (failed != null) {
                        offsets.keySet().forEach(committed::remove);
                        LOG.debug("inbox consumer {}: could not commit offsets {}; retried with the next: {}",
                                clientId, done, failed.toString());
                    }
                });
            }
            offsets.forEach((partition, offset) -> committed.put(partition, offset.offset()));
        } catch (org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException stop) {
            throw stop;
        } catch (org.apache.kafka.common.KafkaException notCommitted) {
            // A rebalance or a broker hiccup: the records come again, and the inbox turns them into no-ops.
            LOG.warn("inbox consumer {}: could not commit offsets {}; they will be redelivered: {}", clientId, offsets,
                    notCommitted.toString());
        }
    }

    /** A handler thread: takes batches until the worker stops. */
    private void handleBatches() {
        try {
            while (!stopping()) {
                List<Dispatch.Item> batch = dispatch.take(settings.pollTimeout().toMillis());
                if (batch.isEmpty()) {
                    if (dispatch.isClosed()) {
                        return;
                    }
                    continue;
                }
                handle(batch);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Crash crash) {
            crashed = true;
            endFromHandler(crash);
        } catch (Throwable unfit) {
            endFromHandler(unfit);
        }
    }

    private void endFromHandler(Throwable cause) {
        if (handlerFailure == null) {
            handlerFailure = cause;
        }
        dispatch.close();
    }

    /**
     * Applies {@code first} (the records of one key, or one record that must run alone) and, while
     * the transaction is open, the records of more free keys as they are queued, up to the batch
     * size: each record after the first inside a savepoint, so that its failure rolls back only its
     * own work. Records not yet taken stay free for idle threads: a slow handler holds up only its
     * key and the records before it in its transaction.
     */
    private void handle(List<Dispatch.Item> first) {
        List<Dispatch.Item> batch = new ArrayList<>(first);
        List<Result> results = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        int[] running = {-1};
        boolean alone = first.get(0).solo;
        try {
            Transactions.inTransaction(settings.dataSource(), connection -> {
                Set<Object> failedKeys = new HashSet<>();
                boolean lockWaitsLimited = false;
                for (int i = 0; ; i++) {
                    if (i == batch.size()) {
                        List<Dispatch.Item> more = alone || stopping() ? List.of()
                                : dispatch.takeMore(settings.maxBatchSize() - batch.size());
                        if (more.isEmpty()) {
                            break;
                        }
                        batch.addAll(more);
                    }
                    Dispatch.Item item = batch.get(i);
                    failures.add(null);
                    if (failedKeys.contains(item.key())) {
                        results.add(Result.NOT_RUN); // an earlier record of its key failed: order by key
                        continue;
                    }
                    running[0] = i;
                    if (i > 0 && !lockWaitsLimited) {
                        limitLockWaits(connection);
                        lockWaitsLimited = true;
                    }
                    Result result = apply(connection, item, i > 0, failures, i);
                    results.add(result);
                    if (result == Result.RETRY || result == Result.DEFERRED) {
                        failedKeys.add(item.key());
                    }
                }
                running[0] = -1;
                return null;
            });
        } catch (Crash crash) {
            throw crash;
        } catch (Throwable batchFailure) {
            if (fatal(batchFailure)) {
                throw (VirtualMachineError) batchFailure;
            }
            batch.forEach(item -> endTrace(item, "rolled_back", batchFailure));
            batchFailed(batch, batchFailure, running[0]);
            return;
        }
        // A failed record and the later records of its key go back together, in their order.
        List<Dispatch.Item> back = new ArrayList<>();
        Map<Object, Duration> retrying = new HashMap<>();
        for (int i = 0; i < batch.size(); i++) {
            Dispatch.Item item = batch.get(i);
            endTrace(item, results.get(i), failures.get(i));
            switch (results.get(i)) {
                case PROCESSED, DUPLICATE, PARKED, PARKED_ELSEWHERE -> {
                    afterCommit(item.record());
                    count(item, results.get(i), failures.get(i));
                    dispatch.done(item);
                }
                case RETRY -> {
                    retrying.put(item.key(), failedAttempt(item, failures.get(i)));
                    back.add(item);
                }
                case DEFERRED -> {
                    item.solo = true;
                    back.add(item);
                }
                case NOT_RUN -> back.add(item);
            }
        }
        if (!back.isEmpty()) {
            dispatch.putBack(back);
        }
        retrying.forEach((key, backoff) -> releaseAfter(List.of(key), backoff));
        batch.stream().map(Dispatch.Item::key).distinct().filter(key -> !retrying.containsKey(key))
                .forEach(dispatch::release);
    }

    /** One record: claims its message id and runs the handler, or parks what cannot be read. */
    private Result apply(Connection connection, Dispatch.Item item, boolean savepoint, List<Throwable> failures,
            int index) throws Exception {
        ConsumerRecord<byte[], byte[]> record = item.record();
        InboxTracing.Handling trace = settings.tracing() == null ? null : settings.tracing().start(record, item.attempt());
        item.trace = trace;
        InboundMessage message;
        try {
            message = RecordReader.read(record);
        } catch (IllegalArgumentException unreadable) {
            failures.set(index, unreadable);
            settings.store().park(connection, null, record, unreadable, 0);
            return Result.PARKED;
        }
        Savepoint before = savepoint ? connection.setSavepoint() : null;
        // What the handler left to count after the commit goes with its savepoint.
        int registered = before == null ? -1 : AfterCommit.mark(connection);
        if (trace != null) {
            trace.enter();
        }
        try {
            if (!settings.store().claim(connection, message.id(), InboxStore.PROCESSED, record)) {
                return Result.DUPLICATE;
            }
            long started = settings.meters() == null ? 0 : System.nanoTime();
            settings.handler().handle(message,
                    new HandlerContext(connection, message, item.attempt(), settings.outbox(), settings.payloadCodec()));
            if (settings.meters() != null) {
                item.handlerNanos = System.nanoTime() - started;
            }
            return Result.PROCESSED;
        } catch (Throwable failed) {
            if (before != null && lockNotAvailable(failed)) {
                connection.rollback(before);
                AfterCommit.rollbackTo(connection, registered);
                return Result.DEFERRED; // runs alone next, where it may wait for its locks as long as it takes
            }
            // First in its transaction, or a failure that concerns the whole transaction: the batch fails.
            if (before == null || fatal(failed) || failed instanceof Crash || databaseUnavailable(failed)
                    || writeConflict(failed)) {
                throw failed;
            }
            connection.rollback(before);
            AfterCommit.rollbackTo(connection, registered);
            failures.set(index, failed);
            RetryPolicy policy = settings.retryPolicy();
            if (item.attempt() >= policy.maxAttempts() || !policy.retryable().test(failed)) {
                Savepoint parking = connection.setSavepoint();
                if (!settings.store().claim(connection, message.id(), InboxStore.PARKED, record)) {
                    connection.rollback(parking);
                    return Result.PARKED_ELSEWHERE;
                }
                settings.store().park(connection, message.id(), record, failed, item.attempt());
                return Result.PARKED;
            }
            return Result.RETRY;
        } finally {
            if (trace != null) {
                trace.exit();
            }
            if (before != null) {
                releaseQuietly(connection, before);
            }
        }
    }

    /** Ends the span of the attempt at {@code item} that came to {@code result}. */
    private static void endTrace(Dispatch.Item item, Result result, Throwable failure) {
        if (item.trace == null) {
            return;
        }
        switch (result) {
            case PROCESSED -> endTrace(item, "processed", null);
            case DUPLICATE, PARKED_ELSEWHERE -> endTrace(item, "duplicate", null);
            case PARKED -> endTrace(item, "parked", failure);
            case RETRY -> endTrace(item, "retry", failure);
            case DEFERRED -> endTrace(item, "deferred", null);
            case NOT_RUN -> endTrace(item, "not_run", null);
        }
    }

    private static void endTrace(Dispatch.Item item, String outcome, Throwable failure) {
        if (item.trace != null) {
            ((InboxTracing.Handling) item.trace).end(outcome, failure);
            item.trace = null;
        }
    }

    private static void limitLockWaits(Connection connection) throws SQLException {
        try (PreparedStatement limit = connection.prepareStatement(Sql.LIMIT_LOCK_WAITS)) {
            limit.setLong(1, BATCHED_LOCK_WAIT_MILLIS);
            limit.setLong(2, BATCHED_LOCK_WAIT_MILLIS);
            limit.executeQuery().close();
        }
    }

    /** Lock wait limit reached (55P03): {@code lock_timeout}, or a {@code NOWAIT} lock. */
    private static boolean lockNotAvailable(Throwable failure) {
        return DatabaseFailures.anySqlState(failure, "55P03"::equals);
    }

    private static void releaseQuietly(Connection connection, Savepoint savepoint) {
        try {
            connection.releaseSavepoint(savepoint);
        } catch (SQLException rolledBackOrAborted) {
            // Released by a rollback to it, or the transaction is failing anyway: its own error says why.
        }
    }

    /**
     * The transaction rolled back, nothing of it took effect. The database being away is waited out
     * (no attempt spent). A handler failing on the first record (which runs without a savepoint) is
     * that record's failed attempt. A write conflict or a failed commit sends every record back to
     * run alone; for a record that ran alone, conflicts are retried (the first few free), other
     * failures retried or parked by the retry policy.
     */
    private void batchFailed(List<Dispatch.Item> batch, Throwable failed, int failedIndex) {
        if (databaseUnavailable(failed)) {
            Duration wait = settings.retryPolicy().maxBackoff();
            LOG.warn("inbox consumer {}: database unavailable while handling {}; waiting {} ({})", clientId, batch, wait,
                    failed.toString());
            dispatch.putBack(batch);
            releaseAfter(batch.stream().map(Dispatch.Item::key).distinct().toList(), wait);
            return;
        }
        boolean conflict = writeConflict(failed);
        if (batch.size() > 1 && (conflict || failedIndex != 0)) {
            LOG.warn("inbox consumer {}: a transaction of {} records failed as a whole, each runs alone next: {}",
                    clientId, batch.size(), failed.toString());
            batch.forEach(item -> item.solo = true);
            dispatch.putBack(batch);
            batch.stream().map(Dispatch.Item::key).distinct().forEach(dispatch::release);
            return;
        }
        // The first record failed; the others in the batch, if any, are the later records of its key.
        Dispatch.Item item = batch.get(0);
        RetryPolicy policy = settings.retryPolicy();
        if (conflict && item.conflicts < FREE_CONFLICT_RETRIES) {
            item.conflicts++;
            item.solo = true;
            dispatch.putBack(batch);
            releaseAfter(List.of(item.key()), policy.backoffAfter(1));
            return;
        }
        if (item.attempt() >= policy.maxAttempts() || !policy.retryable().test(failed)) {
            dispatch.putBack(batch.subList(1, batch.size()));
            park(item, failed);
            return;
        }
        Duration backoff = failedAttempt(item, failed);
        dispatch.putBack(batch);
        releaseAfter(List.of(item.key()), backoff);
    }

    /**
     * Counts a failed attempt of a record that will be retried, alone, after the returned backoff;
     * its key stays held meanwhile, so that the records behind it keep their order.
     */
    private Duration failedAttempt(Dispatch.Item item, Throwable failed) {
        RetryPolicy policy = settings.retryPolicy();
        Duration backoff = policy.backoffAfter(item.attempt());
        LOG.warn("inbox consumer {}: attempt {} of {} at {} failed, retrying in {}: {}", clientId, item.attempt(),
                policy.maxAttempts(), item, backoff, failed.toString());
        settings.metrics().retries.incrementAndGet();
        if (settings.meters() != null) {
            settings.meters().retried(item.record().topic());
        }
        item.attempt++;
        item.solo = true;
        return backoff;
    }

    private void releaseAfter(List<Object> keys, Duration delay) {
        try {
            retries.schedule(() -> keys.forEach(dispatch::release), Math.max(1, delay.toMillis()), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // The worker is stopping: the records are read again after the restart.
        }
    }

    /** Parks a record that ran alone and failed for good, in a transaction of its own. */
    private void park(Dispatch.Item item, Throwable reason) {
        ConsumerRecord<byte[], byte[]> record = item.record();
        UUID messageId = messageIdOrNull(record);
        while (true) {
            try {
                boolean parked = Transactions.inTransaction(settings.dataSource(), connection -> {
                    // A replica of this record handled elsewhere (after a rebalance) must not be parked too.
                    if (messageId != null
                            && !settings.store().claim(connection, messageId, InboxStore.PARKED, record)) {
                        return false;
                    }
                    settings.store().park(connection, messageId, record, reason, item.attempt());
                    return true;
                });
                afterCommit(record);
                count(item, parked ? Result.PARKED : Result.PARKED_ELSEWHERE, reason);
                dispatch.done(item);
                dispatch.release(item.key());
                return;
            } catch (Crash crash) {
                throw crash;
            } catch (RuntimeException databaseFailure) {
                LOG.error("inbox consumer {}: could not park record {}; retrying in {}", clientId, item,
                        settings.retryPolicy().maxBackoff(), databaseFailure);
                if (awaitStop(settings.retryPolicy().maxBackoff())) {
                    dispatch.putBack(List.of(item));
                    dispatch.release(item.key());
                    return;
                }
            }
        }
    }

    private static UUID messageIdOrNull(ConsumerRecord<byte[], byte[]> record) {
        try {
            return RecordReader.read(record).id();
        } catch (IllegalArgumentException unreadable) {
            return null;
        }
    }

    private void count(Dispatch.Item item, Result result, Throwable reason) {
        InboxMetrics metrics = settings.metrics();
        InboxMicrometer meters = settings.meters();
        switch (result) {
            case PROCESSED -> {
                metrics.processed.incrementAndGet();
                if (meters != null) {
                    meters.handled(item.record().topic(), item.handlerNanos);
                }
            }
            case DUPLICATE, PARKED_ELSEWHERE -> {
                metrics.duplicates.incrementAndGet();
                if (meters != null) {
                    meters.duplicate(item.record().topic());
                }
            }
            case PARKED -> {
                metrics.parked.incrementAndGet();
                if (meters != null) {
                    meters.parked(item.record().topic());
                }
                LOG.error("inbox consumer {}: parked record {} at attempt {}: {}", clientId, item, item.attempt(),
                        String.valueOf(reason));
            }
            default -> throw new IllegalStateException("not an outcome: " + result);
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

    /** Waits up to {@code duration}; true when asked to stop meanwhile. */
    private boolean awaitStop(Duration duration) {
        try {
            return stopRequested.await(Math.max(1, duration.toMillis()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    /** Deadlock or serialization failure (SQLState class 40): the same work may well succeed alone. */
    static boolean writeConflict(Throwable failure) {
        return DatabaseFailures.anySqlState(failure, state -> state.startsWith("40"));
    }

    /** Connection failures: waiting helps, and they say nothing about the message. */
    static boolean databaseUnavailable(Throwable failure) {
        // 08: connection exception; 57P01-57P03: server shutting down or starting.
        return DatabaseFailures.anyCause(failure, SQLTransientConnectionException.class::isInstance)
                || DatabaseFailures.anySqlState(failure, state -> state.startsWith("08") || state.startsWith("57P0"));
    }

    private final class CommitOnRevoke implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (crashed || partitions.isEmpty()) {
                return;
            }
            Map<TopicPartition, Long> finished;
            try {
                finished = dispatch.revoke(partitions, REVOKE_PATIENCE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            finished.forEach((partition, offset) -> {
                if (!offset.equals(committed.get(partition))) {
                    offsets.put(partition, new OffsetAndMetadata(offset));
                }
            });
            partitions.forEach(committed::remove);
            if (settings.meters() != null) {
                settings.meters().forget(partitions);
            }
            if (!offsets.isEmpty()) {
                try {
                    kafka.commitSync(offsets);
                } catch (org.apache.kafka.common.KafkaException notCommitted) {
                    LOG.warn("inbox consumer {}: could not commit offsets of revoked partitions {}: {}", clientId,
                            offsets, notCommitted.toString());
                }
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            LOG.debug("inbox consumer {} assigned {}", clientId, partitions);
            if (paused) {
                kafka.pause(partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            dispatch.forget(partitions);
            partitions.forEach(committed::remove);
            if (settings.meters() != null) {
                settings.meters().forget(partitions);
            }
        }
    }
}
