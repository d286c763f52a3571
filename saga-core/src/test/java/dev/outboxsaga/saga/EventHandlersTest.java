package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** What {@link EventHandlers.Builder} refuses, and how it names the input. */
class EventHandlersTest {

    private static final EventHandler<String> NOTHING = (event, context) -> { };

    @Test
    void badDeclarationsAreRefusedNamingTheInput() {
        assertThatThrownBy(() -> EventHandlers.builder().on(" ", "Paid", String.class, NOTHING))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("aggregateType must not be blank");
        assertThatThrownBy(() -> EventHandlers.builder().on("payment", null, String.class, NOTHING))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("eventType must not be null");
        assertThatThrownBy(() -> EventHandlers.builder().on("payment", "Paid", null, NOTHING))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("payloadType of event type Paid must not be null");
        assertThatThrownBy(() -> EventHandlers.builder().on("payment", "Paid", String.class, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("handler of event type Paid must not be null");
        assertThatThrownBy(() -> EventHandlers.builder().on("payment", "Paid", String.class, NOTHING)
                .on("payment", "Paid", String.class, NOTHING))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("event type Paid of aggregate type payment has a handler already");
    }

    @Test
    void buildNeedsANameAndAHandler() {
        assertThatThrownBy(() -> EventHandlers.builder().on("payment", "Paid", String.class, NOTHING).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("name must not be null");
        assertThatThrownBy(() -> EventHandlers.builder().name("shipping").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("event handlers shipping handle no event: declare one with on(..)");
        assertThatThrownBy(() -> EventHandlers.builder().name("shipping").on("payment", "Paid", String.class, NOTHING)
                .build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("dataSource is required");
    }
}
