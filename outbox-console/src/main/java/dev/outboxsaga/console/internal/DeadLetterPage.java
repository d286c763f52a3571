package dev.outboxsaga.console.internal;

import java.util.List;

/**
 * One page of a dead letter list, newest first.
 *
 * @param rows       the dead letters
 * @param nextBefore the id the next page starts below, or null when this is the last
 */
public record DeadLetterPage(List<DeadLetterRow> rows, Long nextBefore) {
    public DeadLetterPage {
        rows = List.copyOf(rows);
    }
}
