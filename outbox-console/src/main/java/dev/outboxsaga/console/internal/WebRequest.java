package dev.outboxsaga.console.internal;

import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One request and its response, over the servlet API: Jetty parses the request (path, query, form, cookies, within
 * its size limits) and writes the response; this class only reads values and sets the console's headers, every value
 * checked to be printable ASCII before it is handed to the server.
 */
final class WebRequest {

    /** A form body larger than this is refused: notes are short, and nothing else is posted. */
    static final int MAX_FORM = 64 * 1024;

    private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    /**
     * A local path of this console in safe ASCII: a slash not followed by another slash or a backslash, then only
     * unreserved, sub-delimiter, {@code :@/?#} and percent-escape characters (RFC 3986), so that no browser can read it
     * as another host, and no server can turn it into one.
     */
    private static final Pattern LOCAL_PATH =
            Pattern.compile("/(?![/\\\\])[A-Za-z0-9\\-._~!$&'()*+,;=:@/?#]*(?:%[0-9A-Fa-f]{2}[A-Za-z0-9\\-._~!$&'()*+,;=:@/?#]*)*");

    /** A request the console refuses with a status and a message for the user. */
    static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    final HttpServletRequest http;
    final HttpServletResponse response;
    final String method;
    final String path;
    private Map<String, String> parameters;

    WebRequest(HttpServletRequest http, HttpServletResponse response) {
        this.http = http;
        this.response = response;
        this.method = http.getMethod();
        String path = http.getPathInfo();
        this.path = path == null || path.isEmpty() ? "/" : path;
    }

    /**
     * The query parameters of a GET, and the query and form fields of a POST (the first value of each), parsed by
     * the server.
     *
     * @throws Refused 415 for a POST that is not a form, 413 for a form over {@value #MAX_FORM} bytes, 400 for a
     *                 malformed one
     */
    Map<String, String> parameters() {
        if (parameters == null) {
            if (method.equals("POST")) {
                String type = http.getContentType();
                if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
                    throw new Refused(415, "a form post (application/x-www-form-urlencoded) was expected");
                }
            }
            Map<String, String> values = new LinkedHashMap<>();
            try {
                http.getParameterMap().forEach((key, value) -> values.put(key, value.length == 0 ? "" : value[0]));
            } catch (RuntimeException unreadable) {
                // Jetty refuses a form over the context's limit, or one it cannot decode.
                throw http.getContentLengthLong() > MAX_FORM
                        ? new Refused(413, "the form is larger than " + MAX_FORM / 1024 + " KiB")
                        : new Refused(400, "malformed parameters");
            }
            parameters = values;
        }
        return parameters;
    }

    /** A parameter (query, or form field of a POST), blank as null. */
    String param(String name) {
        return SagaFilter.blankToNull(parameters().get(name));
    }

    String header(String name) {
        return http.getHeader(name);
    }

    /** A cookie's value, or null. */
    String cookie(String name) {
        Cookie[] cookies = http.getCookies();
        if (cookies != null) {
            for (Cookie cookie : cookies) {
                if (cookie.getName().equals(name)) {
                    return cookie.getValue();
                }
            }
        }
        return null;
    }

    /** The address of the client, as the server saw it (behind a trusted proxy: the address it forwarded). */
    String clientAddress() {
        return http.getRemoteAddr();
    }

    // ---------------------------------------------------------------------------------------------
    // Responses

    /**
     * {@code next} when it is a local path of this console in safe ASCII, else {@code /}: never another site
     * ({@code //host}, {@code /\host}, {@code https:}), never a character a header cannot carry.
     */
    static String localPath(String next) {
        return next != null && next.length() <= 2048 && LOCAL_PATH.matcher(next).matches() ? next : "/";
    }

    void html(int status, String page) {
        respond(status, "text/html; charset=utf-8", page.getBytes(StandardCharsets.UTF_8));
    }

    /** A 303 to a local path; anything else is a bug, refused before a header is written. */
    void redirect(String location) {
        if (!localPath(location).equals(location)) {
            throw new IllegalStateException("refused to redirect to a location that is not a safe local path");
        }
        header("Location", location);
        respond(303, "text/plain; charset=utf-8", new byte[0]);
    }

    /** Sets a response header; a value with a character outside printable ASCII is a bug, refused. */
    void header(String name, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalStateException("refused to write header " + name + " with a character outside "
                        + "printable ASCII");
            }
        }
        response.setHeader(name, value);
    }

    /** Adds a cookie through the server: HttpOnly and SameSite=Strict always, Secure when asked. */
    void cookie(String name, String value, String path, int maxAge, boolean secure) {
        Cookie cookie = new Cookie(name, value);
        cookie.setPath(path);
        cookie.setHttpOnly(true);
        cookie.setSecure(secure);
        cookie.setMaxAge(maxAge);
        cookie.setAttribute("SameSite", "Strict");
        response.addCookie(cookie);
    }

    void respond(int status, String contentType, byte[] body) {
        if (response.isCommitted()) {
            return; // already answered; nothing more can be said
        }
        response.setStatus(status);
        header("Content-Type", contentType);
        header("Cache-Control", "no-store");
        header("Content-Security-Policy", CSP);
        header("X-Frame-Options", "DENY");
        header("X-Content-Type-Options", "nosniff");
        header("Referrer-Policy", "same-origin");
        response.setContentLength(body.length);
        try {
            if (body.length > 0) {
                response.getOutputStream().write(body);
            }
        } catch (IOException e) {
            // the client went away; nothing to answer
        }
    }
}
