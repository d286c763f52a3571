package dev.outboxsaga.testkit;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension giving tests a real PostgreSQL and Kafka:
 * {@code @ExtendWith(OutboxSagaExtension.class)} on the test class, then declare parameters of these
 * types on test methods, lifecycle methods or constructors:
 * <ul>
 *   <li>{@link TestDatabase}: a fresh database per test method (shared by that method's
 *       {@code @BeforeEach} and {@code @AfterEach}), dropped after it; one per test class for
 *       {@code @BeforeAll} methods and constructors;</li>
 *   <li>{@link TestKafka}: client configs, unique topics and an admin client;</li>
 *   <li>{@link TestInfrastructure}: both servers.</li>
 * </ul>
 * The servers start once per test JVM, when first needed, as chosen by
 * {@link TestInfrastructure#start()} (default: embedded PostgreSQL 17 and an in-JVM single-node
 * KRaft Kafka broker), and stop when the test run ends or the JVM exits.
 */
public final class OutboxSagaExtension implements ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(OutboxSagaExtension.class);

    /** Called by JUnit. */
    public OutboxSagaExtension() {
    }

    /** The servers of this test run, started on first call. */
    public static TestInfrastructure infrastructure(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE)
                .computeIfAbsent(TestInfrastructure.class, k -> TestInfrastructure.start(), TestInfrastructure.class);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        return type == TestDatabase.class || type == TestKafka.class || type == TestInfrastructure.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        TestInfrastructure infra = infrastructure(extensionContext);
        ExtensionContext.Store store = extensionContext.getStore(NAMESPACE);
        if (type == TestDatabase.class) {
            return store.computeIfAbsent(TestDatabase.class, k -> TestDatabase.create(infra.postgres()), TestDatabase.class);
        }
        if (type == TestKafka.class) {
            return store.computeIfAbsent(TestKafka.class, k -> TestKafka.create(infra.kafka()), TestKafka.class);
        }
        return infra;
    }
}
