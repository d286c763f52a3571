package dev.outboxsaga.relay.internal;

import java.util.Map;

/**
 * Where in the WAL the relay has published up to: Debezium's source offset of the last record
 * committed to Kafka (null right after the first start, before any), ordered by
 * (commit LSN, event LSN), which grows along the stream.
 */
public record Position(Map<String, Object> offset, long commitLsn, long lsn) {

    /** Nothing committed to Kafka yet: the relay never started. */
    public static final Position NONE = new Position(null, -2, -2);
    /** The first start committed (with the rows already in the outbox), nothing streamed yet. */
    public static final Position START = new Position(null, -1, -1);

    public static Position of(Map<String, ?> sourceOffset) {
        @SuppressWarnings("unchecked")
        Map<String, Object> offset = Map.copyOf((Map<String, Object>) sourceOffset);
        return new Position(offset, number(offset.get("lsn_commit")), number(offset.get("lsn")));
    }

    /** Whether a record at {@code other} was published already (at or before this position). */
    public boolean covers(Position other) {
        if (other.commitLsn != commitLsn) {
            return other.commitLsn < commitLsn;
        }
        return other.lsn <= lsn;
    }

    private static long number(Object value) {
        return value instanceof Number n ? n.longValue() : -1;
    }
}
