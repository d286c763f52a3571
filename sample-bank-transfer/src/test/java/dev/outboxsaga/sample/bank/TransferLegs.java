package dev.outboxsaga.sample.bank;

import dev.outboxsaga.sample.bank.LedgerCheck.Leg;

/** One transfer of 500 from A1 at bank a to B2 at bank b, and every ledger entry its saga can leave. */
final class TransferLegs {

    static final Transfer T = new Transfer("t-1", "bank-a", "A1", "bank-b", "B2", 500);

    static final Leg HOLD = new Leg("bank-a", "t-1", "HOLD", "A1", 500);
    static final Leg RELEASE = new Leg("bank-a", "t-1", "RELEASE", "A1", 500);
    static final Leg SCREEN = new Leg("bank-b", "t-1", "SCREEN", "B2", 500);
    static final Leg CLEAR = new Leg("bank-b", "t-1", "CLEAR", "B2", 500);
    static final Leg DEBIT = new Leg("bank-a", "t-1", "DEBIT", "A1", 500);
    static final Leg REFUND = new Leg("bank-a", "t-1", "REFUND", "A1", 500);
    static final Leg CREDIT = new Leg("bank-b", "t-1", "CREDIT", "B2", 500);
    static final Leg REVERSAL = new Leg("bank-b", "t-1", "REVERSAL", "B2", 500);

    private TransferLegs() {
    }
}
