package dev.outboxsaga.sample.bank;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The invariant "a cancelled transfer is undone": every transfer whose cancel {@code SagaAdmin.cancel} accepted
 * must have {@code CANCELLED} in its saga's history, end COMPENSATED (never COMPLETED: its last step, the local
 * announcement, cannot be in hand when a cancel comes, so nothing can complete after one), net zero at both banks,
 * hold nothing of the source account's daily limit, leave no payee screening open, and be notified to nobody. A saga
 * cancelled that nobody asked to cancel is a violation too.
 */
final class CancelCheck {

    private CancelCheck() {
    }

    /**
     * The cancelled transfers that break the invariant, one line each, in transfer id order; empty when it holds.
     *
     * @param transfers     every transfer started, by id
     * @param accepted      the ids of the transfers whose cancel was accepted
     * @param inHistory     the ids of the transfers whose saga history records {@code CANCELLED}
     * @param outcomes      the saga state of each transfer, by transfer id (missing: not found)
     * @param legs          every ledger row of both banks
     * @param notifications the notifications recorded, by transfer id
     */
    static List<String> violations(Map<String, Transfer> transfers, Set<String> accepted, Set<String> inHistory,
            Map<String, String> outcomes, Collection<LedgerCheck.Leg> legs, Map<String, Long> notifications) {
        // Per transfer, what is left at each bank: "nets" (money), "holds" (of the limit), "screenings" (open).
        Map<String, Map<String, Long>> net = new HashMap<>();
        for (LedgerCheck.Leg leg : legs) {
            String what = switch (leg.kind()) {
                case "HOLD", "RELEASE" -> "holds";
                case "SCREEN", "CLEAR" -> "screenings open";
                default -> "nets";
            };
            long signed = switch (leg.kind()) {
                case "DEBIT", "REVERSAL", "RELEASE" -> -leg.amount();
                case "SCREEN" -> 1;
                case "CLEAR" -> -1;
                default -> leg.amount();
            };
            net.computeIfAbsent(leg.transferId(), id -> new TreeMap<>()).merge(what + " at " + leg.bank(), signed,
                    Long::sum);
        }
        List<String> violations = new ArrayList<>();
        TreeSet<String> ids = new TreeSet<>(accepted);
        ids.addAll(inHistory);
        for (String id : ids) {
            String outcome = outcomes.getOrDefault(id, "NOT FOUND");
            List<String> wrong = new ArrayList<>();
            if (!accepted.contains(id)) {
                wrong.add("cancelled in its history, but no cancel was accepted");
            }
            if (!inHistory.contains(id)) {
                wrong.add("cancel accepted, but no CANCELLED in its history");
            }
            if (!outcome.equals("COMPENSATED")) {
                wrong.add("ended " + outcome + ", not COMPENSATED");
            }
            Transfer transfer = transfers.get(id);
            Map<String, Long> moved = net.getOrDefault(id, Map.of());
            moved.forEach((whatWhere, sum) -> {
                if (sum != 0) {
                    int at = whatWhere.indexOf(" at ");
                    wrong.add(whatWhere.substring(0, at) + " " + sum + whatWhere.substring(at));
                }
            });
            long notified = notifications.getOrDefault(id, 0L);
            if (notified > 0) {
                wrong.add(notified + " notification(s)");
            }
            if (transfer == null) {
                wrong.add("never started");
            }
            if (!wrong.isEmpty()) {
                violations.add(id + " cancelled: " + String.join("; ", wrong));
            }
        }
        return violations;
    }
}
