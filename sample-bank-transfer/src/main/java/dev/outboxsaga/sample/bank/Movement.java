package dev.outboxsaga.sample.bank;

/** The payload of every bank command: move {@code amount} cents on {@code account} for transfer {@code transferId}. */
public record Movement(String transferId, String account, long amount) {
}
