package dev.outboxsaga.console.internal.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.ReconciliationAudit;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The audit routes rows as the relay's RecordMapper does, and reads message ids as the inbox does. */
class RoutingTest {

    private final ReconciliationAudit.Relay relay = ReconciliationAudit.Relay.named("r");

    @Test
    void aRowGoesToItsTopicColumnElseToThePatternAndNowhereWhenTheNameIsInvalid() {
        assertThat(OutboxSnapshot.route(relay, "order", null)).isEqualTo("outbox.event.order");
        assertThat(OutboxSnapshot.route(relay, "order", " ")).isEqualTo("outbox.event.order");
        assertThat(OutboxSnapshot.route(relay, "order", "special")).isEqualTo("special");
        assertThat(OutboxSnapshot.route(relay.withTopicPattern("${aggregatetype}.events"), "order", null))
                .isEqualTo("order.events");
        assertThat(OutboxSnapshot.route(relay, "", null)).as("the relay parks it").isNull();
        assertThat(OutboxSnapshot.route(relay, "no such topic!", null)).isNull();
        assertThat(OutboxSnapshot.route(relay, "x".repeat(250), null)).isNull();
    }

    @Test
    void aMessageIdMayBeJsonQuoted() {
        UUID id = UUID.randomUUID();
        assertThat(TopicScan.parse(id.toString())).isEqualTo(id);
        assertThat(TopicScan.parse("\"" + id + "\"")).isEqualTo(id);
        assertThat(TopicScan.parse("not-a-uuid")).isNull();
    }
}
