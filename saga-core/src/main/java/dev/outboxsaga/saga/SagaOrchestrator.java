package dev.outboxsaga.saga;

import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.InboxConsumer;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.core.internal.AfterCommit;
import dev.outboxsaga.core.internal.DatabaseFailures;
import dev.outboxsaga.core.internal.OperatorActions;
import dev.outboxsaga.core.internal.Transactions;
import dev.outboxsaga.saga.internal.Definitions;
import dev.outboxsaga.saga.internal.SagaEngine;
import dev.outboxsaga.saga.internal.SagaMicrometer;
import dev.outboxsaga.saga.internal.SagaNotices;
import dev.outboxsaga.saga.internal.SagaShapes;
import dev.outboxsaga.saga.internal.SagaStore;
import dev.outboxsaga.saga.internal.Transitions;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs sagas for one service: starts them in the caller's transaction, advances them on replies,
 * fires timeouts and retries, and keeps every instance and its history in the service's database.
 *
 * <p>Each advance is one transaction: the reply's inbox record, the new saga state and history, and
 * the next command in the outbox. Replies are matched to instances by saga id (the correlation id)
 * and to the awaited command by its id; a reply to anything else (late, after a timeout) is recorded
 * and ignored, except a compensation's success for the step a saga is parked at, which resumes it. A
 * timer thread finds instances whose deadline passed ({@code FOR UPDATE SKIP LOCKED}, so several
 * processes can run it) and applies timeouts and due retries. A saga whose deadline fails to fire on a
 * transient database error (a lock or statement timeout, a deadlock, a lost connection) stays as it was
 * and fires on a later tick; one that fails deterministically is parked with the reason.
 *
 * <pre>{@code
 * SagaOrchestrator sagas = SagaOrchestrator.builder()
 *         .service("transfers").dataSource(dataSource).bootstrapServers(kafka)
 *         .definition(TRANSFER)
 *         .build().start();
 * UUID sagaId = DatabaseTransactions.inTransaction(dataSource, connection -> {
 *     insertTransfer(connection, transfer);
 *     return sagas.begin(connection, TRANSFER, transfer, transfer.id());
 * });
 * Optional<SagaInstance> ended = sagas.awaitEnd(sagaId, Duration.ofSeconds(5));
 * }</pre>
 */
