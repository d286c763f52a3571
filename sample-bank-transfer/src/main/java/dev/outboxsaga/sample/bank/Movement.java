package dev.outboxsaga.sample.bank;

/**
 * The payload of every bank command: for transfer {@code transferId}, {@code amount} cents on {@code account}, moved
 * (debit, credit and their undoing), held against its daily limit, or screened as a payee.
 */
public record Movement(String transferId, String account, long amount) {
}
