package dev.outboxsaga.console.internal;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** One request's method, path, parameters (query, and the form body of a POST) and cookies. */
final class WebRequest {

    /** A form body larger than this is refused: notes are short, and nothing else is posted. */
    static final int MAX_BODY = 64 * 1024;

    /** A request the console refuses with a status and a message for the user. */
    static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    final HttpExchange exchange;
    final String method;
    final String path;
    final Map<String, String> query;
    final Map<String, String> form;
    final Map<String, String> cookies;

    private WebRequest(HttpExchange exchange, Map<String, String> query, Map<String, String> form,
            Map<String, String> cookies) {
        this.exchange = exchange;
        this.method = exchange.getRequestMethod();
        this.path = exchange.getRequestURI().getPath();
        this.query = query;
        this.form = form;
        this.cookies = cookies;
    }

    static WebRequest read(HttpExchange exchange) throws IOException {
        Map<String, String> query = parse(exchange.getRequestURI().getRawQuery());
        Map<String, String> form = Map.of();
        if (exchange.getRequestMethod().equals("POST")) {
            String type = exchange.getRequestHeaders().getFirst("Content-Type");
            if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
                throw new Refused(415, "a form post (application/x-www-form-urlencoded) was expected");
            }
            form = parse(readBody(exchange.getRequestBody()));
        }
        return new WebRequest(exchange, query, form, cookies(exchange.getRequestHeaders().get("Cookie")));
    }

    /** A query parameter, blank as null. */
    String param(String name) {
        return SagaFilter.blankToNull(query.get(name));
    }

    /** A form field of a POST, blank as null. */
    String field(String name) {
        return SagaFilter.blankToNull(form.get(name));
    }

    String header(String name) {
        return exchange.getRequestHeaders().getFirst(name);
    }

    private static String readBody(InputStream in) throws IOException {
        byte[] body = in.readNBytes(MAX_BODY + 1);
        if (body.length > MAX_BODY) {
            throw new Refused(413, "the form is larger than " + MAX_BODY / 1024 + " KiB");
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    private static Map<String, String> parse(String encoded) {
        if (encoded == null || encoded.isEmpty()) {
            return Map.of();
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String pair : encoded.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            try {
                String key = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
                String value = equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
                values.putIfAbsent(key, value);
            } catch (IllegalArgumentException e) {
                throw new Refused(400, "malformed parameters");
            }
        }
        return Collections.unmodifiableMap(values);
    }

    private static Map<String, String> cookies(java.util.List<String> headers) {
        if (headers == null) {
            return Map.of();
        }
        Map<String, String> cookies = new LinkedHashMap<>();
        for (String header : headers) {
            for (String part : header.split(";")) {
                int equals = part.indexOf('=');
                if (equals > 0) {
                    cookies.putIfAbsent(part.substring(0, equals).trim(), part.substring(equals + 1).trim());
                }
            }
        }
        return cookies;
    }
}
