package dev.outboxsaga.console.internal;

/**
 * One relay process as its {@code /health} endpoint reports it (see outbox-relay's README, HTTP endpoints).
 *
 * @param url              the {@code /health} URL asked, without user info
 * @param relay            the relay name when the process runs several relays, else null
 * @param httpStatus       200 (keeping up) or 503, or 0 when it could not be reached
 * @param status           UP or DOWN, or null when unreachable
 * @param role             LEADER, STANDBY, STOPPED or FAILED, or null
 * @param lagMillis        how long the oldest row handed to the publisher has waited, or null
 * @param retainedWalBytes WAL the slot holds back, or null (-1: unknown)
 * @param leaseEpoch       the lease epoch it holds or last held, or null
 * @param recordsParked    rows it parked, or null
 * @param instanceId       its instance id, or null
 * @param failure          the failure it reports, or why it could not be asked; null when none
 */
public record RelayProcess(String url, String relay, int httpStatus, String status, String role, Long lagMillis,
        Long retainedWalBytes, Long leaseEpoch, Long recordsParked, String instanceId, String failure) {

    /** Whether it answered and keeps up. */
    public boolean healthy() {
        return "UP".equals(status) && failure == null;
    }
}
