package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.sample.bank.LedgerCheck.Leg;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The ledger invariant sees a missing leg, an extra one, and a leg of the wrong size or place. */
class LedgerCheckTest {

    private static final Transfer T = new Transfer("t-1", "bank-a", "A1", "bank-b", "B2", 500);

    private static final Leg DEBIT = new Leg("bank-a", "t-1", "DEBIT", "A1", 500);
    private static final Leg REFUND = new Leg("bank-a", "t-1", "REFUND", "A1", 500);
    private static final Leg CREDIT = new Leg("bank-b", "t-1", "CREDIT", "B2", 500);
    private static final Leg REVERSAL = new Leg("bank-b", "t-1", "REVERSAL", "B2", 500);

    private static List<String> check(String outcome, Leg... legs) {
        return LedgerCheck.violations(Map.of(T.id(), T), Map.of(T.id(), outcome), List.of(legs));
    }

    @Test
    void whatEachOutcomeAllowsPasses() {
        assertThat(check("COMPLETED", DEBIT, CREDIT)).isEmpty();
        assertThat(check("COMPLETED", CREDIT, DEBIT)).as("order does not matter").isEmpty();
        assertThat(check("COMPENSATED")).as("the debit never took effect").isEmpty();
        assertThat(check("COMPENSATED", DEBIT, REFUND)).isEmpty();
        assertThat(check("COMPENSATED", DEBIT, CREDIT, REVERSAL, REFUND)).isEmpty();
        assertThat(check("FAILED")).isEmpty();
        assertThat(check("RUNNING", DEBIT)).isEmpty();
    }

    @Test
    void anExtraLegIsAViolation() {
        assertThat(check("COMPLETED", DEBIT, CREDIT, CREDIT)).singleElement().asString()
                .startsWith("t-1 COMPLETED: ledgers [bank-a/DEBIT A1 500, bank-b/CREDIT B2 500, bank-b/CREDIT B2 500]");
        assertThat(check("COMPLETED", DEBIT, DEBIT, CREDIT)).hasSize(1);
        // Twice applied and twice undone nets to zero, but is still two legs too many.
        assertThat(check("COMPENSATED", DEBIT, DEBIT, REFUND, REFUND)).hasSize(1);
        assertThat(check("COMPENSATED", DEBIT, REFUND, REFUND)).hasSize(1);
        assertThat(check("COMPLETED", DEBIT, CREDIT, REFUND)).as("an undo of a completed transfer").hasSize(1);
        assertThat(check("COMPLETED", DEBIT, CREDIT, REVERSAL, REFUND)).as("nets like a completion, yet undone")
                .hasSize(1);
        assertThat(check("FAILED", DEBIT, REFUND)).as("a refused debit moves nothing").hasSize(1);
        assertThat(check("RUNNING", DEBIT, DEBIT)).as("not ended, yet debited twice").hasSize(1);
    }

    @Test
    void aMissingLegIsAViolation() {
        assertThat(check("COMPLETED", DEBIT)).hasSize(1);
        assertThat(check("COMPENSATED", DEBIT)).hasSize(1);
        assertThat(check("COMPENSATED", DEBIT, REFUND, CREDIT)).hasSize(1);
        assertThat(check("COMPENSATED", CREDIT, REVERSAL)).as("credited without a debit").hasSize(1);
    }

    @Test
    void aLegOfTheWrongAmountAccountOrBankIsAViolation() {
        assertThat(check("COMPLETED", DEBIT, new Leg("bank-b", "t-1", "CREDIT", "B2", 501))).hasSize(1);
        assertThat(check("COMPLETED", DEBIT, new Leg("bank-b", "t-1", "CREDIT", "B3", 500))).hasSize(1);
        assertThat(check("COMPLETED", DEBIT, new Leg("bank-a", "t-1", "CREDIT", "B2", 500))).hasSize(1);
    }

    @Test
    void ledgerEntriesOfAnUnknownTransferAreAViolation() {
        List<Leg> legs = new ArrayList<>(List.of(DEBIT, CREDIT));
        legs.add(new Leg("bank-a", "t-404", "DEBIT", "A1", 7));
        assertThat(LedgerCheck.violations(Map.of(T.id(), T), Map.of(T.id(), "COMPLETED"), legs)).singleElement()
                .asString().startsWith("t-404:");
    }
}
