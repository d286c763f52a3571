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
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The cancel invariant sees a cancelled transfer that completed, moved money, was notified, or was never asked for. */
class CancelCheckTest {

    private static List<String> check(String outcome, long notifications, Leg... legs) {
        return CancelCheck.violations(Map.of(T.id(), T), Set.of(T.id()), Set.of(T.id()), Map.of(T.id(), outcome),
                List.of(legs), Map.of(T.id(), notifications));
    }

    @Test
    void aCancelledTransferUndoneWhereverTheCancelCaughtItPasses() {
        assertThat(check("COMPENSATED", 0)).as("cancelled before the checks took effect").isEmpty();
        assertThat(check("COMPENSATED", 0, HOLD, RELEASE)).as("cancelled awaiting the screening").isEmpty();
        assertThat(check("COMPENSATED", 0, HOLD, RELEASE, SCREEN, CLEAR, DEBIT, REFUND)).as("cancelled before the credit")
                .isEmpty();
        assertThat(check("COMPENSATED", 0, HOLD, RELEASE, SCREEN, CLEAR, DEBIT, CREDIT, REVERSAL, REFUND))
                .as("cancelled awaiting the credit's reply").isEmpty();
        assertThat(CancelCheck.violations(Map.of(T.id(), T), Set.of(), Set.of(), Map.of(T.id(), "COMPLETED"),
                List.of(DEBIT, CREDIT), Map.of(T.id(), 1L))).as("a transfer nobody cancelled").isEmpty();
    }

    @Test
    void aCancelledTransferThatCompletedMovedMoneyOrWasNotifiedIsAViolation() {
        assertThat(check("COMPLETED", 1, HOLD, SCREEN, DEBIT, CREDIT)).singleElement().asString()
                .isEqualTo("t-1 cancelled: ended COMPLETED, not COMPENSATED; holds 500 at bank-a; nets -500 at bank-a; "
                        + "nets 500 at bank-b; screenings open 1 at bank-b; 1 notification(s)");
        assertThat(check("COMPENSATED", 0, HOLD, SCREEN, CLEAR)).singleElement().asString()
                .isEqualTo("t-1 cancelled: holds 500 at bank-a");
        assertThat(check("COMPENSATED", 0, HOLD, RELEASE, SCREEN, CLEAR, CLEAR)).singleElement().asString()
                .isEqualTo("t-1 cancelled: screenings open -1 at bank-b");
        assertThat(check("COMPENSATED", 0, DEBIT)).singleElement().asString()
                .isEqualTo("t-1 cancelled: nets -500 at bank-a");
        assertThat(check("COMPENSATED", 0, DEBIT, REFUND, REFUND)).as("refunded twice").hasSize(1);
        assertThat(check("COMPENSATED", 1)).as("notified although cancelled").hasSize(1);
        assertThat(check("RUNNING", 0)).as("not ended").hasSize(1);
    }

    @Test
    void aCancelAcceptedButNotInTheHistoryOrTheOtherWayRoundIsAViolation() {
        assertThat(CancelCheck.violations(Map.of(T.id(), T), Set.of(T.id()), Set.of(), Map.of(T.id(), "COMPENSATED"),
                List.of(), Map.of())).singleElement().asString().contains("no CANCELLED in its history");
        assertThat(CancelCheck.violations(Map.of(T.id(), T), Set.of(), Set.of(T.id()), Map.of(T.id(), "COMPENSATED"),
                List.of(), Map.of())).singleElement().asString().contains("no cancel was accepted");
    }
}
