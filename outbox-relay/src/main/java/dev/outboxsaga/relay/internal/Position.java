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
 * commit: it grows from one transaction to the next.
 *
 * <p>The first transaction of an engine run has none (Debezium has seen no commit yet), so its rows take
 * the LSN the run started streaming from instead ({@link #startingAt}): the slot's confirmed position S.
 * That orders it correctly against every other transaction, of this run or any other: PostgreSQL sends the
 * transactions whose commit record lies at or after S, so this transaction T is the first to commit at or
 * after S; every transaction before T committed before S, so its own commit LSN (its predecessor's commit end)
 * is below S, and every transaction after T has a commit LSN of T's commit end or later, above S. That matters
 * because a run may start long before the last published row: after a crash, PostgreSQL resumes a slot from the
 * last position it saved to disk, which can be many transactions behind the one the relay confirmed. A stand-in
 * below S (read after such a crash) can only make the relay publish a row again, never skip one: T is then
 * either published already or the transaction of the last published row, matched by its id.
 *
 * @param offset    Debezium's source offset of the row, for operators; null for the special positions
 * @param commitLsn the previous transaction's commit LSN, or the run's starting LSN in an engine run's first
 *                  transaction; {@link #UNKNOWN} only in positions stored by relays before that stand-in
 * @param txId      the row's transaction id, -1 for the special positions
 * @param lsn       the row's change LSN
 * @param ordinal   the row's place among the rows of its transaction at the same LSN, from 0
 */
public record Position(Map<String, Object> offset, long commitLsn, long txId, long lsn, long ordinal) {

    /** The commit LSN Debezium gives the rows of an engine run's first transaction (see {@link #startingAt}). */
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
     * This position with the commit LSN it lacks when it is a row of an engine run's first transaction (or was stored
     * so by an older relay): {@code runStart}, the slot's confirmed position when the run began streaming. Any other
     * position is returned as it is.
     */
    public Position startingAt(long runStart) {
        if (commitLsn != UNKNOWN || txId < 0) {
            return this;
        }
        return new Position(offset, runStart, txId, lsn, ordinal);
    }

    /**
     * Whether the row at {@code other} was published already, given that this position was: the same
     * row or an earlier one. Within one transaction rows compare by (LSN, ordinal); transactions by
     * their commit LSNs. Both positions must have their commit LSN ({@link #startingAt}): an unknown one
     * compares below every other. The special positions cover no streamed row.
     */
    public boolean covers(Position other) {
        if (sameRow(other)) {
            return true;
        }
        if (txId >= 0 && other.txId == txId) {
            return other.lsn < lsn || (other.lsn == lsn && other.ordinal <= ordinal);
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
