package dev.outboxsaga.relay;

/**
 * The replication slot of a relay as PostgreSQL reports it, next to what the relay has published.
 *
 * @param slotName          the slot
 * @param exists            whether the slot exists
 * @param active            whether a relay is streaming from it now
 * @param activePid         the walsender's process id while active, else null
 * @param walStatus         PostgreSQL's {@code wal_status} ({@code reserved}, {@code extended}, {@code unreserved}, {@code lost}), or null
 * @param restartLsn        the oldest WAL the slot keeps, or null
 * @param confirmedFlushLsn how far the relay has confirmed, or null
 * @param retainedWalBytes  WAL held back by the slot, or -1 when unknown
 * @param publishedOffset   the relay's last published Debezium offset as JSON, or null before any
 */
public record SlotReport(
        String slotName,
        boolean exists,
        boolean active,
        Integer activePid,
        String walStatus,
        String restartLsn,
        String confirmedFlushLsn,
        long retainedWalBytes,
        String publishedOffset) {

    /** Whether the slot is gone or its WAL was removed: the relay cannot go on without losing rows. */
    public boolean lost() {
        return !exists || "lost".equals(walStatus);
    }
}
