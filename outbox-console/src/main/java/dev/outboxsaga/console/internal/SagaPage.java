package dev.outboxsaga.console.internal;

import java.util.List;

/**
 * One page of a saga list, newest first.
 *
 * @param rows the sagas
 * @param next the cursor of the next page, or null when this is the last
 */
public record SagaPage(List<SagaRow> rows, SagaCursor next) {
    public SagaPage {
        rows = List.copyOf(rows);
    }
}
