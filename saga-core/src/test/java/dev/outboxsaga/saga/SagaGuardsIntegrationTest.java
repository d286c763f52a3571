package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.DatabaseTransactions;
import dev.outboxsaga.core.DeadLetter;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.TransferSaga.DebitResult;
import dev.outboxsaga.saga.TransferSaga.Movement;
import dev.outboxsaga.saga.TransferSaga.Transfer;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The saga guarantees at their edges, on PostgreSQL and Kafka: no forward command of a step the saga
 * gave up on takes effect, late compensation outcomes of a parked saga are accounted for, a keyed
 * begin starts one saga, a refusal leaves nothing of the handler's work behind, a cancel undoes each
 * step that ran exactly once whenever the replies come, and the operator actions that the console
 * queues are carried out by the orchestrator; waiting for a saga's end, listeners told after the
 * commit only, and finding a saga by its business key; a parallel group joined or undone; and deferred
 * participant replies, answered later through {@link PendingReplies} from another thread, or never, while the
 * step's timeout stays in force.
 *
 * <p>To keep it cheap, the orchestrator and both banks share one database and one relay (their
 * inboxes, replies and accounts are told apart by per-test names). The ledger has no unique
 * constraint: a second effect would show as a second row, and the tests count rows.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SagaGuardsIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String TOPIC_PREFIX = SagaMessages.DEFAULT_TOPIC_PREFIX;
    private static final RetryPolicy ONCE = RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO);

    private TestKafka kafka;
    private TestDatabase db;
    private InProcessRelays relays;
    private String suffix;
    private String type;
    private final List<AutoCloseable> closeAfterTest = new ArrayList<>();

    @BeforeAll
    void startRelay(TestDatabase db, TestKafka kafka) {
        this.db = db;
        this.kafka = kafka;
        OutboxSchema.migrate(db.dataSource());
        db.execute("CREATE TABLE account (id text PRIMARY KEY, balance bigint NOT NULL);"
                + "CREATE TABLE ledger (seq bigserial PRIMARY KEY, saga_id uuid NOT NULL, kind text NOT NULL,"
                + " account text NOT NULL, amount bigint NOT NULL)");
        relays = new InProcessRelays(kafka);
        relays.start(db, "saga-guards-" + UUID.randomUUID().toString().substring(0, 8));
    }

    @AfterAll
    void stopRelay() throws InterruptedException {
        relays.close();
    }

    @BeforeEach
    void name() {
        suffix = UUID.randomUUID().toString().substring(0, 6);
        type = "guarded-" + suffix;
    }

    @AfterEach
    void closeServices() throws Exception {
        for (int i = closeAfterTest.size() - 1; i >= 0; i--) {
            closeAfterTest.get(i).close();
        }
        closeAfterTest.clear();
    }

    // ---------------------------------------------------------------------------------------------
    // Item 1: a step without compensation that times out

    /** Debit (refunded on failure), then a credit without compensation: the pivot. */
    private SagaDefinition<Transfer> debitThenPivotCredit(Duration creditTimeout) {
        return SagaDefinition.builder(type, 1, Transfer.class)
                .step("debit")
                    .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount(), null))
                    .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount(), null))
                    .timeout(Duration.ofSeconds(30))
                .step("credit")
                    .invoke(Transfer::toBank, "Credit", t -> new Movement(t.toAccount(), t.amount(), null))
                    .timeout(creditTimeout)
                    .retry(ONCE)
                .build();
    }

    /**
     * The credit has no compensation and bank b is slow: its only attempt times out while the handler
     * is still busy. The saga must not end as compensated and then see the credit happen; whatever it
     * ends as must match the money.
     */
    @Test
    void aSlowStepWithoutCompensationThatTimesOutNeverTakesEffectAfterTheSagaGaveUp() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        CountDownLatch release = new CountDownLatch(1);
        b.interceptors.put("Credit", command -> {
            release.await(60, TimeUnit.SECONDS);
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = debitThenPivotCredit(Duration.ofSeconds(1));
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        await().atMost(WAIT).until(() -> events(orchestrator, id).contains("credit:TIMED_OUT"));
        // Give the saga the chance to end (the fault) before the slow credit goes through.
        await().atMost(WAIT).until(() -> {
            List<String> history = events(orchestrator, id);
            return history.contains("debit:ENDED_COMPENSATED") || history.contains("credit:ABANDON_SENT");
        });
        release.countDown();
        await().atMost(WAIT).until(() -> b.participant.consumer().stats().processed() >= 1);
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPLETED, SagaState.COMPENSATED);

        assertThat(ended.state()).as("the credit ran before the abandon reached bank b: the saga goes on")
                .isEqualTo(SagaState.COMPLETED);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L));
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(900);
        assertThat(events(orchestrator, id)).containsSubsequence("credit:TIMED_OUT", "credit:ABANDON_SENT",
                "credit:SETTLED", "credit:COMPLETED");
    }

    /**
     * The credit's command is parked at bank b (its handler crashed), so its attempt times out; the
     * saga settles the step with bank b, which records a refusal, and compensates the debit. An
     * operator then fixes bank b and replays the parked command: it is answered with the refusal and
     * has no effect.
     */
    @Test
    void aStepWithoutCompensationThatIsAbandonedIsRefusedWhenItsCommandIsReplayedLater() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.retry = RetryPolicy.exponential(2, Duration.ofMillis(20), Duration.ofMillis(20));
        b.interceptors.put("Credit", command -> {
            throw new IllegalStateException("core banking down");
        });
        b.start();
        SagaDefinition<Transfer> definition = debitThenPivotCredit(Duration.ofSeconds(2));
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));

        b.interceptors.remove("Credit");
        List<DeadLetter> parked = b.participant.consumer().deadLetters().parked(10);
        assertThat(parked).hasSize(1);
        b.participant.consumer().deadLetters().replay(parked.get(0).id());

        assertThat(b.ledger(id)).as("credited after the saga was compensated").isEmpty();
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(orchestrator.admin().find(id)).get().extracting(SagaInstance::state)
                .isEqualTo(SagaState.COMPENSATED);
    }

    // ---------------------------------------------------------------------------------------------
    // Item 5: late compensation outcomes of a parked saga

    /**
     * The fee fails, so the credit is reversed; bank b's reversal is slow, both attempts time out and
     * the saga parks. Then the reversal goes through. The late success must count: the saga goes on
     * compensating and ends, and an operator's repair is refused instead of undoing the credit twice.
     */
    @Test
    void aCompensationThatSucceedsAfterTheSagaParkedResumesItAndRepairsAreRefused() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        CountDownLatch release = new CountDownLatch(1);
        b.interceptors.put("ReverseCredit", command -> {
            release.await(60, TimeUnit.SECONDS);
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout("credit", Duration.ofSeconds(1))
                .retry("credit", RetryPolicy.exponential(2, Duration.ofMillis(100), Duration.ofMillis(100)))
                .build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        // 100 in account A: the debit takes it all, the fee of 5 is refused.
        Transfer transfer = transfer(a, 100, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        awaitState(orchestrator, id, SagaState.PARKED);
        release.countDown();

        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(events(orchestrator, id)).containsSubsequence("credit:PARKED", "credit:LATE_COMPENSATION_SUCCEEDED",
                "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        assertThatThrownBy(() -> orchestrator.admin().markCompensated(id, "reversed by hand"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> orchestrator.admin().retryCompensation(id))
                .isInstanceOf(IllegalStateException.class);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(100);
    }

    // ---------------------------------------------------------------------------------------------
    // Item 7: a refusal leaves nothing behind

    /** Bank b's credit handler writes, then refuses: its writes must roll back, its refusal must count. */
    @Test
    void aHandlerThatWritesThenRefusesLeavesNoEffectAndItsRefusalIsStored() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.refuseAfterWriting.add("Credit");
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);

        assertThat(ended.lastError()).isEqualTo("limit exceeded after writing");
        assertThat(b.handled).hasValue(1);
        assertThat(b.ledger(id)).as("the refused credit's writes").isEmpty();
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(storedReply(b.name, id, 1, "FORWARD")).isEqualTo("FAILURE limit exceeded after writing");
    }

    // ---------------------------------------------------------------------------------------------
    // Item 6: begin with a business key

    /**
     * The caller's commit succeeded but the caller did not learn it (a dropped connection) and retries
     * the request: the keyed begin returns the first saga and starts no second one.
     */
    @Test
    void aBeginRetriedWithTheSameKeyStartsOneSagaAndReturnsItsId() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID first = orchestrator.begin(db.dataSource(), definition, transfer, "transfer-" + suffix);
        UUID retried = orchestrator.begin(db.dataSource(), definition, transfer, "transfer-" + suffix);
        UUID other = orchestrator.begin(db.dataSource(), definition, transfer, "transfer-" + suffix + "-2");

        assertThat(retried).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
        awaitState(orchestrator, first, SagaState.COMPLETED);
        awaitState(orchestrator, other, SagaState.COMPLETED);
        assertThat(orchestrator.admin().list(null, type, null, 10)).extracting(SagaInstance::id)
                .containsExactlyInAnyOrder(first, other);
        assertThat(a.ledger(first)).isEqualTo(Map.of("Debit", 1L, "ChargeFee", 1L));
        assertThat(b.ledger(first)).isEqualTo(Map.of("Credit", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000 - 2 * 105);
        assertThatThrownBy(() -> orchestrator.begin(db.dataSource(), definition, transfer, " "))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Two requests with the same key at once: the second waits for the first's commit, then gets its saga. */
    @Test
    void twoConcurrentBeginsWithTheSameKeyStartOneSaga() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);
        String key = "transfer-" + suffix;

        try (Connection first = db.openConnection(); Connection second = db.openConnection()) {
            first.setAutoCommit(false);
            second.setAutoCommit(false);
            int secondPid = backendPid(second);
            UUID firstId = orchestrator.begin(first, definition, transfer, key);
            CompletableFuture<UUID> secondId = CompletableFuture.supplyAsync(() -> {
                UUID id = orchestrator.begin(second, definition, transfer, key);
                try {
                    second.commit();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
                return id;
            });
            await().atMost(WAIT).until(() -> waitsForALock(secondPid));
            assertThat(secondId).isNotDone();
            first.commit();

            assertThat(secondId.get(30, TimeUnit.SECONDS)).isEqualTo(firstId);
            awaitState(orchestrator, firstId, SagaState.COMPLETED);
        }
        assertThat(orchestrator.admin().list(null, type, null, 10)).hasSize(1);
        UUID id = orchestrator.admin().list(null, type, null, 10).get(0).id();
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "ChargeFee", 1L));
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
    }

    private static int backendPid(Connection connection) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement("SELECT pg_backend_pid()");
             ResultSet rows = query.executeQuery()) {
            rows.next();
            return rows.getInt(1);
        }
    }

    private boolean waitsForALock(int pid) throws SQLException {
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = ?")) {
            query.setInt(1, pid);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() && rows.getBoolean(1);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Cancel

    /**
     * Bank b is carrying out the credit when the saga is cancelled: the credit commits and its success reply comes
     * after the cancel. The credit is reversed, then the debit refunded, each once; the reply is late and ignored.
     */
    @Test
    void aSagaCancelledWhileAReplyIsInFlightCompensatesEveryStepThatRanExactlyOnce() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        CountDownLatch crediting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        b.interceptors.put("Credit", command -> {
            crediting.countDown();
            release.await(60, TimeUnit.SECONDS);
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        assertThat(crediting.await(60, TimeUnit.SECONDS)).isTrue();
        orchestrator.admin().cancel(id, "customer withdrew the order");
        assertThat(orchestrator.admin().find(id)).get().satisfies(cancelled -> {
            assertThat(cancelled.state()).isEqualTo(SagaState.COMPENSATING);
            assertThat(cancelled.stepName()).isEqualTo("credit");
            assertThat(cancelled.lastError()).isEqualTo("cancelled: customer withdrew the order");
        });
        release.countDown();

        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(events(orchestrator, id)).containsSubsequence("credit:COMMAND_SENT", "credit:CANCELLED",
                "credit:COMPENSATION_SENT", "credit:LATE_REPLY_IGNORED", "credit:COMPENSATED",
                "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        assertThat(orchestrator.admin().history(id)).filteredOn(event -> event.event().equals("CANCELLED"))
                .singleElement().extracting(SagaEvent::detail).isEqualTo("customer withdrew the order");
        assertThatThrownBy(() -> orchestrator.admin().cancel(id, "again"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("saga " + id + " is COMPENSATED, not RUNNING: it has ended");
    }

    // ---------------------------------------------------------------------------------------------
    // Saga deadline

    /**
     * Bank b does not answer the credit within the saga's 2 s deadline, though the step's own timeout is 30 s: the
     * timer finds the saga at its deadline and compensates it as a cancel would. The credit then commits and its
     * reply comes late; the credit is reversed, then the debit refunded, each once.
     */
    @Test
    void aSagaPastItsDeadlineIsCompensatedLongBeforeTheStepTimesOutAndEachStepIsUndoneOnce() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        CountDownLatch deadlinePassed = new CountDownLatch(1);
        b.interceptors.put("Credit", command -> {
            deadlinePassed.await(60, TimeUnit.SECONDS);
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout(Duration.ofSeconds(30))
                .deadline(Duration.ofSeconds(2))
                .build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(orchestrator, id).contains("credit:DEADLINE_PASSED"));
        deadlinePassed.countDown();

        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(ended.lastError()).startsWith("deadline passed: the saga deadline ");
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(events(orchestrator, id)).containsSubsequence("credit:COMMAND_SENT", "credit:DEADLINE_PASSED",
                "credit:COMPENSATION_SENT", "credit:COMPENSATED", "debit:COMPENSATION_SENT", "debit:COMPENSATED",
                "debit:ENDED_COMPENSATED");
        assertThat(events(orchestrator, id)).doesNotContain("credit:TIMED_OUT", "fee:COMMAND_SENT");
        assertThat(orchestrator.admin().history(id)).filteredOn(event -> event.event().equals("DEADLINE_PASSED"))
                .singleElement().extracting(SagaEvent::detail).asString().endsWith("(2000 ms after it began) passed");
    }

    /**
     * The credit's reply and a cancel reach the orchestrator together: both wait for the saga's row, held here,
     * and run one after the other once it is free. PostgreSQL grants the row to the first waiter, the reply: it
     * moves the saga on to the fee, and the cancel then stops it there. The saga ends compensated with every step
     * that ran undone once, the fee too.
     */
    @Test
    void aCancelAndAReplyArrivingTogetherAreAppliedOneAfterTheOtherAndEveryStepThatRanIsUndoneOnce()
            throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        CountDownLatch crediting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        b.interceptors.put("Credit", command -> {
            crediting.countDown();
            release.await(60, TimeUnit.SECONDS);
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);
        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        assertThat(crediting.await(60, TimeUnit.SECONDS)).isTrue();

        CompletableFuture<Void> cancel;
        try (Connection holder = db.openConnection()) {
            holder.setAutoCommit(false);
            try (PreparedStatement lock = holder.prepareStatement("SELECT 1 FROM saga_instance WHERE id = ? FOR UPDATE")) {
                lock.setObject(1, id);
                lock.executeQuery().close();
            }
            release.countDown();
            await().atMost(WAIT).until(() -> waitingForASaga() == 1);
            cancel = CompletableFuture.runAsync(() -> orchestrator.admin().cancel(id, "duplicate transfer"));
            await().atMost(WAIT).until(() -> waitingForASaga() == 2);
            holder.commit();
        }
        cancel.get(30, TimeUnit.SECONDS);

        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(events(orchestrator, id)).containsSubsequence("credit:SUCCEEDED", "fee:COMMAND_SENT",
                "fee:CANCELLED", "fee:COMPENSATION_SENT", "fee:COMPENSATED", "credit:COMPENSATED",
                "debit:ENDED_COMPENSATED");
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L, "ChargeFee", 1L, "RefundFee", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(b.balance(transfer.toAccount())).isZero();
    }

    /** Backends waiting for a saga's row lock (the reply consumer's and the cancel's). */
    private long waitingForASaga() throws SQLException {
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement("SELECT count(*) FROM pg_stat_activity "
                     + "WHERE wait_event_type = 'Lock' AND query LIKE '%FROM saga_instance WHERE id = $1 FOR UPDATE'");
             ResultSet rows = query.executeQuery()) {
            rows.next();
            return rows.getLong(1);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operator actions queued by the console or the CLI

    /**
     * A cancel queued for a running saga is carried out by its orchestrator, one queued for another saga type is
     * left to that type's orchestrator, and a repair of a saga that is not parked fails naming its state.
     */
    @Test
    void aQueuedCancelIsCarriedOutByTheOrchestratorOfTheSagasType() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        CountDownLatch crediting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        b.interceptors.put("Credit", command -> {
            crediting.countDown();
            release.await(60, TimeUnit.SECONDS);
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);
        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        assertThat(crediting.await(60, TimeUnit.SECONDS)).isTrue();

        long otherType = queue("CANCEL", id, "another-" + type, "not ours");
        long retry = queue("RETRY_COMPENSATION", id, type, null);
        long cancel = queue("CANCEL", id, type, "customer withdrew the order");

        Action cancelled = awaitEnded(cancel);
        assertThat(cancelled.status()).isEqualTo("DONE");
        assertThat(cancelled.outcome()).isEqualTo("CANCEL done: saga " + id + " is now COMPENSATING at step credit");
        assertThat(cancelled.doneAt()).isNotNull();
        assertThat(action(retry).status()).isEqualTo("FAILED");
        assertThat(action(retry).outcome()).isEqualTo("saga " + id + " is RUNNING, not PARKED");
        assertThat(action(otherType).status()).isEqualTo("PENDING");
        release.countDown();
        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(orchestrator.admin().history(id)).filteredOn(event -> event.event().equals("CANCELLED"))
                .singleElement().extracting(SagaEvent::detail)
                .isEqualTo("customer withdrew the order (console:alice, operator action " + cancel + ")");
        assertThat(action(otherType).status()).isEqualTo("PENDING");
    }

    /** The fee is refused and bank b cannot reverse the credit: the saga parks at the credit. */
    private UUID parkedAtCredit(SagaOrchestrator orchestrator, SagaDefinition<Transfer> definition, Bank a, Bank b) {
        Transfer transfer = transfer(a, 100, b, 0L, 100);
        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        awaitState(orchestrator, id, SagaState.PARKED);
        return id;
    }

    @Test
    void aQueuedRetryOfAParkedCompensationIsCarriedOutAndARepairOfASagaThatIsNotParkedFails() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.interceptors.put("ReverseCredit", command -> Reply.failure("account frozen"));
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type).retry("credit", ONCE).build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        UUID id = parkedAtCredit(orchestrator, definition, a, b);
        b.interceptors.remove("ReverseCredit");

        Action retried = awaitEnded(queue("RETRY_COMPENSATION", id, type, null));

        assertThat(retried.status()).isEqualTo("DONE");
        assertThat(retried.outcome())
                .isEqualTo("RETRY_COMPENSATION done: saga " + id + " is now COMPENSATING at step credit");
        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(events(orchestrator, id)).containsSubsequence("credit:PARKED", "credit:REPAIR_RETRY",
                "credit:COMPENSATED", "debit:ENDED_COMPENSATED");

        Action again = awaitEnded(queue("RETRY_COMPENSATION", id, type, null));
        assertThat(again.status()).isEqualTo("FAILED");
        assertThat(again.outcome()).isEqualTo("saga " + id + " is COMPENSATED, not PARKED");
        assertThat(again.doneAt()).isNotNull();
    }

    @Test
    void aQueuedMarkCompensatedNeedsANoteAndWithOneTheSagaCompensatesTheEarlierSteps() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.interceptors.put("ReverseCredit", command -> Reply.failure("account frozen"));
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type).retry("credit", ONCE).build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        UUID id = parkedAtCredit(orchestrator, definition, a, b);

        Action withoutNote = awaitEnded(queue("MARK_COMPENSATED", id, type, " "));
        Action unknown = awaitEnded(queue("FORGET", id, type, null));
        Action marked = awaitEnded(queue("MARK_COMPENSATED", id, type, "reversed by hand, ticket 42"));

        assertThat(withoutNote.status()).isEqualTo("FAILED");
        assertThat(withoutNote.outcome()).isEqualTo("MARK_COMPENSATED needs a note: how the step was compensated");
        assertThat(unknown.outcome()).isEqualTo("unknown action 'FORGET' for a saga; known: RETRY_COMPENSATION, "
                + "MARK_COMPENSATED, CANCEL");
        assertThat(marked.status()).isEqualTo("DONE");
        awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(b.ledger(id)).as("reversed by hand, not by bank b").isEqualTo(Map.of("Credit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(orchestrator.admin().history(id)).filteredOn(event -> event.event().equals("REPAIRED"))
                .singleElement().extracting(SagaEvent::detail).isEqualTo("compensated by hand: reversed by hand, "
                        + "ticket 42 (console:alice, operator action " + marked.id() + ")");
    }

    // ---------------------------------------------------------------------------------------------
    // Issue 13: a command whose payload cannot be decoded

    /** A credit command whose amount is not a number: bank b cannot read it as a Movement. */
    private SagaDefinition<Transfer> debitThenUndecodableCredit() {
        return SagaDefinition.builder(type, 1, Transfer.class)
                .step("debit")
                    .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount(), null))
                    .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount(), null))
                .step("credit")
                    .invoke(Transfer::toBank, "Credit", t -> Map.of("account", t.toAccount(), "amount", "lots"))
                    .timeout(Duration.ofSeconds(2))
                    .retry(ONCE)
                .build();
    }

    /** By default the participant refuses it with the reason at once: no retries, no dead letter, the saga compensates. */
    @Test
    void aCommandThatCannotBeDecodedIsRefusedWithTheReasonInsteadOfRetriedAndParked() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = debitThenUndecodableCredit();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);

        assertThat(ended.lastError()).startsWith("command Credit (step credit) cannot be decoded as Movement: ");
        assertThat(b.participant.consumer().stats().retries()).isZero();
        assertThat(b.participant.consumer().stats().parked()).isZero();
        assertThat(storedReply(b.name, id, 1, "FORWARD")).startsWith("FAILURE command Credit (step credit) cannot");
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(b.ledger(id)).isEmpty();
    }

    /** With {@code PARK} it goes to the dead letters at once, unanswered: the saga gives up on the step after its timeout. */
    @Test
    void aParticipantSetToParkUndecodableCommandsParksThemAtOnce() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.undecodable = SagaParticipant.UndecodableCommands.PARK;
        b.start();
        SagaDefinition<Transfer> definition = debitThenUndecodableCredit();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        await().atMost(WAIT).until(() -> b.participant.consumer().stats().parked() == 1);

        assertThat(b.participant.consumer().stats().retries()).isZero();
        assertThat(b.participant.consumer().deadLetters().parked(10)).singleElement()
                .satisfies(parked -> {
                    assertThat(parked.errorMessage()).contains("cannot be decoded as Movement");
                    assertThat(parked.attempts()).isEqualTo(1);
                });
        assertThat(storedReply(b.name, id, 1, "FORWARD")).isNull();
    }

    // ---------------------------------------------------------------------------------------------
    // Issue 13: data from replies

    /**
     * Bank a answers the debit with a typed result (its reference); the saga keeps it in its data, in the
     * reply's transaction, and the credit command to bank b carries it.
     */
    @Test
    void aReferenceReturnedByOneParticipantIsStoredInTheSagaDataAndSentInTheNextCommand() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        List<String> creditRefs = new java.util.concurrent.CopyOnWriteArrayList<>();
        b.interceptors.put("Credit", command -> {
            creditRefs.add(JacksonPayloadCodec.create().decode(command.payload(), Movement.class).ref());
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = SagaDefinition.builder(type, 1, Transfer.class)
                .step("debit")
                    .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount(), null))
                    .onReply(DebitResult.class, (t, debited) -> t.withDebitRef(debited.ref()))
                    .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount(), t.debitRef()))
                .step("credit")
                    .invoke(Transfer::toBank, "Credit", t -> new Movement(t.toAccount(), t.amount(), t.debitRef()))
                .build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPLETED);

        assertThat(creditRefs).containsExactly("ref-" + id);
        assertThat(JacksonPayloadCodec.create().decode(ended.data(), Transfer.class).debitRef()).isEqualTo("ref-" + id);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L));
    }

    // ---------------------------------------------------------------------------------------------
    // Issue 13: conditional steps

    /**
     * A fee step whose condition does not hold is skipped when the saga begins; the credit fails (no such
     * account) and the compensation passes the skipped step by. The skipped step is stored with the saga.
     */
    @Test
    void aSkippedStepIsRecordedWithTheSagaAndPassedByWhenCompensating() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = SagaDefinition.builder(type, 1, Transfer.class)
                .step("fee")
                    .invoke(Transfer::fromBank, "ChargeFee", t -> new Movement(t.fromAccount(), t.fee(), null))
                    .compensateWith("RefundFee", t -> new Movement(t.fromAccount(), t.fee(), null))
                    .when(t -> t.fee() > 1000)
                .step("debit")
                    .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount(), null))
                    .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount(), null))
                .step("credit")
                    .invoke(Transfer::toBank, "Credit", t -> new Movement(t.toAccount(), t.amount(), null))
                .build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, null, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        awaitState(orchestrator, id, SagaState.COMPENSATED);

        assertThat(events(orchestrator, id)).containsExactly("fee:STARTED", "fee:SKIPPED", "debit:COMMAND_SENT",
                "debit:SUCCEEDED", "credit:COMMAND_SENT", "credit:FAILED", "debit:COMPENSATION_SENT",
                "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT skipped_steps::text FROM saga_instance WHERE id = ?")) {
            query.setObject(1, id);
            try (ResultSet rows = query.executeQuery()) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getString(1)).isEqualTo("{0}");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Issue 13: parallel steps

    /** The debit and the credit sent at once, then the fee (built from what the debit returned). */
    private SagaDefinition<Transfer> debitAndCreditAtOnceThenFee() {
        return SagaDefinition.builder(type, 1, Transfer.class)
                .parallel("move", move -> move
                    .step("debit")
                        .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount(), null))
                        .onReply(DebitResult.class, (t, debited) -> t.withDebitRef(debited.ref()))
                        .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount(), t.debitRef()))
                    .step("credit")
                        .invoke(Transfer::toBank, "Credit", t -> new Movement(t.toAccount(), t.amount(), null))
                        .compensateWith("ReverseCredit", t -> new Movement(t.toAccount(), t.amount(), null)))
                .step("fee")
                    .invoke(Transfer::fromBank, "ChargeFee", t -> new Movement(t.fromAccount(), t.fee(), t.debitRef()))
                .build();
    }

    /**
     * Both branches succeed and the saga completes. It is begun by one orchestrator that is closed without ever
     * consuming a reply, and finished by another: the branch states it goes on from are those stored.
     */
    @Test
    void aParallelGroupWhoseBranchesSucceedJoinsAndCompletesFromTheStoredBranchStates() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = debitAndCreditAtOnceThenFee();
        String service = "orch-" + suffix;
        SagaOrchestrator beginner = orchestrator(service, List.of(), definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = beginner.begin(db.dataSource(), definition, transfer);
        await().atMost(WAIT).until(() -> a.handled.get() >= 1 && b.handled.get() >= 1);
        beginner.close();
        SagaOrchestrator finisher = orchestrator(service, List.of(), definition).start();
        SagaInstance ended = finisher.awaitEnd(id, WAIT).orElseThrow();

        assertThat(ended.state()).as("history %s", events(finisher, id)).isEqualTo(SagaState.COMPLETED);
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "ChargeFee", 1L));
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(JacksonPayloadCodec.create().decode(ended.data(), Transfer.class).debitRef()).isEqualTo("ref-" + id);
        List<String> history = events(finisher, id);
        assertThat(history.subList(0, 3)).containsExactly("debit:STARTED", "debit:COMMAND_SENT", "credit:COMMAND_SENT");
        assertThat(history).containsSubsequence("debit:SUCCEEDED", "fee:COMMAND_SENT", "fee:COMPLETED")
                .containsSubsequence("credit:SUCCEEDED", "fee:COMMAND_SENT");
        assertThat(storedBranches(id)).as("no group in hand once it joined").isNull();
    }

    /**
     * Bank b refuses the credit (no such account) while bank a's debit is still being handled: the saga waits for
     * the debit, and once it succeeds refunds it, once. The refused credit is not compensated.
     */
    @Test
    void aRefusedBranchGetsItsSiblingCompensatedOnceAfterItsPendingReply() throws Exception {
        Bank a = bank("a");
        CountDownLatch debitMayGo = new CountDownLatch(1);
        a.interceptors.put("Debit", command -> {
            debitMayGo.await(60, TimeUnit.SECONDS);
            return null;
        });
        a.start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = debitAndCreditAtOnceThenFee();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, null, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        await().atMost(WAIT).until(() -> events(orchestrator, id).contains("credit:FAILED"));
        assertThat(orchestrator.admin().find(id).orElseThrow().state()).isEqualTo(SagaState.COMPENSATING);
        assertThat(storedBranches(id)).as("the debit awaited, the credit refused")
                .contains("\"status\": \"PENDING\"", "\"status\": \"FAILED\"");
        debitMayGo.countDown();
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);

        assertThat(ended.lastError()).startsWith("insufficient funds");
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(b.ledger(id)).isEmpty();
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(events(orchestrator, id)).containsSubsequence("credit:FAILED", "debit:SUCCEEDED",
                "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED")
                .doesNotContain("credit:COMPENSATION_SENT", "fee:COMMAND_SENT");
        assertThat(storedBranches(id)).isNull();
    }

    /** The saga's stored {@code branches} column, as text. */
    private String storedBranches(UUID id) throws SQLException {
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT branches::text FROM saga_instance WHERE id = ?")) {
            query.setObject(1, id);
            try (ResultSet rows = query.executeQuery()) {
                assertThat(rows.next()).isTrue();
                return rows.getString(1);
            }
        }
    }

    /** An {@code operator_action} row. */
    record Action(long id, String status, String outcome, java.time.Instant doneAt) {
    }

    /** Queues a saga action as the console does. */
    private long queue(String action, UUID sagaId, String sagaType, String note) throws SQLException {
        try (Connection connection = db.openConnection();
             PreparedStatement insert = connection.prepareStatement("INSERT INTO operator_action (actor, action, "
                     + "target_kind, target_id, scope, note) VALUES ('console:alice', ?, 'SAGA', ?, ?, ?) RETURNING id")) {
            insert.setString(1, action);
            insert.setString(2, sagaId.toString());
            insert.setString(3, sagaType);
            insert.setString(4, note);
            try (ResultSet rows = insert.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private Action action(long id) throws SQLException {
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT id, status, outcome, done_at FROM operator_action WHERE id = ?")) {
            query.setLong(1, id);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                java.sql.Timestamp doneAt = rows.getTimestamp(4);
                return new Action(rows.getLong(1), rows.getString(2), rows.getString(3),
                        doneAt == null ? null : doneAt.toInstant());
            }
        }
    }

    private Action awaitEnded(long id) {
        return await().atMost(WAIT).until(() -> action(id), action -> !action.status().equals("PENDING"));
    }

    // ---------------------------------------------------------------------------------------------
    // Waiting for the end, listening, finding by key

    @Test
    void awaitEndReturnsACompletedSagaOnItsEndAndAnEndedOneAtOnceAndItIsFoundByItsKey() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        UUID id = orchestrator.begin(db.dataSource(), definition, transfer(a, 1000, b, 0L, 100), "key-" + suffix);

        SagaInstance ended = orchestrator.awaitEnd(id, WAIT).orElseThrow();

        assertThat(ended.id()).isEqualTo(id);
        assertThat(ended.state()).isEqualTo(SagaState.COMPLETED);
        assertThat(b.balance("B-" + suffix)).isEqualTo(100);
        assertThat(orchestrator.awaitEnd(id, Duration.ZERO)).map(SagaInstance::state).contains(SagaState.COMPLETED);
        assertThat(orchestrator.admin().findByKey(type, "key-" + suffix)).map(SagaInstance::id).contains(id);
        assertThat(orchestrator.admin().findByKey(type, "other-" + suffix)).isEmpty();
        assertThat(orchestrator.admin().findByKey("other-" + type, "key-" + suffix)).isEmpty();
    }

    @Test
    void awaitEndReturnsACompensatedSagaAndListenersHearOfTheFailedStepAndTheEndOnceEvenWhenOneThrows()
            throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        Recording heard = new Recording();
        SagaListener throwing = new SagaListener() {
            @Override
            public void sagaEnded(SagaChange change) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void stepFailed(SagaChange change) {
                throw new IllegalStateException("listener bug");
            }
        };
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, List.of(throwing, heard), definition).start();
        // No account B-...: the credit fails, the debit is refunded.
        UUID id = orchestrator.begin(db.dataSource(), definition, transfer(a, 1000, b, null, 100));

        SagaInstance ended = orchestrator.awaitEnd(id, WAIT).orElseThrow();

        assertThat(ended.state()).isEqualTo(SagaState.COMPENSATED);
        assertThat(a.balance("A-" + suffix)).isEqualTo(1000);
        await().atMost(WAIT).until(() -> heard.heard.size() >= 2);
        assertThat(heard.heard).containsExactly(
                        "step " + id + " credit FAILED COMPENSATING",
                        "ended " + id + " debit COMPENSATED COMPENSATED");
        assertThat(heard.changes.get(0).detail()).contains("insufficient funds");
    }

    @Test
    void awaitEndGivesUpEmptyAfterItsTimeoutAndRefusesAnUnknownSaga() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b"); // never started: the credit is never answered
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        UUID id = orchestrator.begin(db.dataSource(), definition, transfer(a, 1000, b, 0L, 100));

        long started = System.nanoTime();
        assertThat(orchestrator.awaitEnd(id, Duration.ofMillis(500))).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isBetween(Duration.ofMillis(500), WAIT);
        assertThatThrownBy(() -> orchestrator.awaitEnd(UUID.randomUUID(), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no saga");
    }

    @Test
    void awaitEndOnAnotherOrchestratorOfTheSameDatabaseSeesTheEndItDidNotPersist() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b").start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        Recording heardByWatcher = new Recording();
        // Never started, and consuming nothing: every transition of the saga is persisted by the other one.
        SagaOrchestrator watcher = orchestrator("watch-" + suffix, List.of(heardByWatcher), definition);
        SagaOrchestrator runner = orchestrator(definition);
        Bank slow = b;
        CountDownLatch creditMayGo = new CountDownLatch(1);
        slow.interceptors.put("Credit", command -> {
            creditMayGo.await(60, TimeUnit.SECONDS);
            return null;
        });
        UUID id = runner.begin(db.dataSource(), definition, transfer(a, 1000, b, 0L, 100));

        CompletableFuture<Optional<SagaInstance>> awaited = CompletableFuture.supplyAsync(() -> {
            try {
                return watcher.awaitEnd(id, WAIT);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        creditMayGo.countDown();

        assertThat(awaited.get(WAIT.toSeconds(), TimeUnit.SECONDS)).map(SagaInstance::state)
                .contains(SagaState.COMPLETED);
        assertThat(heardByWatcher.changes).isEmpty();
    }

    @Test
    void listenersAreNotToldOfATransitionThatRolledBackAndAreToldOfItOnceCommitted() {
        SagaDefinition<Transfer> failsLocally = SagaDefinition.builder(type, 1, Transfer.class)
                .step("check")
                    .local((connection, data) -> {
                        throw new IllegalStateException("limit exceeded");
                    })
                .build();
        Recording heard = new Recording();
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, List.of(heard), failsLocally);
        Transfer transfer = new Transfer("t-" + suffix, "a", "A", "b", "B", 100, 5, null);

        assertThatThrownBy(() -> DatabaseTransactions.inTransaction(db.dataSource(), connection -> {
            orchestrator.begin(connection, failsLocally, transfer);
            throw new java.io.IOException("the caller changes its mind");
        })).isInstanceOf(java.io.IOException.class);
        assertThat(heard.changes).isEmpty();
        assertThat(orchestrator.admin().list(null, type, null, 10)).isEmpty();

        UUID id = DatabaseTransactions.inTransaction(db.dataSource(),
                connection -> orchestrator.begin(connection, failsLocally, transfer));

        assertThat(heard.heard).containsExactly("step " + id + " check FAILED FAILED",
                "ended " + id + " check FAILED FAILED");
    }

    /** What a listener heard, in order: the changes, and each as "method sagaId stepName event state". */
    private static final class Recording implements SagaListener {
        final List<SagaChange> changes = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void sagaEnded(SagaChange change) {
            record("ended", change);
        }

        @Override
        public void stepFailed(SagaChange change) {
            record("step", change);
        }

        @Override
        public void sagaParked(SagaChange change) {
            record("parked", change);
        }

        private void record(String method, SagaChange change) {
            changes.add(change);
            heard.add(method + " " + change.sagaId() + " " + change.stepName() + " " + change.event() + " "
                    + change.state());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Deferred replies: a participant accepts a command and answers later

    /**
     * Bank b accepts the credit (writes it, as a hold) and defers its answer. Bank b's participant is then stopped, and
     * another thread, with a PendingReplies of its own and no consumer, sees the pending command and approves it in a
     * transaction of its own: the answer goes out through the outbox and the saga completes, the credit applied once.
     */
    @Test
    void aDeferredCommandAnsweredLaterFromAnotherThreadWithoutAConsumerCompletesTheSagaWithItsEffectOnce()
            throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.deferAfterWriting.add("Credit");
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        PendingReplies approvals = PendingReplies.builder().participant(b.name).build();
        PendingCommand pending = await().atMost(WAIT)
                .until(() -> pendingAt(approvals, "Credit"), list -> list.size() == 1).get(0);
        b.participant.close();

        assertThat(pending.sagaId()).isEqualTo(id);
        assertThat(pending.stepIndex()).isEqualTo(1);
        assertThat(pending.stepName()).isEqualTo("credit");
        assertThat(pending.sagaType()).isEqualTo(type);
        assertThat(pending.attempt()).isEqualTo(1);
        assertThat(pending.reason()).isEqualTo("awaiting approval of 100");
        assertThat(JacksonPayloadCodec.create().decode(pending.payload(), Movement.class).account())
                .isEqualTo(transfer.toAccount());
        assertThat(orchestrator.admin().find(id).orElseThrow().state()).isEqualTo(SagaState.RUNNING);
        assertThat(events(orchestrator, id)).as("nothing answered the credit yet")
                .doesNotContain("credit:SUCCEEDED", "credit:FAILED", "credit:LATE_REPLY_IGNORED");

        PendingCommand answered = CompletableFuture.supplyAsync(() -> approvals.complete(db.dataSource(), id, 1,
                Reply.success())).get(30, TimeUnit.SECONDS);

        assertThat(answered.commandId()).isEqualTo(pending.commandId());
        assertThat(awaitState(orchestrator, id, SagaState.COMPLETED, SagaState.COMPENSATED).state())
                .isEqualTo(SagaState.COMPLETED);
        assertThat(b.handled).hasValue(1);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L));
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "ChargeFee", 1L));
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(storedReply(b.name, id, 1, "FORWARD")).isEqualTo("SUCCESS ");
        assertThat(pendingAt(approvals, "Credit")).isEmpty();
        assertThatThrownBy(() -> approvals.complete(db.dataSource(), id, 1, Reply.success()))
                .isInstanceOfSatisfying(PendingReplies.NotPendingException.class, refused -> {
                    assertThat(refused.why()).isEqualTo(PendingReplies.NotPendingException.Why.ANSWERED);
                    assertThat(refused.getMessage()).isEqualTo("step 1 (credit) of saga " + id + " at participant "
                            + b.name + " is not pending: it was answered already (success)");
                });
        assertThatThrownBy(() -> approvals.complete(db.dataSource(), id, 0, Reply.success()))
                .isInstanceOfSatisfying(PendingReplies.NotPendingException.class, refused ->
                        assertThat(refused.why()).isEqualTo(PendingReplies.NotPendingException.Why.UNKNOWN))
                .hasMessageContaining("step 0 of saga " + id);
    }

    /**
     * Bank b defers the credit without writing anything; the approver refuses it. The refusal is the step's answer:
     * the saga compensates the debit, and the credit never took effect.
     */
    @Test
    void aDeferredCommandAnsweredWithAFailureCompensatesTheEarlierSteps() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.interceptors.put("Credit", command -> Reply.deferred("awaiting approval"));
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        PendingReplies approvals = b.participant.pendingReplies();
        await().atMost(WAIT).until(() -> pendingAt(approvals, "Credit").size() == 1);
        DatabaseTransactions.inTransaction(db.dataSource(),
                connection -> approvals.complete(connection, id, 1, Reply.failure("rejected by the approver")));

        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);
        assertThat(ended.lastError()).isEqualTo("rejected by the approver");
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(b.ledger(id)).isEmpty();
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(storedReply(b.name, id, 1, "FORWARD")).isEqualTo("FAILURE rejected by the approver");
        assertThat(events(orchestrator, id)).containsSubsequence("credit:COMMAND_SENT", "credit:FAILED",
                "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
    }

    /**
     * Bank b accepts the credit (writes it) and never answers. The step's timeout still runs at the orchestrator: the
     * saga compensates the credit, whose compensation handler runs (the acceptance wrote) and closes the pending
     * command, then the debit. An approval that comes after that is refused, naming the saga and step.
     */
    @Test
    void aDeferredCommandNeverAnsweredTimesOutIsCompensatedAndALaterAnswerIsRefused() throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.deferAfterWriting.add("Credit");
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout("credit", Duration.ofSeconds(2))
                .retry("credit", ONCE)
                .build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);

        assertThat(ended.lastError()).isEqualTo("no reply within 2000 ms");
        assertThat(events(orchestrator, id)).containsSubsequence("credit:COMMAND_SENT", "credit:TIMED_OUT",
                "credit:COMPENSATION_SENT", "credit:COMPENSATED", "debit:COMPENSATION_SENT", "debit:COMPENSATED");
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(b.balance(transfer.toAccount())).isZero();
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000);
        assertThat(storedReply(b.name, id, 1, "FORWARD")).isEqualTo("FAILURE step credit of saga " + id
                + " was compensated before it was answered here; not carried out");
        PendingReplies approvals = b.participant.pendingReplies();
        assertThat(pendingAt(approvals, null)).isEmpty();
        assertThatThrownBy(() -> approvals.complete(db.dataSource(), id, 1, Reply.success()))
                .isInstanceOfSatisfying(PendingReplies.NotPendingException.class, refused -> {
                    assertThat(refused.why()).isEqualTo(PendingReplies.NotPendingException.Why.COMPENSATED);
                    assertThat(refused.sagaId()).isEqualTo(id);
                    assertThat(refused.stepIndex()).isEqualTo(1);
                })
                .hasMessage("step 1 (credit) of saga " + id + " at participant " + b.name
                        + " is not pending: the saga compensated it before it was answered");
        assertThat(storedReply(b.name, id, 1, "FORWARD")).as("the refused answer changed nothing")
                .startsWith("FAILURE step credit");
    }

    /**
     * Bank b accepts the credit and defers it; the orchestrator, hearing nothing, sends the credit again after its
     * timeout. The retry does not run the handler again and is not answered; the pending command now refers to it, and
     * the approval answers it: the saga completes with the credit applied once (the ledger has no unique constraint
     * that could hide a second one).
     */
    @Test
    void aDeferredCommandSentAgainWhilePendingDoesNotRunTheHandlerTwiceAndTheAnswerRefersToTheRetry()
            throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.deferAfterWriting.add("Credit");
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout("credit", Duration.ofSeconds(3))
                .retry("credit", RetryPolicy.exponential(3, Duration.ofMillis(100), Duration.ofMillis(100)))
                .build();
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        PendingReplies approvals = b.participant.pendingReplies();
        PendingCommand retried = await().atMost(WAIT)
                .failFast("bank b's consumer retried or parked a command (the handler ran again and hit the stored "
                        + "reply's key?)", () -> b.participant.consumer().stats().retries() > 0)
                .until(() -> pendingStep(approvals, id, 1), found -> found.isPresent() && found.get().attempt() == 2)
                .orElseThrow();
        assertThat(b.handled).as("handler calls").hasValue(1);
        assertThat(b.participant.consumer().stats().processed()).as("commands consumed").isGreaterThanOrEqualTo(2);
        assertThat(events(orchestrator, id)).as("nothing answered the credit")
                .doesNotContain("credit:SUCCEEDED", "credit:FAILED", "credit:LATE_REPLY_IGNORED");

        PendingCommand answered = approvals.complete(db.dataSource(), id, 1, Reply.success());

        assertThat(answered.commandId()).isEqualTo(retried.commandId());
        assertThat(awaitState(orchestrator, id, SagaState.COMPLETED, SagaState.COMPENSATED).state())
                .isEqualTo(SagaState.COMPLETED);
        assertThat(b.handled).as("handler calls").hasValue(1);
        assertThat(b.ledger(id)).isEqualTo(Map.of("Credit", 1L));
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "ChargeFee", 1L));
    }

    /**
     * The credit is a step without compensation, and bank b defers it and never answers. After its timeout the saga
     * abandons the step: bank b closes the pending command with a refusal, the debit is compensated, and an approval
     * that comes after that is refused.
     */
    @Test
    void aDeferredStepWithoutCompensationThatIsAbandonedIsClosedWithARefusalAndALaterAnswerIsRefused()
            throws Exception {
        Bank a = bank("a").start();
        Bank b = bank("b");
        b.interceptors.put("Credit", command -> Reply.deferred("awaiting approval"));
        b.start();
        SagaDefinition<Transfer> definition = debitThenPivotCredit(Duration.ofSeconds(2));
        SagaOrchestrator orchestrator = orchestrator(definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100);

        UUID id = orchestrator.begin(db.dataSource(), definition, transfer);
        SagaInstance ended = awaitState(orchestrator, id, SagaState.COMPENSATED);

        assertThat(ended.lastError()).isEqualTo("step credit of saga " + id
                + " was abandoned by the saga before it was answered here; not carried out");
        assertThat(events(orchestrator, id)).containsSubsequence("credit:TIMED_OUT", "credit:ABANDON_SENT",
                "credit:SETTLED", "debit:COMPENSATED");
        assertThat(a.ledger(id)).isEqualTo(Map.of("Debit", 1L, "Refund", 1L));
        assertThatThrownBy(() -> b.participant.pendingReplies().complete(db.dataSource(), id, 1, Reply.success()))
                .isInstanceOfSatisfying(PendingReplies.NotPendingException.class, refused ->
                        assertThat(refused.why()).isEqualTo(PendingReplies.NotPendingException.Why.ABANDONED))
                .hasMessageEndingWith("is not pending: the saga abandoned it before it was answered");
    }

    private Optional<PendingCommand> pendingStep(PendingReplies pending, UUID sagaId, int step) throws SQLException {
        try (Connection connection = db.openConnection()) {
            return pending.find(connection, sagaId, step);
        }
    }

    private List<PendingCommand> pendingAt(PendingReplies pending, String commandType) throws SQLException {
        try (Connection connection = db.openConnection()) {
            return pending.list(connection, commandType, 10);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Fixture

    private String storedReply(String participant, UUID sagaId, int step, String kind) throws SQLException {
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement("SELECT outcome || ' ' || coalesce(reason, '') "
                     + "FROM saga_participant_reply WHERE participant = ? AND saga_id = ? AND step_index = ? AND kind = ?")) {
            query.setString(1, participant);
            query.setObject(2, sagaId);
            query.setInt(3, step);
            query.setString(4, kind);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? rows.getString(1) : null;
            }
        }
    }

    private SagaOrchestrator orchestrator(SagaDefinition<?>... definitions) {
        return orchestrator("orch-" + suffix, List.of(), definitions).start();
    }

    /** An orchestrator not started yet, with {@code listeners}. */
    private SagaOrchestrator orchestrator(String service, List<SagaListener> listeners,
            SagaDefinition<?>... definitions) {
        createTopics(TOPIC_PREFIX + SagaMessages.replyChannel(service));
        SagaOrchestrator.Builder builder = SagaOrchestrator.builder()
                .service(service)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .timerInterval(Duration.ofMillis(100))
                .operatorActionPollInterval(Duration.ofMillis(100));
        for (SagaDefinition<?> definition : definitions) {
            builder.definition(definition);
        }
        listeners.forEach(builder::listener);
        SagaOrchestrator orchestrator = builder.build();
        closeAfterTest.add(orchestrator);
        return orchestrator;
    }

    private Bank bank(String letter) {
        Bank bank = new Bank("bank-" + letter + "-" + suffix);
        createTopics(TOPIC_PREFIX + SagaMessages.commandChannel(bank.name));
        return bank;
    }

    private Transfer transfer(Bank from, long fromBalance, Bank to, Long toBalance, long amount) {
        String fromAccount = "A-" + suffix;
        String toAccount = "B-" + suffix;
        from.open(fromAccount, fromBalance);
        if (toBalance != null) {
            to.open(toAccount, toBalance);
        }
        return new Transfer("t-" + suffix, from.name, fromAccount, to.name, toAccount, amount, 5, null);
    }

    private void createTopics(String... names) {
        try {
            kafka.admin().createTopics(java.util.Arrays.stream(names).map(n -> new NewTopic(n, 3, (short) 1)).toList())
                    .all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException(e);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until the saga is in one of {@code expected}; fails with its history if it does not get there. */
    private SagaInstance awaitState(SagaOrchestrator orchestrator, UUID id, SagaState... expected) {
        List<SagaState> wanted = List.of(expected);
        try {
            return await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
                    .until(() -> orchestrator.admin().find(id).orElseThrow(), found -> wanted.contains(found.state()));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            SagaInstance now = orchestrator.admin().find(id).orElseThrow();
            throw new AssertionError("saga " + id + " is " + now.state() + " (" + now.lastError() + "), not " + wanted
                    + "; history " + events(orchestrator, id), e);
        }
    }

    private static List<String> events(SagaOrchestrator orchestrator, UUID id) {
        return orchestrator.admin().history(id).stream().map(e -> e.stepName() + ":" + e.event()).toList();
    }

    /** What a test makes a handler do before its business logic; null carries on. */
    @FunctionalInterface
    interface Interceptor {
        Reply intercept(SagaCommand command) throws Exception;
    }

    /** A bank over the shared {@code account} table, recording each effect as a ledger row. */
    private final class Bank implements AutoCloseable {
        final String name;
        final Map<String, Interceptor> interceptors = new ConcurrentHashMap<>();
        final List<String> refuseAfterWriting = new ArrayList<>();
        /** Command types accepted with their answer deferred, after writing their effect (a hold). */
        final List<String> deferAfterWriting = new ArrayList<>();
        /** Handler calls that got past the interceptor (committed or not). */
        final AtomicInteger handled = new AtomicInteger();
        RetryPolicy retry = RetryPolicy.defaults();
        SagaParticipant.UndecodableCommands undecodable;
        SagaParticipant participant;

        Bank(String name) {
            this.name = name;
        }

        Bank start() {
            SagaParticipant.Builder builder = SagaParticipant.builder()
                    .name(name)
                    .dataSource(db.dataSource())
                    .bootstrapServers(kafka.bootstrapServers())
                    .retry(retry);
            if (undecodable != null) {
                builder.undecodableCommands(undecodable);
            }
            for (String command : List.of("Debit", "Refund", "Credit", "ReverseCredit", "ChargeFee", "RefundFee")) {
                builder.handle(command, this::handle);
            }
            participant = builder.build().start();
            closeAfterTest.add(this);
            return this;
        }

        @Override
        public void close() {
            if (participant != null) {
                participant.close();
            }
        }

        private Reply handle(SagaCommand command, MessageContext context) throws Exception {
            Interceptor interceptor = interceptors.get(command.type());
            if (interceptor != null) {
                Reply intercepted = interceptor.intercept(command);
                if (intercepted != null) {
                    return intercepted;
                }
            }
            Movement movement = context.payload(Movement.class);
            Connection connection = context.connection();
            Long balance = balance(connection, movement.account());
            long delta = switch (command.type()) {
                case "Debit", "ChargeFee", "ReverseCredit" -> -movement.amount();
                default -> movement.amount();
            };
            if (balance == null || balance + delta < 0) {
                handled.incrementAndGet();
                return Reply.failure("insufficient funds in " + movement.account());
            }
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE account SET balance = balance + ? WHERE id = ?")) {
                update.setLong(1, delta);
                update.setString(2, movement.account());
                update.executeUpdate();
            }
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO ledger (saga_id, kind, account, amount) VALUES (?, ?, ?, ?)")) {
                insert.setObject(1, command.sagaId());
                insert.setString(2, command.type());
                insert.setString(3, movement.account());
                insert.setLong(4, movement.amount());
                insert.executeUpdate();
            }
            handled.incrementAndGet();
            if (refuseAfterWriting.contains(command.type())) {
                return Reply.failure("limit exceeded after writing");
            }
            if (deferAfterWriting.contains(command.type())) {
                return Reply.deferred("awaiting approval of " + movement.amount());
            }
            return command.type().equals("Debit") ? Reply.success(new DebitResult("ref-" + command.sagaId()))
                    : Reply.success();
        }

        void open(String account, long balance) {
            db.execute("INSERT INTO account (id, balance) VALUES ('" + account + "', " + balance + ")");
        }

        long balance(String account) throws SQLException {
            try (Connection connection = db.openConnection()) {
                Long balance = balance(connection, account);
                assertThat(balance).as("account %s", account).isNotNull();
                return balance;
            }
        }

        /** Effects recorded for a saga at this bank: ledger kind (the command type) to count. */
        Map<String, Long> ledger(UUID sagaId) throws SQLException {
            Map<String, Long> counts = new TreeMap<>();
            try (Connection connection = db.openConnection();
                 PreparedStatement query = connection.prepareStatement("SELECT kind, count(*) FROM ledger l "
                         + "JOIN account a ON a.id = l.account WHERE l.saga_id = ? AND a.id LIKE ? GROUP BY kind")) {
                query.setObject(1, sagaId);
                query.setString(2, (name.startsWith("bank-a") ? "A-" : "B-") + "%");
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        counts.put(rows.getString(1), rows.getLong(2));
                    }
                }
            }
            return counts;
        }

        private Long balance(Connection connection, String account) throws SQLException {
            try (PreparedStatement query = connection.prepareStatement(
                    "SELECT balance FROM account WHERE id = ? FOR UPDATE")) {
                query.setString(1, account);
                try (ResultSet rows = query.executeQuery()) {
                    return rows.next() ? rows.getLong(1) : null;
                }
            }
        }
    }
}
