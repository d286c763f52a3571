package dev.outboxsaga.console.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Refuses logins to a user name after {@value #MAX_FAILURES} failed ones within {@link #WINDOW}, without checking the
 * password, until the oldest of them is that old: guessing a password costs the guesser time, and hashing guesses
 * costs the console no CPU. Names are tracked whether or not a user has them, so a refusal says nothing about who
 * exists; a success clears the name. At most {@value #MAX_NAMES} names are tracked, the least recently failed
 * forgotten first.
 */
final class LoginThrottle {

    static final int MAX_FAILURES = 5;
    static final Duration WINDOW = Duration.ofMinutes(5);
    static final int MAX_NAMES = 10_000;

    private final Clock clock;
    private final Map<String, Deque<Instant>> failures = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Deque<Instant>> eldest) {
            return size() > MAX_NAMES;
        }
    };

    LoginThrottle(Clock clock) {
        this.clock = clock;
    }

    /** How long until {@code name} may try again, or {@link Duration#ZERO} when it may now. */
    synchronized Duration wait(String name) {
        Deque<Instant> recent = recent(key(name));
        if (recent == null || recent.size() < MAX_FAILURES) {
            return Duration.ZERO;
        }
        return Duration.between(clock.instant(), recent.peekFirst().plus(WINDOW));
    }

    synchronized void failed(String name) {
        String key = key(name);
        Deque<Instant> recent = recent(key);
        if (recent == null) {
            recent = new ArrayDeque<>();
            failures.put(key, recent);
        }
        recent.addLast(clock.instant());
        while (recent.size() > MAX_FAILURES) {
            recent.removeFirst();
        }
    }

    synchronized void succeeded(String name) {
        failures.remove(key(name));
    }

    /** The failures of the last {@link #WINDOW}, older ones dropped; null when there are none. */
    private Deque<Instant> recent(String key) {
        Deque<Instant> recent = failures.get(key);
        if (recent == null) {
            return null;
        }
        Instant since = clock.instant().minus(WINDOW);
        while (!recent.isEmpty() && !recent.peekFirst().isAfter(since)) {
            recent.removeFirst();
        }
        if (recent.isEmpty()) {
            failures.remove(key);
            return null;
        }
        return recent;
    }

    private static String key(String name) {
        String key = name.strip().toLowerCase(Locale.ROOT);
        return key.length() > 255 ? key.substring(0, 255) : key;
    }
}
