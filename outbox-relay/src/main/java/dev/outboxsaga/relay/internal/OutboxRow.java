package dev.outboxsaga.relay.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;

/**
 * One outbox row as the relay sees it, whether decoded from the WAL or read by the first start's
 * snapshot: every column as text (uuid and jsonb as PostgreSQL prints them), null when SQL NULL.
 *
 * @param table           {@code schema.table}
 * @param columns         column name to text value
 * @param commitTimeMillis when its transaction committed, or 0 when unknown
 */
public record OutboxRow(String table, Map<String, String> columns, long commitTimeMillis) {

    /** The row of a Debezium change event: its {@code after} struct, with the commit time from {@code source}. */
    public static OutboxRow of(String table, Struct after, Struct source) {
        Map<String, String> columns = new LinkedHashMap<>();
        for (Field field : after.schema().fields()) {
            Object value = after.get(field);
            columns.put(field.name(), value == null ? null : value.toString());
        }
        Long commitMillis = source.getInt64("ts_ms");
        return new OutboxRow(table, columns, commitMillis == null ? 0 : commitMillis);
    }

    public String get(String column) {
        return columns.get(column);
    }
}
