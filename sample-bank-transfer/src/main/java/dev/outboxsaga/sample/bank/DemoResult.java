package dev.outboxsaga.sample.bank;

import java.util.List;
import java.util.Map;

/**
 * What a run did and whether the invariants held.
 *
 * @param transfers            transfers started
 * @param byState              sagas by final state (COMPLETED, COMPENSATED, FAILED, and any not ended)
 * @param stuck                sagas not ended when the run stopped waiting
 * @param seconds              from the first transfer to the last saga's end
 * @param latenciesMillis      per ended saga: from the transfer's commit to the saga's end, sorted
 * @param undelayedLatenciesMillis the same for the sagas into which no crash or late reply was injected
 *                             (in this process) and that saw no step time out
 * @param longestStallMillis   the longest time no saga ended while one with no injected delay was in
 *                             flight; see {@link #longestStall}
 * @param compensationsRun     compensating steps carried out
 * @param duplicatesInjected   copies of commands, replies and transfer events delivered again by the fault injector
 * @param duplicatesSuppressed deliveries the inboxes recognised and skipped
 * @param duplicatesApplied    transfers whose entries at the banks (ledger movements, limit holds, payee
 *                             screenings) differ from what their outcome allows: one missing, or one too many (applied
 *                             twice); see {@link LedgerCheck}
 * @param moneyBefore          total money across both banks before, in cents
 * @param moneyAfter           and after
 * @param negativeBalances     accounts below zero afterwards
 * @param refusals             business refusals seen, by reason
 * @param timelines            a few sagas, step by step
 * @param unfinished           up to ten sagas that did not end, with their state and last error
 * @param ledgerViolations     up to ten of the transfers counted in {@code duplicatesApplied}, with their legs
 * @param notifications        notifications the notification service recorded (by choreography, one per completed
 *                             transfer)
 * @param notificationsMisapplied transfers notified other than once if completed, or at all if not; see
 *                             {@link NotificationCheck}
 * @param notificationViolations up to ten of the transfers counted in {@code notificationsMisapplied}
 * @param checksUnbalanced     accounts whose limit held and not released differs from their completed transfers'
 *                             amounts, and banks whose open screenings differ from their completed incoming transfers;
 *                             see {@link LedgerCheck#heldViolations}
 * @param checkViolations      up to ten of those
 * @param cancels              the cancels asked for while transfers were in flight, and what came of them
 */
public record DemoResult(
        int transfers,
        Map<String, Long> byState,
        long stuck,
        double seconds,
        List<Long> latenciesMillis,
        List<Long> undelayedLatenciesMillis,
        long longestStallMillis,
        long compensationsRun,
        long duplicatesInjected,
        long duplicatesSuppressed,
        long duplicatesApplied,
        long moneyBefore,
        long moneyAfter,
        long negativeBalances,
        Map<String, Long> refusals,
        List<Timeline> timelines,
        List<String> unfinished,
        List<String> ledgerViolations,
        long notifications,
        long notificationsMisapplied,
        List<String> notificationViolations,
        long checksUnbalanced,
        List<String> checkViolations,
        Cancels cancels) {

    /**
     * The cancels of a run ({@code --cancel-percent}): each one asked for is either accepted, and its saga then
     * compensated, or refused because the saga was no longer RUNNING (too late), or not delivered at all (the
     * database could not be reached); so {@code requested = cancelled + tooLate + notDelivered} when every accepted
     * cancel was honoured.
     *
     * @param requested       cancels asked for
     * @param cancelled       sagas cancelled and compensated: {@code CANCELLED} in their history, ended COMPENSATED
     * @param cancelledAtStep the same by the step in hand when the cancel came (debit: before the debit's reply;
     *                        credit: between the debit's reply and the credit's)
     * @param tooLate         cancels refused, by the state the saga was in (COMPLETED, FAILED, COMPENSATED: ended;
     *                        COMPENSATING, PARKED: undoing its steps already)
     * @param notDelivered    cancels that failed for another reason (the database could not be reached, say)
     * @param misapplied      cancelled transfers not undone; see {@link CancelCheck}
     * @param violations      up to ten of those, with what is wrong
     */
    public record Cancels(long requested, long cancelled, Map<String, Long> cancelledAtStep, Map<String, Long> tooLate,
            long notDelivered, long misapplied, List<String> violations) {

        /** No cancel asked for. */
        public static Cancels none() {
            return new Cancels(0, 0, Map.of(), Map.of(), 0, 0, List.of());
        }

        /** Cancels refused, in whatever state. */
        public long tooLateTotal() {
            return tooLate.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** One saga's events, in milliseconds from its start. */
    public record Timeline(String transferId, String outcome, List<Point> points) {
    }

    /** One event of a timeline. */
    public record Point(long atMillis, String step, String event, String detail) {
    }

    public long count(String state) {
        return byState.getOrDefault(state, 0L);
    }

    public boolean moneyConserved() {
        return moneyBefore == moneyAfter;
    }

    /**
     * Every invariant: money conserved, nothing negative, nothing stuck, nothing applied twice, limits held and
     * screenings open only for completed transfers, each completed transfer notified exactly once, each cancelled
     * transfer undone.
     */
    public boolean invariantsHold() {
        return moneyConserved() && negativeBalances == 0 && stuck == 0 && duplicatesApplied == 0
                && checksUnbalanced == 0 && notificationsMisapplied == 0 && cancels.misapplied() == 0;
    }

    public long percentile(double p) {
        return percentile(latenciesMillis, p);
    }

    /** The latency percentile of the sagas into which no crash or late reply was injected. */
    public long undelayedPercentile(double p) {
        return percentile(undelayedLatenciesMillis, p);
    }

    private static long percentile(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    /**
     * The longest time during which no saga ended while a saga with no injected delay was in flight:
     * the whole system standing still, which a slow participant or relay must not cause.
     */
    static long longestStall(List<long[]> sagas) {
        // Each saga: {start, end, delayed (1) or not (0)}, in epoch milliseconds.
        List<Long> ends = sagas.stream().map(saga -> saga[1]).sorted().toList();
        long longest = 0;
        long previous = sagas.stream().mapToLong(saga -> saga[0]).min().orElse(0);
        for (long end : ends) {
            long from = previous;
            long stalled = sagas.stream().filter(saga -> saga[2] == 0)
                    .mapToLong(saga -> Math.min(saga[1], end) - Math.max(saga[0], from)).max().orElse(0);
            longest = Math.max(longest, stalled);
            previous = end;
        }
        return longest;
    }

    /**
     * The line scripts read: outcomes (cancelled sagas are among the compensated), cancels, and each invariant's
     * count of violations.
     */
    public String resultLine() {
        return "RESULT transfers=" + transfers + " completed=" + count("COMPLETED") + " compensated="
                + count("COMPENSATED") + " failed=" + count("FAILED") + " cancels=" + cancels.requested() + " cancelled="
                + cancels.cancelled() + " cancels_too_late=" + cancels.tooLateTotal() + " stuck=" + stuck
                + " duplicates_applied=" + duplicatesApplied + " checks_unbalanced=" + checksUnbalanced
                + " notifications_misapplied=" + notificationsMisapplied
                + " cancels_misapplied=" + cancels.misapplied() + " money_conserved=" + moneyConserved();
    }
}
