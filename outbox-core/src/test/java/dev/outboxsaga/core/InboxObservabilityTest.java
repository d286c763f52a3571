package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The inbox consumer's meters and spans on a real consumer: exact counts for a known set of deliveries
 * (counted after commit, so the batches rolled back by a failing record do not count twice), a lag gauge
 * that sees records waiting, and a CONSUMER span per attempt whose outbox append is its child.
 */
@ExtendWith(OutboxSagaExtension.class)
class InboxObservabilityTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outbox.inbox.outcome");
    private static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
    private static final String PARENT_SPAN_ID = "b7ad6b7169203331";

    private TestDatabase db;
    private String topic;
    private KafkaProducer<byte[], byte[]> producer;
    private InboxConsumer consumer;
    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final OpenTelemetrySdk openTelemetry = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
            .build();
    private final MeterRegistry registry = new SimpleMeterRegistry();

    @BeforeEach
    void setUp(TestDatabase db, TestKafka kafka) {
        this.db = db;
        OutboxSchema.migrate(db.dataSource());
        topic = kafka.uniqueTopic("observed");
        Map<String, Object> config = new HashMap<>(kafka.producerConfig());
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(config);
    }

    @AfterEach
    void tearDown() {
        if (consumer != null) {
            consumer.close();
        }
        producer.close();
        openTelemetry.close();
    }

    @Test
    void countsEachOutcomeOnceAndTracesEachAttemptWithTheHandlersAppendAsItsChild(TestKafka kafka) throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        Outbox outbox = Outbox.builder().openTelemetry(openTelemetry).build();
        consumer = InboxConsumer.builder()
                .name("observed")
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topics(topic)
                .outbox(outbox)
                .retryPolicy(RetryPolicy.exponential(2, Duration.ofMillis(10), Duration.ofMillis(10)))
                .meterRegistry(registry)
                .openTelemetry(openTelemetry)
                .handler((message, context) -> {
                    if (message.key().equals("poison")) {
                        throw new IllegalStateException("cannot apply " + message.id());
                    }
                    if (message.payload().contains("gate")) {
                        gate.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
                    }
                    context.send(context.newMessage().aggregate("echo", message.key()).type("Echoed")
                            .payload(message.payload()).build());
                })
                .build()
                .start();

        // A slow record holds its key: the two behind it wait, and the lag of its partition shows all three.
        int slowPartition = send(UUID.randomUUID(), "slow", "{\"gate\":1}", null);
        send(UUID.randomUUID(), "slow", "{\"n\":2}", null);
        send(UUID.randomUUID(), "slow", "{\"n\":3}", null);
        await().atMost(PATIENCE).until(() -> lag(slowPartition) >= 3);
        gate.countDown();

        UUID traced = UUID.randomUUID();
        send(traced, "a", "{\"n\":4}", "00-" + TRACE_ID + "-" + PARENT_SPAN_ID + "-01");
        send(UUID.randomUUID(), "b", "{\"n\":5}", null);
        send(UUID.randomUUID(), "c", "{\"n\":6}", null);
        send(UUID.randomUUID(), "poison", "{\"n\":7}", null);
        send(traced, "a", "{\"n\":4}", "00-" + TRACE_ID + "-" + PARENT_SPAN_ID + "-01");

        await().atMost(PATIENCE).until(() -> consumer.stats().processed() == 6 && consumer.stats().parked() == 1
                && consumer.stats().duplicates() == 1);
        // Every partition caught up: 3 gauges, each at 0.
        await().atMost(PATIENCE).until(() -> registry.find("outbox.inbox.lag").gauges().size() == 3
                && registry.find("outbox.inbox.lag").gauges().stream().allMatch(gauge -> gauge.value() == 0));

        // Counted by the handler threads just after their commits: the last may come a moment after the stats.
        await().atMost(PATIENCE).untilAsserted(() -> {
            assertThat(count("outbox.inbox.handled")).isEqualTo(6);
            assertThat(count("outbox.inbox.duplicates")).isEqualTo(1);
            assertThat(count("outbox.inbox.retries")).as("poison: attempt 1 failed and was retried").isEqualTo(1);
            assertThat(count("outbox.inbox.parked")).isEqualTo(1);
            assertThat(registry.get("outbox.inbox.handler").tags("consumer", "observed", "topic", topic).timer()
                    .count()).isEqualTo(6);
        });
        assertThat(registry.get("outbox.inbox.handler").timer().totalTime(TimeUnit.NANOSECONDS)).isPositive();
        long echoes = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox_event").mapTo(Long.class).one());
        assertThat(echoes)
                .as("one echo per message applied").isEqualTo(6);

        // The traced message: its processed attempt continues the record's traceparent, and the echo it sent is
        // appended in a child span whose context the outbox row carries.
        String process = "process " + topic;
        await().atMost(PATIENCE).until(() -> spans.getFinishedSpanItems().stream()
                .filter(span -> span.getName().equals(process)).count() >= 9);
        List<SpanData> all = spans.getFinishedSpanItems();
        SpanData handled = all.stream().filter(span -> span.getName().equals(process)
                        && traced.toString().equals(span.getAttributes().get(AttributeKey.stringKey("messaging.message.id")))
                        && "processed".equals(span.getAttributes().get(OUTCOME)))
                .collect(onlyOne());
        assertThat(handled.getKind()).isEqualTo(SpanKind.CONSUMER);
        assertThat(handled.getTraceId()).isEqualTo(TRACE_ID);
        assertThat(handled.getParentSpanId()).isEqualTo(PARENT_SPAN_ID);
        String rowTraceparent = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT headers->>'traceparent' FROM outbox_event WHERE aggregateid = 'a'").mapTo(String.class).one());
        SpanData append = all.stream().filter(span -> span.getName().equals("append echo")
                        && rowTraceparent.equals("00-" + span.getTraceId() + "-" + span.getSpanId() + "-01"))
                .collect(onlyOne());
        assertThat(append.getKind()).isEqualTo(SpanKind.PRODUCER);
        assertThat(append.getParentSpanId()).isEqualTo(handled.getSpanId());
        assertThat(append.getTraceId()).isEqualTo(TRACE_ID);

        assertThat(all).filteredOn(span -> span.getName().equals(process)
                        && traced.toString().equals(span.getAttributes().get(AttributeKey.stringKey("messaging.message.id")))
                        && "duplicate".equals(span.getAttributes().get(OUTCOME)))
                .as("the second delivery of the traced message").hasSize(1);
        // The poison record: its attempts end in error (retried, or rolled back with its batch), none processed.
        assertThat(all).filteredOn(span -> span.getName().equals(process) && span.getStatus().getStatusCode() == StatusCode.ERROR)
                .isNotEmpty()
                .allSatisfy(span -> assertThat(span.getAttributes().get(OUTCOME)).isIn("retry", "rolled_back", "parked"));
        // Every message applied has exactly one processed attempt, whatever batches were rolled back on the way.
        assertThat(all).filteredOn(span -> span.getName().equals(process) && "processed".equals(span.getAttributes().get(OUTCOME)))
                .hasSize(6);
    }

    private long count(String name) {
        return (long) registry.get(name).tags("consumer", "observed", "topic", topic).counter().count();
    }

    private double lag(int partition) {
        Collection<Gauge> gauges = registry.find("outbox.inbox.lag").tag("partition", Integer.toString(partition)).gauges();
        return gauges.isEmpty() ? -1 : gauges.iterator().next().value();
    }

    /** Sends and returns the partition it went to. */
    private int send(UUID id, String key, String payload, String traceparent) throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
                payload.getBytes(StandardCharsets.UTF_8));
        record.headers().add(MessageHeaders.ID, id.toString().getBytes(StandardCharsets.UTF_8));
        if (traceparent != null) {
            record.headers().add(MessageHeaders.TRACEPARENT, traceparent.getBytes(StandardCharsets.UTF_8));
        }
        return producer.send(record).get().partition();
    }

    private static java.util.stream.Collector<SpanData, ?, SpanData> onlyOne() {
        return java.util.stream.Collectors.collectingAndThen(java.util.stream.Collectors.toList(), list -> {
            assertThat(list).hasSize(1);
            return list.get(0);
        });
    }
}
