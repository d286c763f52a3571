package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.saga.SagaState;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestInfrastructure;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.OperatorConsole;
import dev.outboxsaga.console.Passwords;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The demo's own run, with every fault on, and with a bank and relays killed mid-run (SIGKILL): the invariants hold. */
@ExtendWith(OutboxSagaExtension.class)
class BankTransferDemoTest {

    private static DemoOptions options(int transfers, String faults, Path report, int cancelPercent) {
        return new DemoOptions(transfers, 8, Faults.parse(faults), Duration.ofMillis(1500), 20, 7, null, null, null,
                null, report, Duration.ofSeconds(60), cancelPercent, Bank.DEFAULT_DAILY_LIMIT);
    }

    /**
     * Every fault on, and 15% of the transfers cancelled in flight: every refusal, by a parallel check or by a bank
     * after them, is compensated; every cancel asked for is either honoured (the saga compensated, its money back, its
     * hold released, its screening cleared, no notification) or refused as too late; and every invariant holds.
     */
    @Test
    void aRunWithEveryFaultAndCancelsKeepsMoneySafe(TestInfrastructure infra, @TempDir Path dir) throws Exception {
        Path report = dir.resolve("report.html");
        DemoResult result;
        long cancelledInHistory;
        try (DemoRun run = new DemoRun(options(150, "refusal=20,crash=10,late=3,duplicate=20", report, 15), System.out,
                infra.postgres(), infra.kafka()).start()) {
            result = run.run();
            cancelledInHistory = count(run.transfersDataSource(), "SELECT count(*) FROM saga_event e JOIN saga_instance s "
                    + "ON s.id = e.saga_id WHERE e.event = 'CANCELLED' AND s.state = 'COMPENSATED'");
            assertTheConsoleServesTheRun(run, 150);
            assertThat(run.notificationService().handlers().consumer().stats().duplicates())
                    .as("copies of TransferCompleted absorbed by the notification service's inbox").isPositive();
        }
        assertThat(result.stuck()).isZero();
        assertThat(result.count("COMPLETED") + result.count("COMPENSATED") + result.count("FAILED")).isEqualTo(150);
        assertThat(result.moneyConserved()).as("money before %d, after %d", result.moneyBefore(), result.moneyAfter()).isTrue();
        assertThat(result.negativeBalances()).isZero();
        assertThat(result.duplicatesApplied()).as("transfers whose entries differ: %s", result.ledgerViolations()).isZero();
        assertThat(result.checkViolations()).as("limit holds and screenings against completed transfers").isEmpty();
        assertThat(result.checksUnbalanced()).isZero();
        assertThat(result.count("COMPENSATED")).as("refusals compensate what ran: a sibling check, or both checks")
                .isPositive();
        assertThat(result.refusals().keySet()).as("refused by the limit check, the payee screening and the debit")
                .anyMatch(reason -> reason.startsWith("daily limit reached"))
                .anyMatch(reason -> reason.startsWith("unknown payee") || reason.startsWith("payee"))
                .anyMatch(reason -> reason.startsWith("account") && reason.endsWith("is frozen"));
        assertThat(result.duplicatesInjected()).isPositive();
        assertThat(result.duplicatesSuppressed()).as("the inboxes absorbed the copies").isPositive();
        assertThat(result.notificationViolations()).as("transfers notified other than once if completed").isEmpty();
        assertThat(result.notifications()).as("notifications, by choreography").isEqualTo(result.count("COMPLETED"))
                .isPositive();
        DemoResult.Cancels cancels = result.cancels();
        System.out.printf("cancels: %s%n", cancels);
        assertThat(cancels.requested()).as("15%% of 150 transfers cancelled (seeded)").isBetween(10L, 40L);
        assertThat(cancels.cancelled() + cancels.tooLateTotal() + cancels.notDelivered())
                .as("each cancel honoured or refused").isEqualTo(cancels.requested());
        assertThat(cancels.notDelivered()).isZero();
        assertThat(cancels.cancelled()).as("cancels that came while the saga ran").isPositive()
                .isEqualTo(cancelledInHistory).isLessThanOrEqualTo(result.count("COMPENSATED"));
        assertThat(cancels.cancelledAtStep().keySet()).as("the steps in hand when the cancels came").isNotEmpty()
                .isSubsetOf("checks", "holdLimit", "screenPayee", "debit", "credit");
        assertThat(cancels.tooLate().keySet()).as("a refused cancel names the saga's state")
                .allMatch(state -> SagaState.valueOf(state) != SagaState.RUNNING);
        assertThat(cancels.violations()).as("cancelled transfers not undone").isEmpty();
        assertThat(result.invariantsHold()).as(result.resultLine()).isTrue();
        assertThat(result.resultLine()).startsWith("RESULT transfers=150 completed=")
                .contains(" cancels=" + cancels.requested() + " cancelled=" + cancels.cancelled() + " cancels_too_late="
                        + cancels.tooLateTotal() + " ")
                .contains(" duplicates_applied=0 checks_unbalanced=0 ")
                .endsWith("notifications_misapplied=0 cancels_misapplied=0 money_conserved=true");

        Report.writeHtml(result, options(150, "none", report, 15), report);
        String html = Files.readString(report);
        assertThat(html).contains("all invariants hold").contains("<svg").contains("Some sagas, step by step")
                .contains("each completed transfer notified exactly once").contains("each cancelled transfer undone")
                .contains("each transfer's entries exactly once")
                .contains("limits held and screenings open only for completed transfers")
                .contains("cancelled, then compensated").contains("(cancelled) in");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Report.print(result, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("cancels            " + cancels.requested() + " asked for")
                .contains("ok   each cancelled transfer undone");
    }

    private static long count(DataSource dataSource, String sql) throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    /** What {@code --console} serves: a console that asks for a login and watches the run's four services. */
    private static void assertTheConsoleServesTheRun(DemoRun run, int transfers) throws Exception {
        ConsoleConfig config = run.consoleConfig(0, "operator", Passwords.hash("demo password"));
        assertThat(config.services()).containsOnlyKeys("transfers", "bank-a", "bank-b", "notifications");
        ConsoleConfig.Service service = config.service("transfers");
        try (OperatorConsole console = OperatorConsole.start(config);
                Connection transfersDatabase = DriverManager.getConnection(service.jdbcUrl(), service.username(),
                        service.password());
                Statement statement = transfersDatabase.createStatement();
                ResultSet sagas = statement.executeQuery("SELECT count(*) FROM saga_instance")) {
            HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(console.url()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(303);
            assertThat(page.headers().firstValue("Location")).hasValueSatisfying(location -> assertThat(location).contains("/login"));
            sagas.next();
            assertThat(sagas.getLong(1)).as("sagas in the database the console reads as the transfer service's")
                    .isEqualTo(transfers);
        }
    }

    /**
     * Bank a's participant and the three relays run in JVMs of their own; mid-run, bank a, then bank
     * b's relay, then the transfer service's relay are killed with SIGKILL (no shutdown hook, no commit,
     * no leaving the consumer group) and started again. Every transfer still ends, money is conserved,
     * and every ledger holds exactly the movements its transfer's outcome allows.
     */
    @Test
    void killingABankAndTheRelaysWithSigkillLosesAndDuplicatesNothing(TestInfrastructure infra) throws Exception {
        long started = System.nanoTime();
        DemoProcesses processes = new DemoProcesses(Path.of("target", "demo-processes"));
        // A longer step timeout than the other runs: a killed bank is back after a JVM start and a consumer
        // group's session timeout, a killed relay after a JVM start, a Debezium start and a lease expiry.
        DemoOptions options = new DemoOptions(100, 8, Faults.parse("refusal=10,duplicate=10"), Duration.ofSeconds(3),
                20, 11, null, null, null, null, processes.directory.resolve("report.html"), Duration.ofSeconds(60), 0,
                Bank.DEFAULT_DAILY_LIMIT);
        DemoRun run = new DemoRun(options, System.out, infra.postgres(), infra.kafka()).launcher(processes);
        DemoResult result;
        try {
            run.start();
            CompletableFuture<DemoResult> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return run.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> run.ended() >= 15);
            processes.killAndRestart("bank bank-a");
            await().atMost(Duration.ofSeconds(60)).until(() -> run.ended() >= 40);
            processes.killAndRestart("relay bank-b");
            await().atMost(Duration.ofSeconds(60)).until(() -> run.ended() >= 65);
            processes.killAndRestart("relay transfers");
            result = running.get(3, TimeUnit.MINUTES);
        } finally {
            processes.killAll();
            run.close();
        }
        Report.print(result, System.out);
        System.out.printf("killed bank and relays: %.0f s%n", (System.nanoTime() - started) / 1e9);

        assertThat(processes.killed).as("processes killed, with their exit codes")
                .containsExactly("bank bank-a=137", "relay bank-b=137", "relay transfers=137");
        assertThat(result.stuck()).as("sagas not ended: %s", result.unfinished()).isZero();
        assertThat(result.count("COMPLETED") + result.count("COMPENSATED") + result.count("FAILED"))
                .as("transfers ended").isEqualTo(100);
        assertThat(result.moneyConserved()).as("money before %d, after %d", result.moneyBefore(), result.moneyAfter())
                .isTrue();
        assertThat(result.negativeBalances()).isZero();
        assertThat(result.ledgerViolations()).as("transfers whose ledgers differ from their outcome").isEmpty();
        assertThat(result.duplicatesApplied()).isZero();
        assertThat(result.checkViolations()).as("limit holds and screenings against completed transfers").isEmpty();
        assertThat(result.notificationViolations()).as("transfers notified other than once if completed").isEmpty();
        assertThat(result.notifications()).isEqualTo(result.count("COMPLETED"));
        assertThat(result.invariantsHold()).as(result.resultLine()).isTrue();
    }

    @Test
    void badInputIsRefusedBeforeAnythingStarts() {
        assertThat(exit("--transfers", "-1")).satisfies(r -> {
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("--transfers must be at least 1");
        });
        assertThat(exit("--faults", "refusal=10,meteor=5")).satisfies(r -> {
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("unknown fault 'meteor=5'");
        });
        assertThat(exit("--faults", "crash=150")).satisfies(r -> assertThat(r.err()).contains("0 to 100 percent"));
        assertThat(exit("--concurrency", "0")).satisfies(r -> assertThat(r.err()).contains("--concurrency"));
        assertThat(exit("--daily-limit", "-5")).satisfies(r -> {
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("--daily-limit must be 0 (none) or positive, but was -5");
        });
        assertThat(exit("--cancel-percent", "101")).satisfies(r -> {
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("--cancel-percent must be 0 to 100, but was 101");
        });
        assertThat(exit("--postgres-url", "jdbc:postgresql://127.0.0.1:1/none", "--postgres-user", "x")).satisfies(r -> {
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("is not reachable");
        });
    }

    private record Exit(int code, String err) {
    }

    private static Exit exit(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = new picocli.CommandLine(new BankTransferDemo(System.out)).execute(args);
            return new Exit(code, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(original);
        }
    }

    static boolean terminal(SagaState state) {
        return state.terminal();
    }
}
