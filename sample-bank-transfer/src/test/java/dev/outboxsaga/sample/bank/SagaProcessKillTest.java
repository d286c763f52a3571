package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.testkit.OutboxSagaExtension;
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
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The transfer saga with its orchestrator and its participants in JVMs of their own, killed with
 * SIGKILL (no shutdown hook, no commit, no leaving the consumer group) again and again while sagas
 * run. After each run: every transfer ended, money conserved, every ledger exactly what its
 * transfer's outcome allows ({@link LedgerCheck}, which sees an extra leg), no saga transition
 * recorded twice, nothing stuck.
 *
 * <p>Kill counts are system properties, with defaults that fit the 90 s budget of each test on a
 * small machine (a kill costs a JVM start): {@code -Dsaga.kill.count} (orchestrator kills) and
 * {@code -Dparticipant.kill.count}.
 */
@ExtendWith(OutboxSagaExtension.class)
class SagaProcessKillTest {

    private static final int ORCHESTRATOR_KILLS = Integer.getInteger("saga.kill.count", 40);
    private static final int PARTICIPANT_KILLS = Integer.getInteger("participant.kill.count", 25);
    /** Enough to keep sagas in flight through the kills (a saga or two a second then), few enough to drain fast. */
    private static final int TRANSFERS = 200;
    /** Static membership: a restarted process takes its partitions back at once instead of after the session timeout. */
    private static final String STATIC_ID = "kafka.group.instance.id";

    private static DemoOptions options(int transfers, Duration stepTimeout, String faults) {
        return new DemoOptions(transfers, 8, Faults.parse(faults), stepTimeout, 20, 17, null, null, null, null,
                Path.of("target", "report.html"), Duration.ofSeconds(40));
    }

    @Test
    void anOrchestratorKilledMidAdvanceAgainAndAgainAdvancesEverySagaOnce(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-kill-orchestrator")).relaysInThisJvm()
                .transferProcesses(1).with("transfers", STATIC_ID, "transfers-static");
        Outcome outcome = runWhile(infra, processes, options(TRANSFERS, Duration.ofSeconds(2), "refusal=10,duplicate=10"),
                (run, random) -> killRepeatedly(processes, "transfers", ORCHESTRATOR_KILLS, random, run,
                        () -> scalar(run.transfersDataSource(), ADVANCES)));
        assertThat(processes.killed).hasSize(ORCHESTRATOR_KILLS).allMatch(k -> k.equals("transfers=137"));
        outcome.assertSafe(TRANSFERS);
    }

    @Test
    void aParticipantKilledMidHandlerAgainAndAgainAppliesEveryCommandOnce(TestInfrastructure infra) throws Exception {
        DemoProcesses processes = new DemoProcesses(Path.of("target", "saga-kill-participant")).relaysInThisJvm()
                .with("bank bank-a", STATIC_ID, "bank-a-static");
        Outcome outcome = runWhile(infra, processes, options(TRANSFERS, Duration.ofSeconds(2), "refusal=10,duplicate=10"),
                (run, random) -> killRepeatedly(processes, "bank bank-a", PARTICIPANT_KILLS, random, run,
                        () -> scalar(run.bankDataSource("bank-a"), "SELECT count(*) FROM inbox_message")));
        assertThat(processes.killed).hasSize(PARTICIPANT_KILLS).allMatch(k -> k.equals("bank bank-a=137"));
        outcome.assertSafe(TRANSFERS);
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
            assertThat(result.ledgerViolations()).as("transfers whose ledgers differ from their outcome").isEmpty();
            assertThat(result.duplicatesApplied()).isZero();
            assertThat(doubleTransitions).as("saga transitions recorded more than once").isEmpty();
        }
    }

    private static Outcome runWhile(TestInfrastructure infra, DemoProcesses processes, DemoOptions options, Chaos chaos)
            throws Exception {
        long started = System.nanoTime();
        DemoRun run = new DemoRun(options, System.out, infra.postgres(), infra.kafka()).launcher(processes);
        DemoResult result;
        List<String> doubles;
        try {
            run.start();
            System.out.printf("started in %.1f s%n", (System.nanoTime() - started) / 1e9);
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

    /** Saga events only the orchestrator's reply consumer and timer write (begin writes STARTED and the first COMMAND_SENT). */
    private static final String ADVANCES = "SELECT count(*) FROM saga_event WHERE event NOT IN ('STARTED', 'COMMAND_SENT')";

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
                    .until(() -> progress.now() > before);
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

    static Instant now() {
        return Instant.now();
    }
}
