package dev.outboxsaga.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.relay.RelayConfig;
import java.util.Set;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.junit.jupiter.api.Test;

/** Kafka's permanent answers are told apart from the transient ones (the SQLState cases run against PostgreSQL). */
class MisconfigurationTest {

    private final RelayConfig config = RelayConfig.builder()
            .set(RelayConfig.NAME, "orders")
            .set(RelayConfig.DATABASE_URL, "jdbc:postgresql://localhost/db")
            .set(RelayConfig.DATABASE_USER, "relay")
            .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, "localhost:9092")
            .build();

    @Test
    void aRefusedKafkaLoginOrAMissingAclStopsTheRelayWithWhatToGrant() {
        assertThat(Misconfiguration.explain(new KafkaException("init failed",
                new SaslAuthenticationException("Authentication failed: Invalid username or password")), config))
                .hasValueSatisfying(line -> assertThat(line).contains("Kafka refused the login").contains("kafka.sasl.jaas.config"));
        assertThat(Misconfiguration.explain(new TransactionalIdAuthorizationException("denied"), config))
                .hasValueSatisfying(line -> assertThat(line).contains("TransactionalId outbox-relay-orders"));
        assertThat(Misconfiguration.explain(new TopicAuthorizationException(Set.of(config.positionsTopic())), config))
                .hasValueSatisfying(line -> assertThat(line).contains(config.positionsTopic()));
    }

    @Test
    void transientKafkaErrorsAndOtherTopicsAreNotMisconfigurations() {
        assertThat(Misconfiguration.explain(new TimeoutException("Timeout expired while initializing transactional state"),
                config)).isEmpty();
        // A data topic the relay may not write is a refusal of that row (parked), not a stop.
        assertThat(Misconfiguration.explain(new TopicAuthorizationException(Set.of("outbox.event.order")), config)).isEmpty();
    }
}
