package dev.outboxsaga.testkit.internal;

/**
 * Reads the test kit's settings: a JVM system property of the given name wins over the environment
 * variable of the same name.
 */
public final class Settings {

    /** Which servers to use: {@code embedded} (default), {@code external} or {@code testcontainers}. */
    public static final String INFRA = "OUTBOX_SAGA_TEST_INFRA";
    /** Admin JDBC URL of an external PostgreSQL server. */
    public static final String PG_URL = "OUTBOX_SAGA_TEST_PG_URL";
    /** User of an external PostgreSQL server. */
    public static final String PG_USER = "OUTBOX_SAGA_TEST_PG_USER";
    /** Password of an external PostgreSQL server. */
    public static final String PG_PASSWORD = "OUTBOX_SAGA_TEST_PG_PASSWORD";
    /** Bootstrap servers of an external Kafka cluster. */
    public static final String KAFKA_BOOTSTRAP = "OUTBOX_SAGA_TEST_KAFKA_BOOTSTRAP";
    /** Image of the PostgreSQL container; default {@code postgres:17}. */
    public static final String PG_IMAGE = "OUTBOX_SAGA_TEST_PG_IMAGE";
    /** Image of the Kafka container; default {@code apache/kafka:4.3.1}. */
    public static final String KAFKA_IMAGE = "OUTBOX_SAGA_TEST_KAFKA_IMAGE";

    private Settings() {
    }

    /** The value, or {@code fallback} if neither a system property nor an environment variable is set. */
    public static String get(String name, String fallback) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            v = System.getenv(name);
        }
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    /** The value; an {@link IllegalStateException} naming the variable if it is not set. */
    public static String require(String name, String why) {
        String v = get(name, null);
        if (v == null) {
            throw new IllegalStateException(name + " is not set (as an environment variable or a system property);"
                    + " it is needed because " + why);
        }
        return v;
    }
}
