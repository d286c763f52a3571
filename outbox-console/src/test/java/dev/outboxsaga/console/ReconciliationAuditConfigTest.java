package dev.outboxsaga.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The audit's settings: defaults as the relay's, and every bad one refused by name before anything is read. */
class ReconciliationAuditConfigTest {

    private static final DataSource NOWHERE = new PGSimpleDataSource();

    private static ReconciliationAudit.Builder valid() {
        return ReconciliationAudit.builder().dataSource(NOWHERE).bootstrapServers("localhost:9092").relay("payments");
    }

    @Test
    void aRelayHasTheRelaysDefaults() {
        ReconciliationAudit.Relay relay = ReconciliationAudit.Relay.named("pay ments");
        assertThat(relay.tables()).containsExactly("public.outbox_event");
        assertThat(relay.positionsTopic()).isEqualTo("outbox-relay-positions.pay_ments");
        assertThat(relay.topicPattern()).isEqualTo("outbox.event.${aggregatetype}");
        assertThat(relay.topicColumn()).isNull();
    }

    @Test
    void aRelayIsReadFromItsPropertiesFileIgnoringTheKeysTheAuditDoesNotNeed() {
        Properties file = new Properties();
        file.setProperty("relay.name", " payments-1 ");
        file.setProperty("outbox.tables", "public.outbox_event_1, billing.outbox_event_1");
        file.setProperty("positions.topic", "positions.payments-1");
        file.setProperty("topic.pattern", "events.${aggregatetype}");
        file.setProperty("topic.column", "topic");
        file.setProperty("database.password", "secret");
        ReconciliationAudit.Relay relay = ReconciliationAudit.Relay.fromProperties(file);
        assertThat(relay).isEqualTo(new ReconciliationAudit.Relay("payments-1",
                List.of("public.outbox_event_1", "billing.outbox_event_1"), "positions.payments-1", "events.${aggregatetype}",
                "topic"));
        assertThat(ReconciliationAudit.Relay.fromProperties(props("relay.name", "p"))).isEqualTo(ReconciliationAudit.Relay.named("p"));
        assertThatThrownBy(() -> ReconciliationAudit.Relay.fromProperties(new Properties()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("relay.name");
    }

    @Test
    void badRelaySettingsAreRefusedByName() {
        ReconciliationAudit.Relay relay = ReconciliationAudit.Relay.named("payments");
        assertThatThrownBy(() -> relay.withTables("outbox_event")).hasMessageContaining("schema.table")
                .hasMessageContaining("'outbox_event'");
        assertThatThrownBy(() -> relay.withTables("public.Outbox; DROP")).hasMessageContaining("outbox table");
        assertThatThrownBy(() -> relay.withPositionsTopic("no spaces")).hasMessageContaining("positions topic");
        assertThatThrownBy(() -> relay.withTopicColumn("x y")).hasMessageContaining("topic column");
        assertThatThrownBy(() -> ReconciliationAudit.Relay.named(" ")).hasMessageContaining("relay name");
    }

    @Test
    void missingAndConflictingSettingsAreRefusedByName() {
        assertThat(valid().build()).isNotNull();
        assertThatThrownBy(() -> ReconciliationAudit.builder().bootstrapServers("k:9092").relay("p").build())
                .hasMessageContaining("dataSource");
        assertThatThrownBy(() -> ReconciliationAudit.builder().dataSource(NOWHERE).relay("p").build())
                .hasMessageContaining("bootstrap.servers");
        assertThatThrownBy(() -> ReconciliationAudit.builder().dataSource(NOWHERE)
                .kafkaProperties(Map.of("bootstrap.servers", "k:9092")).build()).hasMessageContaining("relay");
        assertThatThrownBy(() -> valid().relay("payments").build()).hasMessageContaining("named twice");
        assertThatThrownBy(() -> valid().relay(ReconciliationAudit.Relay.named("other")).build())
                .hasMessageContaining("public.outbox_event").hasMessageContaining("two relays");
        assertThatThrownBy(() -> valid().consumerGroup("g").build()).hasMessageContaining("consumer(name)");
        assertThatThrownBy(() -> valid().inboxTable("a.b.c")).hasMessageContaining("inboxTable");
        assertThatThrownBy(() -> valid().deadLetterTable("Dead")).hasMessageContaining("deadLetterTable");
        assertThatThrownBy(() -> valid().patience(Duration.ofSeconds(-1))).hasMessageContaining("patience");
        assertThatThrownBy(() -> valid().maxRows(0)).hasMessageContaining("maxRows");
        assertThatThrownBy(() -> valid().consumer(" ")).hasMessageContaining("consumer");
    }

    @Test
    void anEmptyOrBackwardsWindowIsRefused() {
        ReconciliationAudit audit = valid().build();
        Instant now = Instant.now();
        assertThatThrownBy(() -> audit.run(now, now)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be before");
    }

    private static Properties props(String key, String value) {
        Properties properties = new Properties();
        properties.setProperty(key, value);
        return properties;
    }
}
