package dev.outboxsaga.console.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Slows password guessing down without letting a guesser lock anyone else out.
 *
 * <p>Attempts are counted per client address and user name together, and per client address alone. The first
 * {@value #FREE_PER_NAME} failures of an address for a name, and the first {@value #FREE_PER_ADDRESS} of an address
 * for all names, cost nothing; after that each further attempt must wait a delay that doubles from
 * {@link #FIRST_DELAY} up to {@link #MAX_DELAY}. An attempt that comes too early is refused before its password is
 * hashed, so guessing, or spraying new user names, costs the guesser time and the console no CPU. Because the
 * address is part of the key, an outsider's wrong passwords for an operator's name delay the outsider only: the
 * operator, from another address, logs in at once. Failures are forgotten {@link #FORGET_AFTER} after the last one;
 * a success clears its address and name.
 *
 * <p>{@link #begin} checks and counts an attempt in one step: a burst of parallel attempts cannot all pass the check
 * before any of them is counted. An attempt counts as failed until {@link #succeeded} says otherwise;
 * {@link #abandoned} gives back one that never checked a password. At most {@value #MAX_KEYS} keys are tracked per
 * map, the least recently used forgotten first.
 */
final class LoginThrottle {

    static final int FREE_PER_NAME = 3;
    static final int FREE_PER_ADDRESS = 10;
    static final Duration FIRST_DELAY = Duration.ofSeconds(1);
    static final Duration MAX_DELAY = Duration.ofMinutes(5);
    static final Duration FORGET_AFTER = Duration.ofMinutes(15);
    static final int MAX_KEYS = 10_000;

    /** Failures of one key, and when its next attempt may come. */
    private static final class Record {
        int failures;
        Instant notBefore = Instant.MIN;
        Instant last = Instant.MIN;
    }

    /** One attempt let through by {@link #begin}; hand it back to {@link #succeeded} or {@link #abandoned}. */
    record Attempt(String nameKey, String addressKey) {
    }

    private final Clock clock;
    private final Map<String, Record> byName = lru();
    private final Map<String, Record> byAddress = lru();

    LoginThrottle(Clock clock) {
        this.clock = clock;
    }

    /**
     * Lets an attempt of {@code address} for {@code name} through and counts it, or says how long to wait.
     *
     * @return the attempt when it may check its password now; empty when it must wait ({@link #retryAfter})
     */
    synchronized Optional<Attempt> begin(String address, String name) {
        Instant now = clock.instant();
        String addressKey = address == null ? "?" : address;
        String nameKey = addressKey + " " + normalized(name);
        Record perName = current(byName, nameKey, now);
        Record perAddress = current(byAddress, addressKey, now);
        if (now.isBefore(perName.notBefore) || now.isBefore(perAddress.notBefore)) {
            return Optional.empty();
        }
        count(perName, FREE_PER_NAME, now);
        count(perAddress, FREE_PER_ADDRESS, now);
        byName.put(nameKey, perName);
        byAddress.put(addressKey, perAddress);
        return Optional.of(new Attempt(nameKey, addressKey));
    }

    /** How long until {@code address} may try {@code name} again; zero when it may now. */
    synchronized Duration retryAfter(String address, String name) {
        Instant now = clock.instant();
        String addressKey = address == null ? "?" : address;
        Instant notBefore = later(peek(byName, addressKey + " " + normalized(name), now),
                peek(byAddress, addressKey, now));
        return now.isBefore(notBefore) ? Duration.between(now, notBefore) : Duration.ZERO;
    }

    /** The attempt's password was right: its address and name start afresh, and the address gets its count back. */
    synchronized void succeeded(Attempt attempt) {
        byName.remove(attempt.nameKey());
        uncount(byAddress.get(attempt.addressKey()), FREE_PER_ADDRESS);
    }

    /** The attempt never checked a password (the console was too busy): it is not counted. */
    synchronized void abandoned(Attempt attempt) {
        uncount(byName.get(attempt.nameKey()), FREE_PER_NAME);
        uncount(byAddress.get(attempt.addressKey()), FREE_PER_ADDRESS);
    }

    private static void uncount(Record record, int free) {
        if (record != null) {
            record.failures = Math.max(0, record.failures - 1);
            record.notBefore = notBefore(record, free);
        }
    }

    private static void count(Record record, int free, Instant now) {
        record.failures++;
        record.last = now;
        record.notBefore = notBefore(record, free);
    }

    /** After the free failures, each further one pushes the next attempt back by a doubling delay. */
    private static Instant notBefore(Record record, int free) {
        int over = record.failures - free;
        if (over < 0) {
            return Instant.MIN;
        }
        Duration delay = over >= 20 ? MAX_DELAY : FIRST_DELAY.multipliedBy(1L << over);
        return record.last.plus(delay.compareTo(MAX_DELAY) > 0 ? MAX_DELAY : delay);
    }

    private static Record current(Map<String, Record> records, String key, Instant now) {
        Record record = records.get(key);
        if (record == null || !record.last.plus(FORGET_AFTER).isAfter(now)) {
            return new Record();
        }
        return record;
    }

    private static Instant peek(Map<String, Record> records, String key, Instant now) {
        Record record = records.get(key);
        return record == null || !record.last.plus(FORGET_AFTER).isAfter(now) ? Instant.MIN : record.notBefore;
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    private static String normalized(String name) {
        String key = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        return key.length() > 255 ? key.substring(0, 255) : key;
    }

    private static Map<String, Record> lru() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Record> eldest) {
                return size() > MAX_KEYS;
            }
        };
    }
}
