package dev.outboxsaga.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.console.AuditReport.Finding;
import dev.outboxsaga.console.AuditReport.Kind;
import dev.outboxsaga.console.AuditReport.Stage;
import dev.outboxsaga.core.InboxConsumer;
import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.outboxsaga.console.internal.WebClient;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The audit against the real thing: one database with its outbox, the real relay publishing it to Kafka, and an
 * {@code InboxConsumer} consuming one of its two topics, all shared by the tests of this class. Each test writes
 * its own rows and audits the window in which it wrote them; a healthy window is proven, and each injected
 * exception is found, alone, with its message id.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReconciliationAuditTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private TestDatabase db;
    private TestKafka kafka;
    private final Outbox outbox = Outbox.builder().build();
    private String suffix;
    private String orders;
    private String payments;
    private String orderTopic;
    private String paymentTopic;
    private String relayName;
    private String consumerName;
    private OutboxRelay relay;
    private Thread relayThread;
    private InboxConsumer consumer;
    private int sequence;

    @BeforeAll
    void startRelayAndConsumer(TestDatabase db, TestKafka kafka) throws Exception {
        this.db = db;
        this.kafka = kafka;
        OutboxSchema.migrate(db.dataSource());
        // A second outbox table that no relay reads: the "missing in Kafka" test writes to it.
        db.execute("CREATE TABLE outbox_event_1 (LIKE outbox_event INCLUDING ALL)");
        suffix = UUID.randomUUID().toString().substring(0, 8);
        orders = "order_" + suffix;
        payments = "payment_" + suffix;
        orderTopic = "outbox.event." + orders;
        paymentTopic = "outbox.event." + payments;
        relayName = "audit-" + suffix;
        consumerName = "ledger-" + suffix;
        kafka.admin().createTopics(List.of(new NewTopic(orderTopic, 3, (short) 1), new NewTopic(paymentTopic, 3, (short) 1)))
                .all().get();
        startRelay();
        startConsumer();
        // Rows before every test's window, so that the outbox and the inbox keep rows older than each window (or
        // the audit could not tell a purge from a window at the very start), and every partition has some.
        List<UUID> warmUp = write(24);
        awaitConsumed(warmUp);
        Outbox unrelayed = Outbox.builder().table("outbox_event_1").build();
        unrelayed.inTransaction(db.dataSource(), tx -> {
            tx.append(order("old", "{}"));
            return null;
        });
    }

    /** A test that stopped the relay or the consumer and failed before starting it again leaves them running for the next. */
    @AfterEach
    void keepRunning() {
        if (relay == null) {
            startRelay();
        }
        if (consumer == null) {
            startConsumer();
        }
    }

    @AfterAll
    void stop() throws InterruptedException {
        stopConsumer();
        stopRelay();
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void aHealthyWindowIsProven() throws Exception {
        Instant from = dbNow();
        List<UUID> ids = write(12);
        Instant to = dbNow();
        awaitConsumed(ids);

        AuditReport report = audit().build().run(from, to);

        assertThat(report.findings()).isEmpty();
        assertThat(report.verdict()).as(report.toText()).isEqualTo(AuditReport.Verdict.PROVEN);
        assertThat(report.proven()).isTrue();
        assertThat(report.counts()).isEqualTo(new AuditReport.Counts(12, 12, 0, 6, 6, 0));
        assertThat(report.bounds()).noneMatch(AuditReport.Bound::limitsProof);
        assertThat(report.relays()).singleElement().satisfies(state -> assertThat(state.name()).isEqualTo(relayName));
        assertThat(report.toText()).contains("Reconciliation audit: PROVEN", "12 published exactly once",
                "6 in its inbox exactly once");
        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertThat(json.get("verdict").asText()).isEqualTo("PROVEN");
        assertThat(json.get("proven").asBoolean()).isTrue();
        assertThat(json.get("counts").get("consumedOnce").asLong()).isEqualTo(6);
        assertThat(json.get("window").get("from").asText()).isEqualTo(from.toString());

        // Audited under the name of a relay that never ran, the same rows are still all in Kafka; and looking for
        // that relay's positions topic did not create it.
        AuditReport underAnotherName = audit(ReconciliationAudit.Relay.named("never-ran-" + suffix)).build().run(from, to);
        assertThat(underAnotherName.verdict()).isEqualTo(AuditReport.Verdict.PROVEN);
        assertThat(underAnotherName.relays().get(0).position()).isEqualTo("none");
        assertThat(kafka.admin().listTopics().names().get()).doesNotContain("outbox-relay-positions.never-ran-" + suffix);

        // The CLI runs the same audit, and says so by its exit code.
        StringWriter out = new StringWriter();
        assertThat(cli(out, "--from", from.toString(), "--to", to.toString(), "--json")).isEqualTo(OutboxSagaCli.OK);
        assertThat(new ObjectMapper().readTree(out.toString()).get("verdict").asText()).isEqualTo("PROVEN");
        assertThat(consolePage(from, to)).contains("PROVEN", "Exceptions (0)");
    }

    @Test
    void aRecordProducedTwiceIsDuplicatedInKafkaWhileACopyInAnAbortedTransactionIsNot() throws Exception {
        Instant from = dbNow();
        List<UUID> ids = write(6);
        Instant to = dbNow();
        awaitConsumed(ids);
        UUID twice = ids.get(0);
        UUID abortedCopy = ids.get(2);
        ConsumerRecord<byte[], byte[]> original = recordOf(orderTopic, twice);
        ConsumerRecord<byte[], byte[]> other = recordOf(orderTopic, abortedCopy);
        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer("audit-test-copy-" + suffix)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(copyOf(other)).get();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(copyOf(original)).get();
            producer.commitTransaction();
        }

        AuditReport report = audit().build().run(from, to);

        assertThat(report.findings()).as(report.toText()).singleElement().satisfies(finding -> {
            assertThat(finding.kind()).isEqualTo(Kind.DUPLICATED_IN_KAFKA);
            assertThat(finding.messageId()).isEqualTo(twice);
            assertThat(finding.locations()).hasSize(2).allMatch(location -> location.topic().equals(orderTopic)
                    && location.partition() == original.partition());
            assertThat(finding.locations().get(0).offset()).isEqualTo(original.offset());
        });
        assertThat(report.verdict()).isEqualTo(AuditReport.Verdict.VIOLATED);
        assertThat(report.counts().publishedOnce()).isEqualTo(5);
        // The inbox absorbed the copy: the consumer side has nothing to report.
        assertThat(report.counts().consumedOnce()).isEqualTo(3);
        assertThat(report.toText()).contains("DUPLICATED_IN_KAFKA", twice.toString());

        StringWriter out = new StringWriter();
        assertThat(cli(out, "--from", from.toString(), "--to", to.toString())).isEqualTo(OutboxSagaCli.FAILED);
        assertThat(out.toString()).contains("VIOLATED", "DUPLICATED_IN_KAFKA", twice.toString());

        // The console's audit page runs the same audit and shows the exception with its id.
        String page = consolePage(from, to);
        assertThat(page).contains("VIOLATED", "DUPLICATED_IN_KAFKA", twice.toString(), "Exceptions (1)");
    }

    /** The report of an audit an operator starts on the console for this class's service, relay and consumer. */
    private String consolePage(Instant from, Instant to) {
        ConsoleConfig config = ConsoleConfig.builder().set(ConsoleConfig.PORT, 0)
                .service("orders", db.jdbcUrl(), db.username(), db.password())
                .set("service.orders.kafka.bootstrap.servers", kafka.bootstrapServers())
                .user("ada", Passwords.hash("audit pages", Passwords.MIN_ITERATIONS), ConsoleConfig.Role.OPERATOR).build();
        try (OperatorConsole console = OperatorConsole.start(config)) {
            WebClient browser = new WebClient(console.url());
            assertThat(browser.login("ada", "audit pages").statusCode()).isEqualTo(303);
            HttpResponse<String> started = browser.post("/audit", Map.of("csrf", browser.csrf(), "service", "orders",
                    "relay", relayName, "consumer", consumerName, "from", from.toString(), "to", to.toString()));
            assertThat(started.statusCode()).isEqualTo(303);
            String report = started.headers().firstValue("Location").orElseThrow();
            // The audit runs on its own thread; its page reloads itself until it ends.
            await().atMost(Duration.ofSeconds(60)).until(() -> !browser.get(report).body().contains("This page reloads"));
            HttpResponse<String> page = browser.get(report);
            assertThat(page.statusCode()).isEqualTo(200);
            return page.body();
        }
    }

    /** {@code outbox-saga audit} on this class's service, relay and consumer; returns the exit code. */
    private int cli(StringWriter out, String... window) throws Exception {
        Path config = Files.createTempFile("console", ".properties");
        try {
            Files.writeString(config, String.join("\n",
                    "service.orders.jdbc-url=" + db.jdbcUrl(),
                    "service.orders.username=" + db.username(),
                    "service.orders.password=" + db.password(),
                    "service.orders.kafka.bootstrap.servers=" + kafka.bootstrapServers(), ""));
            List<String> args = new ArrayList<>(List.of("--config", config.toString(), "audit", "--service", "orders",
                    "--relay", relayName, "--consumer", consumerName));
            args.addAll(List.of(window));
            StringWriter err = new StringWriter();
            int code = OutboxSagaCli.execute(Map.of(), new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
            assertThat(err.toString()).as("stderr").isEmpty();
            return code;
        } finally {
            Files.delete(config);
        }
    }

    @Test
    void aRowDeletedFromTheInboxIsMissingThere() throws Exception {
        Instant from = dbNow();
        List<UUID> ids = write(6);
        Instant to = dbNow();
        awaitConsumed(ids);
        UUID deleted = ids.get(4);
        assertThat(update("DELETE FROM inbox_message WHERE consumer = ? AND message_id = ?", consumerName, deleted))
                .isEqualTo(1);

        AuditReport report = audit().build().run(from, to);

        assertThat(report.findings()).as(report.toText()).singleElement().satisfies(finding -> {
            assertThat(finding.kind()).isEqualTo(Kind.MISSING_IN_INBOX);
            assertThat(finding.stage()).isEqualTo(Stage.INBOX);
            assertThat(finding.messageId()).isEqualTo(deleted);
            assertThat(finding.topic()).isEqualTo(orderTopic);
        });
        assertThat(report.verdict()).isEqualTo(AuditReport.Verdict.VIOLATED);
        assertThat(report.counts()).isEqualTo(new AuditReport.Counts(6, 6, 0, 3, 2, 0));
    }

    /**
     * A row committed to an outbox table that no relay reads, in a window the relay has published past: it never
     * reaches Kafka. That is what a relay whose {@code outbox.tables} lacks a shard table of the service does
     * (the service writes {@code outbox_event_1}, the operator forgot it): the audit, told which tables the
     * relay is meant to publish, finds the row missing and nothing else.
     */
    @Test
    void aRowTheRelayNeverReadIsMissingInKafka() throws Exception {
        Outbox unrelayed = Outbox.builder().table("outbox_event_1").build();
        Instant from = dbNow();
        List<UUID> ids = write(4);
        OutboxMessage lost = order("lost", "{\"n\": 1}");
        unrelayed.inTransaction(db.dataSource(), tx -> {
            tx.append(lost);
            return null;
        });
        Instant to = dbNow();
        awaitConsumed(ids);

        AuditReport report = audit(ReconciliationAudit.Relay.named(relayName)
                .withTables("public.outbox_event", "public.outbox_event_1")).build().run(from, to);

        assertThat(report.findings()).as(report.toText()).singleElement().satisfies(finding -> {
            assertThat(finding.kind()).isEqualTo(Kind.MISSING_IN_KAFKA);
            assertThat(finding.messageId()).isEqualTo(lost.id());
            assertThat(finding.table()).isEqualTo("public.outbox_event_1");
            assertThat(finding.locations()).isEmpty();
        });
        assertThat(report.verdict()).isEqualTo(AuditReport.Verdict.VIOLATED);
        assertThat(report.relays()).singleElement().satisfies(state -> assertThat(state.coversSnapshot()).isTrue());
        assertThat(report.counts().rows()).isEqualTo(5);
    }

    @Test
    void parkedMessagesAreListedAndAccountedFor() throws Exception {
        Instant from = dbNow();
        List<UUID> ids = write(4);
        OutboxMessage poison = order("poison", "{\"poison\": true}");
        // No valid topic name: the relay parks it at once.
        OutboxMessage unroutable = outbox.message().aggregate("no such topic!", "x").type("Placed").payload("{}").build();
        outbox.inTransaction(db.dataSource(), tx -> {
            tx.appendAll(List.of(poison, unroutable));
            return null;
        });
        Instant to = dbNow();
        awaitConsumed(ids);
        await().atMost(WAIT).until(() -> count("SELECT count(*) FROM dead_letter WHERE consumer = ? AND message_id = ?",
                consumerName, poison.id()) == 1 && count("SELECT count(*) FROM outbox_relay_dead_letter WHERE id = ?",
                unroutable.id()) == 1);
        awaitConsumed(List.of(poison.id()));

        AuditReport report = audit().build().run(from, to);

        assertThat(report.findings()).as(report.toText()).hasSize(2);
        assertThat(report.findings(Kind.PARKED_BY_RELAY)).singleElement().satisfies(finding -> {
            assertThat(finding.messageId()).isEqualTo(unroutable.id());
            assertThat(finding.detail()).contains("not a valid Kafka topic name");
        });
        assertThat(report.findings(Kind.PARKED_IN_INBOX)).singleElement().satisfies(finding -> {
            assertThat(finding.messageId()).isEqualTo(poison.id());
            assertThat(finding.detail()).contains("PARKED", "poisoned");
        });
        assertThat(report.verdict()).as("parked messages are accounted for").isEqualTo(AuditReport.Verdict.PROVEN);
        assertThat(report.counts()).isEqualTo(new AuditReport.Counts(6, 5, 1, 3, 2, 1));

        // A dead letter marked replayed by hand, while the inbox still says PARKED: the two contradict each other.
        update("UPDATE dead_letter SET status = 'REPLAYED' WHERE consumer = ? AND message_id = ?", consumerName, poison.id());
        AuditReport tampered = audit().build().run(from, to);
        assertThat(tampered.findings(Kind.INBOX_INCONSISTENT)).as(tampered.toText()).singleElement()
                .satisfies(finding -> assertThat(finding.messageId()).isEqualTo(poison.id()));
        assertThat(tampered.findings()).hasSize(2);
        assertThat(tampered.verdict()).isEqualTo(AuditReport.Verdict.VIOLATED);
    }

    @Test
    void rowsNotYetPublishedOrConsumedAreInFlightUntilTheyArrive() throws Exception {
        Instant from = dbNow();
        List<UUID> ids = write(2);
        awaitConsumed(ids);
        stopConsumer();
        OutboxMessage unconsumed = order("late", "{\"n\": 1}");
        append(unconsumed);
        recordOf(orderTopic, unconsumed.id());
        stopRelay();
        OutboxMessage unpublished = order("later", "{\"n\": 2}");
        append(unpublished);
        Instant to = dbNow();

        // The relay released its lease as it stopped: the audit does not wait for it.
        AuditReport report = audit().build().run(from, to);

        assertThat(report.findings()).as(report.toText()).hasSize(2).allMatch(finding -> finding.kind() == Kind.IN_FLIGHT);
        assertThat(report.findings()).filteredOn(finding -> finding.stage() == Stage.KAFKA).singleElement()
                .satisfies(finding -> assertThat(finding.messageId()).isEqualTo(unpublished.id()));
        assertThat(report.findings()).filteredOn(finding -> finding.stage() == Stage.INBOX).singleElement()
                .satisfies(finding -> assertThat(finding.messageId()).isEqualTo(unconsumed.id()));
        assertThat(report.verdict()).isEqualTo(AuditReport.Verdict.INCOMPLETE);
        assertThat(report.bounds()).anyMatch(bound -> bound.limitsProof() && bound.source().equals("relay " + relayName));

        startRelay();
        startConsumer();
        awaitConsumed(List.of(unconsumed.id(), unpublished.id()));
        AuditReport later = audit().build().run(from, to);
        assertThat(later.findings()).as(later.toText()).isEmpty();
        assertThat(later.verdict()).isEqualTo(AuditReport.Verdict.PROVEN);
    }

    /**
     * Records deleted from a topic (by retention, here by {@code deleteRecords}) are gone as evidence: their rows
     * are not retained, not missing, and the report says how far the topic is cut.
     */
    @Test
    void rowsWhoseRecordsWereDeletedFromTheTopicAreNotRetainedRatherThanMissing() throws Exception {
        String shipments = "shipment_" + suffix;
        String shipmentTopic = "outbox.event." + shipments;
        kafka.admin().createTopics(List.of(new NewTopic(shipmentTopic, 1, (short) 1))).all().get();
        Instant from = dbNow();
        List<OutboxMessage> messages = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            messages.add(outbox.message().aggregate(shipments, "s" + i).type("Shipped").payload("{}").build());
        }
        outbox.inTransaction(db.dataSource(), tx -> {
            tx.appendAll(messages);
            return null;
        });
        Instant to = dbNow();
        ConsumerRecord<byte[], byte[]> last = recordOf(shipmentTopic, messages.get(2).id());
        TopicPartition partition = new TopicPartition(shipmentTopic, 0);
        kafka.admin().deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(last.offset()))).all().get();

        AuditReport report = audit().build().run(from, to);

        assertThat(report.findings()).as(report.toText()).hasSize(2).allMatch(finding -> finding.kind() == Kind.NOT_RETAINED);
        assertThat(report.findings()).extracting(Finding::messageId)
                .containsExactlyInAnyOrder(messages.get(0).id(), messages.get(1).id());
        assertThat(report.verdict()).isEqualTo(AuditReport.Verdict.INCOMPLETE);
        assertThat(report.bounds()).anyMatch(bound -> bound.limitsProof()
                && bound.source().equals("partition " + partition) && bound.statement().contains("before offset " + last.offset()));
    }

    // ---------------------------------------------------------------------------------------------

    private ReconciliationAudit.Builder audit() {
        return audit(ReconciliationAudit.Relay.named(relayName));
    }

    private ReconciliationAudit.Builder audit(ReconciliationAudit.Relay relay) {
        return ReconciliationAudit.builder()
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .relay(relay)
                .consumer(consumerName)
                .patience(Duration.ofSeconds(20));
    }

    private void startRelay() {
        RelayConfig config = RelayConfig.builder()
                .set(RelayConfig.NAME, relayName)
                .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, db.username())
                .set(RelayConfig.DATABASE_PASSWORD, db.password())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers())
                .set(RelayConfig.METRICS_PORT, -1)
                .set(RelayConfig.HEARTBEAT_INTERVAL_MS, 200)
                .set(RelayConfig.LEASE_TTL_MS, 3000)
                .set(RelayConfig.LEASE_RENEW_MS, 500)
                .build();
        relay = OutboxRelay.create(config);
        relayThread = new Thread(relay, "relay-" + relayName);
        relayThread.setDaemon(true);
        relayThread.start();
    }

    private void stopRelay() throws InterruptedException {
        if (relay != null) {
            relay.close();
            relayThread.join(30_000);
            relay = null;
        }
    }

    private void startConsumer() {
        consumer = InboxConsumer.builder()
                .name(consumerName)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topics(orderTopic)
                .parallelism(2)
                .retryPolicy(RetryPolicy.noRetries())
                .handler((message, context) -> {
                    if (message.payload().contains("poison")) {
                        throw new IllegalStateException("poisoned");
                    }
                })
                .build()
                .start();
    }

    private void stopConsumer() {
        if (consumer != null) {
            consumer.close();
            consumer = null;
        }
    }

    private OutboxMessage order(String key, String payload) {
        return outbox.message().aggregate(orders, key).type("Placed").payload(payload).build();
    }

    private void append(OutboxMessage message) {
        outbox.inTransaction(db.dataSource(), tx -> {
            tx.append(message);
            return null;
        });
    }

    /** Writes {@code count} rows, one transaction each, alternately orders and payments, on a dozen keys. */
    private List<UUID> write(int count) {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = sequence++;
            String type = i % 2 == 0 ? orders : payments;
            OutboxMessage message = outbox.message().aggregate(type, "k" + (n % 12)).type("Placed")
                    .payload("{\"n\": " + n + "}").build();
            append(message);
            ids.add(message.id());
        }
        return ids;
    }

    /**
     * Waits until the consumer has every order among {@code ids} in its inbox and its group has committed past
     * their records (payments are not its business).
     */
    private void awaitConsumed(List<UUID> ids) {
        await().atMost(WAIT).until(() -> {
            Map<TopicPartition, Long> needed = new HashMap<>();
            for (UUID id : ids) {
                if (!isOrder(id)) {
                    continue;
                }
                try (Connection connection = db.dataSource().getConnection();
                     PreparedStatement query = connection.prepareStatement("SELECT topic, kafka_partition, kafka_offset "
                             + "FROM inbox_message WHERE consumer = ? AND message_id = ?")) {
                    query.setString(1, consumerName);
                    query.setObject(2, id);
                    try (ResultSet row = query.executeQuery()) {
                        if (!row.next()) {
                            return false;
                        }
                        needed.merge(new TopicPartition(row.getString(1), row.getInt(2)), row.getLong(3), Math::max);
                    }
                }
            }
            Map<TopicPartition, OffsetAndMetadata> committed = kafka.admin().listConsumerGroupOffsets(consumerName)
                    .partitionsToOffsetAndMetadata().get();
            return needed.entrySet().stream().allMatch(entry -> committed.get(entry.getKey()) != null
                    && committed.get(entry.getKey()).offset() > entry.getValue());
        });
    }

    private boolean isOrder(UUID id) throws SQLException {
        return count("SELECT count(*) FROM outbox_event WHERE id = ? AND aggregatetype = '" + orders + "'", id) == 1;
    }

    /** Waits for the committed record of {@code topic} whose id header is {@code id}. */
    private ConsumerRecord<byte[], byte[]> recordOf(String topic, UUID id) {
        Map<String, Object> config = new HashMap<>(kafka.consumerConfig("audit-test-reader-" + UUID.randomUUID()));
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(config)) {
            List<TopicPartition> partitions = reader.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            reader.assign(partitions);
            reader.seekToBeginning(partitions);
            List<ConsumerRecord<byte[], byte[]>> found = new ArrayList<>();
            Predicate<ConsumerRecord<byte[], byte[]>> isIt = record -> {
                Header header = record.headers().lastHeader(MessageHeaders.ID);
                return header != null && new String(header.value(), StandardCharsets.UTF_8).equals(id.toString());
            };
            await().atMost(WAIT).until(() -> {
                reader.poll(Duration.ofMillis(200)).forEach(record -> {
                    if (isIt.test(record)) {
                        found.add(record);
                    }
                });
                return !found.isEmpty();
            });
            return found.get(0);
        }
    }

    private static ProducerRecord<byte[], byte[]> copyOf(ConsumerRecord<byte[], byte[]> record) {
        ProducerRecord<byte[], byte[]> copy = new ProducerRecord<>(record.topic(), record.partition(), record.key(),
                record.value());
        record.headers().forEach(header -> copy.headers().add(header.key(), header.value()));
        return copy;
    }

    private KafkaProducer<byte[], byte[]> transactionalProducer(String transactionalId) {
        Map<String, Object> config = new HashMap<>(kafka.producerConfig());
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        config.put("transactional.id", transactionalId);
        return new KafkaProducer<>(config);
    }

    private Instant dbNow() throws SQLException {
        try (Connection connection = db.dataSource().getConnection();
             PreparedStatement query = connection.prepareStatement("SELECT clock_timestamp()");
             ResultSet result = query.executeQuery()) {
            result.next();
            return result.getObject(1, OffsetDateTime.class).toInstant();
        }
    }

    private long count(String sql, Object... parameters) throws SQLException {
        try (Connection connection = db.dataSource().getConnection();
             PreparedStatement query = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                query.setObject(i + 1, parameters[i]);
            }
            try (ResultSet result = query.executeQuery()) {
                result.next();
                return result.getLong(1);
            }
        }
    }

    private int update(String sql, Object... parameters) throws SQLException {
        try (Connection connection = db.dataSource().getConnection();
             PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setObject(i + 1, parameters[i]);
            }
            return statement.executeUpdate();
        }
    }
}
