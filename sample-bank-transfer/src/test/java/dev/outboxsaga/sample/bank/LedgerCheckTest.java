package dev.outboxsaga.sample.bank;

import static dev.outboxsaga.sample.bank.TransferLegs.CLEAR;
import static dev.outboxsaga.sample.bank.TransferLegs.CREDIT;
import static dev.outboxsaga.sample.bank.TransferLegs.DEBIT;
import static dev.outboxsaga.sample.bank.TransferLegs.HOLD;
import static dev.outboxsaga.sample.bank.TransferLegs.REFUND;
import static dev.outboxsaga.sample.bank.TransferLegs.RELEASE;
import static dev.outboxsaga.sample.bank.TransferLegs.REVERSAL;
import static dev.outboxsaga.sample.bank.TransferLegs.SCREEN;
import static dev.outboxsaga.sample.bank.TransferLegs.T;
import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.sample.bank.LedgerCheck.Leg;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The entries invariant sees a missing entry, an extra one, and one of the wrong size or place, for the parallel
 * checks' holds and screenings as for the money; the totals invariant sees a hold or screening left behind or undone
 * twice.
 */
class LedgerCheckTest {

    private static List<String> check(String outcome, Leg... legs) {
        return LedgerCheck.violations(Map.of(T.id(), T), Map.of(T.id(), outcome), List.of(legs));
    }

    private static List<String> held(String outcome, Leg... legs) {
        return LedgerCheck.heldViolations(Map.of(T.id(), T), Map.of(T.id(), outcome), List.of(legs));
    }

    @Test
    void whatEachOutcomeAllowsPasses() {
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, CREDIT)).isEmpty();
        assertThat(check("COMPLETED", CREDIT, DEBIT, SCREEN, HOLD)).as("order does not matter").isEmpty();
        assertThat(check("COMPENSATED")).as("no check took effect, or each timed out without one").isEmpty();
        assertThat(check("COMPENSATED", HOLD, RELEASE)).as("the screening refused, the hold released").isEmpty();
        assertThat(check("COMPENSATED", SCREEN, CLEAR)).as("the limit refused, the screening cleared").isEmpty();
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR)).as("the debit refused").isEmpty();
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, DEBIT, REFUND)).as("the credit refused").isEmpty();
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, DEBIT, CREDIT, REVERSAL, REFUND))
                .as("cancelled awaiting the credit's reply").isEmpty();
        assertThat(check("FAILED")).as("both checks refused").isEmpty();
        assertThat(check("RUNNING", HOLD, DEBIT)).isEmpty();
        assertThat(held("COMPLETED", HOLD, SCREEN, DEBIT, CREDIT)).isEmpty();
        assertThat(held("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, DEBIT, REFUND)).isEmpty();
        assertThat(held("RUNNING", HOLD, SCREEN)).as("a transfer not ended counts as stuck, not here").isEmpty();
    }

    @Test
    void anExtraLegIsAViolation() {
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, CREDIT, CREDIT)).singleElement().asString()
                .startsWith("t-1 COMPLETED: ledgers [bank-a/DEBIT A1 500, bank-a/HOLD A1 500, bank-b/CREDIT B2 500, "
                        + "bank-b/CREDIT B2 500, bank-b/SCREEN B2 500]");
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, DEBIT, CREDIT)).hasSize(1);
        assertThat(check("COMPLETED", HOLD, HOLD, SCREEN, DEBIT, CREDIT)).as("held twice").hasSize(1);
        // Twice applied and twice undone nets to zero, but is still two legs too many.
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, DEBIT, DEBIT, REFUND, REFUND)).hasSize(1);
        assertThat(check("COMPENSATED", HOLD, RELEASE, RELEASE, SCREEN, CLEAR)).as("released twice").hasSize(1);
        assertThat(check("COMPENSATED", SCREEN, CLEAR, CLEAR)).as("cleared twice").hasSize(1);
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, CREDIT, RELEASE)).as("a completed transfer's hold released")
                .hasSize(1);
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, CREDIT, REVERSAL, REFUND)).as("nets like a completion, yet undone")
                .hasSize(1);
        assertThat(check("FAILED", HOLD, RELEASE)).as("a failed transfer had nothing to undo").hasSize(1);
        assertThat(check("RUNNING", SCREEN, SCREEN)).as("not ended, yet screened twice").hasSize(1);
    }

    @Test
    void aMissingLegIsAViolation() {
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT)).hasSize(1);
        assertThat(check("COMPLETED", SCREEN, DEBIT, CREDIT)).as("completed without a hold").hasSize(1);
        assertThat(check("COMPENSATED", HOLD)).as("a hold not released").hasSize(1);
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN)).as("a screening not cleared").hasSize(1);
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, DEBIT)).hasSize(1);
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, DEBIT, REFUND, CREDIT)).hasSize(1);
        assertThat(check("COMPENSATED", HOLD, RELEASE, SCREEN, CLEAR, CREDIT, REVERSAL)).as("credited without a debit")
                .hasSize(1);
        assertThat(check("COMPENSATED", HOLD, RELEASE, DEBIT, REFUND)).as("money moved without the screening passed")
                .hasSize(1);
    }

    @Test
    void aLegOfTheWrongAmountAccountOrBankIsAViolation() {
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, new Leg("bank-b", "t-1", "CREDIT", "B2", 501))).hasSize(1);
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, new Leg("bank-b", "t-1", "CREDIT", "B3", 500))).hasSize(1);
        assertThat(check("COMPLETED", HOLD, SCREEN, DEBIT, new Leg("bank-a", "t-1", "CREDIT", "B2", 500))).hasSize(1);
        assertThat(check("COMPLETED", new Leg("bank-a", "t-1", "HOLD", "A1", 499), SCREEN, DEBIT, CREDIT)).hasSize(1);
        assertThat(check("COMPLETED", HOLD, new Leg("bank-a", "t-1", "SCREEN", "B2", 500), DEBIT, CREDIT)).hasSize(1);
    }

    @Test
    void ledgerEntriesOfAnUnknownTransferAreAViolation() {
        List<Leg> legs = new ArrayList<>(List.of(HOLD, SCREEN, DEBIT, CREDIT));
        legs.add(new Leg("bank-a", "t-404", "HOLD", "A1", 7));
        assertThat(LedgerCheck.violations(Map.of(T.id(), T), Map.of(T.id(), "COMPLETED"), legs)).singleElement()
                .asString().startsWith("t-404:");
    }

    @Test
    void aHoldOrScreeningLeftBehindOrUndoneTwiceUnbalancesTheTotals() {
        assertThat(held("COMPENSATED", HOLD, SCREEN, CLEAR)).containsExactly(
                "bank-a/A1: 500 of its daily limit held and not released, but its completed transfers sent 0");
        assertThat(held("COMPLETED", HOLD, SCREEN, CLEAR, DEBIT, CREDIT)).containsExactly(
                "bank-b: 0 screening(s) not cleared, but 1 completed transfer(s) to it");
        assertThat(held("COMPENSATED", HOLD, RELEASE, RELEASE, SCREEN, CLEAR, CLEAR)).containsExactly(
                "bank-a/A1: -500 of its daily limit held and not released, but its completed transfers sent 0",
                "bank-b: -1 screening(s) not cleared, but 0 completed transfer(s) to it");
        assertThat(held("COMPLETED", SCREEN, DEBIT, CREDIT)).as("completed without a hold").hasSize(1);
    }
}
