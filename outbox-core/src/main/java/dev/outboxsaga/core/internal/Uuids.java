package dev.outboxsaga.core.internal;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Message ids: RFC 9562 version 7 UUIDs, time-ordered so the outbox primary key grows at its end.
 * Within one process they are strictly increasing: the 12 bits after the millisecond timestamp
 * count up within a millisecond (RFC 9562, section 6.2, method 1).
 */
public final class Uuids {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int MAX_SEQUENCE = 0xFFF;

    private static long lastMillis;
    private static int sequence;

    private Uuids() {
    }

    public static UUID timeOrdered() {
        long millis;
        int counter;
        synchronized (Uuids.class) {
            long now = System.currentTimeMillis();
            if (now > lastMillis) {
                lastMillis = now;
                sequence = RANDOM.nextInt(MAX_SEQUENCE / 2);
            } else if (sequence < MAX_SEQUENCE) {
                sequence++;
            } else {
                // The counter ran out within this millisecond (or the clock went back): borrow the next one.
                lastMillis++;
                sequence = 0;
            }
            millis = lastMillis;
            counter = sequence;
        }
        long most = (millis << 16) | 0x7000L | counter;
        long least = (RANDOM.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(most, least);
    }
}
