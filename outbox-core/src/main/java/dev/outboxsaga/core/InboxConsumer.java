package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.InboxHooks;
import dev.outboxsaga.core.internal.InboxMetrics;
import dev.outboxsaga.core.internal.InboxMicrometer;
import dev.outboxsaga.core.internal.InboxStore;
import dev.outboxsaga.core.internal.InboxTracing;
import dev.outboxsaga.core.internal.InboxWorker;
import dev.outboxsaga.core.internal.OperatorActions;
import dev.outboxsaga.core.internal.OptionalLibraries;
import dev.outboxsaga.core.internal.Purge;
import dev.outboxsaga.core.internal.Sql;
import dev.outboxsaga.core.internal.SqlIdentifiers;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes Kafka topics so that each message takes effect exactly once in the service's database.
 *
 * <p>For every record, inside a database transaction, the consumer inserts
 * {@code (consumer, message id)} into the inbox table and runs the {@link MessageHandler} on the same
 * connection (with an outbox for follow-up messages); only after that transaction commits can the
 * record's offset be committed to Kafka. A redelivered message finds its inbox row and is skipped.
 *
 * <p><b>Order and parallelism.</b> Records with the same Kafka key are handled one after the other,
 * in partition order; records with different keys are handled at once by up to
 * {@link Builder#parallelism(int)} threads per consumer thread, so that a slow or retried message
 * holds up its own key only, not the partition ({@link Ordering#PARTITION} restores one record of a
 * partition at a time; records without a key are handled one after the other within their
 * partition, like the records of one key). Each thread handles the queued records of several keys (up to
 * {@link Builder#maxBatchSize(int)}) in one transaction, with a savepoint around each record: one
 * failing record is rolled back alone, and the others commit. Offsets are committed per partition up
 * to the lowest record not yet finished, about every 100 ms, when partitions are revoked and on
 * {@link #close()}.
 *
 * <p>A failing handler is retried per the {@link RetryPolicy}, alone in its own transaction and
 * holding only its key, then the record is parked in the dead-letter table with its reason and
 * original bytes, and its key moves on. A write conflict (deadlock, serialization failure) rolls the
 * whole batch back and each of its records runs alone; the first {@value
 * dev.outboxsaga.core.internal.InboxWorker#FREE_CONFLICT_RETRIES} conflicts of a record do not count
 * as attempts. The database being unreachable costs no attempt either: the records wait
 * {@link RetryPolicy#maxBackoff()} and come again.
 *
 * <p>A handler's {@code Error} (an assertion, a missing class, a stack overflow) is a failure like
 * any other: retried, then parked. An {@code OutOfMemoryError} or another {@link VirtualMachineError}
 * leaves the JVM unfit to go on: the record is neither committed nor parked, and the consumer stops.
 * A {@code poll()} failing with a transient Kafka error is retried with a backoff up to 30 s; one
 * that no retry can fix (authorization, no committed offset with {@code auto.offset.reset=none})
 * stops the consumer too. A consumer stops as a whole when any of its threads ends on a failure: it
 * logs the failure at ERROR, {@link #isRunning()} turns false and {@link #status()} reports
 * {@link State#FAILED} with the failure, for the process's health check to read.
 *
 * <pre>{@code
 * InboxConsumer consumer = InboxConsumer.builder()
 *         .name("billing")
 *         .dataSource(dataSource)
 *         .bootstrapServers("localhost:9092")
 *         .topics("outbox.event.order")
 *         .handler((message, context) -> charge(context.connection(), message.payload()))
 *         .build();
 * consumer.start();
 * }</pre>
 */
public final class InboxConsumer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(InboxConsumer.class);

    /** Which records are handled one after the other. */
    public enum Ordering {
        /** Records with the same Kafka key, in partition order; different keys at once (the default). */
        KEY,
        /** All records of a partition, one at a time (in batches): a slow record holds its partition up. */
        PARTITION
    }

    /**
     * Counts since start, over all threads.
     *
     * @param processed  messages whose handler committed
     * @param duplicates deliveries skipped because the inbox already held the message
     * @param parked     messages parked as dead letters
     * @param retries    handler attempts that failed and were retried
     */
    public record Stats(long processed, long duplicates, long parked, long retries) {
    }

    /** Where a consumer stands in its life. */
    public enum State {
        /** Built, not started. */
        NEW,
        /** Started, and no thread has ended on a failure. */
        RUNNING,
        /** A thread ended on a failure; the consumer stopped its other threads and processes nothing. */
        FAILED,
        /** Closed. */
        CLOSED
    }

    /**
     * What a health check needs: is the consumer working, and if not, why.
     *
     * @param state          where the consumer stands
     * @param workers        the threads it was built with ({@link Builder#concurrency(int)})
     * @param workersAlive   the threads alive now
     * @param workerFailures threads that ended on a failure since start (0 while healthy)
     * @param pollRetries    polls that failed with a transient Kafka error and were retried since start
     * @param lastFailure    the last failure that ended a thread or failed a poll ({@code Throwable.toString()}),
     *                       or null; handler failures are not here (they are retried and parked)
     * @param lastFailureAt  when it happened, or null
     */
    public record Status(State state, int workers, int workersAlive, long workerFailures, long pollRetries,
            String lastFailure, Instant lastFailureAt) {

        /** {@code RUNNING} with every thread alive: what a readiness or liveness probe should require. */
        public boolean healthy() {
            return state == State.RUNNING && workersAlive == workers;
        }
    }

    private final String name;
    private final int concurrency;
    private final Duration shutdownTimeout;
    private final InboxWorker.Settings settings;
    private final DeadLetterQueue deadLetters;
    private final Sql.Inbox sql;
    private final List<InboxWorker> workers = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final OperatorActions operatorActions;
    private final Duration operatorActionPollInterval;
    private volatile boolean started;
    private volatile boolean closed;
    private volatile boolean failed;

    private InboxConsumer(Builder builder) {
        this.name = builder.name;
        this.concurrency = builder.concurrency;
        this.shutdownTimeout = builder.shutdownTimeout;
        this.sql = Sql.Inbox.forTables(SqlIdentifiers.qualified(builder.schema, builder.inboxTable),
                SqlIdentifiers.qualified(builder.schema, builder.deadLetterTable));
        InboxStore store = new InboxStore(name, sql);
        Map<String, Object> kafkaConfig = Map.copyOf(builder.kafkaConfig());
        // Micrometer's and OpenTelemetry's classes are touched only from these, made only when they are there.
        InboxMicrometer meters = builder.meterRegistry == null ? null
                : InboxMicrometer.create(builder.meterRegistry, name, List.copyOf(builder.topics));
        InboxTracing tracing = OptionalLibraries.OPEN_TELEMETRY
                ? InboxTracing.create(builder.openTelemetry, name, String.valueOf(kafkaConfig.get("group.id"))) : null;
        this.settings = new InboxWorker.Settings(name, builder.dataSource, List.copyOf(builder.topics), builder.handler,
                builder.retryPolicy, builder.outbox, builder.payloadCodec, store, kafkaConfig,
                builder.pollTimeout, builder.ordering, builder.parallelism, builder.maxBatchSize, builder.hooks,
                new InboxMetrics(), this::workerFailed, meters, tracing);
        this.deadLetters = new DeadLetterQueue(builder.dataSource, store, builder.handler, builder.outbox,
                builder.payloadCodec);
        this.operatorActionPollInterval = builder.operatorActionPollInterval;
        this.operatorActions = new OperatorActions(builder.dataSource,
                SqlIdentifiers.qualified(builder.schema, OperatorActions.TABLE), OperatorActions.DEAD_LETTER,
                List.of(name), new DeadLetterActions(deadLetters), "inbox-" + name);
    }

    /** A builder; {@code name}, {@code dataSource}, {@code bootstrapServers}, {@code topics} and {@code handler} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the consumer threads and returns.
     *
     * @throws IllegalStateException when started before, or closed
     */
    public synchronized InboxConsumer start() {
        if (started || closed) {
            throw new IllegalStateException("inbox consumer " + name + " was " + (closed ? "closed" : "started")
                    + " already");
        }
        started = true;
        for (int i = 0; i < concurrency; i++) {
            InboxWorker worker = new InboxWorker(settings, name + "-" + i);
            Thread thread = new Thread(worker, "inbox-" + name + "-" + i);
            workers.add(worker);
            threads.add(thread);
            thread.start();
        }
        if (failed) {
            // A thread failed while later ones were starting: those stop too.
            workers.forEach(InboxWorker::stop);
        }
        operatorActions.start(operatorActionPollInterval, this::isRunning);
        return this;
    }

    /**
     * Stops every thread after the record in hand, commits the offsets of finished records, and
     * waits up to the shutdown timeout for the threads to end. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        workers.forEach(InboxWorker::stop);
        operatorActions.close();
        long deadline = System.nanoTime() + shutdownTimeout.toNanos();
        for (Thread thread : threads) {
            try {
                thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Whether the consumer is working: started, not closed, and no thread has ended on a failure.
     * False from the moment a thread fails, even while the others are still winding down.
     */
    public boolean isRunning() {
        return started && !closed && !failed;
    }

    /**
     * The consumer's state, threads alive and last failure; cheap, for a health check:
     * {@code consumer.status().healthy()}.
     */
    public Status status() {
        State state = closed ? State.CLOSED : failed ? State.FAILED : started ? State.RUNNING : State.NEW;
        int alive = (int) threads.stream().filter(Thread::isAlive).count();
        InboxMetrics metrics = settings.metrics();
        InboxMetrics.Failure last = metrics.lastFailure();
        return new Status(state, concurrency, alive, metrics.workerFailures.get(), metrics.pollRetries.get(),
                last == null ? null : last.description(), last == null ? null : last.at());
    }

    /** A thread ended on a failure: stop the others, so that the consumer fails as a whole and says so. */
    private void workerFailed(String clientId, Throwable failure) {
        if (closed) {
            return;
        }
        if (!failed) {
            failed = true;
            LOG.error("inbox consumer {} FAILED: thread {} ended on {}; stopping the consumer, which processes "
                    + "nothing until the process restarts it", name, clientId, failure.toString());
        }
        workers.forEach(InboxWorker::stop);
    }

    /** The consumer's name: its key in the inbox table. */
    public String name() {
        return name;
    }

    /** The parked messages of this consumer. */
    public DeadLetterQueue deadLetters() {
        return deadLetters;
    }

    /** Counts since start. */
    public Stats stats() {
        InboxMetrics metrics = settings.metrics();
        return new Stats(metrics.processed.get(), metrics.duplicates.get(), metrics.parked.get(),
                metrics.retries.get());
    }

    /**
     * Deletes this consumer's inbox rows older than {@code olderThan}, in transactions of at most
     * {@code batchSize} rows. Keep rows for longer than any message can be redelivered (Kafka's
     * retention of the topics, at the least): a message whose row is gone would be applied again.
     *
     * <p>The row of a message whose dead letter is still {@code PARKED} is kept whatever its age: it
     * is what makes a redelivery of that message a duplicate and its replay take effect once. It goes
     * with the next purge after the dead letter is replayed or discarded.
     *
     * @return the number of rows deleted
     */
    public long purgeInbox(Duration olderThan, int batchSize) {
        return Purge.inBatches(settings.dataSource(), sql.purgeBatch(), List.of(name), olderThan, batchSize);
    }

    /** Configures an {@link InboxConsumer}; {@link #build()} validates and names any bad setting. */
    public static final class Builder {
        private String name;
        private DataSource dataSource;
        private String bootstrapServers;
        private String groupId;
        private final List<String> topics = new ArrayList<>();
        private MessageHandler handler;
        private RetryPolicy retryPolicy = RetryPolicy.defaults();
        private int concurrency = 1;
        private String schema;
        private String inboxTable = "inbox_message";
        private String deadLetterTable = "dead_letter";
        private Outbox outbox = Outbox.builder().build();
        private PayloadCodec payloadCodec = PayloadCodec.jsonText();
        private final Map<String, Object> kafkaProperties = new HashMap<>();
        private Duration pollTimeout = Duration.ofMillis(200);
        private Ordering ordering = Ordering.KEY;
        private int parallelism = 4;
        private int maxBatchSize = 50;
        private Duration shutdownTimeout = Duration.ofSeconds(30);
        private InboxHooks hooks = InboxHooks.NONE;
        private Duration operatorActionPollInterval = Duration.ofSeconds(1);
        // Object, not their types: a field of theirs would fail reflection on this class without them.
        private Object meterRegistry;
        private Object openTelemetry;

        private Builder() {
        }

        /** Required. The consumer's name: its key in the inbox table, and the default Kafka group id. */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** Required. The database of the inbox, dead-letter and business tables. */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = dataSource;
            return this;
        }

        /** Required (here or as {@code bootstrap.servers} in {@link #kafkaProperties}). */
        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /** The Kafka consumer group; default the consumer's {@link #name(String)}. */
        public Builder groupId(String groupId) {
            this.groupId = groupId;
            return this;
        }

        /** Required: the topics to read. */
        public Builder topics(String... topics) {
            return topics(List.of(topics));
        }

        /** Required: the topics to read. */
        public Builder topics(List<String> topics) {
            this.topics.addAll(topics);
            return this;
        }

        /** Required: applies each message. */
        public Builder handler(MessageHandler handler) {
            this.handler = handler;
            return this;
        }

        /** How failing handlers are retried before parking; default {@link RetryPolicy#defaults()}. */
        public Builder retryPolicy(RetryPolicy retryPolicy) {
            this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
            return this;
        }

        /**
         * Kafka consumers in the group, each with its own polling thread and {@link #parallelism(int)}
         * handler threads; default 1. More than one only helps when the topics have more partitions
         * than one process can handle.
         */
        public Builder concurrency(int concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        /**
         * Handler threads per Kafka consumer: how many transactions, each with records of different
         * keys, run at once; default 4. Each holds a database connection while it works, so size the
         * pool for {@code concurrency × parallelism} connections beside the service's own.
         */
        public Builder parallelism(int parallelism) {
            this.parallelism = parallelism;
            return this;
        }

        /** Which records wait for which; default {@link Ordering#KEY}. */
        public Builder ordering(Ordering ordering) {
            this.ordering = Objects.requireNonNull(ordering, "ordering");
            return this;
        }

        /**
         * The most records handled in one database transaction (each in a savepoint); default 50.
         * A transaction takes what is queued when a thread is free, so a quiet stream is handled
         * record by record, without waiting; 1 gives one transaction per record.
         */
        public Builder maxBatchSize(int maxBatchSize) {
            this.maxBatchSize = maxBatchSize;
            return this;
        }

        /** Schema of the inbox and dead-letter tables; default none (the connection's search_path). */
        public Builder schema(String schema) {
            this.schema = schema == null ? null : SqlIdentifiers.require("schema", schema);
            return this;
        }

        /** The inbox table; default {@code inbox_message}. */
        public Builder inboxTable(String inboxTable) {
            this.inboxTable = SqlIdentifiers.require("inboxTable", inboxTable);
            return this;
        }

        /** The dead-letter table; default {@code dead_letter}. */
        public Builder deadLetterTable(String deadLetterTable) {
            this.deadLetterTable = SqlIdentifiers.require("deadLetterTable", deadLetterTable);
            return this;
        }

        /** The outbox for follow-up messages sent by handlers; default {@code Outbox.builder().build()}. */
        public Builder outbox(Outbox outbox) {
            this.outbox = Objects.requireNonNull(outbox, "outbox");
            return this;
        }

        /** Decodes payloads for {@link MessageContext#payload(Class)}; default {@link PayloadCodec#jsonText()}. */
        public Builder payloadCodec(PayloadCodec payloadCodec) {
            this.payloadCodec = Objects.requireNonNull(payloadCodec, "payloadCodec");
            return this;
        }

        /**
         * Further Kafka consumer properties (security, fetch sizes, {@code auto.offset.reset}).
         * Always overridden: key and value deserializers (bytes), {@code enable.auto.commit=false}
         * and {@code isolation.level=read_committed}, which exactly-once needs. Defaults otherwise
         * Kafka's, except {@code auto.offset.reset=earliest}. A {@code group.instance.id} (static
         * membership: a restarted process takes its partitions back at once, without waiting for the
         * session timeout) gets each worker's client id appended, as each worker is a member of its own.
         */
        public Builder kafkaProperties(Map<String, ?> kafkaProperties) {
            this.kafkaProperties.putAll(kafkaProperties);
            return this;
        }

        /** How long one poll waits for records, which bounds how quickly a stop is noticed; default 200 ms. */
        public Builder pollTimeout(Duration pollTimeout) {
            this.pollTimeout = Objects.requireNonNull(pollTimeout, "pollTimeout");
            return this;
        }

        /** How long {@link InboxConsumer#close()} waits for threads to finish; default 30 s. */
        public Builder shutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
            return this;
        }

        /**
         * How often the running consumer looks for the dead-letter replays that the console or the CLI queued for
         * it ({@code operator_action} rows with target kind {@code DEAD_LETTER}, scope this consumer's name and
         * action {@code REPLAY}, in the schema of {@link #schema(String)}; see {@code sql/V8__operations.sql}) and
         * carries them out, on a thread of its own; default 1 s; {@link Duration#ZERO} turns this off. Each replay
         * runs as {@link DeadLetterQueue#replay(long)} does, in one transaction with the action's {@code DONE}
         * record; a replay that fails, or any other action, is recorded {@code FAILED} with the reason and not
         * tried again.
         */
        public Builder operatorActionPollInterval(Duration operatorActionPollInterval) {
            this.operatorActionPollInterval = Objects.requireNonNull(operatorActionPollInterval,
                    "operatorActionPollInterval");
            return this;
        }

        /**
         * Where to register the consumer's meters ({@code outbox.inbox.*}: handled, duplicates, retries, parked,
         * handler time, lag per partition; see docs/OBSERVABILITY.md); default none, and no meter is kept.
         * Needs {@code io.micrometer:micrometer-core} on the class path (an optional dependency of outbox-core);
         * without this call none of its classes is loaded.
         */
        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
            return this;
        }

        /**
         * Traces each attempt at a record with a span of kind CONSUMER, child of the record's {@code traceparent},
         * current while the handler runs (so that what it appends to the outbox continues the trace). Default: when
         * the OpenTelemetry API is on the class path, the global {@code OpenTelemetry} once the application has set
         * it ({@code GlobalOpenTelemetry.set}, or the Java agent); until then, and without the API, nothing is traced.
         */
        public Builder openTelemetry(OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        Builder hooks(InboxHooks hooks) {
            this.hooks = hooks;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first missing or invalid setting
         */
        public InboxConsumer build() {
            if (name == null || name.isBlank() || name.length() > 255) {
                throw new IllegalArgumentException("name must be 1 to 255 characters and not blank, but was "
                        + (name == null ? "null" : "'" + name + "'"));
            }
            if (dataSource == null) {
                throw new IllegalArgumentException("dataSource is required");
            }
            Object servers = bootstrapServers != null ? bootstrapServers : kafkaProperties.get("bootstrap.servers");
            if (servers == null || servers.toString().isBlank()) {
                throw new IllegalArgumentException("bootstrapServers is required");
            }
            if (topics.isEmpty() || topics.stream().anyMatch(topic -> topic == null || topic.isBlank())) {
                throw new IllegalArgumentException("topics must name at least one topic and no blank one, but was "
                        + topics);
            }
            if (handler == null) {
                throw new IllegalArgumentException("handler is required");
            }
            if (concurrency < 1) {
                throw new IllegalArgumentException("concurrency must be at least 1, but was " + concurrency);
            }
            if (parallelism < 1 || parallelism > 256) {
                throw new IllegalArgumentException("parallelism must be 1 to 256, but was " + parallelism);
            }
            if (maxBatchSize < 1 || maxBatchSize > 10_000) {
                throw new IllegalArgumentException("maxBatchSize must be 1 to 10000, but was " + maxBatchSize);
            }
            if (operatorActionPollInterval.isNegative()) {
                throw new IllegalArgumentException("operatorActionPollInterval must be zero (off) or positive, but was "
                        + operatorActionPollInterval);
            }
            if (pollTimeout.isNegative() || pollTimeout.isZero()) {
                throw new IllegalArgumentException("pollTimeout must be positive, but was " + pollTimeout);
            }
            return new InboxConsumer(this);
        }

        private Map<String, Object> kafkaConfig() {
            Map<String, Object> config = new HashMap<>();
            config.put("auto.offset.reset", "earliest");
            config.putAll(kafkaProperties);
            if (bootstrapServers != null) {
                config.put("bootstrap.servers", bootstrapServers);
            }
            config.put("group.id", groupId != null ? groupId : kafkaProperties.getOrDefault("group.id", name));
            config.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
            config.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
            config.put("enable.auto.commit", "false");
            config.put("isolation.level", "read_committed");
            return config;
        }
    }
}
