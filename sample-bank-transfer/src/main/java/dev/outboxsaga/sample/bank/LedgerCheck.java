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
 * The invariant "each transfer's entries exactly once": every transfer's entries at both banks (ledger movements,
 * limit holds, payee screenings) must be exactly those its outcome allows, no more and no fewer.
 * <ul>
 *   <li>COMPLETED: a HOLD of the amount against the source account's daily limit and a SCREEN of the payee (the
 *       parallel checks), one DEBIT of the amount from the source account, one CREDIT of it to the destination
 *       account.</li>
 *   <li>COMPENSATED: of each pair, either nothing, or the entry and its undo once each (HOLD and RELEASE, SCREEN
 *       and CLEAR, DEBIT and REFUND at the source, CREDIT and REVERSAL at the destination); the destination moved
 *       only if the source did, and money moved only once both checks had passed.</li>
 *   <li>FAILED (every check that answered refused, so nothing needed undoing): nothing at all.</li>
 *   <li>Not ended: no kind of entry more than once.</li>
 * </ul>
 * Every entry must be for the transfer's own account and amount, at the right bank, and belong to a known
 * transfer. A second application of any command or compensation shows here as an extra leg, a lost one as a
 * missing leg.
 *
 * <p>{@link #heldViolations} checks the same from the banks' side, as totals: what each account holds of its
 * daily limit, and each bank's open screenings, must be those of the completed transfers.
 */
final class LedgerCheck {

    /**
     * One entry of one bank: a ledger row (DEBIT, REFUND, CREDIT, REVERSAL), a limit hold (HOLD, RELEASE) or a
     * screening (SCREEN, CLEAR).
     */
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
        String hold = describe(new Leg(t.fromBank(), t.id(), "HOLD", t.fromAccount(), t.amount()));
        String release = describe(new Leg(t.fromBank(), t.id(), "RELEASE", t.fromAccount(), t.amount()));
        String screen = describe(new Leg(t.toBank(), t.id(), "SCREEN", t.toAccount(), t.amount()));
        String clear = describe(new Leg(t.toBank(), t.id(), "CLEAR", t.toAccount(), t.amount()));
        String debit = describe(new Leg(t.fromBank(), t.id(), "DEBIT", t.fromAccount(), t.amount()));
        String refund = describe(new Leg(t.fromBank(), t.id(), "REFUND", t.fromAccount(), t.amount()));
        String credit = describe(new Leg(t.toBank(), t.id(), "CREDIT", t.toAccount(), t.amount()));
        String reversal = describe(new Leg(t.toBank(), t.id(), "REVERSAL", t.toAccount(), t.amount()));
        return switch (outcome) {
            case "COMPLETED" -> List.of(sorted(List.of(hold, screen, debit, credit)));
            case "COMPENSATED" -> {
                List<List<String>> allowed = new ArrayList<>();
                for (List<String> limit : List.of(List.<String>of(), List.of(hold, release))) {
                    for (List<String> screening : List.of(List.<String>of(), List.of(screen, clear))) {
                        for (List<String> money : List.of(List.<String>of(), List.of(debit, refund),
                                List.of(debit, refund, credit, reversal))) {
                            if (!money.isEmpty() && (limit.isEmpty() || screening.isEmpty())) {
                                continue;
                            }
                            List<String> legs = new ArrayList<>(limit);
                            legs.addAll(screening);
                            legs.addAll(money);
                            allowed.add(sorted(legs));
                        }
                    }
                }
                yield allowed;
            }
            case "FAILED" -> List.of(List.of());
            default -> null;
        };
    }

    /**
     * The banks' totals that differ from the completed transfers', one line each; empty when they agree. Per
     * account: the daily limit it holds and has not released must equal the amounts of its COMPLETED transfers
     * out; per bank: its screenings not cleared must equal its COMPLETED transfers in. A compensation of a check
     * lost or applied twice shows here. Transfers not ended are left out (they count as stuck), and so are
     * entries of transfers never started ({@link #violations} names those).
     *
     * @param transfers every transfer started, by id
     * @param outcomes  the saga state of each transfer, by transfer id
     * @param legs      every entry of both banks
     */
    static List<String> heldViolations(Map<String, Transfer> transfers, Map<String, String> outcomes,
            Collection<Leg> legs) {
        Map<String, Long> held = new TreeMap<>();
        Map<String, Long> screenings = new TreeMap<>();
        Map<String, Long> completedOut = new TreeMap<>();
        Map<String, Long> completedIn = new TreeMap<>();
        for (Transfer transfer : transfers.values()) {
            if ("COMPLETED".equals(outcomes.get(transfer.id()))) {
                completedOut.merge(transfer.fromBank() + "/" + transfer.fromAccount(), transfer.amount(), Long::sum);
                completedIn.merge(transfer.toBank(), 1L, Long::sum);
            }
        }
        for (Leg leg : legs) {
            Transfer transfer = transfers.get(leg.transferId());
            if (transfer == null || !ENDED.contains(outcomes.getOrDefault(leg.transferId(), "NOT STARTED"))) {
                continue;
            }
            switch (leg.kind()) {
                case "HOLD" -> held.merge(leg.bank() + "/" + leg.account(), leg.amount(), Long::sum);
                case "RELEASE" -> held.merge(leg.bank() + "/" + leg.account(), -leg.amount(), Long::sum);
                case "SCREEN" -> screenings.merge(leg.bank(), 1L, Long::sum);
                case "CLEAR" -> screenings.merge(leg.bank(), -1L, Long::sum);
                default -> {
                }
            }
        }
        List<String> violations = new ArrayList<>();
        Set<String> accounts = new TreeSet<>(held.keySet());
        accounts.addAll(completedOut.keySet());
        for (String account : accounts) {
            long holds = held.getOrDefault(account, 0L);
            long sent = completedOut.getOrDefault(account, 0L);
            if (holds != sent) {
                violations.add(account + ": " + holds + " of its daily limit held and not released, but its completed "
                        + "transfers sent " + sent);
            }
        }
        Set<String> banks = new TreeSet<>(screenings.keySet());
        banks.addAll(completedIn.keySet());
        for (String bank : banks) {
            long open = screenings.getOrDefault(bank, 0L);
            long received = completedIn.getOrDefault(bank, 0L);
            if (open != received) {
                violations.add(bank + ": " + open + " screening(s) not cleared, but " + received
                        + " completed transfer(s) to it");
            }
        }
        return violations;
    }

    private static final Set<String> ENDED = Set.of("COMPLETED", "COMPENSATED", "FAILED");

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