public final class SagaOrchestrator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SagaOrchestrator.class);
    private static final int DUE_BATCH = 100;

    private final String service;
    private final DataSource dataSource;
    private final Outbox outbox;
    private final Definitions definitions;
    private final SagaEngine engine;
    private final Clock clock;
    private final Duration timerInterval;
    private final InboxConsumer replies;
    private final SagaAdmin admin;
    /** Null without a meter registry. */
    private final SagaMicrometer meters;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final OperatorActions operatorActions;
    private final Duration operatorActionPollInterval;
    private final SagaNotices notices;
    private Thread timer;

    private SagaOrchestrator(Builder builder) {
        this.service = builder.service;
        this.dataSource = builder.dataSource;
        this.outbox = builder.outbox;
        this.definitions = builder.definitions;
        this.clock = builder.clock;
        this.engine = new SagaEngine(builder.payloadCodec, clock);
        this.timerInterval = builder.timerInterval;
        Map<String, Object> kafka = new HashMap<>(builder.kafkaProperties);
        InboxConsumer.Builder replyConsumer = InboxConsumer.builder()
                .name(service + "-saga-replies")
                .dataSource(dataSource)
                .bootstrapServers(builder.bootstrapServers)
                .kafkaProperties(kafka)
                .topics(builder.topicPrefix + SagaMessages.replyChannel(service))
                .outbox(outbox)
                .retryPolicy(builder.replyRetry.retryingOnly(failure -> !(failure instanceof SagaException)))
                .concurrency(builder.concurrency)
                .parallelism(builder.parallelism)
                .handler(this::onReply);
        // The casts run only when set, so that without Micrometer or OpenTelemetry none of their classes is loaded.
        if (builder.meterRegistry != null) {
            replyConsumer.meterRegistry((MeterRegistry) builder.meterRegistry);
        }
        if (builder.openTelemetry != null) {
            replyConsumer.openTelemetry((OpenTelemetry) builder.openTelemetry);
        }
        this.replies = replyConsumer.build();
        this.meters = builder.meterRegistry == null ? null
                : SagaMicrometer.create(builder.meterRegistry, definitions, clock, builder.gaugeInterval);
        this.notices = new SagaNotices(service, dataSource, definitions, builder.listeners, timerInterval);
        this.admin = new SagaAdmin(dataSource, definitions, engine, outbox, SagaMessages.replyChannel(service), clock,
                meters, notices);
        this.operatorActionPollInterval = builder.operatorActionPollInterval;
        this.operatorActions = new OperatorActions(dataSource, OperatorActions.TABLE, OperatorActions.SAGA,
                definitions.types(), admin::perform, "sagas-" + service);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts consuming replies and the timer. The timer first records the static shape of each registered definition
     * in {@code saga_definition} ({@code sql/V13__saga_definition.sql}), for the operator console's diagrams.
     */
    public synchronized SagaOrchestrator start() {
        if (timer != null) {
            throw new IllegalStateException("saga orchestrator " + service + " was started already");
        }
        replies.start();
        timer = new Thread(this::runTimer, "saga-timer-" + service);
        timer.setDaemon(true);
        timer.start();
        operatorActions.start(operatorActionPollInterval, () -> closing.getCount() > 0);
        return this;
    }

    /**
     * Starts a saga in the caller's transaction: the instance, its history and its first command
     * commit with the caller's business change, or not at all. Never commits the connection.
     *
     * @return the saga id
     * @throws IllegalArgumentException when the definition is not registered with this orchestrator
     */
    public <D> UUID begin(Connection connection, SagaDefinition<D> definition, D data) {
        requireBeginnable(connection, definition, data);
        UUID id = UUID.randomUUID();
        SagaEngine.Transition transition = engine.begin(definition, id, data, connection);
        try {
            Transitions.persist(connection, outbox, SagaMessages.replyChannel(service), transition, true, null);
            observe(connection, null, transition, null);
        } catch (SQLException e) {
            throw new SagaException("could not start saga " + definition.type() + ": " + e.getMessage(), e);
        }
        return id;
    }

    /** {@link #begin(Connection, SagaDefinition, Object)} in a transaction of its own. */
    public <D> UUID begin(DataSource source, SagaDefinition<D> definition, D data) {
        return Transactions.inTransaction(source, connection -> begin(connection, definition, data));
    }

    /**
     * Starts a saga at most once per business key: as {@link #begin(Connection, SagaDefinition, Object)}, unless a
     * saga of the definition's type (any version) was begun with {@code sagaKey} already, in which case nothing is
     * written and that saga's id is returned; its data stays as it was, {@code data} is not compared. A request
     * retried after a commit of unknown outcome, or sent twice, so starts one saga. A concurrent begin with the
     * same key waits for this transaction: if it commits, the other returns this saga's id; if it rolls back,
     * the other starts its own. Needs the connection's default isolation, READ COMMITTED (under REPEATABLE READ
     * or SERIALIZABLE the waiting begin fails with a serialization error instead, and the caller retries). Keys
     * are kept as long as their saga's row.
     *
     * @param sagaKey the business key, e.g. the transfer's id: 1 to 255 characters
     * @return the id of the saga begun now, or of the one begun before with this key
     * @throws IllegalArgumentException when the definition is not registered or the key is blank or too long
     */
    public <D> UUID begin(Connection connection, SagaDefinition<D> definition, D data, String sagaKey) {
        if (sagaKey == null || sagaKey.isBlank() || sagaKey.length() > 255) {
            throw new IllegalArgumentException("sagaKey must be 1 to 255 characters, but was '" + sagaKey + "'");
        }
        requireBeginnable(connection, definition, data);
        try {
            UUID existing = SagaStore.findByKey(connection, definition.type(), sagaKey);
            if (existing != null) {
                return existing;
            }
            // Local first steps run in this transaction: undo them if another begin with the key got there first.
            Savepoint beforeBegin = connection.setSavepoint();
            SagaEngine.Transition transition = engine.begin(definition, UUID.randomUUID(), data, connection);
            if (Transitions.persistKeyed(connection, outbox, SagaMessages.replyChannel(service), transition, sagaKey)) {
                observe(connection, null, transition, null);
                connection.releaseSavepoint(beforeBegin);
                return transition.state().id();
            }
            connection.rollback(beforeBegin);
            existing = SagaStore.findByKey(connection, definition.type(), sagaKey);
            if (existing == null) {
                throw new SagaException("saga " + definition.type() + " with key '" + sagaKey
                        + "' was begun concurrently but cannot be read; is the transaction READ COMMITTED?");
            }
            return existing;
        } catch (SQLException e) {
            throw new SagaException("could not start saga " + definition.type() + " with key '" + sagaKey + "': "
                    + e.getMessage(), e);
        }
    }

    /** {@link #begin(Connection, SagaDefinition, Object, String)} in a transaction of its own. */
    public <D> UUID begin(DataSource source, SagaDefinition<D> definition, D data, String sagaKey) {
        return Transactions.inTransaction(source, connection -> begin(connection, definition, data, sagaKey));
    }

    private void requireBeginnable(Connection connection, SagaDefinition<?> definition, Object data) {
        Objects.requireNonNull(data, "data");
        try {
            if (connection.getAutoCommit()) {
                throw new IllegalStateException("begin needs the caller's transaction, but the connection is in "
                        + "auto-commit mode; call setAutoCommit(false) and commit yourself");
            }
        } catch (SQLException e) {
            throw new SagaException("could not read the connection's auto-commit mode: " + e.getMessage(), e);
        }
        if (!definitions.contains(definition)) {
            throw new IllegalArgumentException(definition + " is not registered with orchestrator " + service);
        }
    }

    /** Queries and repairs. */
    public SagaAdmin admin() {
        return admin;
    }

    /** The reply consumer's counts (replies applied, duplicates, parked). */
    public InboxConsumer.Stats replyStats() {
        return replies.stats();
    }

    /** The consumer of replies, for its dead letters. */
    public InboxConsumer replyConsumer() {
        return replies;
    }

    /**
     * Waits until the saga has ended (COMPLETED, COMPENSATED or FAILED) or parked (PARKED: an operator must act),
     * and returns it as stored then; at once when it has already. No caller polls: a transition this orchestrator
     * commits wakes its waiters right after the commit, and an end committed by another process on the same
     * database is found by one query per {@link Builder#timerInterval(Duration) timer interval} for all the sagas
     * awaited at the time, run only while someone waits. Works whether or not the orchestrator is started.
     *
     * @param timeout how long to wait at most; zero looks once
     * @return the saga, ended or parked; empty when it has not ended or parked within {@code timeout}
     * @throws IllegalArgumentException when there is no saga {@code sagaId}
     * @throws IllegalStateException    when the orchestrator is closed while waiting
     * @throws InterruptedException     when the waiting thread is interrupted
     */
    public Optional<SagaInstance> awaitEnd(UUID sagaId, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(sagaId, "sagaId");
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be zero or more, but was " + timeout);
        }
        // Watched before the first look, so that an end committed in between is not missed.
        CompletableFuture<Void> settled = notices.watch(sagaId);
        try {
            SagaInstance now = admin.find(sagaId)
                    .orElseThrow(() -> new IllegalArgumentException("no saga " + sagaId));
            if (settled(now)) {
                return Optional.of(now);
            }
            try {
                settled.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException stillRunning) {
                return Optional.empty();
            } catch (ExecutionException closed) {
                throw (RuntimeException) closed.getCause();
            }
            return admin.find(sagaId).filter(SagaOrchestrator::settled);
        } finally {
            notices.forget(sagaId, settled);
        }
    }

    private static boolean settled(SagaInstance saga) {
        return saga.state().terminal() || saga.state() == SagaState.PARKED;
    }

    @Override
    public void close() {
        closing.countDown();
        notices.close();
        operatorActions.close();
        replies.close();
        Thread running;
        synchronized (this) {
            running = timer;
        }
        if (running != null) {
            try {
                running.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void onReply(InboundMessage message, MessageContext context) throws SQLException {
        UUID sagaId = SagaMessages.sagaId(message);
        UUID commandId;
        try {
            commandId = UUID.fromString(SagaMessages.required(message, SagaMessages.IN_REPLY_TO));
        } catch (IllegalArgumentException e) {
            throw new SagaException("reply " + message.id() + " has an inReplyTo that is not a command id");
        }
        String outcome = SagaMessages.required(message, SagaMessages.OUTCOME);
        if (!outcome.equals("SUCCESS") && !outcome.equals("FAILURE")) {
            throw new SagaException("reply " + message.id() + " has outcome '" + outcome + "', not SUCCESS or FAILURE");
        }
        Reply reply;
        try {
            reply = new Reply(outcome.equals("SUCCESS"), "true".equals(message.headers().get(SagaMessages.RETRYABLE)),
                    message.headers().get(SagaMessages.REASON), message.payload());
        } catch (IllegalArgumentException e) {
            throw new SagaException("reply " + message.id() + " is malformed: " + e.getMessage(), e);
        }
        Connection connection = context.connection();
        SagaEngine.State state = SagaStore.lock(connection, sagaId);
        if (state == null) {
            throw new SagaException("reply " + message.id() + " is for saga " + sagaId + ", which " + service
                    + " does not know");
        }
        SagaDefinition<?> definition = definitions.get(state.type(), state.version());
        // Which step and kind the participant says the command was of: used only for a reply that is not awaited.
        Integer step = null;
        try {
            String stepHeader = message.headers().get(SagaMessages.STEP);
            step = stepHeader == null ? null : Integer.valueOf(stepHeader);
        } catch (NumberFormatException ignored) {
            // an unreadable step is an unknown one
        }
        SagaEngine.Transition transition = engine.onReply(definition, state, commandId, step,
                message.headers().get(SagaMessages.COMMAND_KIND), reply, connection);
        Transitions.persist(connection, outbox, SagaMessages.replyChannel(service), transition, false,
                message.traceparent());
        observe(connection, state, transition, commandId);
    }

    /** Counts what a transition written in the transaction on {@code connection} did, once that commits. */
    private void observe(Connection connection, SagaEngine.State before, SagaEngine.Transition transition,
            UUID repliedTo) throws SQLException {
        if (meters != null) {
            meters.persisted(connection, before, transition, repliedTo);
        }
        notices.persisted(connection, before, transition);
    }

    /** One batch of the timer: how many due sagas it locked, and how many of them it left for a later tick. */
    private record Batch(int locked, int deferred) {
    }

    private void runTimer() {
        boolean shapesToRecord = true;
        while (closing.getCount() > 0) {
            if (shapesToRecord) {
                shapesToRecord = !recordShapes();
            }
            try {
                Batch batch;
                do {
                    batch = Transactions.inTransaction(dataSource, this::fireDue);
                } while (batch.locked() == DUE_BATCH && batch.deferred() == 0 && closing.getCount() > 0);
                if (meters != null) {
                    meters.tick(dataSource);
                }
            } catch (RuntimeException e) {
                // The whole batch rolled back (the connection was lost, say): its sagas are still due next tick.
                LOG.warn("saga timer of {} failed; trying again: {}", service, e.toString());
            }
            try {
                closing.await(timerInterval.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Records the shapes of this orchestrator's definitions for the operator console ({@code saga_definition},
     * {@code sql/V13}), first thing on the timer thread, so that a database not reachable at start delays nothing.
     *
     * @return false when a transient failure leaves it for the next tick; true when done, or given up for good (a
     *         schema without V13: the console then derives its diagrams from the sagas' history)
     */
    private boolean recordShapes() {
        try {
            Transactions.inTransaction(dataSource, connection -> {
                SagaShapes.record(connection, definitions.all());
                return null;
            });
            return true;
        } catch (RuntimeException e) {
            if (DatabaseFailures.isTransient(e)) {
                LOG.debug("saga orchestrator {} will record its definitions' shapes on a later tick: {}", service,
                        e.toString());
                return false;
            }
            LOG.warn("saga orchestrator {} could not record its definitions' shapes for the console (is "
                    + "sql/V13__saga_definition.sql applied?); the console derives their diagrams from the sagas' "
                    + "history: {}", service, e.toString());
            return true;
        }
    }

    /**
     * Fires the due deadlines of one batch, each under a savepoint. A saga that fails with a transient
     * database error ({@link DatabaseFailures#isTransient}: a lock or statement timeout, a deadlock, a
     * serialization failure, a lost connection) is rolled back to its savepoint and left as it was, due,
     * for a later tick; any other failure is deterministic, and parks the saga with its reason.
     */
    private Batch fireDue(Connection connection) throws SQLException {
        List<SagaEngine.State> due = SagaStore.lockDue(connection, clock.instant(), definitions.keys(), DUE_BATCH);
        int deferred = 0;
        for (SagaEngine.State state : due) {
            SagaEngine.Transition transition;
            Savepoint before = connection.setSavepoint();
            int counted = AfterCommit.mark(connection);
            try {
                transition = engine.onDeadline(definitions.get(state.type(), state.version()), state, connection);
                Transitions.persist(connection, outbox, SagaMessages.replyChannel(service), transition, false, null);
                observe(connection, state, transition, null);
                connection.releaseSavepoint(before);
                continue;
            } catch (RuntimeException | SQLException failure) {
                // When the connection is gone this throws too, and the whole batch is retried on the next tick.
                connection.rollback(before);
                AfterCommit.rollbackTo(connection, counted);
                if (DatabaseFailures.isTransient(failure)) {
                    deferred++;
                    LOG.warn("saga {}: its deadline could not be fired on a transient database failure; it stays {} "
                            + "and is tried again on a later tick: {}", state.id(), state.state(), failure.toString());
                    continue;
                }
                // A bug in a definition's function, or unreadable data: park this saga for an operator instead of
                // retrying forever, and keep the other sagas' work of this batch.
                // The branches of a parallel group in hand are kept: an operator's retry compensates those that ran.
                SagaEngine.State parked = new SagaEngine.State(state.id(), state.type(), state.version(), SagaState.PARKED,
                        state.stepIndex(), state.attempt(), null, null, state.data(), failure.getMessage(),
                        state.skippedSteps(), null, state.branches());
                transition = new SagaEngine.Transition(parked, List.of(),
                        List.of(new SagaEngine.Entry(state.stepIndex(), null, "PARKED", failure.getMessage())));
                LOG.error("saga {} parked: {}", state.id(), failure.getMessage());
            }
            Transitions.persist(connection, outbox, SagaMessages.replyChannel(service), transition, false, null);
            observe(connection, state, transition, null);
        }
        return new Batch(due.size(), deferred);
    }

    /** Configures a {@link SagaOrchestrator}. */
    public static final class Builder {
        private String service;
        private DataSource dataSource;
        private String bootstrapServers;
        private final Map<String, Object> kafkaProperties = new HashMap<>();
        private final Definitions definitions = new Definitions();
        private final List<SagaListener> listeners = new ArrayList<>();
        private Outbox outbox = Outbox.builder().build();
        private PayloadCodec payloadCodec = JacksonPayloadCodec.create();
        private RetryPolicy replyRetry = RetryPolicy.defaults();
        private Duration timerInterval = Duration.ofMillis(200);
        private Duration operatorActionPollInterval = Duration.ofSeconds(1);
        private int concurrency = 1;
        private int parallelism = 4;
        private String topicPrefix = SagaMessages.DEFAULT_TOPIC_PREFIX;
        private Clock clock = Clock.systemUTC();
        // Object, not their types: a field of theirs would fail reflection on this class without them.
        private Object meterRegistry;
        private Object openTelemetry;
        private Duration gaugeInterval = Duration.ofSeconds(30);

        private Builder() {
        }

        /** Required: this service's name; replies come to {@code outbox.event.saga-reply.<service>}. */
        public Builder service(String service) {
            this.service = SagaMessages.requireName("service", service);
            return this;
        }

        /** Required: the service's database (saga tables, inbox, outbox). */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = dataSource;
            return this;
        }

        /** Required: Kafka, for replies. */
        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /** Further Kafka consumer properties; see {@link InboxConsumer.Builder#kafkaProperties(Map)}. */
        public Builder kafkaProperties(Map<String, ?> properties) {
            this.kafkaProperties.putAll(properties);
            return this;
        }

        /** Registers a saga definition; register every version that still has running instances. */
        public Builder definition(SagaDefinition<?> definition) {
            definitions.add(definition);
            return this;
        }

        /** The outbox commands go through; default {@code Outbox.builder().build()}. */
        public Builder outbox(Outbox outbox) {
            this.outbox = Objects.requireNonNull(outbox, "outbox");
            return this;
        }

        /** Encodes saga data and command payloads; default {@link JacksonPayloadCodec#create()}. */
        public Builder payloadCodec(PayloadCodec payloadCodec) {
            this.payloadCodec = Objects.requireNonNull(payloadCodec, "payloadCodec");
            return this;
        }

        /** How a reply that fails to apply (database trouble) is retried; default {@link RetryPolicy#defaults()}. */
        public Builder replyRetry(RetryPolicy replyRetry) {
            this.replyRetry = Objects.requireNonNull(replyRetry, "replyRetry");
            return this;
        }

        /**
         * Kafka consumers of the reply topic, each with its own polling thread; default 1. Replies of
         * one saga share a partition and a key, so they are applied in order whatever the number.
         */
        public Builder concurrency(int concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        /**
         * Handler threads per consumer: replies of different sagas are applied at once, those of one
         * saga in order; default 4. See {@link InboxConsumer.Builder#parallelism(int)}.
         */
        public Builder parallelism(int parallelism) {
            this.parallelism = parallelism;
            return this;
        }

        /**
         * Adds a listener told, after each commit, of the sagas that ended, the steps that failed and the sagas that
         * parked; see {@link SagaListener}. Listeners are told in the order added; default none.
         */
        public Builder listener(SagaListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** How often the timer looks for due timeouts and retries; default 200 ms. */
        public Builder timerInterval(Duration timerInterval) {
            this.timerInterval = Objects.requireNonNull(timerInterval, "timerInterval");
            return this;
        }

        /** Topic prefix the relay routes with; default {@value SagaMessages#DEFAULT_TOPIC_PREFIX}. */
        public Builder topicPrefix(String topicPrefix) {
            this.topicPrefix = Objects.requireNonNull(topicPrefix, "topicPrefix");
            return this;
        }

        /**
         * How often the running orchestrator looks for the saga actions that the console or the CLI queued for the
         * types of its definitions ({@code operator_action} rows with target kind {@code SAGA} and the saga type as
         * scope; see {@code sql/V8__operations.sql}) and carries them out, on a thread of its own; default 1 s;
         * {@link Duration#ZERO} turns this off. {@code RETRY_COMPENSATION}, {@code MARK_COMPENSATED} (with its note)
         * and {@code CANCEL} (the note is the reason) run as {@link SagaAdmin}'s methods of those names do, each in
         * one transaction with the action's {@code DONE} record; one that is refused (the saga not in a state that
         * allows it) or unknown is recorded {@code FAILED} with the reason and not tried again.
         */
        public Builder operatorActionPollInterval(Duration operatorActionPollInterval) {
            Objects.requireNonNull(operatorActionPollInterval, "operatorActionPollInterval");
            if (operatorActionPollInterval.isNegative()) {
                throw new IllegalArgumentException("operatorActionPollInterval must be zero (off) or positive, but was "
                        + operatorActionPollInterval);
            }
            this.operatorActionPollInterval = operatorActionPollInterval;
            return this;
        }

        /**
         * Where to register the saga meters ({@code saga.*}: started, completed, compensated, failed, parked by type,
         * step latency, duration by end state, sagas in flight by state; see docs/OBSERVABILITY.md) and the reply
         * consumer's ({@code outbox.inbox.*}); default none. Transitions are counted once their transaction has
         * committed. The in-flight gauges are counted every 30 s by the timer thread, in one query over the sagas not
         * ended. Needs {@code io.micrometer:micrometer-core} on the class path (an optional dependency); without
         * this call none of its classes is loaded.
         */
        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
            return this;
        }

        /**
         * Traces the handling of each reply with this OpenTelemetry (see
         * {@link InboxConsumer.Builder#openTelemetry(OpenTelemetry)}); the commands it sends are traced by the
         * {@link #outbox(Outbox) outbox}'s own setting. Default: the global {@code OpenTelemetry} once the
         * application has set it, when the API is on the class path.
         */
        public Builder openTelemetry(OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** How often the {@code saga.instances} gauges are counted again; default 30 s. For tests. */
        Builder gaugeInterval(Duration gaugeInterval) {
            this.gaugeInterval = gaugeInterval;
            return this;
        }

        public SagaOrchestrator build() {
            if (service == null) {
                throw new IllegalArgumentException("service is required");
            }
            if (dataSource == null) {
                throw new IllegalArgumentException("dataSource is required");
            }
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrapServers is required");
            }
            return new SagaOrchestrator(this);
        }
    }
}
