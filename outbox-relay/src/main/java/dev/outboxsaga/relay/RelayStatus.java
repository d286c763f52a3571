package dev.outboxsaga.relay;

/**
 * A snapshot of what a relay process is doing, for health checks, metrics and the CLI.
 *
 * @param role                  what this process is doing now
 * @param instanceId            this process's name in the lease table
 * @param leaseEpoch            the lease epoch it holds or last held, 0 if never
 * @param streaming             whether, as leader, it is reading the WAL now (false while it starts up)
 * @param recordsPublished      records committed to Kafka by this process
 * @param transactionsCommitted Kafka transactions committed by this process
 * @param recordsParked         rows parked as unpublishable by this process
 * @param lagMillis             how long the oldest row handed to the publisher has waited since its database
 *                              commit; between batches the last batch's lag; 0 when idle
 * @param retainedWalBytes      WAL the replication slot holds back, or -1 when unknown
 * @param failure               why the relay stopped, or the misconfiguration it is about to stop on while it
 *                              tries again; null when neither
 */
public record RelayStatus(
        Role role,
        String instanceId,
        long leaseEpoch,
        boolean streaming,
        long recordsPublished,
        long transactionsCommitted,
        long recordsParked,
        long lagMillis,
        long retainedWalBytes,
        String failure) {

    /** What a relay process is doing. */
    public enum Role {
        /** Not running yet, or shut down. */
        STOPPED,
        /** Waiting for the leader's lease to expire. */
        STANDBY,
        /** Holding the lease and publishing. */
        LEADER,
        /** Stopped on an error that needs an operator, e.g. a lost replication slot. */
        FAILED
    }

    /**
     * Whether this process is healthy: a standby, or a leader whose lag is under {@code maxLagMillis}, and no
     * {@link #failure()} to report.
     */
    public boolean keepingUp(long maxLagMillis) {
        return failure == null && (role == Role.STANDBY || (role == Role.LEADER && lagMillis <= maxLagMillis));
    }
}
