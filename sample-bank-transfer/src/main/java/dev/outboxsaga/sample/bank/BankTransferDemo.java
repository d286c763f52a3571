package dev.outboxsaga.sample.bank;

import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import dev.outboxsaga.console.OperatorConsole;
import dev.outboxsaga.console.Passwords;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The bank-transfer demo: {@code java -jar sample-bank-transfer.jar} runs 1,000 transfers between two
 * banks through a saga, with faults injected, on embedded PostgreSQL and Kafka, then checks that
 * money was conserved. Exit code 0 when every invariant holds, 1 when one fails, 2 on bad input.
 */
@Command(name = "bank-transfer-demo", mixinStandardHelpOptions = true,
        description = "Money transfers between two banks as sagas over the transactional outbox, with faults injected.")
public final class BankTransferDemo implements Callable<Integer> {

    @Option(names = "--transfers", description = "How many transfers (default ${DEFAULT-VALUE}).", defaultValue = "1000")
    int transfers;

    // 16, where it was 8 before the saga checked in parallel: each saga now has a third round trip and twice the
    // handlers for a late reply to hit, so with 8 in flight the default run took half as long again; with 16 it
    // takes about a fifth longer than it used to (measured on 2 cores, which it keeps busy either way).
    @Option(names = "--concurrency", description = "Transfers in flight at once (default ${DEFAULT-VALUE}).", defaultValue = "16")
    int concurrency;

    @Option(names = "--faults", description = "Fault mix in percent, names ${COMPLETION-CANDIDATES}... e.g. "
            + Faults.DEFAULT + " (the default), or none.", defaultValue = Faults.DEFAULT)
    String faults;

    @Option(names = "--cancel-percent", description = "Percent of the transfers cancelled while in flight "
            + "(SagaAdmin.cancel at a random moment up to " + DemoRun.CANCEL_WITHIN_MILLIS + " ms after the saga began: "
            + "some are cancelled and compensated, some come too late and are refused; default ${DEFAULT-VALUE}, "
            + "0 for none).", defaultValue = "" + DemoOptions.DEFAULT_CANCEL_PERCENT)
    int cancelPercent;

    @Option(names = "--daily-limit", description = "How much an account may send per day, in cents: the limit check "
            + "holds each transfer against it (default ${DEFAULT-VALUE}; 0 for no limit).",
            defaultValue = "" + Bank.DEFAULT_DAILY_LIMIT)
    long dailyLimit;

    @Option(names = "--step-timeout-ms", description = "How long a bank may take to reply (default ${DEFAULT-VALUE}).",
            defaultValue = "2000")
    long stepTimeoutMillis;

    @Option(names = "--accounts", description = "Accounts per bank (default ${DEFAULT-VALUE}).", defaultValue = "50")
    int accounts;

    @Option(names = "--seed", description = "Seed of every random choice (default ${DEFAULT-VALUE}).", defaultValue = "42")
    long seed;

    @Option(names = "--postgres-url", description = "Admin JDBC URL of an external PostgreSQL with wal_level=logical, "
            + "instead of the embedded one.")
    String postgresUrl;

    @Option(names = "--postgres-user", description = "Its user.")
    String postgresUser;

    @Option(names = "--postgres-password", description = "Its password (or env BANK_DEMO_POSTGRES_PASSWORD).")
    String postgresPassword;

    @Option(names = "--kafka", description = "Bootstrap servers of an external Kafka instead of the embedded one.")
    String kafka;

    @Option(names = "--report", description = "Where the HTML report goes (default ${DEFAULT-VALUE}).",
            defaultValue = "bank-transfer-report.html")
    Path report;

    @Option(names = "--max-wait-s", description = "Seconds without progress before the rest counts as stuck "
            + "(default ${DEFAULT-VALUE}).", defaultValue = "60")
    long maxWaitSeconds;

    @Option(names = "--console", description = "After the run, keep its services running and serve the operator console "
            + "on them (with a login printed here) until Ctrl-C. A saga's page shows its history (a cancelled one: "
            + "CANCELLED and its compensations) and offers Cancel while the saga is RUNNING.")
    boolean console;

    @Option(names = "--console-port", description = "The console's port with --console (default ${DEFAULT-VALUE}; 0: any free one).",
            defaultValue = "8089")
    int consolePort;

    private final PrintStream out;

    BankTransferDemo(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new BankTransferDemo(System.out)).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        DemoOptions options;
        try {
            String password = postgresPassword != null ? postgresPassword : System.getenv("BANK_DEMO_POSTGRES_PASSWORD");
            options = new DemoOptions(transfers, concurrency, Faults.parse(faults), Duration.ofMillis(stepTimeoutMillis),
                    accounts, seed, postgresUrl, postgresUser, password, kafka, report, Duration.ofSeconds(maxWaitSeconds),
                    cancelPercent, dailyLimit)
                    .validate();
            checkReachable(options);
        } catch (IllegalArgumentException badInput) {
            System.err.println("bank-transfer-demo: " + badInput.getMessage());
            return 2;
        }
        try (DemoRun run = new DemoRun(options, out).start()) {
            DemoResult result = run.run();
            Report.print(result, out);
            Report.writeHtml(result, options, options.report());
            out.println("report written to " + options.report().toAbsolutePath());
            out.println(result.resultLine());
            if (console) {
                serveConsole(run);
            }
            return result.invariantsHold() ? 0 : 1;
        }
    }

    /**
     * Serves the console on the run's services, which go on meanwhile, until the process is stopped; then stops the
     * console and the run (its embedded servers with it) before the JVM exits.
     */
    private void serveConsole(DemoRun run) throws InterruptedException {
        String password = Passwords.randomPassword();
        CountDownLatch stopRequested = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        OperatorConsole console = OperatorConsole.start(run.consoleConfig(consolePort, "operator", Passwords.hash(password)));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopRequested.countDown();
            try {
                stopped.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "demo-console-shutdown"));
        out.printf("%nOperator console: %s  (user operator, password %s; valid for this run only)%n", console.url(),
                password);
        out.println("The services keep running: browse the sagas above, repair the parked ones, replay dead letters. "
                + "Ctrl-C stops everything.");
        out.flush();
        try {
            stopRequested.await();
        } finally {
            console.close();
            run.close();
            stopped.countDown();
        }
    }

    /** External servers are checked before anything starts, so a typo fails fast and clearly. */
    private static void checkReachable(DemoOptions options) {
        if (options.postgresUrl() != null) {
            Properties properties = new Properties();
            properties.setProperty("user", options.postgresUser());
            if (options.postgresPassword() != null) {
                properties.setProperty("password", options.postgresPassword());
            }
            properties.setProperty("connectTimeout", "5");
            try (Connection ignored = DriverManager.getConnection(options.postgresUrl(), properties)) {
                // reachable
            } catch (Exception e) {
                throw new IllegalArgumentException("--postgres-url " + options.postgresUrl() + " is not reachable: "
                        + e.getMessage());
            }
        }
        if (options.kafka() != null) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", options.kafka(),
                    "request.timeout.ms", "5000", "default.api.timeout.ms", "5000"))) {
                admin.describeCluster().nodes().get();
            } catch (Exception e) {
                throw new IllegalArgumentException("--kafka " + options.kafka() + " is not reachable: " + e.getMessage());
            }
        }
    }
}
