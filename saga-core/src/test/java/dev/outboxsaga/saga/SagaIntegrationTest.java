package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.DeadLetter;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.saga.TransferSaga.Movement;
import dev.outboxsaga.saga.TransferSaga.Transfer;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestInfrastructure;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sagas end to end on PostgreSQL and Kafka: an orchestrating service and two banks, each with its own
 * database, outbox and in-process relay.
 *
 * <p>The three databases and their relays are shared by the tests of this class (starting nine relays
 * per test would cost minutes); each test has its own orchestrator service, participants, saga type
 * and accounts, named with a per-test suffix, so topics, consumer groups, inbox and reply rows never
 * meet. Step timeouts that a test does not mean to fire are long (30 s), so that a slow machine adds
 * no spurious retries; those that a test fires are 1 to 3 s.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SagaIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String TOPIC_PREFIX = SagaMessages.DEFAULT_TOPIC_PREFIX;

    private TestInfrastructure infra;
    private TestKafka kafka;
    private TestDatabase serviceDb;
    private TestDatabase bankADb;
    private TestDatabase bankBDb;
    private InProcessRelays relays;

    private String suffix;
    private String type;
    private final List<AutoCloseable> closeAfterTest = new ArrayList<>();

    @BeforeAll
    void startDatabasesAndRelays(TestDatabase db, TestKafka kafka, TestInfrastructure infra) {
        this.infra = infra;
        this.kafka = kafka;
        this.serviceDb = db;
        this.bankADb = TestDatabase.create(infra.postgres());
        this.bankBDb = TestDatabase.create(infra.postgres());
        String run = UUID.randomUUID().toString().substring(0, 8);
        relays = new InProcessRelays(kafka);
        for (TestDatabase each : List.of(serviceDb, bankADb, bankBDb)) {
            OutboxSchema.migrate(each.dataSource());
            relays.start(each, "saga-it-" + run + "-" + each.name());
        }
        for (TestDatabase bank : List.of(bankADb, bankBDb)) {
            bank.execute("CREATE TABLE account (id text PRIMARY KEY, balance bigint NOT NULL);"
                    + "CREATE TABLE ledger (seq bigserial PRIMARY KEY, saga_id uuid NOT NULL, kind text NOT NULL,"
                    + " account text NOT NULL, amount bigint NOT NULL);"
                    // No UNIQUE (saga_id, kind): it would turn a second application into a constraint
                    // violation rolled back unseen; without it the ledger counts below see "twice".
                    + "CREATE INDEX ON ledger (saga_id)");
        }
    }

    @AfterAll
    void stopRelays() throws InterruptedException {
        relays.close();
        bankADb.close();
        bankBDb.close();
    }

    @BeforeEach
    void name() {
        suffix = UUID.randomUUID().toString().substring(0, 6);
        type = "transfer-" + suffix;
    }

    @AfterEach
    void closeServices() throws Exception {
        for (int i = closeAfterTest.size() - 1; i >= 0; i--) {
            closeAfterTest.get(i).close();
        }
        closeAfterTest.clear();
    }

    // ---------------------------------------------------------------------------------------------
    // The happy path, and business failures at each step

    @Test
    void happyPathMovesTheMoneyAndRecordsTheWholeHistory() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb).start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);

        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        SagaInstance done = awaitEnd(orchestrator, id, SagaState.COMPLETED);

        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(a.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "ChargeFee", 1L));
        assertThat(b.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Credit", 1L));

        List<SagaEvent> history = orchestrator.admin().history(id);
        assertThat(history).extracting(e -> e.stepName() + ":" + e.event()).containsExactly(
                "debit:STARTED", "debit:COMMAND_SENT", "debit:SUCCEEDED",
                "credit:COMMAND_SENT", "credit:SUCCEEDED",
                "fee:COMMAND_SENT", "fee:SUCCEEDED", "fee:COMPLETED");
        assertThat(history).extracting(SagaEvent::seq).isSorted();
        assertThat(history).allSatisfy(event -> assertThat(event.sagaId()).isEqualTo(id));

        assertThat(done.version()).isEqualTo(2);
        assertThat(done.type()).isEqualTo(type);
        assertThat(done.stepName()).isEqualTo("fee");
        assertThat(done.endedAt()).isNotNull();
        assertThat(done.deadline()).isNull();
        assertThat(JacksonPayloadCodec.create().decode(done.data(), Transfer.class).debitRef()).as("set by onSuccess from the Debit reply")
                .isEqualTo(a.name + "-ref-" + id);

        // What the participants received: the saga's headers, read back as SagaCommand.
        assertThat(a.received).extracting(SagaCommand::type).containsExactly("Debit", "ChargeFee");
        SagaCommand debit = a.received.get(0);
        assertThat(debit.sagaId()).isEqualTo(id);
        assertThat(debit.sagaType()).isEqualTo(type);
        assertThat(debit.stepIndex()).isZero();
        assertThat(debit.stepName()).isEqualTo("debit");
        assertThat(debit.compensation()).isFalse();
        assertThat(debit.attempt()).isEqualTo(1);
        assertThat(debit.replyTo()).isEqualTo(SagaMessages.replyChannel("orch-" + suffix));
        assertThat(b.received).singleElement().satisfies(credit -> assertThat(
                JacksonPayloadCodec.create().decode(credit.payload(), Movement.class))
                .isEqualTo(new Movement(transfer.toAccount(), 100, a.name + "-ref-" + id)));

        assertThat(orchestrator.replyStats().processed()).isEqualTo(3);
        for (Bank bank : List.of(a, b)) {
            assertThat(bank.participant.consumer().stats().retries()).as("retries at %s", bank.name).isZero();
            assertThat(bank.participant.consumer().deadLetters().countParked()).as("parked at %s", bank.name).isZero();
        }
        assertThat(orchestrator.admin().countByState().get(SagaState.COMPLETED)).isPositive();
        assertThat(orchestrator.admin().list(SagaState.COMPLETED, type, null, 10)).extracting(SagaInstance::id)
                .containsExactly(id);
        assertThat(orchestrator.admin().list(SagaState.COMPLETED, type, Duration.ofHours(1), 10)).isEmpty();
        assertThat(orchestrator.admin().stuck(Duration.ZERO, 1000)).extracting(SagaInstance::id).doesNotContain(id);
    }

    @ParameterizedTest(name = "failure at step {0}")
    @ValueSource(ints = {0, 1, 2})
    void businessFailureAtAStepCompensatesThePreviousStepsInReverseOrder(int failing) throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb).start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, definition);
        // step 0 fails: not enough money; step 1: no such account at bank b; step 2: nothing left for the fee
        long balance = failing == 0 ? 50 : 100;
        Transfer transfer = transfer(a, balance, b, failing == 1 ? null : 7L, 100, 5);

        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        SagaInstance ended = awaitEnd(orchestrator, id, failing == 0 ? SagaState.FAILED : SagaState.COMPENSATED);

        assertThat(a.balance(transfer.fromAccount())).isEqualTo(balance);
        if (failing != 1) {
            assertThat(b.balance(transfer.toAccount())).isEqualTo(7);
        }
        assertThat(ended.lastError()).isEqualTo(switch (failing) {
            case 0 -> "insufficient funds in " + transfer.fromAccount();
            case 1 -> "unknown account " + transfer.toAccount();
            default -> "insufficient funds in " + transfer.fromAccount();
        });
        List<String> history = events(orchestrator, id);
        assertThat(history).contains(TransferSaga.STEPS[failing] + ":FAILED");
        List<String> compensated = history.stream().filter(e -> e.endsWith(":COMPENSATED")).toList();
        List<String> expected = new ArrayList<>();
        for (int step = failing - 1; step >= 0; step--) {
            expected.add(TransferSaga.STEPS[step] + ":COMPENSATED");
        }
        assertThat(compensated).as("compensated latest first").containsExactlyElementsOf(expected);
        assertThat(history).doesNotContain(TransferSaga.STEPS[failing] + ":COMPENSATION_SENT");

        Map<String, Long> ledgerA = a.ledger(id);
        Map<String, Long> ledgerB = b.ledger(id);
        switch (failing) {
            case 0 -> {
                assertThat(ledgerA).isEmpty();
                assertThat(ledgerB).isEmpty();
            }
            case 1 -> {
                assertThat(ledgerA).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "Refund", 1L));
                assertThat(ledgerB).isEmpty();
            }
            default -> {
                assertThat(ledgerA).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "Refund", 1L));
                assertThat(ledgerB).containsExactlyInAnyOrderEntriesOf(Map.of("Credit", 1L, "ReverseCredit", 1L));
                // the credit was undone before the debit
                assertThat(b.received).extracting(SagaCommand::type).containsExactly("Credit", "ReverseCredit");
                assertThat(a.received).extracting(SagaCommand::type).containsExactly("Debit", "ChargeFee", "Refund");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Timeouts, retries, late replies

    @Test
    void aParticipantThatNeverRepliesTimesOutAndTheSagaCompensatesIncludingTheTimedOutStep() throws Exception {
        TimedOut run = creditThatNeverReplies();

        assertThat(run.a.balance(run.transfer.fromAccount())).isEqualTo(1000);
        assertThat(run.b.balance(run.transfer.toAccount())).isZero();
        assertThat(events(run.orchestrator, run.id)).containsSubsequence(
                "credit:COMMAND_SENT", "credit:TIMED_OUT", "credit:COMMAND_SENT", "credit:TIMED_OUT",
                "credit:COMPENSATION_SENT", "credit:COMPENSATED",
                "debit:COMPENSATION_SENT", "debit:COMPENSATED", "debit:ENDED_COMPENSATED");
        // Both credit attempts crashed at bank b and were parked there; the reversal found nothing to undo.
        List<DeadLetter> parked = run.b.participant.consumer().deadLetters().parked(10);
        assertThat(parked).hasSize(2).allSatisfy(letter ->
                assertThat(letter.errorMessage()).contains("core banking down"));
        assertThat(run.b.effects).doesNotContainKey("ReverseCredit");
        assertThat(run.b.ledger(run.id)).isEmpty();
    }

    /**
     * After the credit step was given up and compensated ("nothing to compensate"), an operator fixes
     * the participant and replays its parked Credit commands, as DeadLetterQueue invites. The credit
     * must not happen now: its saga was compensated and will never reverse it.
     */
    @Test
    void replayingAParkedCommandAfterItsStepWasCompensatedHasNoEffect() throws Exception {
        TimedOut run = creditThatNeverReplies();
        run.b.interceptors.remove("Credit");

        for (DeadLetter letter : run.b.participant.consumer().deadLetters().parked(10)) {
            run.b.participant.consumer().deadLetters().replay(letter.id());
        }

        assertThat(run.orchestrator.admin().find(run.id)).get().extracting(SagaInstance::state)
                .isEqualTo(SagaState.COMPENSATED);
        assertThat(run.b.balance(run.transfer.toAccount())).as("money credited for a compensated saga").isZero();
        assertThat(run.b.ledger(run.id)).isEmpty();
    }

    private record TimedOut(Bank a, Bank b, SagaOrchestrator orchestrator, Transfer transfer, UUID id) {
    }

    private TimedOut creditThatNeverReplies() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb);
        b.retry = RetryPolicy.exponential(2, Duration.ofMillis(20), Duration.ofMillis(20));
        b.interceptors.put("Credit", command -> {
            throw new IllegalStateException("core banking down");
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout("credit", Duration.ofSeconds(3))
                .retry("credit", RetryPolicy.exponential(2, Duration.ofMillis(100), Duration.ofMillis(100)))
                .build();
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);

        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        awaitEnd(orchestrator, id, SagaState.COMPENSATED);
        return new TimedOut(a, b, orchestrator, transfer, id);
    }

    @Test
    void retryableFailuresAreRetriedAndTheEffectHappensOnce() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb);
        AtomicInteger calls = new AtomicInteger();
        b.interceptors.put("Credit", command ->
                calls.incrementAndGet() <= 2 ? Reply.retryableFailure("ledger busy " + calls.get()) : null);
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .retry("credit", RetryPolicy.exponential(4, Duration.ofMillis(100), Duration.ofMillis(200)))
                .build();
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);

        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        awaitEnd(orchestrator, id, SagaState.COMPLETED);

        assertThat(calls).hasValue(3);
        assertThat(b.effects.get("Credit")).hasValue(1);
        assertThat(b.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Credit", 1L));
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(b.received).extracting(SagaCommand::attempt).containsExactly(1, 2, 3);
        assertThat(b.received).extracting(SagaCommand::id).doesNotHaveDuplicates();
        assertThat(events(orchestrator, id)).containsSubsequence(
                "credit:COMMAND_SENT", "credit:FAILED", "credit:RETRY_SCHEDULED",
                "credit:COMMAND_SENT", "credit:FAILED", "credit:RETRY_SCHEDULED",
                "credit:COMMAND_SENT", "credit:SUCCEEDED", "fee:COMMAND_SENT");
        assertThat(orchestrator.admin().history(id)).filteredOn(e -> e.event().equals("FAILED"))
                .extracting(SagaEvent::detail).containsExactly("retryable: ledger busy 1", "retryable: ledger busy 2");
    }

    /**
     * Bank b takes longer than the credit step's timeout; the orchestrator sends the credit again. The
     * first reply arrives late and is ignored; the retry finds the stored reply, so the credit happens
     * once and the saga advances once.
     */
    @Test
    void aLateReplyAfterATimeoutDoesNotAdvanceTheSagaTwice() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean first = new AtomicBoolean(true);
        b.interceptors.put("Credit", command -> {
            if (first.getAndSet(false)) {
                release.await(60, TimeUnit.SECONDS);
            }
            return null;
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout("credit", Duration.ofSeconds(1))
                .retry("credit", RetryPolicy.exponential(10, Duration.ofMillis(100), Duration.ofMillis(100)))
                .build();
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);

        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        await().atMost(WAIT).until(() -> events(orchestrator, id).contains("credit:TIMED_OUT"));
        release.countDown();
        awaitEnd(orchestrator, id, SagaState.COMPLETED);

        List<String> history = events(orchestrator, id);
        assertThat(history).contains("credit:LATE_REPLY_IGNORED");
        assertThat(history).filteredOn("credit:SUCCEEDED"::equals).hasSize(1);
        assertThat(history).filteredOn("fee:COMMAND_SENT"::equals).hasSize(1);
        assertThat(history).filteredOn("credit:COMMAND_SENT"::equals).as("credit sent again after the timeout")
                .hasSizeGreaterThan(1);
        // the retries found the stored reply: the handler ran for the first command only
        assertThat(b.received).hasSize(1);
        assertThat(b.effects.get("Credit")).hasValue(1);
        assertThat(b.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Credit", 1L));
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(a.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "ChargeFee", 1L));
    }

    // ---------------------------------------------------------------------------------------------
    // Parked compensations and their repair

    enum FailureStyle { RETRYABLE, BUSINESS, THROWS }

    /**
     * The fee fails, so the credit is reversed; the reversal fails at bank b until the handler is
     * fixed. The saga parks, an operator sees it, fixes the handler and retries the compensation.
     */
    @ParameterizedTest(name = "compensation fails: {0}")
    @EnumSource(FailureStyle.class)
    void aFailingCompensationIsParkedAndAnOperatorRetriesItAfterTheFix(FailureStyle style) throws Exception {
        Parked run = parkedReversal(style);

        SagaInstance parked = run.orchestrator.admin().find(run.id).orElseThrow();
        assertThat(parked.stepName()).isEqualTo("credit");
        assertThat(parked.lastError()).startsWith(style == FailureStyle.THROWS
                ? "compensation timed out after 2 attempt(s)" : "compensation failed after 2 attempt(s): B frozen");
        assertThat(parked.endedAt()).isNull();
        assertThat(run.orchestrator.admin().list(SagaState.PARKED, type, null, 10)).extracting(SagaInstance::id)
                .containsExactly(run.id);
        assertThat(run.orchestrator.admin().stuck(Duration.ZERO, 1000)).extracting(SagaInstance::id).contains(run.id);
        assertThat(run.orchestrator.admin().countByState().get(SagaState.PARKED)).isPositive();

        run.b.interceptors.remove("ReverseCredit");
        run.orchestrator.admin().retryCompensation(run.id);
        awaitEnd(run.orchestrator, run.id, SagaState.COMPENSATED);

        assertThat(run.a.balance(run.transfer.fromAccount())).isEqualTo(100);
        assertThat(run.b.balance(run.transfer.toAccount())).isZero();
        assertThat(run.b.ledger(run.id)).containsExactlyInAnyOrderEntriesOf(Map.of("Credit", 1L, "ReverseCredit", 1L));
        assertThat(run.a.ledger(run.id)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(events(run.orchestrator, run.id)).containsSubsequence("credit:PARKED", "credit:REPAIR_RETRY",
                "credit:COMPENSATION_SENT", "credit:COMPENSATED", "debit:COMPENSATION_SENT", "debit:COMPENSATED",
                "debit:ENDED_COMPENSATED");
        assertThat(run.orchestrator.admin().list(SagaState.PARKED, type, null, 10)).isEmpty();
    }

    @Test
    void anOperatorMarksAParkedCompensationDoneByHandAndTheSagaCompensatesTheRest() throws Exception {
        Parked run = parkedReversal(FailureStyle.RETRYABLE);
        assertThatThrownBy(() -> run.orchestrator.admin().retryCompensation(UUID.randomUUID()))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("no saga");

        // The operator reverses the credit in bank b's database, then tells the saga.
        try (Connection connection = bankBDb.openConnection()) {
            Bank.move(connection, run.transfer.toAccount(), -run.transfer.amount());
        }
        run.orchestrator.admin().markCompensated(run.id, "reversed by hand, ticket 42");
        SagaInstance ended = awaitEnd(run.orchestrator, run.id, SagaState.COMPENSATED);

        assertThat(ended.endedAt()).isNotNull();
        assertThat(run.a.balance(run.transfer.fromAccount())).isEqualTo(100);
        assertThat(run.b.balance(run.transfer.toAccount())).isZero();
        assertThat(run.a.ledger(run.id)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "Refund", 1L));
        assertThat(run.orchestrator.admin().history(run.id)).filteredOn(e -> e.event().equals("REPAIRED"))
                .singleElement().satisfies(e -> {
                    assertThat(e.stepName()).isEqualTo("credit");
                    assertThat(e.detail()).isEqualTo("compensated by hand: reversed by hand, ticket 42");
                });
        assertThatThrownBy(() -> run.orchestrator.admin().markCompensated(run.id, "again"))
                .isInstanceOf(IllegalStateException.class).hasMessageEndingWith("is COMPENSATED, not PARKED");
    }

    private record Parked(Bank a, Bank b, SagaOrchestrator orchestrator, Transfer transfer, UUID id) {
    }

    private Parked parkedReversal(FailureStyle style) throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb);
        b.retry = RetryPolicy.exponential(2, Duration.ofMillis(20), Duration.ofMillis(20));
        b.interceptors.put("ReverseCredit", command -> switch (style) {
            case RETRYABLE -> Reply.retryableFailure("B frozen");
            case BUSINESS -> Reply.failure("B frozen");
            case THROWS -> throw new IllegalStateException("B frozen");
        });
        b.start();
        SagaDefinition<Transfer> definition = TransferSaga.builder(type)
                .timeout("credit", Duration.ofSeconds(style == FailureStyle.THROWS ? 2 : 30))
                .retry("credit", RetryPolicy.exponential(2, Duration.ofMillis(100), Duration.ofMillis(100)))
                .build();
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, definition);
        Transfer transfer = transfer(a, 100, b, 0L, 100, 5);

        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        awaitEnd(orchestrator, id, SagaState.PARKED);
        assertThat(a.balance(transfer.fromAccount())).isZero();
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        return new Parked(a, b, orchestrator, transfer, id);
    }

    // ---------------------------------------------------------------------------------------------
    // Duplicates

    /**
     * Every command and reply of a finished saga is delivered a second time, with the same ids: the
     * inboxes skip them. Then the debit command is sent again under a new id, as the orchestrator does
     * when it retries: bank a answers from its stored reply, without a second debit, and the
     * orchestrator ignores the answer.
     */
    @Test
    void everyMessageDeliveredTwiceTakesEffectOnce() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb).start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        String service = "orch-" + suffix;
        SagaOrchestrator orchestrator = orchestrator(service, definition);
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);
        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        awaitEnd(orchestrator, id, SagaState.COMPLETED);
        List<String> historyBefore = events(orchestrator, id);

        String commandsA = TOPIC_PREFIX + SagaMessages.commandChannel(a.name);
        String commandsB = TOPIC_PREFIX + SagaMessages.commandChannel(b.name);
        String replies = TOPIC_PREFIX + SagaMessages.replyChannel(service);
        List<ConsumerRecord<byte[], byte[]>> sent = readTopics(Map.of(commandsA, 2, commandsB, 1, replies, 3));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerConfig())) {
            for (ConsumerRecord<byte[], byte[]> record : sent) {
                producer.send(copy(record, Map.of())).get();
            }
        }
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(a.participant.consumer().stats().duplicates()).isEqualTo(2);
            assertThat(b.participant.consumer().stats().duplicates()).isEqualTo(1);
            assertThat(orchestrator.replyStats().duplicates()).isEqualTo(3);
        });
        assertThat(events(orchestrator, id)).isEqualTo(historyBefore);

        ConsumerRecord<byte[], byte[]> debit = sent.stream()
                .filter(r -> r.topic().equals(commandsA) && "Debit".equals(header(r, "eventType")))
                .findFirst().orElseThrow();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerConfig())) {
            producer.send(copy(debit, Map.of("id", UUID.randomUUID().toString()))).get();
        }
        await().atMost(WAIT).until(() -> events(orchestrator, id).contains("fee:LATE_REPLY_IGNORED"));

        // answered from the stored reply: the handler did not run again
        assertThat(a.received).extracting(SagaCommand::type).containsExactly("Debit", "ChargeFee");
        assertThat(a.participant.consumer().stats().processed()).isEqualTo(3);
        assertThat(a.effects.get("Debit")).hasValue(1);
        assertThat(a.effects.get("ChargeFee")).hasValue(1);
        assertThat(b.effects.get("Credit")).hasValue(1);
        assertThat(a.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "ChargeFee", 1L));
        assertThat(b.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Credit", 1L));
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
        assertThat(orchestrator.admin().find(id)).get().extracting(SagaInstance::state).isEqualTo(SagaState.COMPLETED);
        assertThat(a.participant.consumer().deadLetters().countParked()).isZero();
        assertThat(b.participant.consumer().deadLetters().countParked()).isZero();
        assertThat(orchestrator.replyConsumer().deadLetters().countParked()).isZero();
    }

    // ---------------------------------------------------------------------------------------------
    // Bad input

    @Test
    void messagesThatCannotBeProcessedAreParkedWithTheirReasonAndDoNotBlockLaterOnes() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb).start();
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        String service = "orch-" + suffix;
        SagaOrchestrator orchestrator = orchestrator(service, definition);
        String replies = TOPIC_PREFIX + SagaMessages.replyChannel(service);
        String commandsA = TOPIC_PREFIX + SagaMessages.commandChannel(a.name);

        // One bad record in every partition, ahead of the saga's messages whichever partition they use.
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerConfig())) {
            for (int partition = 0; partition < 3; partition++) {
                String strangerSaga = UUID.randomUUID().toString();
                producer.send(record(replies, partition, strangerSaga, "{}", Map.of(
                        "id", UUID.randomUUID().toString(), "eventType", SagaMessages.REPLY_TYPE,
                        "correlationId", strangerSaga, SagaMessages.IN_REPLY_TO, UUID.randomUUID().toString(),
                        SagaMessages.OUTCOME, "SUCCESS", SagaMessages.RETRYABLE, "false"))).get();
                String otherSaga = UUID.randomUUID().toString();
                producer.send(record(commandsA, partition, otherSaga, "{\"account\": \"A1\", \"amount\": 1}", Map.of(
                        "id", UUID.randomUUID().toString(), "eventType", "Launder", "correlationId", otherSaga,
                        SagaMessages.SAGA_TYPE, type, SagaMessages.STEP, "0", SagaMessages.STEP_NAME, "launder",
                        SagaMessages.COMMAND_KIND, "FORWARD", SagaMessages.ATTEMPT, "1",
                        SagaMessages.REPLY_TO, SagaMessages.replyChannel(service)))).get();
            }
        }
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);
        UUID id = orchestrator.begin(serviceDb.dataSource(), definition, transfer);
        awaitEnd(orchestrator, id, SagaState.COMPLETED);

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(orchestrator.replyConsumer().deadLetters().parked(10)).hasSize(3).allSatisfy(letter -> {
                assertThat(letter.errorClass()).isEqualTo(SagaException.class.getName());
                assertThat(letter.errorMessage()).contains("which " + service + " does not know");
                assertThat(letter.attempts()).as("not retried").isEqualTo(1);
            });
            assertThat(a.participant.consumer().deadLetters().parked(10)).hasSize(3).allSatisfy(letter -> {
                assertThat(letter.errorClass()).isEqualTo(SagaException.class.getName());
                assertThat(letter.errorMessage()).contains("participant " + a.name
                        + " has no handler for command type 'Launder'");
                assertThat(letter.attempts()).isEqualTo(1);
            });
        });
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(895);
        assertThat(b.balance(transfer.toAccount())).isEqualTo(100);
    }

    @Test
    void beginRefusesADefinitionTheOrchestratorDoesNotKnow() {
        SagaDefinition<Transfer> registered = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, serviceDb.dataSource(), false, registered);
        Transfer transfer = new Transfer("t", "bank-a", "A", "bank-b", "B", 1, 0, null);

        assertThatThrownBy(() -> orchestrator.begin(serviceDb.dataSource(), TransferSaga.definition("other-" + suffix),
                transfer))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("saga other-" + suffix + " v2 [debit, credit, fee] is not registered with orchestrator orch-"
                        + suffix);
        assertThatThrownBy(() -> orchestrator.begin(serviceDb.dataSource(), TransferSaga.builder(type).version(1).build(),
                transfer))
                .as("another version of a registered type").isInstanceOf(IllegalArgumentException.class);
        assertThat(orchestrator.admin().list(null, type, null, 10)).isEmpty();
        assertThat(orchestrator.admin().list(null, "other-" + suffix, null, 10)).isEmpty();
        assertThatThrownBy(() -> orchestrator.admin().list(null, null, null, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * begin() runs in the caller's transaction and must never commit. Given a connection in
     * auto-commit mode, the outbox refuses the command; the instance must not be left behind either.
     */
    @Test
    void beginOnAnAutoCommitConnectionLeavesNoSagaBehind() throws Exception {
        SagaDefinition<Transfer> definition = TransferSaga.definition(type);
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, serviceDb.dataSource(), false, definition);
        Transfer transfer = new Transfer("t", "bank-a", "A", "bank-b", "B", 1, 0, null);

        try (Connection connection = serviceDb.dataSource().getConnection()) {
            assertThat(connection.getAutoCommit()).isTrue();
            assertThatThrownBy(() -> orchestrator.begin(connection, definition, transfer))
                    .isInstanceOf(IllegalStateException.class);
        }
        assertThat(orchestrator.admin().list(null, type, null, 10)).as("saga instances left behind").isEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // Versions

    /**
     * Version 1 (debit, credit) has a saga in flight when the service is redeployed with version 2
     * (debit, credit, fee) registered next to it: the old saga finishes on version 1, new ones run
     * on version 2.
     */
    @Test
    void aSagaStartedOnVersionOneFinishesOnVersionOneAfterVersionTwoIsDeployed() throws Exception {
        Bank a = bank("a", bankADb).start();
        Bank b = bank("b", bankBDb);
        SagaDefinition<Transfer> v1 = TransferSaga.builder(type).version(1).build();
        SagaDefinition<Transfer> v2 = TransferSaga.builder(type).version(2).build();
        String service = "orch-" + suffix;
        Transfer transfer = transfer(a, 1000, b, 0L, 100, 5);

        SagaOrchestrator before = orchestrator(service, v1);
        UUID old = before.begin(serviceDb.dataSource(), v1, transfer);
        // bank b is not running yet: the old saga waits at its credit step across the redeploy
        await().atMost(WAIT).until(() -> events(before, old).contains("credit:COMMAND_SENT"));
        before.close();

        SagaOrchestrator after = orchestrator(service, v1, v2);
        UUID first = after.begin(serviceDb.dataSource(), v2, transfer);
        UUID second = after.begin(serviceDb.dataSource(), v2, transfer);
        b.start();

        SagaInstance oldEnded = awaitEnd(after, old, SagaState.COMPLETED);
        awaitEnd(after, first, SagaState.COMPLETED);
        awaitEnd(after, second, SagaState.COMPLETED);

        assertThat(oldEnded.version()).isEqualTo(1);
        assertThat(oldEnded.stepName()).isEqualTo("credit");
        assertThat(events(after, old)).containsExactly("debit:STARTED", "debit:COMMAND_SENT", "debit:SUCCEEDED",
                "credit:COMMAND_SENT", "credit:SUCCEEDED", "credit:COMPLETED");
        assertThat(a.ledger(old)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L));
        for (UUID id : List.of(first, second)) {
            assertThat(after.admin().find(id)).get().extracting(SagaInstance::version).isEqualTo(2);
            assertThat(events(after, id)).contains("fee:SUCCEEDED");
            assertThat(a.ledger(id)).containsExactlyInAnyOrderEntriesOf(Map.of("Debit", 1L, "ChargeFee", 1L));
        }
        assertThat(a.balance(transfer.fromAccount())).isEqualTo(1000 - 100 - 2 * 105);
        assertThat(b.balance(transfer.toAccount())).isEqualTo(300);
    }

    /**
     * A rolling deploy: a process that knows only version 1 still runs while the new one starts sagas
     * on version 2 and goes down for a moment. The old process's timer must leave the version 2 saga
     * to a process that knows it, not park it for an operator.
     */
    @Test
    void aProcessThatDoesNotKnowAVersionLeavesItsSagasAlone() {
        TestDatabase db = extraDatabase();
        String service = "orch-" + suffix;
        RetryPolicy once = RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO);
        SagaDefinition<Transfer> v1 = TransferSaga.builder(type).version(1).timeout(Duration.ofSeconds(1))
                .retry(once).build();
        SagaDefinition<Transfer> v2 = TransferSaga.builder(type).version(2).timeout(Duration.ofSeconds(1))
                .retry(once).build();
        Transfer transfer = new Transfer("t", "nobody-a-" + suffix, "A", "nobody-b-" + suffix, "B", 1, 0, null);

        SagaOrchestrator upgraded = orchestrator(service, db.dataSource(), false, v1, v2);
        UUID onV2 = upgraded.begin(db.dataSource(), v2, transfer);
        SagaOrchestrator old = orchestrator(service, db.dataSource(), true, v1);
        UUID onV1 = old.begin(db.dataSource(), v1, transfer);

        // The v1 saga's debit times out after the v2 saga's: once it has, the old timer has seen both.
        awaitEnd(old, onV1, SagaState.COMPENSATING, SagaState.PARKED);
        assertThat(old.admin().find(onV2)).get().satisfies(instance -> {
            assertThat(instance.state()).as("v2 saga handled by a process without v2: %s", instance.lastError())
                    .isEqualTo(SagaState.RUNNING);
            assertThat(instance.attempt()).as("attempt of the v2 saga's first step").isEqualTo(1);
        });
        assertThat(events(old, onV2)).as("history of the v2 saga").containsExactly("debit:STARTED", "debit:COMMAND_SENT");
    }

    /**
     * A saga whose compensation payload cannot be built (a bug in the definition) must not stop the
     * timer for every other saga of the service.
     */
    @Test
    void aSagaThatFailsInTheTimerDoesNotHoldUpTheOthers() {
        TestDatabase db = extraDatabase();
        RetryPolicy once = RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO);
        SagaDefinition<Transfer> poisoned = SagaDefinition.builder("poisoned-" + suffix, 1, Transfer.class)
                .step("hold").invoke("nobody-" + suffix, "Hold", t -> t)
                .compensateWith("Release", t -> {
                    throw new IllegalStateException("bug in the Release payload");
                })
                .timeout(Duration.ofSeconds(1)).retry(once)
                .build();
        SagaDefinition<Transfer> plain = SagaDefinition.builder("plain-" + suffix, 1, Transfer.class)
                .step("ping").invoke("nobody-" + suffix, "Ping", t -> t)
                .timeout(Duration.ofSeconds(1)).retry(once)
                .build();
        SagaOrchestrator orchestrator = orchestrator("orch-" + suffix, db.dataSource(), true, poisoned, plain);
        Transfer transfer = new Transfer("t", "nobody", "A", "nobody", "B", 1, 0, null);

        UUID poison = orchestrator.begin(db.dataSource(), poisoned, transfer);
        UUID healthy = orchestrator.begin(db.dataSource(), plain, transfer);

        // ping has no compensation: its timeout abandons it (and waits for the participant's answer).
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(events(orchestrator, healthy))
                .as("the healthy saga's timeout was handled").contains("ping:TIMED_OUT", "ping:ABANDON_SENT"));
        assertThat(orchestrator.admin().find(poison)).get().extracting(SagaInstance::state)
                .isEqualTo(SagaState.PARKED);
    }

    // ---------------------------------------------------------------------------------------------
    // Fixture

    /** A migrated database of the test's own, closed after the services made after it. */
    private TestDatabase extraDatabase() {
        TestDatabase db = TestDatabase.create(infra.postgres());
        closeAfterTest.add(db);
        OutboxSchema.migrate(db.dataSource());
        return db;
    }

    private Bank bank(String letter, TestDatabase db) {
        Bank bank = new Bank("bank-" + letter + "-" + suffix, db);
        createTopics(TOPIC_PREFIX + SagaMessages.commandChannel(bank.name));
        return bank;
    }

    private SagaOrchestrator orchestrator(String service, SagaDefinition<?>... definitions) {
        return orchestrator(service, serviceDb.dataSource(), true, definitions);
    }

    private SagaOrchestrator orchestrator(String service, DataSource dataSource, boolean start,
            SagaDefinition<?>... definitions) {
        createTopics(TOPIC_PREFIX + SagaMessages.replyChannel(service));
        SagaOrchestrator.Builder builder = SagaOrchestrator.builder()
                .service(service)
                .dataSource(dataSource)
                .bootstrapServers(kafka.bootstrapServers())
                .timerInterval(Duration.ofMillis(100));
        for (SagaDefinition<?> definition : definitions) {
            builder.definition(definition);
        }
        SagaOrchestrator orchestrator = builder.build();
        closeAfterTest.add(orchestrator);
        return start ? orchestrator.start() : orchestrator;
    }

    private Transfer transfer(Bank from, long fromBalance, Bank to, Long toBalance, long amount, long fee) {
        String fromAccount = "A-" + suffix;
        String toAccount = "B-" + suffix;
        from.open(fromAccount, fromBalance);
        if (toBalance != null) {
            to.open(toAccount, toBalance);
        }
        return new Transfer("t-" + suffix, from.name, fromAccount, to.name, toAccount, amount, fee, null);
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

    /** Waits until the saga has ended or parked, then expects one of {@code expected}. */
    private SagaInstance awaitEnd(SagaOrchestrator orchestrator, UUID id, SagaState... expected) {
        Set<SagaState> wanted = Set.of(expected);
        SagaInstance instance = await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
                .until(() -> orchestrator.admin().find(id).orElseThrow(),
                        found -> wanted.contains(found.state()) || found.state().terminal()
                                || found.state() == SagaState.PARKED);
        assertThat(instance.state()).as(() -> "saga " + id + " (" + instance.lastError() + "), history "
                + events(orchestrator, id)).isIn(wanted);
        return instance;
    }

    private static List<String> events(SagaOrchestrator orchestrator, UUID id) {
        return orchestrator.admin().history(id).stream().map(e -> e.stepName() + ":" + e.event()).toList();
    }

    /** Reads {@code counts} records from each topic, from the beginning. */
    private List<ConsumerRecord<byte[], byte[]>> readTopics(Map<String, Integer> counts) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.consumerConfig("copier-" + suffix))) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : counts.keySet()) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await().atMost(WAIT).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                Map<String, Long> seen = records.stream()
                        .collect(Collectors.groupingBy(ConsumerRecord::topic, Collectors.counting()));
                return counts.entrySet().stream()
                        .allMatch(e -> seen.getOrDefault(e.getKey(), 0L) >= e.getValue());
            });
        }
        return records;
    }

    private static ProducerRecord<byte[], byte[]> copy(ConsumerRecord<byte[], byte[]> record,
            Map<String, String> replacedHeaders) {
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.headers()) {
            if (!replacedHeaders.containsKey(header.key())) {
                headers.add(header.key(), header.value());
            }
        }
        replacedHeaders.forEach((key, value) -> headers.add(key, value.getBytes(StandardCharsets.UTF_8)));
        return new ProducerRecord<>(record.topic(), record.partition(), record.key(), record.value(), headers);
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, int partition, String key, String value,
            Map<String, String> headers) {
        RecordHeaders kafkaHeaders = new RecordHeaders();
        headers.forEach((name, text) -> kafkaHeaders.add(name, text.getBytes(StandardCharsets.UTF_8)));
        return new ProducerRecord<>(topic, partition, key.getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8), kafkaHeaders);
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    /** What a test makes a handler do before (or instead of) its business logic; null carries on. */
    @FunctionalInterface
    interface Interceptor {
        Reply intercept(SagaCommand command) throws Exception;
    }

    /**
     * A bank: a participant over an {@code account} table, recording each effect in a {@code ledger}
     * that accepts a second one, so that the tests' counts per (saga, kind) see a double application.
     */
    private final class Bank implements AutoCloseable {
        final String name;
        final TestDatabase db;
        final List<SagaCommand> received = new CopyOnWriteArrayList<>();
        final Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
        final Map<String, Interceptor> interceptors = new ConcurrentHashMap<>();
        RetryPolicy retry = RetryPolicy.defaults();
        SagaParticipant participant;

        Bank(String name, TestDatabase db) {
            this.name = name;
            this.db = db;
        }

        Bank start() {
            SagaParticipant.Builder builder = SagaParticipant.builder()
                    .name(name)
                    .dataSource(db.dataSource())
                    .bootstrapServers(kafka.bootstrapServers())
                    .retry(retry);
            for (String type : List.of("Debit", "Refund", "Credit", "ReverseCredit", "ChargeFee", "RefundFee")) {
                builder.handle(type, this::handle);
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
            received.add(command);
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
            Reply reply;
            switch (command.type()) {
                case "Debit", "ChargeFee" -> {
                    if (balance == null || balance < movement.amount()) {
                        return Reply.failure("insufficient funds in " + movement.account());
                    }
                    move(connection, movement.account(), -movement.amount());
                    reply = command.type().equals("Debit")
                            ? Reply.success("{\"ref\": \"" + name + "-ref-" + command.sagaId() + "\"}")
                            : Reply.success();
                }
                case "Credit" -> {
                    if (balance == null) {
                        return Reply.failure("unknown account " + movement.account());
                    }
                    move(connection, movement.account(), movement.amount());
                    reply = Reply.success();
                }
                case "Refund", "RefundFee" -> {
                    move(connection, movement.account(), movement.amount());
                    reply = Reply.success();
                }
                case "ReverseCredit" -> {
                    move(connection, movement.account(), -movement.amount());
                    reply = Reply.success();
                }
                default -> throw new IllegalStateException("unexpected " + command.type());
            }
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO ledger (saga_id, kind, account, amount) VALUES (?, ?, ?, ?)")) {
                insert.setObject(1, command.sagaId());
                insert.setString(2, command.type());
                insert.setString(3, movement.account());
                insert.setLong(4, movement.amount());
                insert.executeUpdate();
            }
            effects.computeIfAbsent(command.type(), t -> new AtomicInteger()).incrementAndGet();
            return reply;
        }

        void open(String account, long balance) {
            db.execute("INSERT INTO account (id, balance) VALUES ('" + account + "', " + balance + ")");
        }

        long balance(String account) throws SQLException {
            try (Connection connection = db.openConnection()) {
                Long balance = balance(connection, account);
                assertThat(balance).as("account %s at %s", account, name).isNotNull();
                return balance;
            }
        }

        /** Effects recorded for a saga: ledger kind (the command type) to count. */
        Map<String, Long> ledger(UUID sagaId) throws SQLException {
            Map<String, Long> counts = new TreeMap<>();
            try (Connection connection = db.openConnection();
                 PreparedStatement query = connection.prepareStatement(
                         "SELECT kind, count(*) FROM ledger WHERE saga_id = ? GROUP BY kind")) {
                query.setObject(1, sagaId);
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        counts.put(rows.getString(1), rows.getLong(2));
                    }
                }
            }
            return counts;
        }

        static Long balance(Connection connection, String account) throws SQLException {
            try (PreparedStatement query = connection.prepareStatement(
                    "SELECT balance FROM account WHERE id = ? FOR UPDATE")) {
                query.setString(1, account);
                try (ResultSet rows = query.executeQuery()) {
                    return rows.next() ? rows.getLong(1) : null;
                }
            }
        }

        static void move(Connection connection, String account, long delta) throws SQLException {
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE account SET balance = balance + ? WHERE id = ?")) {
                update.setLong(1, delta);
                update.setString(2, account);
                assertThat(update.executeUpdate()).as("account %s", account).isEqualTo(1);
            }
        }
    }
}
