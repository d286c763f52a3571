package dev.outboxsaga.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.InboxConsumer;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.relay.internal.HttpEndpoint;
import dev.outboxsaga.saga.Reply;
import dev.outboxsaga.saga.SagaCommand;
import dev.outboxsaga.saga.SagaDefinition;
import dev.outboxsaga.saga.SagaMessages;
import dev.outboxsaga.saga.SagaOrchestrator;
import dev.outboxsaga.saga.SagaParticipant;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestInfrastructure;
import dev.outboxsaga.testkit.TestKafka;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real browser (headless Chromium through chromedriver) against two services on the test kit's
 * PostgreSQL and Kafka: "transfers" runs a real saga orchestrator, two bank participants and an audit consumer, with
 * its outbox relayed by a relay leader and a standby; "payments" is a second, quiet database. Real sagas complete,
 * compensate, park (a refund that keeps failing) and run; real dead letters are parked by a failing consumer.
 *
 * <p>Scenarios, in order: an operator logs in, finds a parked saga through the filters, retries its compensation and
 * sees the saga compensated and the audit entry; replays a dead letter (and the rest in bulk, after the preview) and
 * the effect is in the database; a viewer sees no action and a forged POST is refused with nothing written.
 * Screenshots of the main pages go to {@code target/screenshots} ({@code -Dconsole.screenshots.dir=../docs/img} for
 * the README's).
 *
 * <p>Saga and replay actions are carried out by the services themselves: their orchestrator and consumer poll
 * {@code operator_action} (every 200 ms here).
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String OPERATOR_PASSWORD = "olivia-at-3am";
    private static final String VIEWER_PASSWORD = "victor-reads";
    private static final String SERVICE = "transfers";
    private static final String TOPIC_PREFIX = SagaMessages.DEFAULT_TOPIC_PREFIX;

    /** The saga data. */
    record Transfer(String id, String fromBank, String fromAccount, String toBank, String toAccount, long amount) {
    }

    /** Every command's payload. */
    record Movement(String account, long amount) {
    }

    private TestDatabase transfersDb;
    private TestDatabase paymentsDb;
    private TestKafka kafka;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final List<Thread> relayThreads = new ArrayList<>();
    private final Set<String> frozenAccounts = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean auditBroken = new AtomicBoolean(true);
    private SagaDefinition<Transfer> transfer;
    private SagaDefinition<Transfer> checkedTransfer;
    private SagaOrchestrator orchestrator;
    private InboxConsumer audit;
    private OperatorConsole console;
    private ChromeDriver driver;
    private Path screenshots;
    private UUID parkedForOperator;
    private UUID parkedForViewer;
    private UUID running;

    @BeforeAll
    void start(TestDatabase db, TestKafka kafka, TestInfrastructure infra) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "no browser: install Debian packages chromium and chromium-driver "
                        + "(apt-get install chromium chromium-driver); .ci/run does this");
        this.transfersDb = db;
        this.kafka = kafka;
        this.paymentsDb = TestDatabase.create(infra.postgres());
        closeables.add(paymentsDb);
        OutboxSchema.migrate(transfersDb.dataSource());
        OutboxSchema.migrate(paymentsDb.dataSource());
        transfersDb.execute("CREATE TABLE account (id text PRIMARY KEY, balance bigint NOT NULL);"
                + "CREATE TABLE audit_entry (message_id uuid PRIMARY KEY, text text NOT NULL);"
                + "INSERT INTO account VALUES ('A-1', 1000), ('A-2', 1000), ('A-3', 1000), ('B-1', 0), ('B-2', 0)");

        createTopics(TOPIC_PREFIX + SagaMessages.commandChannel("bank-a"), TOPIC_PREFIX + SagaMessages.commandChannel("bank-b"),
                TOPIC_PREFIX + SagaMessages.commandChannel("bank-c"), TOPIC_PREFIX + SagaMessages.replyChannel(SERVICE));
        String relayName = "transfers-" + UUID.randomUUID().toString().substring(0, 6);
        String leaderHealth = startRelay(relayName, "relay-1");
        String standbyHealth = startRelay(relayName, "relay-2");

        participant("bank-a");
        participant("bank-b");
        transfer = SagaDefinition.builder("transfer", 1, Transfer.class)
                .step("debit")
                    .invoke(Transfer::fromBank, "Debit", t -> new Movement(t.fromAccount(), t.amount()))
                    .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount()))
                    .timeout(Duration.ofMinutes(10))
                    .retry(RetryPolicy.exponential(2, Duration.ofMillis(50), Duration.ofMillis(50)))
                .step("credit")
                    .invoke(Transfer::toBank, "Credit", t -> new Movement(t.toAccount(), t.amount()))
                    .compensateWith("ReverseCredit", t -> new Movement(t.toAccount(), t.amount()))
                    .timeout(Duration.ofMinutes(10))
                .build();
        // A second type for the pictures: a parallel group of the two legs, then a conditional local step.
        checkedTransfer = SagaDefinition.builder("checked-transfer", 1, Transfer.class)
                .deadline(Duration.ofMinutes(5))
                .parallel("legs", legs -> legs
                    .step("debitA")
                        .invoke("bank-a", "Debit", t -> new Movement(t.fromAccount(), t.amount()))
                        .compensateWith("Refund", t -> new Movement(t.fromAccount(), t.amount()))
                    .step("creditB")
                        .invoke("bank-b", "Credit", t -> new Movement(t.toAccount(), t.amount()))
                        .compensateWith("ReverseCredit", t -> new Movement(t.toAccount(), t.amount())))
                .step("record")
                    .local((connection, t) -> t)
                    .when(t -> t.amount() > 0)
                .build();
        SagaOrchestrator.Builder sagas = SagaOrchestrator.builder().service(SERVICE).dataSource(transfersDb.dataSource())
                .bootstrapServers(kafka.bootstrapServers()).timerInterval(Duration.ofMillis(100)).definition(transfer)
                .definition(checkedTransfer);
        sagas.operatorActionPollInterval(Duration.ofMillis(200));
        orchestrator = sagas.build().start();
        closeables.add(orchestrator);

        String auditTopic = kafka.uniqueTopic("audit-events");
        InboxConsumer.Builder auditBuilder = InboxConsumer.builder().name("audit").dataSource(transfersDb.dataSource())
                .bootstrapServers(kafka.bootstrapServers()).topics(auditTopic).retryPolicy(RetryPolicy.noRetries())
                .handler(this::recordAudit).operatorActionPollInterval(Duration.ofMillis(200));
        audit = auditBuilder.build().start();
        closeables.add(audit);

        // Completed, compensated (unknown account at bank b), parked twice (the refund keeps failing), running (bank c
        // never answers).
        List<UUID> ended = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            ended.add(begin(new Transfer("T-10" + i, "bank-a", "A-1", "bank-b", "B-1", 10 * i), "T-10" + i));
        }
        ended.add(begin(new Transfer("T-201", "bank-a", "A-1", "bank-b", "B-404", 25), "T-201"));
        frozenAccounts.add("A-2");
        frozenAccounts.add("A-3");
        parkedForOperator = begin(new Transfer("T-301", "bank-a", "A-2", "bank-b", "B-404", 70), "T-301");
        parkedForViewer = begin(new Transfer("T-302", "bank-a", "A-3", "bank-b", "B-404", 80), "T-302");
        running = begin(new Transfer("T-401", "bank-a", "A-1", "bank-c", "C-1", 5), "T-401");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerConfig())) {
            for (int i = 1; i <= 3; i++) {
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(auditTopic, ("acc-" + i).getBytes(StandardCharsets.UTF_8),
                        ("{\"event\": \"AccountOpened\", \"account\": \"acc-" + i + "\"}").getBytes(StandardCharsets.UTF_8));
                record.headers().add("id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
                record.headers().add("eventType", "AccountOpened".getBytes(StandardCharsets.UTF_8));
                producer.send(record);
            }
        }
        await().atMost(WAIT).until(() -> state(parkedForOperator).equals("PARKED") && state(parkedForViewer).equals("PARKED")
                && ended.stream().allMatch(id -> state(id).equals("COMPLETED") || state(id).equals("COMPENSATED"))
                && count("SELECT count(*) FROM dead_letter WHERE consumer = 'audit'") == 3);

        console = OperatorConsole.start(ConsoleConfig.builder()
                .service(SERVICE, transfersDb.jdbcUrl(), transfersDb.username(), transfersDb.password())
                .set("service.transfers.relays", leaderHealth + "," + standbyHealth)
                .set("service.transfers.kafka.bootstrap.servers", kafka.bootstrapServers())
                .set("service.transfers.consumers", "transfers-saga-replies,bank-a,bank-b,audit")
                .service("payments", paymentsDb.jdbcUrl(), paymentsDb.username(), paymentsDb.password())
                .user("olivia", Passwords.hash(OPERATOR_PASSWORD, 10_000), ConsoleConfig.Role.OPERATOR)
                .user("victor", Passwords.hash(VIEWER_PASSWORD, 10_000), ConsoleConfig.Role.VIEWER)
                .set(ConsoleConfig.PORT, 0)
                .set(ConsoleConfig.ACTION_WAIT, "PT5S")
                .build());
        closeables.add(console);

        screenshots = Path.of(System.getProperty("console.screenshots.dir", "target/screenshots"));
        Files.createDirectories(screenshots);
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        Path profile = Files.createTempDirectory("console-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,900", "--user-data-dir=" + profile);
        // The browser's zone is not UTC, so the pages' local times show.
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withEnvironment(Map.of("TZ", "Europe/Berlin")).build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(WAIT);
    }

    @AfterAll
    void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        for (Thread thread : relayThreads) {
            thread.join(30_000);
        }
    }

    @Test
    @Order(1)
    void anOperatorFindsAParkedSagaThroughTheFiltersRepairsItAndSeesTheAuditEntry() {
        logIn("olivia", OPERATOR_PASSWORD);
        WebElement card = driver.findElement(By.cssSelector("section[aria-labelledby='svc-transfers']"));
        assertThat(card.getText()).contains("2 parked", "LEADER", "STANDBY", "audit");
        assertThat(driver.findElement(By.cssSelector("section[aria-labelledby='svc-payments']")).getText()).contains("0 stuck");
        screenshot("console-overview.png");

        clickAndWait(By.linkText("Sagas"));
        new Select(driver.findElement(By.id("service"))).selectByVisibleText(SERVICE);
        clickAndWait(By.cssSelector("form.filters button[type=submit]"));
        assertThat(driver.findElements(By.cssSelector("table.list tbody tr"))).hasSize(10);
        WebElement time = driver.findElement(By.cssSelector("main time"));
        assertThat(time.getAttribute("title")).startsWith("UTC ");
        assertThat(time.getText()).as("shown in the browser's zone, Europe/Berlin").isNotEqualTo(
                time.getAttribute("title").substring(4)).doesNotEndWith("UTC");
        assertThat(driver.findElement(By.id("zone")).getText()).isEqualTo("times in Europe/Berlin (UTC on hover)");
        screenshot("console-sagas.png");
        new Select(driver.findElement(By.id("state"))).selectByVisibleText("PARKED");
        driver.findElement(By.id("type")).sendKeys("transfer");
        clickAndWait(By.cssSelector("form.filters button[type=submit]"));
        assertThat(driver.findElements(By.cssSelector("table.list tbody tr"))).hasSize(2);
        driver.findElement(By.id("q")).sendKeys("T-301");
        WebElement page = driver.findElement(By.tagName("html"));
        driver.findElement(By.id("q")).sendKeys(Keys.ENTER);
        awaitGone(page);
        List<WebElement> rows = driver.findElements(By.cssSelector("table.list tbody tr"));
        assertThat(rows).hasSize(1);
        clickAndWait(rows.get(0).findElement(By.linkText(parkedForOperator.toString())));

        assertThat(driver.findElement(By.tagName("h1")).getText()).contains(parkedForOperator.toString(), "PARKED");
        assertThat(driver.findElement(By.cssSelector("table.timeline")).getText()).contains("COMPENSATION_FAILED", "PARKED");
        assertThat(driver.findElements(By.id("do-cancel"))).isEmpty();
        screenshot("console-saga.png");

        frozenAccounts.remove("A-2"); // the operator fixed bank a's refunds
        driver.findElement(By.id("note-retry-compensation")).sendKeys("bank a unfroze A-2, ticket OPS-12");
        clickAndWait(By.id("do-retry-compensation"));

        assertThat(driver.findElement(By.cssSelector("p.flash")).getText())
                .matches("(Done: retry compensation \\(action \\d+\\).*|Queued: retry compensation .*)");
        await().atMost(WAIT).until(() -> state(parkedForOperator).equals("COMPENSATED"));
        assertThat(text("SELECT status || ' ' || actor || ' ' || action || ' ' || note FROM operator_action WHERE target_id = '"
                + parkedForOperator + "'")).isEqualTo("DONE console:olivia RETRY_COMPENSATION bank a unfroze A-2, ticket OPS-12");
        refresh();
        assertThat(driver.findElement(By.tagName("h1")).getText()).contains("COMPENSATED");
        assertThat(driver.findElement(By.cssSelector("table.audit")).getText())
                .contains("console:olivia", "RETRY_COMPENSATION", "bank a unfroze A-2, ticket OPS-12", "DONE");
        assertThat(driver.findElement(By.cssSelector("table.timeline")).getText()).contains("REPAIR_RETRY", "ENDED_COMPENSATED");
        assertThat(count("SELECT balance FROM account WHERE id = 'A-2'")).as("refunded").isEqualTo(1000);
    }

    @Test
    @Order(2)
    void anOperatorReplaysADeadLetterAndTheRestInBulkAndTheEffectIsInTheDatabase() {
        clickAndWait(By.linkText("Dead letters"));
        new Select(driver.findElement(By.id("service"))).selectByVisibleText(SERVICE);
        clickAndWait(By.cssSelector("form.filters button[type=submit]"));
        new Select(driver.findElement(By.id("consumer"))).selectByVisibleText("audit");
        new Select(driver.findElement(By.id("status"))).selectByVisibleText("PARKED");
        clickAndWait(By.cssSelector("form.filters button[type=submit]"));
        List<WebElement> rows = driver.findElements(By.cssSelector("table.list tbody tr"));
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0).getText()).contains("audit store is read-only");
        screenshot("console-dead-letters.png");
        long id = Long.parseLong(rows.get(2).findElement(By.cssSelector("td a")).getText());
        clickAndWait(rows.get(2).findElement(By.cssSelector("td a")));
        assertThat(driver.findElement(By.cssSelector("pre.data")).getText()).contains("\"event\" : \"AccountOpened\"");
        assertThat(driver.findElement(By.tagName("main")).getText()).contains("eventType", "IllegalStateException");
        screenshot("console-dead-letter.png");

        auditBroken.set(false); // the audit store is writable again
        driver.findElement(By.id("note-replay")).sendKeys("audit store back");
        clickAndWait(By.id("do-replay"));
        await().atMost(WAIT).until(() -> text("SELECT status FROM dead_letter WHERE id = " + id).equals("REPLAYED"));
        assertThat(count("SELECT count(*) FROM audit_entry")).isEqualTo(1);
        await().atMost(WAIT).until(() -> text("SELECT status FROM operator_action WHERE target_kind = 'DEAD_LETTER' "
                + "AND target_id = '" + id + "'").equals("DONE"));
        refresh();
        assertThat(driver.findElement(By.tagName("h1")).getText()).contains("REPLAYED");
        assertThat(driver.findElement(By.cssSelector("table.audit")).getText()).contains("console:olivia", "REPLAY",
                "audit store back", "DONE");

        clickAndWait(By.partialLinkText("Dead letters of audit"));
        new Select(driver.findElement(By.id("status"))).selectByVisibleText("PARKED");
        clickAndWait(By.cssSelector("form.filters button[type=submit]"));
        clickAndWait(By.id("bulk-replay"));
        assertThat(driver.findElement(By.id("bulk-count")).getText())
                .isEqualTo("This will replay 2 dead letters of service transfers matching:");
        clickAndWait(By.id("confirm"));
        assertThat(driver.findElement(By.cssSelector("p.flash")).getText()).isEqualTo("Queued 2 replays for their consumers.");
        await().atMost(WAIT).until(() -> count("SELECT count(*) FROM audit_entry") == 3
                && count("SELECT count(*) FROM operator_action WHERE action = 'REPLAY' AND status = 'DONE'") == 3);
    }

    @Test
    @Order(3)
    void theRelaysPageShowsLeaderStandbySlotAndTheRecoveryCommandsAndTheAuditRunsOnTheRelay() {
        clickAndWait(By.linkText("Relays"));
        String page = driver.findElement(By.tagName("main")).getText();
        assertThat(driver.findElement(By.cssSelector("section[aria-labelledby='transfers'] table")).getText())
                .contains("relay-1", "LEADER", "relay-2", "STANDBY");
        assertThat(page).contains("active", "reserved", "Recovery commands",
                "outbox-relay reseed --config FILE");
        screenshot("console-relays.png");

        clickAndWait(By.linkText("Reconciliation audit of transfers"));
        assertThat(driver.findElement(By.id("relay")).getAttribute("value")).as("the relay recorded in the database")
                .startsWith("transfers");
        clickAndWait(By.xpath("//button[text()='Run the audit']"));
        // The audit runs on its own thread; its page reloads itself (no script) until the report is there.
        await().atMost(WAIT).ignoreExceptions()
                .until(() -> driver.findElement(By.tagName("main")).getText().contains("Verdict"));
        assertThat(driver.findElement(By.tagName("main")).getText()).contains("Verdict", "Outbox rows in the window",
                "Published to Kafka exactly once", "What bounds the proof");
        screenshot("console-audit.png");

        clickAndWait(By.linkText("Sagas"));
        driver.findElement(By.tagName("body")).sendKeys(Keys.TAB);
        assertThat(driver.switchTo().activeElement().getText()).as("the first Tab reaches the skip link")
                .isEqualTo("Skip to content");
        logOut();
    }

    @Test
    @Order(4)
    void aViewerSeesNoActionAndAForgedPostIsRefusedWithNothingWritten() {
        logIn("victor", VIEWER_PASSWORD);
        driver.get(console.url() + "sagas/" + SERVICE + "/" + parkedForViewer);
        assertThat(driver.findElement(By.tagName("h1")).getText()).contains("PARKED");
        assertThat(driver.findElements(By.cssSelector("section.actions, #do-retry-compensation, #do-mark-compensated")))
                .isEmpty();
        driver.get(console.url() + "sagas/" + SERVICE + "/" + running);
        assertThat(driver.findElement(By.tagName("h1")).getText()).contains("RUNNING");
        assertThat(driver.findElements(By.id("do-cancel"))).isEmpty();
        driver.get(console.url() + "dead-letters?service=" + SERVICE);
        assertThat(driver.findElements(By.id("bulk-replay"))).isEmpty();

        long actions = count("SELECT count(*) FROM operator_action");
        String csrf = driver.findElement(By.cssSelector("form.logout input[name=csrf]")).getAttribute("value");
        Object status = ((JavascriptExecutor) driver).executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                        + "fetch(arguments[0], {method: 'POST', body: new URLSearchParams({csrf: arguments[1], "
                        + "action: 'RETRY_COMPENSATION', note: 'forged'})}).then(r => done(r.status), e => done(String(e)));",
                "/sagas/" + SERVICE + "/" + parkedForViewer + "/action", csrf);
        assertThat(status).isEqualTo(403L);
        assertThat(count("SELECT count(*) FROM operator_action")).isEqualTo(actions);
        assertThat(state(parkedForViewer)).isEqualTo("PARKED");
        logOut();
    }

    @Test
    @Order(5)
    void anOperatorCancelsARunningSagaWithAReasonAndItsStepsAreCompensated() {
        logIn("olivia", OPERATOR_PASSWORD);
        driver.get(console.url() + "sagas?service=" + SERVICE + "&state=RUNNING");
        clickAndWait(By.linkText(running.toString()));
        driver.findElement(By.id("do-cancel")).click();
        assertThat(driver.findElement(By.id("note-cancel")).getAttribute("validationMessage")).as("the reason is required")
                .isNotEmpty();
        assertThat(state(running)).isEqualTo("RUNNING");
        driver.findElement(By.id("note-cancel")).sendKeys("bank c is being retired");
        clickAndWait(By.id("do-cancel"));
        await().atMost(WAIT).until(() -> text("SELECT status FROM operator_action WHERE action = 'CANCEL'").equals("DONE"));
        refresh();
        assertThat(driver.findElement(By.cssSelector("table.audit")).getText())
                .contains("console:olivia", "CANCEL", "bank c is being retired", "DONE");
        assertThat(driver.findElement(By.cssSelector("table.timeline")).getText()).contains("CANCELLED");
        // The step in hand is compensated too (its effect is unknown): bank c answers once it runs. Its credit never
        // took effect (no account C-1), so the compensation succeeds, and the debit is refunded.
        assertThat(state(running)).isEqualTo("COMPENSATING");
        participant("bank-c");
        await().atMost(WAIT).until(() -> state(running).equals("COMPENSATED"));
        assertThat(count("SELECT balance FROM account WHERE id = 'A-1'")).as("the debit was refunded")
                .isEqualTo(1000 - 10 - 20 - 30 - 40 - 50 - 60);
        logOut();
    }

    @Test
    @Order(6)
    void theOverviewChartsTheSagaTypeDiagramHasANodePerStepAndTheTimelineChartABarPerHop() {
        UUID checked = orchestrator.begin(transfersDb.dataSource(), checkedTransfer,
                new Transfer("T-501", "bank-a", "A-1", "bank-b", "B-2", 7), "T-501");
        await().atMost(WAIT).until(() -> state(checked).equals("COMPLETED"));
        logIn("olivia", OPERATOR_PASSWORD);

        // Every saga and dead letter of this test began within the last 3 hours: the bars add up to all of them.
        WebElement card = driver.findElement(By.cssSelector("section[aria-labelledby='svc-transfers']"));
        assertThat(card.findElements(By.cssSelector("svg.activity-chart"))).hasSize(2);
        for (String state : List.of("COMPLETED", "COMPENSATED", "FAILED")) {
            assertThat(barTotal(card, "rect.bar." + state.toLowerCase(java.util.Locale.ROOT))).as(state)
                    .isEqualTo(count("SELECT count(*) FROM saga_instance WHERE state = '" + state + "'"));
        }
        assertThat(barTotal(card, "rect.bar.parked")).isEqualTo(count("SELECT count(*) FROM dead_letter")).isEqualTo(3);

        // A fast saga: its two branches' hops, milliseconds long, each its own bar; times to the millisecond.
        driver.get(console.url() + "sagas/" + SERVICE + "/" + checked);
        List<WebElement> hops = driver.findElements(By.cssSelector("svg.timeline-chart rect.hop"));
        assertThat(hops).hasSize((int) hopsOf(checked)).hasSize(2);
        assertThat(hops).extracting(hop -> hop.getAttribute("data-step")).containsExactlyInAnyOrder("debitA", "creditB");
        assertThat(hops).allSatisfy(hop -> assertThat(hop.getAttribute("class")).isEqualTo("hop forward ok"));
        assertThat(driver.findElements(By.cssSelector("svg.timeline-chart g.lane"))).hasSize(3);
        assertThat(driver.findElement(By.cssSelector("table.timeline time")).getText())
                .matches("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}");

        // The repaired saga: refused, its compensation retried and parked, then retried by the operator.
        driver.get(console.url() + "sagas/" + SERVICE + "/" + parkedForOperator);
        assertThat(driver.findElements(By.cssSelector("svg.timeline-chart rect.hop"))).hasSize((int) hopsOf(parkedForOperator));
        assertThat(driver.findElements(By.cssSelector("svg.timeline-chart rect.hop.forward.failed"))).hasSize(1);
        assertThat(driver.findElements(By.cssSelector("svg.timeline-chart rect.hop.compensation.retry.failed"))).hasSize(1);
        assertThat(driver.findElements(By.cssSelector("svg.timeline-chart rect.hop.compensation.ok"))).hasSize(1);
        assertThat(driver.findElements(By.cssSelector("svg.timeline-chart line.wait"))).hasSize(1);
        ((JavascriptExecutor) driver).executeScript("arguments[0].scrollIntoView()",
                driver.findElement(By.xpath("//h2[text()='Timeline']")));
        screenshot("console-saga-timeline.png");

        // The type's diagram, from the saga page: a node per step, the group's branches side by side.
        driver.get(console.url() + "sagas/" + SERVICE + "/" + checked);
        clickAndWait(By.linkText("checked-transfer v1"));
        List<WebElement> nodes = driver.findElements(By.cssSelector("svg.diagram g.step"));
        assertThat(nodes).extracting(node -> node.getAttribute("data-step"))
                .containsExactlyElementsOf(checkedTransfer.steps().stream().map(step -> step.name()).toList());
        List<WebElement> branches = driver.findElements(By.cssSelector("svg.diagram g.group g.step rect.box"));
        assertThat(branches).hasSize(2);
        assertThat(branches.get(0).getRect().getY()).isEqualTo(branches.get(1).getRect().getY());
        assertThat(branches.get(1).getRect().getX()).isGreaterThan(branches.get(0).getRect().getX()
                + branches.get(0).getRect().getWidth());
        assertThat(driver.findElements(By.cssSelector("svg.diagram g.step.conditional")))
                .extracting(node -> node.getAttribute("data-step")).containsExactly("record");
        assertThat(driver.findElement(By.cssSelector("svg.diagram")).getText()).contains("Debit → bank-a", "undo: Refund",
                "saga deadline 5 min");
        screenshot("console-saga-type.png");

        // From the list, the first type's diagram; once its recorded shape is gone, derived from its sagas' history.
        driver.get(console.url() + "sagas?service=" + SERVICE + "&type=transfer");
        clickAndWait(By.cssSelector("table.list tbody tr td a[href^='/saga-types/']"));
        assertThat(driver.findElements(By.cssSelector("svg.diagram g.step"))).extracting(node -> node.getAttribute("data-step"))
                .containsExactly("debit", "credit");
        assertThat(driver.findElement(By.cssSelector("svg.diagram")).getText()).contains("Debit → dynamic");
        assertThat(driver.findElements(By.cssSelector(".notice"))).isEmpty();
        transfersDb.execute("DELETE FROM saga_definition WHERE saga_type = 'transfer'");
        refresh();
        assertThat(driver.findElement(By.cssSelector(".notice")).getText()).startsWith("Derived from the history");
        assertThat(driver.findElements(By.cssSelector("svg.diagram g.step"))).extracting(node -> node.getAttribute("data-step"))
                .containsExactly("debit", "credit");
        logOut();
    }

    // ---------------------------------------------------------------------------------------------

    /** The hops of a saga's history: each command, compensation or abandon it sent. */
    private long hopsOf(UUID saga) {
        return count("SELECT count(*) FROM saga_event WHERE saga_id = '" + saga + "' AND event IN ('COMMAND_SENT', "
                + "'COMPENSATION_SENT', 'ABANDON_SENT')");
    }

    /** The counts of a chart's bars of one class. */
    private static long barTotal(WebElement card, String bars) {
        return card.findElements(By.cssSelector(bars)).stream().map(bar -> bar.getAttribute("data-count"))
                .filter(java.util.Objects::nonNull).mapToLong(Long::parseLong).sum();
    }

    private void logIn(String user, String password) {
        driver.get(console.url().toString());
        assertThat(driver.getCurrentUrl()).contains("/login");
        driver.findElement(By.id("username")).sendKeys(user);
        driver.findElement(By.id("password")).sendKeys(password);
        clickAndWait(By.cssSelector("form button[type=submit]"));
        try {
            new WebDriverWait(driver, WAIT).until(d -> d.findElements(By.cssSelector("form.logout")).size() == 1);
        } catch (RuntimeException e) {
            throw new AssertionError("not logged in; at " + driver.getCurrentUrl() + ":\n" + driver.getPageSource(), e);
        }
        assertThat(driver.findElement(By.cssSelector(".who")).getText()).startsWith(user);
    }

    private void logOut() {
        clickAndWait(By.cssSelector("form.logout button"));
        assertThat(driver.getCurrentUrl()).contains("/login");
    }

    /** Clicks what loads another page, and waits until it has. */
    private void clickAndWait(By what) {
        clickAndWait(driver.findElement(what));
    }

    private void clickAndWait(WebElement element) {
        WebElement page = driver.findElement(By.tagName("html"));
        element.click();
        awaitGone(page);
    }

    private void refresh() {
        WebElement page = driver.findElement(By.tagName("html"));
        driver.navigate().refresh();
        awaitGone(page);
    }

    /**
     * Waits until the old page's root is gone. While the new document replaces it, ChromeDriver may report the old
     * node as "does not belong to the document" rather than stale; both mean the old page is gone.
     */
    private void awaitGone(WebElement page) {
        new WebDriverWait(driver, WAIT).until(ignored -> {
            try {
                page.isEnabled();
                return false;
            } catch (StaleElementReferenceException stale) {
                return true;
            } catch (WebDriverException replaced) {
                if (String.valueOf(replaced.getMessage()).contains("does not belong to the document")) {
                    return true;
                }
                throw replaced;
            }
        });
    }

    private void screenshot(String name) {
        try {
            File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
            Files.copy(shot.toPath(), screenshots.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private UUID begin(Transfer data, String key) {
        return orchestrator.begin(transfersDb.dataSource(), transfer, data, key);
    }

    private void participant(String bank) {
        SagaParticipant.Builder builder = SagaParticipant.builder().name(bank).dataSource(transfersDb.dataSource())
                .bootstrapServers(kafka.bootstrapServers());
        for (String type : List.of("Debit", "Refund", "Credit", "ReverseCredit")) {
            builder.handle(type, this::bankHandler);
        }
        closeables.add(builder.build().start());
    }

    private Reply bankHandler(SagaCommand command, MessageContext context) throws SQLException {
        Movement movement = context.payload(Movement.class);
        Connection connection = context.connection();
        switch (command.type()) {
            case "Debit" -> {
                return move(connection, movement.account(), -movement.amount())
                        ? Reply.success() : Reply.failure("insufficient funds or unknown account " + movement.account());
            }
            case "Credit" -> {
                return move(connection, movement.account(), movement.amount())
                        ? Reply.success() : Reply.failure("unknown account " + movement.account());
            }
            case "Refund" -> {
                if (frozenAccounts.contains(movement.account())) {
                    return Reply.retryableFailure("account " + movement.account() + " is frozen");
                }
                move(connection, movement.account(), movement.amount());
                return Reply.success();
            }
            case "ReverseCredit" -> {
                move(connection, movement.account(), -movement.amount());
                return Reply.success();
            }
            default -> throw new IllegalStateException("unexpected " + command.type());
        }
    }

    private static boolean move(Connection connection, String account, long amount) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(
                "UPDATE account SET balance = balance + ? WHERE id = ? AND balance + ? >= 0")) {
            update.setLong(1, amount);
            update.setString(2, account);
            update.setLong(3, amount);
            return update.executeUpdate() == 1;
        }
    }

    private void recordAudit(dev.outboxsaga.core.InboundMessage message, MessageContext context) throws SQLException {
        if (auditBroken.get()) {
            throw new IllegalStateException("audit store is read-only");
        }
        try (PreparedStatement insert = context.connection().prepareStatement(
                "INSERT INTO audit_entry (message_id, text) VALUES (?, ?)")) {
            insert.setObject(1, message.id());
            insert.setString(2, message.payload());
            insert.executeUpdate();
        }
    }

    /** A relay process with its /health endpoint; returns the endpoint's URL. */
    private String startRelay(String relayName, String instance) {
        RelayConfig config = RelayConfig.builder()
                .set(RelayConfig.NAME, relayName)
                .set(RelayConfig.INSTANCE_ID, instance)
                .set(RelayConfig.DATABASE_URL, transfersDb.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, transfersDb.username())
                .set(RelayConfig.DATABASE_PASSWORD, transfersDb.password())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers())
                .set(RelayConfig.METRICS_PORT, -1)
                .set(RelayConfig.HEARTBEAT_INTERVAL_MS, 1000)
                .set(RelayConfig.LEASE_TTL_MS, 3000)
                .set(RelayConfig.LEASE_RENEW_MS, 500)
                .build();
        OutboxRelay relay = OutboxRelay.create(config);
        HttpEndpoint health = HttpEndpoint.start(0, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), relay::status,
                30_000);
        closeables.add(health);
        closeables.add(relay);
        Thread thread = new Thread(relay, "relay-" + instance);
        thread.setDaemon(true);
        thread.start();
        relayThreads.add(thread);
        // The first one leads; wait for it before starting the standby, so the roles are as named.
        await().atMost(WAIT).until(() -> relay.status().role() != dev.outboxsaga.relay.RelayStatus.Role.STOPPED);
        if (instance.equals("relay-1")) {
            await().atMost(WAIT).until(() -> relay.status().role() == dev.outboxsaga.relay.RelayStatus.Role.LEADER
                    && relay.status().streaming());
        }
        return "http://127.0.0.1:" + health.port() + "/health";
    }

    private void createTopics(String... names) throws Exception {
        kafka.admin().createTopics(java.util.Arrays.stream(names).map(n -> new NewTopic(n, 3, (short) 1)).toList())
                .all().get(30, TimeUnit.SECONDS);
    }

    private String state(UUID saga) {
        return text("SELECT state FROM saga_instance WHERE id = '" + saga + "'");
    }

    private long count(String sql) {
        return Long.parseLong(text(sql));
    }

    private String text(String sql) {
        try (Connection c = transfersDb.openConnection(); PreparedStatement ps = c.prepareStatement(sql);
                ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : "";
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

}
