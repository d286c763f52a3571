package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.Locale;
import java.util.Set;

/**
 * Which dead letters a list, a count or a bulk action takes; every part is optional (null: any).
 *
 * @param consumer   the consumer that parked them
 * @param status     PARKED, REPLAYED or DISCARDED
 * @param topic      the topic they were read from
 * @param errorText  text found (in any case) in the failure's class or message
 * @param parkedFrom parked at or after this instant
 * @param parkedTo   parked before this instant
 */
public record DeadLetterFilter(String consumer, String status, String topic, String errorText, Instant parkedFrom,
        Instant parkedTo) {

    /** The statuses of a dead letter ({@code sql/V3__dead_letter.sql}). */
    public static final Set<String> STATUSES = Set.of("PARKED", "REPLAYED", "DISCARDED");

    /** Blank parts become null; the status is upper-cased. */
    public DeadLetterFilter {
        consumer = SagaFilter.blankToNull(consumer);
        topic = SagaFilter.blankToNull(topic);
        errorText = SagaFilter.blankToNull(errorText);
        status = SagaFilter.blankToNull(status);
        if (status != null) {
            status = status.toUpperCase(Locale.ROOT);
            if (!STATUSES.contains(status)) {
                throw new IllegalArgumentException("status must be one of " + new java.util.TreeSet<>(STATUSES)
                        + ", but was '" + status + "'");
            }
        }
        if (parkedFrom != null && parkedTo != null && !parkedFrom.isBefore(parkedTo)) {
            throw new IllegalArgumentException("the time range is empty: from " + parkedFrom + " is not before to "
                    + parkedTo);
        }
    }

    /** Every dead letter. */
    public static DeadLetterFilter none() {
        return new DeadLetterFilter(null, null, null, null, null, null);
    }

    /** The parked dead letters. */
    public static DeadLetterFilter parked() {
        return none().withStatus("PARKED");
    }

    public DeadLetterFilter withConsumer(String consumer) {
        return new DeadLetterFilter(consumer, status, topic, errorText, parkedFrom, parkedTo);
    }

    public DeadLetterFilter withStatus(String status) {
        return new DeadLetterFilter(consumer, status, topic, errorText, parkedFrom, parkedTo);
    }

    public DeadLetterFilter withTopic(String topic) {
        return new DeadLetterFilter(consumer, status, topic, errorText, parkedFrom, parkedTo);
    }

    public DeadLetterFilter withErrorText(String errorText) {
        return new DeadLetterFilter(consumer, status, topic, errorText, parkedFrom, parkedTo);
    }

    public DeadLetterFilter withParkedBetween(Instant from, Instant to) {
        return new DeadLetterFilter(consumer, status, topic, errorText, from, to);
    }
}
