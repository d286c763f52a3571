package dev.outboxsaga.console.internal;

import dev.outboxsaga.console.ConsoleConfig;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Who is logged in, kept in the web server's own sessions (Jetty's {@code SessionHandler} makes the ids, writes the
 * cookie and ends a session after the idle timeout): this adds the user, role and a random 256-bit CSRF token per
 * session, and the absolute lifetime after which a session ends however busy it is. A restart of the console logs
 * everyone out.
 */
final class Sessions {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ATTRIBUTE = "outbox-console.user";

    /** One logged-in user. */
    static final class Session {
        final String id;
        final String user;
        final ConsoleConfig.Role role;
        final String csrfToken;
        final Instant loggedInAt;
        /** A message for the next page this session sees (an action's outcome, a refusal). */
        final AtomicReference<String> flash = new AtomicReference<>();

        Session(String id, String user, ConsoleConfig.Role role, String csrfToken, Instant loggedInAt) {
            this.id = id;
            this.user = user;
            this.role = role;
            this.csrfToken = csrfToken;
            this.loggedInAt = loggedInAt;
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

    private final Duration lifetime;
    private final Clock clock;

    Sessions(Duration lifetime, Clock clock) {
        this.lifetime = lifetime;
        this.clock = clock;
    }

    /** The request's live session; empty without one, or when it is older than the lifetime (then ended). */
    Optional<Session> find(HttpServletRequest request) {
        HttpSession http = request.getSession(false);
        if (http == null) {
            return Optional.empty();
        }
        Object value;
        try {
            value = http.getAttribute(ATTRIBUTE);
        } catch (IllegalStateException invalidated) {
            return Optional.empty();
        }
        if (!(value instanceof Session session)) {
            return Optional.empty();
        }
        if (!session.loggedInAt.plus(lifetime).isAfter(clock.instant())) {
            end(request);
            return Optional.empty();
        }
        return Optional.of(session);
    }

    /**
     * A session for a user who has just logged in: any session the browser brought is ended and a new id issued, so
     * an id planted before the login (session fixation) is worth nothing after it.
     */
    Session create(HttpServletRequest request, String user, ConsoleConfig.Role role) {
        end(request);
        HttpSession http = request.getSession(true);
        Session session = new Session(http.getId(), user, role, token(), clock.instant());
        http.setAttribute(ATTRIBUTE, session);
        return session;
    }

    /** Ends the request's session, if it has one. */
    void end(HttpServletRequest request) {
        HttpSession http = request.getSession(false);
        if (http != null) {
            try {
                http.invalidate();
            } catch (IllegalStateException alreadyInvalid) {
                // ended meanwhile by the idle timeout or another request
            }
        }
    }

    /** 256 random bits, URL-safe. */
    static String token() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
