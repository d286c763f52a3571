package dev.outboxsaga.testkit.internal;

import dev.outboxsaga.testkit.KafkaServer;
import java.util.Objects;

/** A Kafka cluster that runs already. */
public final class ExternalKafkaServer implements KafkaServer {

    private final String bootstrapServers;

    /** A cluster reached through {@code bootstrapServers}. */
    public ExternalKafkaServer(String bootstrapServers) {
        this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    }

    @Override
    public String bootstrapServers() {
        return bootstrapServers;
    }

    @Override
    public void close() {
        // not ours to stop
    }

    @Override
    public String toString() {
        return "external Kafka at " + bootstrapServers;
    }
}
