package dev.outboxsaga.sample.bank;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The invariant "each transfer's ledger entries exactly once": every transfer's movements, at both
 * banks, must be exactly those its outcome allows, no more and no fewer.
 * <ul>
 *   <li>COMPLETED: one DEBIT of the amount from the source account, one CREDIT of it to the
 *       destination account.</li>
 *   <li>COMPENSATED: at each bank either nothing, or the movement and its undo once each (DEBIT and
 *       REFUND at the source, CREDIT and REVERSAL at the destination); the destination moved only if
 *       the source did.</li>
 *   <li>FAILED (the debit was refused): nothing at all.</li>
 *   <li>Not ended: no kind of movement more than once.</li>
 * </ul>
 * Every movement must be for the transfer's own account and amount, at the right bank, and every
 * ledger entry must belong to a known transfer. A second application of any command shows here as
 * an extra leg.
 */
final class LedgerCheck {

    /** One ledger row of one bank. */
    record Leg(String bank, String transferId, String kind, String account, long amount) {
    }

    private LedgerCheck() {
    }

    /**
     * The transfers whose ledgers break the invariant, one line each (transfer, outcome, what the
     * ledgers hold, what was allowed), in transfer id order; empty when it holds.
     *
     * @param transfers every transfer started, by id
     * @param outcomes  the saga state of each transfer, by transfer id (a missing one counts as not ended)
     * @param legs      every ledger row of both banks
     */
    static List<String> violations(Map<String, Transfer> transfers, Map<String, String> outcomes, Collection<Leg> legs) {
        Map<String, List<String>> byTransfer = new HashMap<>();
        List<String> violations = new ArrayList<>();
        Set<String> strangers = new TreeSet<>();
        for (Leg leg : legs) {
            if (!transfers.containsKey(leg.transferId())) {
                strangers.add(leg.transferId());
                continue;
            }
            byTransfer.computeIfAbsent(leg.transferId(), id -> new ArrayList<>()).add(describe(leg));
        }
        for (String id : new TreeSet<>(transfers.keySet())) {
            Transfer transfer = transfers.get(id);
            String outcome = outcomes.getOrDefault(id, "NOT STARTED");
            List<String> actual = sorted(byTransfer.getOrDefault(id, List.of()));
            List<List<String>> allowed = allowed(transfer, outcome);
            boolean ok = allowed == null ? noKindTwice(actual) : allowed.contains(actual);
            if (!ok) {
                violations.add(id + " " + outcome + ": ledgers " + actual + ", allowed "
                        + (allowed == null ? "each kind at most once" : allowed));
            }
        }
        for (String stranger : strangers) {
            violations.add(stranger + ": ledger entries for a transfer that was never started");
        }
        return violations;
    }

    /** The allowed sets of legs (each sorted), or null for a saga not ended. */
    private static List<List<String>> allowed(Transfer t, String outcome) {
        String debit = describe(new Leg(t.fromBank(), t.id(), "DEBIT", t.fromAccount(), t.amount()));
        String refund = describe(new Leg(t.fromBank(), t.id(), "REFUND", t.fromAccount(), t.amount()));
        String credit = describe(new Leg(t.toBank(), t.id(), "CREDIT", t.toAccount(), t.amount()));
        String reversal = describe(new Leg(t.toBank(), t.id(), "REVERSAL", t.toAccount(), t.amount()));
        return switch (outcome) {
            case "COMPLETED" -> List.of(sorted(List.of(debit, credit)));
            case "COMPENSATED" -> List.of(List.of(), sorted(List.of(debit, refund)),
                    sorted(List.of(debit, refund, credit, reversal)));
            case "FAILED" -> List.of(List.of());
            default -> null;
        };
    }

    private static boolean noKindTwice(List<String> legs) {
        Set<String> kinds = new java.util.HashSet<>();
        for (String leg : legs) {
            if (!kinds.add(leg.substring(0, leg.indexOf(' ')))) {
                return false;
            }
        }
        return true;
    }

    private static String describe(Leg leg) {
        return leg.bank() + "/" + leg.kind() + " " + leg.account() + " " + leg.amount();
    }

    private static List<String> sorted(List<String> legs) {
        List<String> copy = new ArrayList<>(legs);
        copy.sort(null);
        return List.copyOf(copy);
    }
}
