package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.DeadLetter;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.RetryPolicy;
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
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Choreography end to end on PostgreSQL, Kafka and the relay: service A (payments) emits events through its
 * outbox, service B (shipping) reacts with {@link EventHandlers} and emits its own, service C (notifications)
 * reacts to B's. Each service has its own database; A's and B's outboxes have a relay, shared by the tests,
 * which keep apart by per-test aggregate types and consumer names.
 *
 * <p>Effects are counted in a {@code reaction} table without a unique key, so a second application would show
 * as a second row rather than be hidden by a constraint violation.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventHandlersIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    record PaymentReceived(String orderId, long amount) {
    }

    record ShipmentRequested(String orderId, long amount) {
    }

    private TestKafka kafka;
    private TestDatabase payments;
    private TestDatabase shipping;
    private TestDatabase notifications;
    private InProcessRelays relays;
    private final Outbox outbox = Outbox.builder().payloadCodec(JacksonPayloadCodec.create()).build();
    private final List<AutoCloseable> closeAfterTest = new ArrayList<>();

    private String suffix;
    private String paymentTopic;
    private String paymentType;
    private String shipmentType;

    @BeforeAll
    void startDatabasesAndRelays(TestDatabase db, TestKafka kafka, TestInfrastructure infra) {
        this.kafka = kafka;
        this.payments = db;
        this.shipping = TestDatabase.create(infra.postgres());
        this.notifications = TestDatabase.create(infra.postgres());
        String run = UUID.randomUUID().toString().substring(0, 8);
        relays = new InProcessRelays(kafka);
        for (TestDatabase each : List.of(payments, shipping, notifications)) {
            OutboxSchema.migrate(each.dataSource());
        }
        for (TestDatabase reacting : List.of(shipping, notifications)) {
            reacting.execute("CREATE TABLE reaction (seq bigserial PRIMARY KEY, service text NOT NULL,"
                    + " detail text NOT NULL)");
        }
        relays.start(payments, "events-it-payments-" + run);
        relays.start(shipping, "events-it-shipping-" + run);
    }

    @AfterAll
    void stopRelays() throws InterruptedException {
        relays.close();
        shipping.close();
        notifications.close();
    }

    @BeforeEach
    void names() {
        suffix = UUID.randomUUID().toString().substring(0, 6);
        paymentType = "payment-" + suffix;
        shipmentType = "shipment-" + suffix;
        paymentTopic = SagaMessages.DEFAULT_TOPIC_PREFIX + paymentType;
        createTopics(paymentTopic, SagaMessages.DEFAULT_TOPIC_PREFIX + shipmentType);
    }

    @AfterEach
    void closeServices() throws Exception {
        for (int i = closeAfterTest.size() - 1; i >= 0; i--) {
            closeAfterTest.get(i).close();
        }
        closeAfterTest.clear();
    }

    @Test
    void anEventTakesEffectOnceEvenDeliveredTwiceAndWhatItsHandlerEmitsReachesTheNextService() throws Exception {
        EventHandlers shipper = start(EventHandlers.builder().name("shipping-" + suffix)
                .dataSource(shipping.dataSource()).bootstrapServers(kafka.bootstrapServers())
                .on(paymentType, "PaymentReceived", PaymentReceived.class, (payment, context) -> {
                    react(context.connection(), "shipping-" + suffix, payment.orderId() + ":" + payment.amount());
                    context.emit(shipmentType, payment.orderId(), "ShipmentRequested",
                            new ShipmentRequested(payment.orderId(), payment.amount()));
                }));
        EventHandlers notifier = start(EventHandlers.builder().name("notifications-" + suffix)
                .dataSource(notifications.dataSource()).bootstrapServers(kafka.bootstrapServers())
                .on(shipmentType, "ShipmentRequested", ShipmentRequested.class, (shipment, context) ->
                        react(context.connection(), "notifications-" + suffix, shipment.orderId() + ":" + shipment.amount()
                                + " correlation " + context.message().correlationId())));

        // An event type shipping has no handler for, on the topic it reads: ignored by default.
        emit(paymentType, "o-0", "PaymentRefunded", new PaymentReceived("o-0", 3), null);
        // A field the payload type does not have (the producer is a version ahead): read all the same.
        emit(paymentType, "o-1", "PaymentReceived", "{\"orderId\":\"o-1\",\"amount\":500,\"currency\":\"EUR\"}",
                "order-o-1");

        await().atMost(WAIT).until(() -> reactions(notifications, "notifications-" + suffix).size() == 1);
        assertThat(reactions(notifications, "notifications-" + suffix)).containsExactly("o-1:500 correlation order-o-1");

        // Kafka delivers the payment again, byte for byte (same message id), as after a crash before the offset commit.
        ConsumerRecord<byte[], byte[]> received = readRecord(paymentTopic, "PaymentReceived");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerConfig())) {
            producer.send(new ProducerRecord<>(received.topic(), received.partition(), received.key(), received.value(),
                    received.headers())).get();
        }
        await().atMost(WAIT).until(() -> shipper.consumer().stats().duplicates() == 1);

        assertThat(reactions(shipping, "shipping-" + suffix)).as("shipping's effect").containsExactly("o-1:500");
        assertThat(count(shipping, "SELECT count(*) FROM outbox_event WHERE aggregatetype = '" + shipmentType
                + "' AND type = 'ShipmentRequested'")).as("events shipping emitted").isEqualTo(1);
        assertThat(shipper.consumer().stats().processed()).as("the handled and the ignored event").isEqualTo(2);
        assertThat(shipper.consumer().deadLetters().countParked()).isZero();
        assertThat(reactions(notifications, "notifications-" + suffix)).hasSize(1);
        assertThat(notifier.consumer().stats().processed()).isEqualTo(1);
        assertThat(shipper.topics()).containsExactly(paymentTopic);
    }

    @Test
    void anUndecodablePayloadIsParkedAtOnceWithItsReasonAndLaterEventsOfItsKeyGoOn() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        EventHandlers shipper = start(EventHandlers.builder().name("shipping-" + suffix)
                .dataSource(shipping.dataSource()).bootstrapServers(kafka.bootstrapServers())
                .unhandledEvents(EventHandlers.UnhandledEvents.PARK)
                .on(paymentType, "PaymentReceived", PaymentReceived.class, (payment, context) -> {
                    calls.incrementAndGet();
                    react(context.connection(), "shipping-" + suffix, payment.orderId() + ":" + payment.amount());
                }));

        // All of one aggregate id, so one partition in this order: the bad ones ahead of the good one.
        emit(paymentType, "o-2", "PaymentReceived", "{\"orderId\":\"o-2\",\"amount\":\"lots\"}", null);
        emit(paymentType, "o-2", "PaymentRenamed", new PaymentReceived("o-2", 1), null);
        emit(paymentType, "o-2", "PaymentReceived", new PaymentReceived("o-2", 7), null);

        await().atMost(WAIT).until(() -> reactions(shipping, "shipping-" + suffix).size() == 1
                && shipper.consumer().deadLetters().countParked() == 2);
        assertThat(reactions(shipping, "shipping-" + suffix)).containsExactly("o-2:7");
        assertThat(calls).as("handler calls: never for the undecodable one").hasValue(1);
        List<DeadLetter> parked = shipper.consumer().deadLetters().parked(10);
        assertThat(parked).extracting(DeadLetter::errorMessage).satisfiesExactlyInAnyOrder(
                reason -> assertThat(reason).contains("event PaymentReceived", "cannot be decoded as "
                        + PaymentReceived.class.getName(), "lots", "not retried"),
                reason -> assertThat(reason).contains("no handler for event type 'PaymentRenamed' on topic "
                        + paymentTopic, "[PaymentReceived]"));
        assertThat(parked).extracting(DeadLetter::attempts).containsOnly(1);
        assertThat(shipper.consumer().stats().retries()).isZero();
    }

    @Test
    void aFailingHandlerIsRetriedThenParkedWithoutItsEmittedEventsAndTheReplayTakesEffectOnce() throws Exception {
        AtomicBoolean fixed = new AtomicBoolean();
        AtomicInteger attempts = new AtomicInteger();
        EventHandlers shipper = start(EventHandlers.builder().name("shipping-" + suffix)
                .dataSource(shipping.dataSource()).bootstrapServers(kafka.bootstrapServers())
                .retry(RetryPolicy.exponential(3, Duration.ofMillis(50), Duration.ofMillis(100)))
                .on(paymentType, "PaymentReceived", PaymentReceived.class, (payment, context) -> {
                    context.emit(shipmentType, payment.orderId(), "ShipmentRequested",
                            new ShipmentRequested(payment.orderId(), payment.amount()));
                    if (payment.amount() < 0 && !fixed.get()) {
                        attempts.incrementAndGet();
                        throw new IllegalStateException("negative amount " + payment.amount() + " of order "
                                + payment.orderId());
                    }
                    react(context.connection(), "shipping-" + suffix, payment.orderId() + ":" + payment.amount());
                }));

        emit(paymentType, "o-3", "PaymentReceived", new PaymentReceived("o-3", -5), null);
        emit(paymentType, "o-3", "PaymentReceived", new PaymentReceived("o-3", 9), null);

        await().atMost(WAIT).until(() -> reactions(shipping, "shipping-" + suffix).size() == 1
                && shipper.consumer().deadLetters().countParked() == 1);
        assertThat(reactions(shipping, "shipping-" + suffix)).containsExactly("o-3:9");
        DeadLetter letter = shipper.consumer().deadLetters().parked(10).get(0);
        assertThat(letter.attempts()).isEqualTo(3);
        assertThat(attempts).hasValue(3);
        assertThat(letter.errorClass()).isEqualTo(IllegalStateException.class.getName());
        assertThat(letter.errorMessage()).isEqualTo("negative amount -5 of order o-3");
        assertThat(shipments(-5)).as("what the failed attempts emitted was rolled back with them").isZero();

        fixed.set(true);
        shipper.consumer().deadLetters().replay(letter.id());

        assertThat(reactions(shipping, "shipping-" + suffix)).containsExactlyInAnyOrder("o-3:9", "o-3:-5");
        assertThat(shipments(-5)).isEqualTo(1);
        assertThat(shipments(9)).isEqualTo(1);
        assertThat(shipper.consumer().deadLetters().countParked()).isZero();
    }

    private EventHandlers start(EventHandlers.Builder builder) {
        EventHandlers handlers = builder.build().start();
        closeAfterTest.add(handlers);
        return handlers;
    }

    /** Service A's business transaction: its outbox row, published by its relay. */
    private void emit(String aggregateType, String aggregateId, String type, Object payload, String correlationId) {
        outbox.inTransaction(payments.dataSource(), tx -> {
            tx.append(outbox.message().aggregate(aggregateType, aggregateId).type(type).payload(payload)
                    .correlationId(correlationId).build());
            return null;
        });
    }

    private static void react(Connection connection, String service, String detail) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO reaction (service, detail) VALUES (?, ?)")) {
            insert.setString(1, service);
            insert.setString(2, detail);
            insert.executeUpdate();
        }
    }

    private static List<String> reactions(TestDatabase db, String service) throws SQLException {
        List<String> details = new ArrayList<>();
        try (Connection connection = db.openConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT detail FROM reaction WHERE service = ? ORDER BY seq")) {
            query.setString(1, service);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    details.add(rows.getString(1));
                }
            }
        }
        return details;
    }

    /** ShipmentRequested events of this test with {@code amount} in shipping's outbox. */
    private long shipments(long amount) throws SQLException {
        return count(shipping, "SELECT count(*) FROM outbox_event WHERE aggregatetype = '" + shipmentType
                + "' AND (payload::jsonb ->> 'amount')::bigint = " + amount);
    }

    private static long count(TestDatabase db, String sql) throws SQLException {
        try (Connection connection = db.openConnection();
             ResultSet rows = connection.createStatement().executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    /** The first record of {@code topic} whose event type is {@code type}, read from the beginning. */
    private ConsumerRecord<byte[], byte[]> readRecord(String topic, String type) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.consumerConfig("copier-" + suffix))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<ConsumerRecord<byte[], byte[]>> found = new ArrayList<>();
            await().atMost(WAIT).until(() -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Header header = record.headers().lastHeader("eventType");
                    if (header != null && type.equals(new String(header.value(), StandardCharsets.UTF_8))) {
                        found.add(record);
                    }
                }
                return !found.isEmpty();
            });
            return found.get(0);
        }
    }

    private void createTopics(String... names) {
        try {
            kafka.admin().createTopics(Arrays.stream(names).map(n -> new NewTopic(n, 3, (short) 1)).toList())
                    .all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topics " + Arrays.toString(names), e);
        }
    }
}
