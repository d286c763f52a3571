package dev.outboxsaga.sample.bank;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The invariant "each completed transfer notified exactly once": the notification service
 * ({@link NotificationService}) must hold one notification for every COMPLETED transfer and none for any other
 * (a compensated, failed or unfinished one announces nothing). A lost event shows as none, an event applied twice
 * as two.
 */
final class NotificationCheck {

    private NotificationCheck() {
    }

    /**
     * The transfers whose notifications break the invariant, one line each, in transfer id order; empty when it
     * holds.
     *
     * @param outcomes      the saga state of each transfer started, by transfer id (null: its saga not found)
     * @param notifications the notifications recorded, by transfer id
     */
    static List<String> violations(Map<String, String> outcomes, Map<String, Long> notifications) {
        List<String> violations = new ArrayList<>();
        TreeSet<String> ids = new TreeSet<>(outcomes.keySet());
        ids.addAll(notifications.keySet());
        for (String id : ids) {
            long count = notifications.getOrDefault(id, 0L);
            if (!outcomes.containsKey(id)) {
                violations.add(id + ": " + count + " notification(s) for a transfer that was never started");
                continue;
            }
            String outcome = outcomes.get(id) == null ? "NOT STARTED" : outcomes.get(id);
            long expected = outcome.equals("COMPLETED") ? 1 : 0;
            if (count != expected) {
                violations.add(id + " " + outcome + ": " + count + " notification(s), expected " + expected);
            }
        }
        return violations;
    }
}
