package dev.outboxsaga.console.internal;

import java.util.List;
import java.util.Map;

/**
 * What the overview shows of one service; a part that could not be read is null, and why is in {@code failures}.
 *
 * @param name        the service
 * @param database    its JDBC URL without query string
 * @param sagas       its sagas at a glance, or null
 * @param deadLetters dead letter counts by consumer and status, or null
 * @param relays      its relay processes' health (each with its own failure)
 * @param relayTables its relay tables, or null
 * @param lags        its inbox consumers' lag (each with its own failure)
 * @param failures    what could not be read, one line each
 */
record ServiceCard(String name, String database, SagaOverview sagas, Map<String, Map<String, Long>> deadLetters,
        List<RelayProcess> relays, RelayTables relayTables, List<ConsumerLag> lags, List<String> failures) {
}
