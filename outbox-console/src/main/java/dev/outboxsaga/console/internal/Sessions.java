package dev.outboxsaga.console.internal;

import dev.outboxsaga.console.ConsoleConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Logged-in users, in memory: a random 256-bit session id (the cookie) and a random 256-bit CSRF token per session,
 * ended after the configured idle time. A restart of the console logs everyone out.
 */
final class Sessions {

    private static final SecureRandom RANDOM = new SecureRandom();

    /** One logged-in user. */
    static final class Session {
        final String id;
        final String user;
        final ConsoleConfig.Role role;
        final String csrfToken;
        private volatile Instant lastSeen;
        /** A message for the next page this session sees (an action's outcome, a refusal). */
        final AtomicReference<String> flash = new AtomicReference<>();

        Session(String id, String user, ConsoleConfig.Role role, String csrfToken, Instant now) {
            this.id = id;
            this.user = user;
            this.role = role;
            this.csrfToken = csrfToken;
            this.lastSeen = now;
        }

        boolean operator() {
            return role == ConsoleConfig.Role.OPERATOR;
        }

        /** Whether {@code token} is this session's CSRF token, compared in constant time. */
        boolean csrfMatches(String token) {
            return token != null && MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8),
                    csrfToken.getBytes(StandardCharsets.UTF_8));
        }

        /** The actor recorded in operator_action. */
        String actor() {
            return "console:" + user;
        }
    }

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final Duration idleTimeout;
    private final Clock clock;

    Sessions(Duration idleTimeout, Clock clock) {
        this.idleTimeout = idleTimeout;
        this.clock = clock;
    }

    /** A new session for a user who just logged in. */
    Session create(String user, ConsoleConfig.Role role) {
        expire();
        Session session = new Session(token(), user, role, token(), clock.instant());
        sessions.put(session.id, session);
        return session;
    }

    /** The live session of this cookie value, touched; empty when unknown or idle too long (then ended). */
    Optional<Session> find(String id) {
        if (id == null) {
            return Optional.empty();
        }
        Session session = sessions.get(id);
        if (session == null) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        if (session.lastSeen.plus(idleTimeout).isBefore(now)) {
            sessions.remove(id);
            return Optional.empty();
        }
        session.lastSeen = now;
        return Optional.of(session);
    }

    void end(Session session) {
        sessions.remove(session.id);
    }

    int size() {
        return sessions.size();
    }

    private void expire() {
        Instant limit = clock.instant().minus(idleTimeout);
        sessions.values().removeIf(session -> session.lastSeen.isBefore(limit));
    }

    /** 256 random bits, URL-safe. */
    static String token() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
