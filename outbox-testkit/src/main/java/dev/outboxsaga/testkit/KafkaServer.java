package dev.outboxsaga.testkit;

import dev.outboxsaga.testkit.internal.ExternalKafkaServer;

/** A Kafka cluster that tests and demos connect to; transactions work on it. */
public interface KafkaServer extends AutoCloseable {

    /**
     * Starts a single-node KRaft broker in this JVM on a random free port; see {@link EmbeddedKafka}
     * for its settings.
     */
    static EmbeddedKafka embedded() {
        return EmbeddedKafka.start();
    }

    /** A cluster that already runs; {@link #close()} then leaves it running. */
    static KafkaServer external(String bootstrapServers) {
        return new ExternalKafkaServer(bootstrapServers);
    }

    /** The {@code bootstrap.servers} value clients use, e.g. {@code 127.0.0.1:40123}. */
    String bootstrapServers();

    /** Stops the broker if this object started it; does nothing for an external cluster. */
    @Override
    void close();
}
