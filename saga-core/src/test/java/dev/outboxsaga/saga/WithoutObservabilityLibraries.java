package dev.outboxsaga.saga;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.UUID;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Runs one saga (an orchestrator and two participants: outbox appends, inbox consumers, the timer) in a JVM
 * started by {@link SagaObservabilityTest} without Micrometer and OpenTelemetry on the class path, and says
 * whether they were absent and how the saga ended. Touches nothing of the test's classes but this one: they
 * refer to both libraries.
 *
 * <p>Arguments: JDBC URL, user, password, Kafka bootstrap servers, saga type, name suffix. A relay in the
 * test's JVM publishes the outbox rows.
 */
public final class WithoutObservabilityLibraries {

    /** The saga data. */
    record Item(String id, String reserveAt, String chargeAt) {
    }

    private WithoutObservabilityLibraries() {
    }

    public static void main(String[] args) throws Exception {
        String micrometer = present("io.micrometer.core.instrument.MeterRegistry") ? "present" : "absent";
        String openTelemetry = present("io.opentelemetry.api.OpenTelemetry") ? "present" : "absent";
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(args[0]);
        dataSource.setUser(args[1]);
        dataSource.setPassword(args[2]);
        String kafka = args[3];
        String type = args[4];
        String suffix = args[5];
        SagaDefinition<Item> definition = SagaDefinition.builder(type, 1, Item.class)
                .step("reserve").invoke(Item::reserveAt, "Reserve", item -> item).compensateWith("Release", item -> item)
                .step("charge").invoke(Item::chargeAt, "Charge", item -> item).compensateWith("Refund", item -> item)
                .build();
        SagaParticipant first = participant("p1-" + suffix, dataSource, kafka).start();
        SagaParticipant second = participant("p2-" + suffix, dataSource, kafka).start();
        SagaOrchestrator sagas = SagaOrchestrator.builder().service("orch-" + suffix).dataSource(dataSource)
                .bootstrapServers(kafka).definition(definition).timerInterval(Duration.ofMillis(100)).build().start();
        SagaState ended;
        try {
            UUID id = sagas.begin(dataSource, definition, new Item("i-" + suffix, "p1-" + suffix, "p2-" + suffix));
            ended = await().atMost(Duration.ofSeconds(50)).pollInterval(Duration.ofMillis(100))
                    .until(() -> sagas.admin().find(id).orElseThrow().state(), SagaState::terminal);
        } finally {
            sagas.close();
            first.close();
            second.close();
        }
        System.out.println("micrometer " + micrometer + ", opentelemetry " + openTelemetry + ", saga " + ended);
        System.exit(ended == SagaState.COMPLETED ? 0 : 1);
    }

    private static SagaParticipant participant(String name, PGSimpleDataSource dataSource, String kafka) {
        SagaParticipant.Builder builder = SagaParticipant.builder().name(name).dataSource(dataSource)
                .bootstrapServers(kafka);
        for (String command : new String[] {"Reserve", "Release", "Charge", "Refund"}) {
            builder.handle(command, (sagaCommand, context) -> Reply.success());
        }
        return builder.build();
    }

    private static boolean present(String className) {
        try {
            Class.forName(className);
            return true;
        } catch (ClassNotFoundException absent) {
            return false;
        }
    }
}
