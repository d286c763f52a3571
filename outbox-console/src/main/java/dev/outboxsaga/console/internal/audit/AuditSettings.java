package dev.outboxsaga.console.internal.audit;

import dev.outboxsaga.console.ReconciliationAudit;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/** A {@link ReconciliationAudit}'s validated settings; see its builder for each one's meaning and default. */
public record AuditSettings(
        DataSource dataSource,
        Map<String, Object> kafkaProperties,
        List<ReconciliationAudit.Relay> relays,
        String consumer,
        DataSource consumerDataSource,
        String consumerGroup,
        List<String> consumerTopics,
        String inboxTable,
        String deadLetterTable,
        Duration patience,
        Duration clockSkew,
        int maxRows,
        int maxFindingsListed) {
}
