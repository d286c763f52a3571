package dev.outboxsaga.relay.internal;

import java.util.HashMap;
import java.util.Map;

/**
 * Where in the stream the relay has published up to: the last row committed to Kafka.
 *
 * <p>PostgreSQL sends whole transactions in commit order; inside one, changes come in WAL order, and
 * the rows of one multi-insert record ({@code COPY}, {@code pg_restore}, a logical-replication
 * subscriber) share one LSN. So a row is identified by its transaction and, inside it, by its LSN
 * and its ordinal among the rows at that LSN. A transaction is ordered against others by the commit
 * LSN that Debezium reports with each change, which is the end of the <em>previous</em> transaction's
 * commit: it grows from one transaction to the next. The first transaction of an engine run has none
 * (Debezium has seen no commit yet); it is the transaction the replication slot was confirmed into,
 * so it is never later than the last published row (see {@link #covers}).
 *
 * @param offset    Debezium's source offset of the row, for operators; null for the special positions
 * @param commitLsn the previous transaction's commit LSN, {@link #UNKNOWN} in an engine run's first transaction
 * @param txId      the row's transaction id, -1 for the special positions
 * @param lsn       the row's change LSN
 * @param ordinal   the row's place among the rows of its transaction at the same LSN, from 0
 */
public record Position(Map<String, Object> offset, long commitLsn, long txId, long lsn, long ordinal) {

    /** The commit LSN of the rows of an engine run's first transaction. */
    public static final long UNKNOWN = -1;
    /** Nothing committed to Kafka yet: the relay never started. */
    public static final Position NONE = new Position(null, -3, -1, -1, -1);
    /**
     * Nothing streamed yet: the first start committed (with the rows already in the outbox), or an
     * operator re-seeded the position from the slot. Covers no streamed row.
     */
    public static final Position START = new Position(null, -2, -1, -1, -1);

    /** The position of a streamed row. */
    public static Position of(Map<String, ?> sourceOffset, long ordinal) {
        @SuppressWarnings("unchecked")
        Map<String, Object> offset = Map.copyOf((Map<String, Object>) sourceOffset);
        return new Position(offset, number(offset.get("lsn_commit"), UNKNOWN), number(offset.get("txId"), -1),
                number(offset.get("lsn"), -1), ordinal);
    }

    /**
     * Whether the row at {@code other} was published already, given that this position was: the same
     * row or an earlier one. Within one transaction rows compare by (LSN, ordinal); transactions by
     * their commit LSNs. A row of an engine run's first transaction (commit LSN unknown) is covered by
     * any streamed position of another transaction: the run started from the slot's confirmed position,
     * which the relay moves only after Kafka committed, so that transaction is not later than this one.
     * The special positions cover no streamed row.
     */
    public boolean covers(Position other) {
        if (sameRow(other)) {
            return true;
        }
        if (txId >= 0 && other.txId == txId) {
            return other.lsn < lsn || (other.lsn == lsn && other.ordinal <= ordinal);
        }
        if (other.commitLsn == UNKNOWN) {
            return txId >= 0;
        }
        return other.commitLsn < commitLsn;
    }

    /** The value stored in the positions topic. */
    public Map<String, Object> toStored() {
        Map<String, Object> stored = new HashMap<>();
        stored.put("offset", offset);
        stored.put("commitLsn", commitLsn);
        stored.put("txId", txId);
        stored.put("lsn", lsn);
        stored.put("ordinal", ordinal);
        return stored;
    }

    /** A position read back from the positions topic (also the format of relays before ordinals, which had none). */
    @SuppressWarnings("unchecked")
    public static Position fromStored(Map<String, Object> stored) {
        Object offset = stored == null ? null : stored.get("offset");
        if (stored == null || (offset == null && !stored.containsKey("ordinal"))) {
            return START;
        }
        if (!stored.containsKey("ordinal")) {
            // Written before rows sharing an LSN were told apart: it covered every row at its LSN.
            Map<String, Object> old = (Map<String, Object>) offset;
            return new Position(Map.copyOf(old), number(old.get("lsn_commit"), UNKNOWN), number(old.get("txId"), -1),
                    number(old.get("lsn"), -1), Long.MAX_VALUE);
        }
        Position position = new Position(offset == null ? null : Map.copyOf((Map<String, Object>) offset),
                number(stored.get("commitLsn"), UNKNOWN), number(stored.get("txId"), -1), number(stored.get("lsn"), -1),
                number(stored.get("ordinal"), -1));
        return position.sameRow(START) ? START : position;
    }

    private boolean sameRow(Position other) {
        return commitLsn == other.commitLsn && txId == other.txId && lsn == other.lsn && ordinal == other.ordinal;
    }

    @Override
    public String toString() {
        if (sameRow(START)) {
            return "START";
        }
        if (sameRow(NONE)) {
            return "NONE";
        }
        return "tx " + txId + " after commit " + commitLsn + ", lsn " + lsn + " #" + ordinal;
    }

    private static long number(Object value, long absent) {
        return value instanceof Number n ? n.longValue() : absent;
    }
}
