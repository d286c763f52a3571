package dev.outboxsaga.relay.internal;

import java.util.Map;

/**
 * One outbox row as the relay sees it, whether decoded from the WAL or read by the first start's
 * snapshot: every column as text (uuid and jsonb as PostgreSQL prints them), null when SQL NULL.
 *
 * @param table           {@code schema.table}
 * @param columns         column name to text value
 * @param commitTimeMillis when its transaction committed, or 0 when unknown
 */
public record OutboxRow(String table, Map<String, String> columns, long commitTimeMillis) {

    public String get(String column) {
        return columns.get(column);
    }
}
