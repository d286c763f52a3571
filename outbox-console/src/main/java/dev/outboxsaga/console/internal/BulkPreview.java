package dev.outboxsaga.console.internal;

/**
 * What a bulk replay or discard of a filtered set would take: shown for confirmation, then passed back so the
 * action takes no dead letter parked after the preview.
 *
 * @param count how many dead letters it takes now
 * @param maxId the highest id among them (0 when none): the action stops there
 */
public record BulkPreview(long count, long maxId) {
}
