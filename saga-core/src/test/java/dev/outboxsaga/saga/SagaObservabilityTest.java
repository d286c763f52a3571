package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Saga meters and traces on real PostgreSQL and Kafka, through a real relay: an orchestrator and two
 * participants share one database and one relay (started once for the class, tracing with the test's SDK).
 * Also runs a saga in a JVM whose class path holds neither Micrometer nor OpenTelemetry.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SagaObservabilityTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String PREFIX = SagaMessages.DEFAULT_TOPIC_PREFIX;
    private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outbox.inbox.outcome");

    /** The saga data: where each step goes, which step the participant refuses, and whether Charge waits. */
    record Order(String id, String reserveAt, String chargeAt, String refuse, boolean hold) {
    }

    private TestDatabase db;
    private TestKafka kafka;
    private OutboxRelay relay;
    private Thread relayThread;
    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final OpenTelemetrySdk openTelemetry = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
            .build();
    private final List<AutoCloseable> closeAfterTest = new ArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private String suffix;

    @BeforeAll
    void startRelay(TestDatabase db, TestKafka kafka) {
        this.db = db;
        this.kafka = kafka;
        OutboxSchema.migrate(db.dataSource());
        RelayConfig config = RelayConfig.builder()
                .set(RelayConfig.NAME, "observed-" + UUID.randomUUID().toString().substring(0, 8))
                .set(RelayConfig.DATABASE_URL, db.jdbcUrl())
                .set(RelayConfig.DATABASE_USER, db.username())
                .set(RelayConfig.DATABASE_PASSWORD, db.password())
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers())
                .set(RelayConfig.METRICS_PORT, -1)
                .set(RelayConfig.HEARTBEAT_INTERVAL_MS, 1000)
                .build();
        relay = OutboxRelay.create(config, new SimpleMeterRegistry(), openTelemetry);
        relayThread = new Thread(relay, "relay-observed");
        relayThread.setDaemon(true);
        relayThread.start();
    }

    @AfterAll
    void stopRelay() throws InterruptedException {
        relay.close();
        relayThread.join(30_000);
        openTelemetry.close();
    }

    @BeforeEach
    void name() {
        suffix = UUID.randomUUID().toString().substring(0, 6);
    }

    @AfterEach
    void closeServices() throws Exception {
        release.countDown();
        for (int i = closeAfterTest.size() - 1; i >= 0; i--) {
            closeAfterTest.get(i).close();
        }
        closeAfterTest.clear();
    }

    @Test
    void countsEachCommittedTransitionOnceAndNothingRolledBack() throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        String type = "order-" + suffix;
        SagaDefinition<Order> definition = definition(type);
        participant("p1-" + suffix, registry, null);
        participant("p2-" + suffix, registry, null);
        SagaOrchestrator sagas = orchestrator("orch-" + suffix, definition, registry, null, Outbox.builder().build());

        // In transactions outbox-saga runs: counted right after their commit.
        UUID completed = sagas.begin(db.dataSource(), definition, order(null, false));
        UUID compensated = Outbox.builder().build().inTransaction(db.dataSource(),
                tx -> sagas.begin(tx.connection(), definition, order("charge", false)));
        UUID failed = sagas.begin(db.dataSource(), definition, order("reserve", false));
        // In the caller's own transactions: counted once the timer finds them committed; the rolled back never.
        UUID ownCommitted;
        try (Connection connection = db.openConnection()) {
            connection.setAutoCommit(false);
            ownCommitted = sagas.begin(connection, definition, order(null, false));
            connection.commit();
            sagas.begin(connection, definition, order(null, false));
            connection.rollback();
        }
        try {
            Outbox.builder().build().inTransaction(db.dataSource(), tx -> {
                sagas.begin(tx.connection(), definition, order(null, false));
                throw new IllegalStateException("the caller's business change failed");
            });
        } catch (IllegalStateException expected) {
            // rolled back with its saga
        }
        awaitState(sagas, completed, SagaState.COMPLETED);
        awaitState(sagas, compensated, SagaState.COMPENSATED);
        awaitState(sagas, failed, SagaState.FAILED);
        awaitState(sagas, ownCommitted, SagaState.COMPLETED);

        // A saga whose Charge waits: the in-flight gauge sees it running, then nothing.
        UUID held = sagas.begin(db.dataSource(), definition, order(null, true));
        await().atMost(WAIT).until(() -> gauge(registry, type, SagaState.RUNNING) == 1);
        release.countDown();
        awaitState(sagas, held, SagaState.COMPLETED);
        await().atMost(WAIT).until(() -> gauge(registry, type, SagaState.RUNNING) == 0);

        // Counted right after each commit (the caller's own: by the timer): the last a moment after the state shows.
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(count(registry, "saga.started", type)).isEqualTo(5);
            assertThat(count(registry, "saga.completed", type)).isEqualTo(3);
            assertThat(registry.get("outbox.inbox.handled").tag("consumer", "orch-" + suffix + "-saga-replies")
                    .counter().count()).as("2 + 3 + 1 + 2 + 2 replies").isEqualTo(10);
        });
        assertThat(count(registry, "saga.compensated", type)).isEqualTo(1);
        assertThat(count(registry, "saga.failed", type)).isEqualTo(1);
        assertThat(count(registry, "saga.parked", type)).isZero();
        assertThat(timer(registry, "saga.duration", "type", type, "state", "COMPLETED")).isEqualTo(3);
        assertThat(timer(registry, "saga.duration", "type", type, "state", "COMPENSATED")).isEqualTo(1);
        assertThat(timer(registry, "saga.duration", "type", type, "state", "FAILED")).isEqualTo(1);
        assertThat(registry.get("saga.duration").tags("type", type, "state", "COMPLETED").timer()
                .max(TimeUnit.MILLISECONDS)).as("the held saga waited").isPositive();
        // Step latency: one sample per awaited reply handled.
        assertThat(timer(registry, "saga.step.latency", "type", type, "step", "reserve", "kind", "FORWARD")).isEqualTo(5);
        assertThat(timer(registry, "saga.step.latency", "type", type, "step", "charge", "kind", "FORWARD")).isEqualTo(4);
        assertThat(timer(registry, "saga.step.latency", "type", type, "step", "reserve", "kind", "COMPENSATION"))
                .isEqualTo(1);
        assertThat(registry.get("saga.step.latency").tags("step", "charge").timer().max(TimeUnit.MILLISECONDS))
                .as("the held Charge").isPositive();
        // The consumers' meters, registered through the orchestrator's and the participants' builders.
        assertThat(registry.get("outbox.inbox.handled").tag("consumer", "p1-" + suffix + "-saga-commands").counter()
                .count()).as("Reserve x5, Release x1").isEqualTo(6);
        assertThat(gauge(registry, type, SagaState.COMPENSATING)).isZero();
        assertThat(gauge(registry, type, SagaState.PARKED)).isZero();
    }

    @Test
    void oneSagasSpansShareOneTraceAndNestHopByHopThroughTheRelay() {
        String type = "traced-" + suffix;
        SagaDefinition<Order> definition = definition(type);
        String orchestrator = "orch-" + suffix;
        participant("p1-" + suffix, null, openTelemetry);
        participant("p2-" + suffix, null, openTelemetry);
        SagaOrchestrator sagas = orchestrator(orchestrator, definition, null, openTelemetry,
                Outbox.builder().openTelemetry(openTelemetry).build());

        Span request = openTelemetry.getTracer("test").spanBuilder("request").startSpan();
        UUID id;
        Scope current = request.makeCurrent();
        try {
            id = sagas.begin(db.dataSource(), definition, order(null, false));
        } finally {
            current.close();
            request.end();
        }
        awaitState(sagas, id, SagaState.COMPLETED);

        String traceId = request.getSpanContext().getTraceId();
        String command1 = PREFIX + SagaMessages.commandChannel("p1-" + suffix);
        String command2 = PREFIX + SagaMessages.commandChannel("p2-" + suffix);
        String reply = PREFIX + SagaMessages.replyChannel(orchestrator);
        List<String> hops = List.of(
                "append saga-command.p1-" + suffix, "publish " + command1, "process " + command1,
                "append saga-reply." + orchestrator, "publish " + reply, "process " + reply,
                "append saga-command.p2-" + suffix, "publish " + command2, "process " + command2,
                "append saga-reply." + orchestrator, "publish " + reply, "process " + reply);
        // The last hop's span ends after its commit: wait for the whole chain.
        await().atMost(WAIT).until(() -> chain(traceId, request.getSpanContext().getSpanId(), hops).size() == hops.size());
        List<SpanData> chain = chain(traceId, request.getSpanContext().getSpanId(), hops);

        assertThat(chain).extracting(SpanData::getName).containsExactlyElementsOf(hops);
        assertThat(chain).allSatisfy(span -> assertThat(span.getTraceId()).isEqualTo(traceId));
        assertThat(chain).extracting(SpanData::getKind).containsExactly(
                SpanKind.PRODUCER, SpanKind.PRODUCER, SpanKind.CONSUMER,
                SpanKind.PRODUCER, SpanKind.PRODUCER, SpanKind.CONSUMER,
                SpanKind.PRODUCER, SpanKind.PRODUCER, SpanKind.CONSUMER,
                SpanKind.PRODUCER, SpanKind.PRODUCER, SpanKind.CONSUMER);
        for (int i = 1; i < chain.size(); i++) {
            assertThat(chain.get(i).getParentSpanId()).as("parent of %s", chain.get(i).getName())
                    .isEqualTo(chain.get(i - 1).getSpanId());
        }
        // The saga completed on the last reply: nothing appended after it.
        SpanData last = chain.get(chain.size() - 1);
        assertThat(spans.getFinishedSpanItems()).noneMatch(span -> span.getParentSpanId().equals(last.getSpanId()));
    }

    @Test
    void aSagaRunsInAJvmWithoutMicrometerOrOpenTelemetry() throws Exception {
        String type = "bare-" + suffix;
        createTopics(PREFIX + SagaMessages.commandChannel("p1-" + suffix), PREFIX + SagaMessages.commandChannel("p2-" + suffix),
                PREFIX + SagaMessages.replyChannel("orch-" + suffix));
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.contains("micrometer") && !entry.contains("opentelemetry")
                        && !entry.contains("HdrHistogram") && !entry.contains("LatencyUtils"))
                .collect(Collectors.joining(File.pathSeparator));
        Process child = new ProcessBuilder(List.of(
                System.getProperty("java.home") + "/bin/java", "-Xmx256m", "-cp", classPath,
                WithoutObservabilityLibraries.class.getName(), db.jdbcUrl(), db.username(), db.password(),
                kafka.bootstrapServers(), type, suffix))
                .redirectErrorStream(true)
                .start();
        closeAfterTest.add(child::destroyForcibly);
        boolean ended = child.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ended).as(output).isTrue();
        assertThat(child.exitValue()).as(output).isZero();
        assertThat(output).contains("micrometer absent, opentelemetry absent, saga COMPLETED");
    }

    // ---------------------------------------------------------------------------------------------

    /** Reserve at one participant, then Charge at another; each refusable, each compensated. */
    static SagaDefinition<Order> definition(String type) {
        return SagaDefinition.builder(type, 1, Order.class)
                .step("reserve")
                    .invoke(Order::reserveAt, "Reserve", order -> order)
                    .compensateWith("Release", order -> order)
                    .timeout(Duration.ofSeconds(30))
                .step("charge")
                    .invoke(Order::chargeAt, "Charge", order -> order)
                    .compensateWith("Refund", order -> order)
                    .timeout(Duration.ofSeconds(30))
                .build();
    }

    private Order order(String refuse, boolean hold) {
        return new Order(UUID.randomUUID().toString(), "p1-" + suffix, "p2-" + suffix, refuse, hold);
    }

    private void participant(String name, MeterRegistry registry, OpenTelemetrySdk tracing) {
        createTopics(PREFIX + SagaMessages.commandChannel(name));
        SagaParticipant.Builder builder = SagaParticipant.builder()
                .name(name)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .outbox(tracing == null ? Outbox.builder().build() : Outbox.builder().openTelemetry(tracing).build());
        if (registry != null) {
            builder.meterRegistry(registry);
        }
        if (tracing != null) {
            builder.openTelemetry(tracing);
        }
        for (String command : List.of("Reserve", "Release", "Charge", "Refund")) {
            builder.handle(command, (sagaCommand, context) -> answer(sagaCommand, context.payload(Order.class)));
        }
        closeAfterTest.add(builder.build().start());
    }

    private Reply answer(SagaCommand command, Order order) throws InterruptedException {
        if (command.type().equals("Reserve") && "reserve".equals(order.refuse())
                || command.type().equals("Charge") && "charge".equals(order.refuse())) {
            return Reply.failure("refused " + command.type());
        }
        if (command.type().equals("Charge") && order.hold()) {
            release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
        return Reply.success();
    }

    private SagaOrchestrator orchestrator(String service, SagaDefinition<Order> definition, MeterRegistry registry,
            OpenTelemetrySdk tracing, Outbox outbox) {
        createTopics(PREFIX + SagaMessages.replyChannel(service));
        SagaOrchestrator.Builder builder = SagaOrchestrator.builder()
                .service(service)
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .outbox(outbox)
                .definition(definition)
                .timerInterval(Duration.ofMillis(100))
                .gaugeInterval(Duration.ofMillis(100));
        if (registry != null) {
            builder.meterRegistry(registry);
        }
        if (tracing != null) {
            builder.openTelemetry(tracing);
        }
        SagaOrchestrator orchestrator = builder.build();
        closeAfterTest.add(orchestrator);
        return orchestrator.start();
    }

    /**
     * From the span {@code rootSpanId}, the child named as the next hop, again and again: the committed path
     * (a process span that processed its record, not an attempt rolled back). Stops where a hop is not (yet) there.
     */
    private List<SpanData> chain(String traceId, String rootSpanId, List<String> hops) {
        List<SpanData> all = spans.getFinishedSpanItems().stream().filter(span -> span.getTraceId().equals(traceId))
                .toList();
        List<SpanData> chain = new ArrayList<>();
        String parent = rootSpanId;
        for (String hop : hops) {
            String parentId = parent;
            List<SpanData> next = all.stream().filter(span -> span.getParentSpanId().equals(parentId)
                    && span.getName().equals(hop)
                    && (!hop.startsWith("process ") || "processed".equals(span.getAttributes().get(OUTCOME)))).toList();
            assertThat(next).as("children %s of %s", hop, parentId).hasSizeLessThanOrEqualTo(1);
            if (next.isEmpty()) {
                break;
            }
            chain.add(next.get(0));
            parent = next.get(0).getSpanId();
        }
        return chain;
    }

    private void awaitState(SagaOrchestrator sagas, UUID id, SagaState expected) {
        SagaInstance instance = await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
                .until(() -> sagas.admin().find(id).orElseThrow(),
                        found -> found.state().terminal() || found.state() == SagaState.PARKED);
        assertThat(instance.state()).as(() -> "saga " + id + ": " + sagas.admin().history(id)).isEqualTo(expected);
    }

    private static double count(MeterRegistry registry, String name, String type) {
        return registry.get(name).tag("type", type).counter().count();
    }

    private static long timer(MeterRegistry registry, String name, String... tags) {
        return Search.in(registry).name(name).tags(tags).timers().stream().mapToLong(t -> t.count()).sum();
    }

    private static double gauge(MeterRegistry registry, String type, SagaState state) {
        return registry.get("saga.instances").tags("type", type, "state", state.name()).gauge().value();
    }

    private void createTopics(String... names) {
        try {
            kafka.admin().createTopics(Arrays.stream(names).map(n -> new NewTopic(n, 3, (short) 1)).toList())
                    .all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException(e);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
