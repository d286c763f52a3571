package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class OutboxMessageTest {

    private static OutboxMessage.Builder valid() {
        return OutboxMessage.builder().aggregate("account", "42").type("Debited").payload("{\"amount\":10}");
    }

    private static void assertRefused(Consumer<OutboxMessage.Builder> change, String field, String problem) {
        OutboxMessage.Builder builder = valid();
        assertThatThrownBy(() -> {
            change.accept(builder);
            builder.build();
        })
                .isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining(field)
                .hasMessageContaining(problem)
                .satisfies(e -> assertThat(((InvalidMessageException) e).field()).isEqualTo(field));
    }

    @Test
    void buildsAMessageWithATimeOrderedIdWhenNoneIsGiven() {
        OutboxMessage first = valid().build();
        OutboxMessage second = valid().build();
        assertThat(first.id()).isNotNull().isNotEqualTo(second.id());
        assertThat(first.id().version()).isEqualTo(7);
        assertThat(first.id().toString().compareTo(second.id().toString())).isLessThanOrEqualTo(0);
        assertThat(first.headers()).isEmpty();
        assertThat(first.correlationId()).isNull();
    }

    @Test
    void keepsEveryFieldItWasGiven() {
        UUID id = UUID.randomUUID();
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        OutboxMessage message = valid().id(id).correlationId("saga-1").traceparent(traceparent)
                .header("tenant", "acme").build();
        assertThat(message.id()).isEqualTo(id);
        assertThat(message.aggregateType()).isEqualTo("account");
        assertThat(message.aggregateId()).isEqualTo("42");
        assertThat(message.type()).isEqualTo("Debited");
        assertThat(message.payload()).isEqualTo("{\"amount\":10}");
        assertThat(message.headers()).containsExactly(Map.entry("traceparent", traceparent), Map.entry("tenant", "acme"));
        assertThat(message.traceparent()).isEqualTo(traceparent);
        assertThat(message.correlationId()).isEqualTo("saga-1");
    }

    @Test
    void refusesMissingOrBlankNames() {
        assertRefused(b -> b.aggregateType(null), "aggregateType", "must not be null");
        assertRefused(b -> b.aggregateType("  "), "aggregateType", "must not be blank");
        assertRefused(b -> b.aggregateId(null), "aggregateId", "must not be null");
        assertRefused(b -> b.aggregateId(""), "aggregateId", "must not be blank");
        assertRefused(b -> b.type(null), "type", "must not be null");
        assertRefused(b -> b.type("\t"), "type", "must not be blank");
        assertRefused(b -> b.aggregateId("x".repeat(256)), "aggregateId", "at most 255");
        assertRefused(b -> b.correlationId(" "), "correlationId", "must not be blank");
    }

    @Test
    void refusesPayloadsThatAreNotJson() {
        assertRefused(b -> b.payload("{\"amount\": }"), "payload", "is not valid JSON");
        assertRefused(b -> b.payload("plain text"), "payload", "is not valid JSON");
        assertRefused(b -> b.payload(new Object()), "payload", "jsonText codec takes JSON");
        assertThatThrownBy(() -> valid().payload(null)).isInstanceOf(InvalidMessageException.class)
                .hasMessage("payload must not be null");
        assertThatThrownBy(() -> new OutboxMessage(null, "a", "b", "c", null, null, null))
                .isInstanceOf(InvalidMessageException.class).hasMessageContaining("payload");
    }

    @Test
    void acceptsJsonAsUtf8Bytes() {
        OutboxMessage message = valid().payload("{\"name\":\"Zoë\"}".getBytes(StandardCharsets.UTF_8)).build();
        assertThat(message.payload()).isEqualTo("{\"name\":\"Zoë\"}");
        assertThat(message.payloadBytes()).as("ë takes two bytes").isEqualTo(15);
    }

    @Test
    void refusesBadHeaders() {
        assertRefused(b -> b.header("id", "x"), "headers", "reserved header 'id'");
        assertRefused(b -> b.header("eventType", "x"), "headers", "reserved header 'eventType'");
        assertRefused(b -> b.header(" ", "x"), "headers", "blank header name");
        assertRefused(b -> b.header("tenant", null), "headers", "null value");
        assertRefused(b -> b.traceparent("not-a-trace"), "traceparent", "W3C trace context");
    }

    @Test
    void encodesObjectsWithJackson() {
        record Debited(String account, long amount) {
        }
        OutboxMessage message = OutboxMessage.builder(JacksonPayloadCodec.create())
                .aggregate("account", "42").type("Debited").payload(new Debited("42", 10)).build();
        assertThat(message.payload()).isEqualTo("{\"account\":\"42\",\"amount\":10}");
        assertThat(JacksonPayloadCodec.create().decode(message.payload(), Debited.class)).isEqualTo(new Debited("42", 10));
    }

    @Test
    void retryPolicyBacksOffExponentiallyUpToItsCap() {
        RetryPolicy policy = RetryPolicy.exponential(6, java.time.Duration.ofMillis(100), java.time.Duration.ofMillis(500));
        assertThat(policy.backoffAfter(1)).hasMillis(100);
        assertThat(policy.backoffAfter(2)).hasMillis(200);
        assertThat(policy.backoffAfter(3)).hasMillis(400);
        assertThat(policy.backoffAfter(4)).hasMillis(500);
        assertThat(policy.worstCaseDelay()).hasMillis(100 + 200 + 400 + 500 + 500);
        assertThatThrownBy(() -> RetryPolicy.exponential(0, java.time.Duration.ZERO, java.time.Duration.ZERO))
                .hasMessageContaining("maxAttempts");
    }
}
