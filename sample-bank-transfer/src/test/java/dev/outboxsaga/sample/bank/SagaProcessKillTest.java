package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.testkit.KafkaServer;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.PostgresServer;
import dev.outboxsaga.testkit.TestInfrastructure;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The transfer saga with its orchestrator and its participants in JVMs of their own, killed with
 * SIGKILL (no shutdown hook, no commit, no leaving the consumer group) again and again while sagas
 * run. After each run: every transfer ended, money conserved, every transfer's entries (ledger movements, limit
 * holds, payee screenings) exactly what its outcome allows ({@link LedgerCheck}, which sees an extra leg), limits
 * held and screenings open only for completed transfers ({@link LedgerCheck#heldViolations}), each completed transfer
 * notified once ({@link NotificationCheck}: its event written in the transaction that completes the
 * saga), no saga transition recorded twice, nothing stuck.
 *
 * <p>Kill counts are system properties, with defaults that keep each test well inside its time budget on a
 * small, busy machine (a kill costs a JVM start, 1.5 to 3 s on two loaded cores; 40 participant kills took 60 s on a
 * quiet machine and over 90 s on a loaded one) and the whole suite inside its 15 minutes: {@code -Dsaga.kill.count}
 * (orchestrator kills, default 15) and {@code -Dparticipant.kill.count} (default 20). Each kill comes once the process has
 * done work since its start (the orchestrator's reply inbox or the bank's inbox grew), 0 to 300 ms later.
 * Every test must end within 150 s (about 50 s on a quiet machine; a JVM start, and so each kill, takes 3 to 8 s
 * on two cores loaded by other builds); for higher counts (the issue asks for 50 and 100) lift that bound too:
 * {@code -Dsaga.kill.count=50 -Dparticipant.kill.count=100 -Dsaga.kill.transfers=2000
 * -Djunit.jupiter.execution.timeout.mode=disabled}.
 */
@ExtendWith(OutboxSagaExtension.class)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class SagaProcessKillTest {

    private static final int ORCHESTRATOR_KILLS = Integer.getInteger("saga.kill.count", 8);
    private static final int PARTICIPANT_KILLS = Integer.getInteger("participant.kill.count", 10);
    /** Enough to keep sagas in flight through the kills (a saga or two a second then), few enough to drain fast. */
    private static final int TRANSFERS = 200;
    /**
     * Transfers for the tests that kill again and again ({@code -Dsaga.kill.transfers}): enough to keep sagas in
     * flight through every kill (each costs a JVM start; sagas move slowly meanwhile).
     */
    private static final int KILLED_TRANSFERS = Integer.getInteger("saga.kill.transfers", 300);
    /** Static membership: a restarted process takes its partitions back at once instead of after the session timeout. */
    private static final String STATIC_ID = "kafka.group.instance.id";

    private static DemoOptions options(int transfers, Duration stepTimeout, String faults) {
        return new DemoOptions(transfers, 8, Faults.parse(faults), stepTimeout, 20, 17, null, null, null, null,
                Path.of("target", "report.html"), Duration.ofSeconds(40), 0, Bank.DEFAULT_DAILY_LIMIT);
    }

    @Test
    void anOrchestratorKilledMidAdvanceAgainAndAgainAdvancesEverySagaOnce(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-kill-orchestrator")).relaysInThisJvm()
                .transferProcesses(1).with("transfers", STATIC_ID, "transfers-static");
        Outcome outcome = runWhile(infra, processes, options(KILLED_TRANSFERS, Duration.ofSeconds(2), "refusal=10,duplicate=10"),
                (run, random) -> killRepeatedly(processes, "transfers", ORCHESTRATOR_KILLS, random, run,
                        () -> scalar(run.transfersDataSource(), "SELECT count(*) FROM inbox_message")));
        assertThat(processes.killed).hasSize(ORCHESTRATOR_KILLS).allMatch(k -> k.equals("transfers=137"));
        outcome.assertSafe(KILLED_TRANSFERS);
    }

    @Test
    void aParticipantKilledMidHandlerAgainAndAgainAppliesEveryCommandOnce(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-kill-participant")).relaysInThisJvm()
                .with("bank bank-a", STATIC_ID, "bank-a-static");
        Outcome outcome = runWhile(infra, processes, options(KILLED_TRANSFERS, Duration.ofSeconds(2), "refusal=10,duplicate=10"),
                (run, random) -> killRepeatedly(processes, "bank bank-a", PARTICIPANT_KILLS, random, run,
                        () -> scalar(run.bankDataSource("bank-a"), "SELECT count(*) FROM inbox_message")));
        assertThat(processes.killed).hasSize(PARTICIPANT_KILLS).allMatch(k -> k.equals("bank bank-a=137"));
        outcome.assertSafe(KILLED_TRANSFERS);
    }

    /**
     * Bank a is down, so its steps get no reply; the orchestrator is killed with the sagas waiting and
     * stays down past their step deadlines. Started again, its timer fires the deadlines it missed: the
     * steps are retried, then given up, and the sagas compensate. Bank a back, every saga ends
     * compensated (or failed), none completed, and nothing was applied twice or left behind.
     */
    @Test
    void aDeadlineThatPassedWhileTheOrchestratorWasDownFiresAfterItsRestart(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-deadline-restart")).relaysInThisJvm()
                .transferProcesses(1);
        int transfers = 8;
        Chaos bankDown = (run, random) -> processes.kill("bank bank-a");
        Outcome outcome = runWhile(infra, processes, options(transfers, Duration.ofSeconds(2), "none"), bankDown, (run, random) -> {
            DataSource service = run.transfersDataSource();
            await().atMost(Duration.ofSeconds(30)).until(() -> scalar(service, "SELECT count(*) FROM saga_instance") == transfers);
            processes.kill("transfers");
            await().atMost(Duration.ofSeconds(30)).until(() -> scalar(service,
                    "SELECT count(*) FROM saga_instance WHERE state = 'RUNNING' AND deadline < now() - interval '1 second'") > 0);
            sleep(1000);
            long due = scalar(service, "SELECT count(*) FROM saga_instance WHERE state = 'RUNNING' AND deadline < now()");
            Instant restarted = databaseNow(service);
            System.out.printf("%d sagas due while the orchestrator is down; restarting it at %s%n", due, restarted);
            assertThat(due).as("sagas whose step deadline passed while the orchestrator was down").isPositive();
            processes.restart("transfers");
            await().atMost(Duration.ofSeconds(30)).until(() -> scalar(service, "SELECT count(*) FROM saga_event WHERE "
                    + "event = 'TIMED_OUT' AND at > '" + restarted + "'") >= due);
            // Every saga gave up the step at bank a (or ended) before the bank comes back.
            await().atMost(Duration.ofSeconds(40)).until(() -> scalar(service,
                    "SELECT count(*) FROM saga_instance WHERE state = 'RUNNING'") == 0);
            System.out.printf("timeouts fired after the restart: %d; states %s%n", scalar(service,
                    "SELECT count(*) FROM saga_event WHERE event = 'TIMED_OUT' AND at > '" + restarted + "'"),
                    run.ended());
            processes.restart("bank bank-a");
        });
        assertThat(processes.killed).containsExactly("bank bank-a=137", "transfers=137");
        outcome.assertSafe(transfers);
        assertThat(outcome.result().count("COMPLETED")).as("sagas completed although their step was given up").isZero();
        assertThat(outcome.result().count("COMPENSATED")).isPositive();
    }

    /**
     * Two orchestrator processes of the transfer service on one database: they share the reply topic's
     * consumer group and both run the saga timer. Some replies come late, so deadlines fire while
     * replies arrive. No saga advances twice, none is left behind.
     */
    @Test
    void twoOrchestratorsOnOneDatabaseAdvanceEverySagaOnce(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-two-orchestrators")).relaysInThisJvm()
                .transferProcesses(2);
        Outcome outcome = runWhile(infra, processes, options(TRANSFERS, Duration.ofSeconds(2),
                "refusal=10,late=3,duplicate=10"), (run, random) -> {
                    await().atMost(Duration.ofSeconds(60)).until(() -> run.ended() >= TRANSFERS / 2);
                    assertThat(processes.started("transfers")).as("first orchestrator running").isTrue();
                    assertThat(processes.started("transfers 2")).as("second orchestrator running").isTrue();
                });
        assertThat(processes.killed).isEmpty();
        outcome.assertSafe(TRANSFERS);
    }

    /**
     * Bank a's participant runs as two processes in one consumer group, one consumer each (so each holds
     * a partition). One is killed with SIGKILL and not started again: it never leaves the group, and its
     * partitions move to the other after the session timeout (6 s). Nothing is lost or applied twice.
     */
    @Test
    void aParticipantKilledWithoutLeavingItsGroupHandsItsPartitionsOver(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-group-member-killed")).relaysInThisJvm()
                .bankProcesses(2).with("bank bank-a", BankProcess.CONCURRENCY, "1")
                .with("bank bank-a 2", BankProcess.CONCURRENCY, "1");
        Outcome outcome = runWhile(infra, processes, options(TRANSFERS, Duration.ofSeconds(3), "refusal=10,duplicate=10"),
                (run, random) -> {
                    await().atMost(Duration.ofSeconds(60)).until(() -> run.ended() >= 40);
                    processes.kill("bank bank-a 2");
                });
        assertThat(processes.killed).containsExactly("bank bank-a 2=137");
        outcome.assertSafe(TRANSFERS);
    }

    /**
     * The database server of the transfer service and both banks stopped with {@code pg_ctl -m immediate}
     * (every backend killed, no checkpoint) while sagas run, and started again 3 s later: it recovers from
     * its WAL, the relays, consumers and timer reconnect, and every saga ends once, applied once. A server
     * of its own, so that the other tests' shared one is not hit.
     */
    @Test
    void theDatabaseStoppedInImmediateModeWhileSagasRunLosesAndDoublesNothing(TestInfrastructure infra) throws Exception {
        try (PostgresServer postgres = PostgresServer.embedded()) {
            DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-database-crash")).relaysInThisJvm();
            Outcome outcome = runWhile(postgres, infra.kafka(), processes,
                    options(TRANSFERS, Duration.ofSeconds(3), "refusal=10,duplicate=10"), (run, random) -> { },
                    (run, random) -> {
                        await().atMost(Duration.ofSeconds(60)).until(() -> run.ended() >= 40);
                        postgres.crash();
                        System.out.printf("database crashed with %d sagas ended%n", 40);
                        sleep(3000);
                        postgres.restart();
                        System.out.println("database restarted");
                    });
            outcome.assertSafe(TRANSFERS);
        }
    }

    private static Instant databaseNow(DataSource dataSource) throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT now()")) {
            rows.next();
            return rows.getTimestamp(1).toInstant();
        }
    }

    /** What a test does while the transfers run. */
    private interface Chaos {
        void during(DemoRun run, Random random) throws Exception;
    }

    private record Outcome(DemoResult result, List<String> doubleTransitions, double seconds) {
        void assertSafe(int transfers) {
            assertThat(result.stuck()).as("sagas not ended: %s", result.unfinished()).isZero();
            assertThat(result.count("COMPLETED") + result.count("COMPENSATED") + result.count("FAILED"))
                    .as("transfers ended").isEqualTo(transfers);
            assertThat(result.moneyConserved()).as("money before %d, after %d", result.moneyBefore(), result.moneyAfter())
                    .isTrue();
            assertThat(result.negativeBalances()).isZero();
            assertThat(result.ledgerViolations()).as("transfers whose entries (ledger, limit hold, screening) differ "
                    + "from their outcome").isEmpty();
            assertThat(result.duplicatesApplied()).isZero();
            assertThat(result.checkViolations()).as("accounts holding limit, banks with screenings open, beyond their "
                    + "completed transfers").isEmpty();
            assertThat(result.checksUnbalanced()).isZero();
            assertThat(result.notificationViolations()).as("transfers notified other than once if completed").isEmpty();
            assertThat(doubleTransitions).as("saga transitions recorded more than once").isEmpty();
        }
    }

    private static Outcome runWhile(TestInfrastructure infra, DemoProcesses processes, DemoOptions options, Chaos chaos)
            throws Exception {
        return runWhile(infra.postgres(), infra.kafka(), processes, options, (run, random) -> { }, chaos);
    }

    private static Outcome runWhile(TestInfrastructure infra, DemoProcesses processes, DemoOptions options, Chaos before,
            Chaos chaos) throws Exception {
        return runWhile(infra.postgres(), infra.kafka(), processes, options, before, chaos);
    }

    /** Starts the demo, does {@code before}, runs the transfers while doing {@code chaos}, and collects the outcome. */
    private static Outcome runWhile(PostgresServer postgres, KafkaServer kafka, DemoProcesses processes, DemoOptions options,
            Chaos before, Chaos chaos) throws Exception {
        long started = System.nanoTime();
        DemoRun run = new DemoRun(options, System.out, postgres, kafka).launcher(processes);
        DemoResult result;
        List<String> doubles;
        try {
            run.start();
            System.out.printf("started in %.1f s%n", (System.nanoTime() - started) / 1e9);
            before.during(run, new Random(options.seed()));
            CompletableFuture<DemoResult> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return run.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            chaos.during(run, new Random(options.seed()));
            result = running.get(2, TimeUnit.MINUTES);
            doubles = doubleTransitions(run.transfersDataSource());
        } finally {
            processes.close();
            run.close();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        Report.print(result, System.out);
        System.out.printf("%s: %.1f s, killed %d%n", processes.directory, seconds, processes.killed.size());
        return new Outcome(result, doubles, seconds);
    }

    /** A count that grows while a process works. */
    private interface Progress {
        long now() throws SQLException;
    }

    /**
     * Kills the process of {@code key} {@code count} times and starts it again at once. Each kill comes
     * once the new process has done some work ({@code progress} grew: it holds its partitions and is
     * busy), a random 0 to 300 ms later: mid-advance or mid-handler, at a point no one chose.
     */
    private static void killRepeatedly(DemoProcesses processes, String key, int count, Random random, DemoRun run,
            Progress progress) throws SQLException {
        long started = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long before = progress.now();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(25))
                    .until(() -> progress.now() > before || run.ended() == run.planned());
            assertThat(run.ended()).as("transfers left after %d kills of %s (raise -Dsaga.kill.transfers)", i, key)
                    .isLessThan(run.planned());
            sleep(random.nextInt(300));
            processes.killAndRestart(key);
        }
        System.out.printf("%d kills of %s in %.1f s; %d sagas ended%n", count, key, (System.nanoTime() - started) / 1e9,
                run.ended());
    }

    private static long scalar(DataSource dataSource, String sql) throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    /**
     * Transitions that may happen once per saga (or once per step) but are in its history more than once:
     * a saga advanced twice on one reply or deadline.
     */
    static List<String> doubleTransitions(DataSource transfers) throws SQLException {
        List<String> doubles = new ArrayList<>();
        try (Connection connection = transfers.getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT saga_id, step_index, event, count(*) FROM saga_event "
                     + "WHERE event IN ('STARTED', 'SUCCEEDED', 'FAILED', 'COMPENSATED', 'COMPLETED', "
                     + "'ENDED_COMPENSATED', 'ENDED_FAILED', 'PARKED') GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 20")) {
            while (rows.next()) {
                doubles.add(rows.getString(1) + " step " + rows.getInt(2) + " " + rows.getString(3) + " x" + rows.getLong(4));
            }
        }
        return doubles;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
