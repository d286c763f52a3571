package dev.outboxsaga.sample.bank;

/** The transfer saga's data: who pays whom how much. Amounts in cents. */
public record Transfer(String id, String fromBank, String fromAccount, String toBank, String toAccount, long amount) {
}
