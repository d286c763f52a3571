package dev.outboxsaga.console.internal;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.Passwords;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The login page and its POST: a login form token (double-submitted in a cookie, so a form from another site cannot
 * log a browser in), the {@link LoginThrottle}, a small pool of permits for password hashing, and the session.
 *
 * <p>Order of a POST: same origin, form token, throttle (refused before hashing when the address is over its budget),
 * a hashing permit (429 when all are taken: a login flood costs at most half the CPUs' worth of hashing, and
 * pages of logged-in users keep answering), then the password, checked against a decoy hash when the user does not
 * exist so that both cost the same and read the same.
 */
final class Logins {

    private static final Logger LOG = LoggerFactory.getLogger(Logins.class);
    /**
     * Password checks at once: half the cores (at least one), since one PBKDF2 check takes a core for a few hundred
     * milliseconds and the other half must keep serving pages.
     */
    static final int HASHING_PERMITS = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    /** Longer passwords are refused unchecked, so that nobody makes the hashing slower with a huge one. */
    private static final int MAX_PASSWORD = 1024;

    private final ConsoleConfig config;
    private final Sessions sessions;
    private final LoginThrottle throttle;
    private final Semaphore hashing = new Semaphore(HASHING_PERMITS);
    /** Checked when the user name is unknown, so that a failed login costs the same either way. */
    private final String decoyHash;
    private final String loginCookie;

    Logins(ConsoleConfig config, Sessions sessions, Clock clock) {
        this.config = config;
        this.sessions = sessions;
        this.throttle = new LoginThrottle(clock);
        this.decoyHash = config.users().values().iterator().next().passwordHash();
        this.loginCookie = ConsoleServer.loginCookie(config);
    }

    void handle(WebRequest request) {
        if (request.method.equals("GET")) {
            if (sessions.find(request.http).isPresent()) {
                request.redirect("/");
                return;
            }
            form(request, 200, WebRequest.localPath(request.param("next")), null);
            return;
        }
        if (!request.method.equals("POST")) {
            request.header("Allow", "GET, POST");
            throw new WebRequest.Refused(405, "method " + request.method + " is not served");
        }
        ConsoleServer.requireSameOrigin(request);
        String next = WebRequest.localPath(request.param("next"));
        String expected = request.cookie(loginCookie);
        String given = request.param("login_token");
        if (expected == null || given == null || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                given.getBytes(StandardCharsets.UTF_8))) {
            form(request, 403, next, "The login form expired; please log in again.");
            return;
        }
        String name = request.parameters().getOrDefault("username", "");
        String password = request.parameters().getOrDefault("password", "");
        String address = request.clientAddress();
        Optional<LoginThrottle.Attempt> attempt = throttle.begin(address, name);
        if (attempt.isEmpty()) {
            long seconds = Math.max(1, (throttle.retryAfter(address, name).toMillis() + 999) / 1000);
            LOG.warn("console login for user name {} from {} refused unchecked: too many failed logins, next in {} s",
                    LogText.of(name), LogText.of(address), seconds);
            request.header("Retry-After", Long.toString(seconds));
            form(request, 429, next, "Too many failed logins from your address; try again in " + seconds
                    + " second(s).");
            return;
        }
        if (!hashing.tryAcquire()) {
            throttle.abandoned(attempt.get());
            LOG.warn("console login for user name {} from {} refused unchecked: {} password checks already running",
                    LogText.of(name), LogText.of(address), HASHING_PERMITS);
            request.header("Retry-After", "1");
            form(request, 429, next, "The console is busy checking other logins; try again in a moment.");
            return;
        }
        ConsoleConfig.User user = config.users().get(name);
        boolean matches;
        try {
            matches = password.length() <= MAX_PASSWORD
                    && Passwords.matches(password, user == null ? decoyHash : user.passwordHash()) && user != null;
        } finally {
            hashing.release();
        }
        if (!matches) {
            LOG.warn("failed console login for user name {} from {}", LogText.of(name), LogText.of(address));
            form(request, 401, next, "Wrong user name or password.");
            return;
        }
        throttle.succeeded(attempt.get());
        sessions.create(request.http, user.name(), user.role());
        LOG.info("console login: {} ({}) from {}", user.name(), user.role().key(), LogText.of(address));
        request.cookie(loginCookie, "", loginCookiePath(), 0, config.secureCookies());
        request.redirect(next);
    }

    /**
     * The login form with a token that its POST must bring back in the login cookie too. A token the browser holds
     * already is kept, so that a second login page (another tab, a stray request) does not spoil the first.
     */
    private void form(WebRequest request, int status, String next, String error) {
        String token = request.cookie(loginCookie);
        if (token == null || !token.matches("[A-Za-z0-9_-]{43}")) {
            token = Sessions.token();
            request.cookie(loginCookie, token, loginCookiePath(), -1, config.secureCookies());
        }
        request.html(status, Pages.login(token, next, error));
    }

    /** {@code /login}, or {@code /} with the {@code __Host-} prefix (which demands it). */
    private String loginCookiePath() {
        return config.secureCookies() ? "/" : "/login";
    }
}
