package dev.outboxsaga.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped relay jar as a leader and a standby, PostgreSQL and Kafka each in processes of their own,
 * writers committing numbered rows, and faults at random: SIGKILL of either relay at any age, SIGSTOP
 * of the leader, SIGKILL of the broker, a PostgreSQL crash, the relay's connections ended. Then every
 * committed row must be in Kafka exactly once, in commit order per key, and no row of an aborted
 * transaction.
 *
 * <p>Short form by default (part of {@code mvn verify}); {@code -Dchaos.long=true} (profile
 * {@code chaos-long}) for the long form; {@code -Dchaos.seed=N} repeats a run's fault schedule.
 * Logs: {@code outbox-chaos/target/chaos/}.
 */
class ChaosIT {

    private static final boolean LONG = Boolean.getBoolean("chaos.long");
    private static final Path WORK = Path.of("target", "chaos").toAbsolutePath();

    private static PostgresServer postgres;
    private static KafkaBroker kafka;
    private static Path jar;

    @BeforeAll
    static void startServers() throws IOException {
        jar = Path.of(System.getProperty("chaos.relay.jar", "../outbox-relay/target/outbox-relay.jar"));
        assertThat(jar).as("the relay jar; build it with mvn -pl outbox-relay -am package").isRegularFile();
        Files.createDirectories(WORK);
        // Also when the JVM ends without @AfterAll (Maven stopped): no server outlives the suite.
        Runtime.getRuntime().addShutdownHook(new Thread(ChaosIT::stopServers, "chaos-servers-stop"));
        postgres = PostgresServer.embedded();
        kafka = KafkaBroker.start(WORK);
    }

    @AfterAll
    static synchronized void stopServers() {
        ChildProcess.killAll();
        if (kafka != null) {
            kafka.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    /** Rows written with INSERT (the Outbox API): single-row, small and large transactions, some rolled back. */
    @Test
    void insertedRowsArriveExactlyOnceInOrderThroughEveryFault() throws Exception {
        ChaosRound.Plan round = LONG
                ? new ChaosRound.Plan(4, 40, 2, 2, 4, 4, false, 20_000, false, Duration.ofMinutes(5))
                : new ChaosRound.Plan(1, 4, 1, 1, 1, 1, false, 5_000, false, Duration.ofSeconds(90));
        run("insert", LONG ? 5 : 1, round);
    }

    /**
     * Rows written with {@code COPY ... FROM STDIN} as well: many rows of one transaction share one LSN.
     * A test of its own, since the relay is known to drop such rows (issue 9, first point).
     */
    @Test
    void copiedRowsArriveExactlyOnceInOrderThroughEveryFault() throws Exception {
        ChaosRound.Plan round = LONG
                ? new ChaosRound.Plan(2, 23, 1, 1, 2, 2, true, 20_000, false, Duration.ofMinutes(2))
                : new ChaosRound.Plan(1, 3, 0, 1, 0, 1, true, 5_000, false, Duration.ofSeconds(45));
        run("copy", LONG ? 2 : 1, round);
    }

    /**
     * The backlog a first start publishes from its snapshot: every row once, and per key in commit order
     * (rows of one key written in one transaction too). The relay reads the snapshot {@code ORDER BY
     * created_at, id}: transactions of one key committed one after another by their start, the rows of
     * one transaction by id, which is their write order for ids like the outbox's own (time-ordered,
     * increasing per process), as the writers here use.
     */
    @Test
    void backlogOfTheFirstStartArrivesInCommitOrderPerKey() throws Exception {
        ChaosRound.Plan round = LONG
                ? new ChaosRound.Plan(6, 0, 0, 0, 0, 0, false, 20_000, true, Duration.ofMinutes(5))
                : new ChaosRound.Plan(2, 0, 0, 0, 0, 0, false, 3_000, true, Duration.ofSeconds(60));
        run("backlog", LONG ? 3 : 1, round);
    }

    private void run(String name, int rounds, ChaosRound.Plan plan) throws Exception {
        String seedProperty = System.getProperty("chaos.seed", "");
        long seed = seedProperty.isBlank() ? System.nanoTime() : Long.parseLong(seedProperty.trim());
        System.out.printf("chaos %s: seed %d (-Dchaos.seed=%d repeats the fault schedule), %d round(s) of %s%n",
                name, seed, seed, rounds, plan);
        Random random = new Random(seed);
        ChaosFigures figures = new ChaosFigures();
        List<String> failures = new ArrayList<>();
        long started = System.nanoTime();
        for (int r = 1; r <= rounds; r++) {
            ChaosRound round = new ChaosRound(jar, postgres, kafka, WORK.resolve(name + "-" + r), random, figures);
            CommittedReader.Verdict verdict = round.run(plan);
            if (!verdict.exact()) {
                failures.add("round " + r + " (logs in " + WORK.resolve(name + "-" + r) + "): " + verdict);
            }
        }
        String report = figures.report(name, seed, (System.nanoTime() - started) / 1_000_000);
        System.out.println(report);
        Files.writeString(WORK.resolve(name + "-summary.txt"), report + System.lineSeparator());
        assertThat(failures).as("chaos %s, seed %d: %s", name, seed, String.join("\n", failures)).isEmpty();
    }
}
