package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What a service's database says about its relays: the leases, the replication slots and the parked rows.
 *
 * @param leases        one per relay name: who leads
 * @param slots         the replication slots of the database and the relays' records of theirs
 * @param parkedByRelay how many outbox rows each relay parked ({@code outbox_relay_dead_letter})
 * @param recentParked  the latest parked rows, newest first
 */
public record RelayTables(List<Lease> leases, List<Slot> slots, Map<String, Long> parkedByRelay,
        List<ParkedRow> recentParked) {

    public RelayTables {
        leases = List.copyOf(leases);
        slots = List.copyOf(slots);
        parkedByRelay = Map.copyOf(parkedByRelay);
        recentParked = List.copyOf(recentParked);
    }

    /**
     * A relay's lease ({@code outbox_relay_lease}).
     *
     * @param relay      the relay name
     * @param holder     the leading process, as {@code <instance.id>#<token>}
     * @param epoch      grows with every change of holder
     * @param acquiredAt when the holder took it
     * @param expiresAt  when it expires unless renewed
     * @param expired    whether it has expired (no leader renews it)
     */
    public record Lease(String relay, String holder, long epoch, Instant acquiredAt, Instant expiresAt, boolean expired) {
        /** The holder's instance id, without the per-process token. */
        public String instanceId() {
            int hash = holder.lastIndexOf('#');
            return hash < 0 ? holder : holder.substring(0, hash);
        }
    }

    /**
     * A replication slot as PostgreSQL reports it.
     *
     * @param slotName          the slot
     * @param relay             the relay that created it, or null when none recorded it
     * @param exists            whether it exists (false: a relay recorded it, and it is gone)
     * @param active            whether a relay streams from it now
     * @param activePid         the walsender's pid while active, or null
     * @param walStatus         reserved, extended, unreserved or lost; null when unknown
     * @param restartLsn        the oldest WAL it keeps, or null
     * @param confirmedFlushLsn how far its reader confirmed, or null
     * @param retainedBytes     WAL it holds back, or null when unknown
     */
    public record Slot(String slotName, String relay, boolean exists, boolean active, Integer activePid,
            String walStatus, String restartLsn, String confirmedFlushLsn, Long retainedBytes) {
        /** Whether the relay cannot go on without losing rows: the slot is gone or its WAL was removed. */
        public boolean lost() {
            return !exists || "lost".equals(walStatus);
        }
    }

    /**
     * An outbox row the relay could not publish.
     *
     * @param id            the outbox row id
     * @param relay         the relay that parked it
     * @param sourceTable   its outbox table
     * @param aggregateType its aggregate type, or null
     * @param aggregateId   its aggregate id, or null
     * @param type          its message type, or null
     * @param reason        why it was parked
     * @param walPosition   where it was in the WAL, or null
     * @param parkedAt      when
     */
    public record ParkedRow(UUID id, String relay, String sourceTable, String aggregateType, String aggregateId,
            String type, String reason, String walPosition, Instant parkedAt) {
    }
}
