package dev.outboxsaga.console.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * The pages' one escaping helper and the few fragments every page uses. Every value that did not come from this
 * module's own text goes through {@link #esc(Object)}; URLs built from values go through {@link #query(Map)}.
 */
final class Html {

    private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter UTC_MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS")
            .withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter UTC_MICROS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS")
            .withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Html() {
    }

    /** Text safe inside an element and inside a double- or single-quoted attribute; null is empty. */
    static String esc(Object value) {
        if (value == null) {
            return "";
        }
        String text = value.toString();
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String replacement = switch (c) {
                case '&' -> "&amp;";
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                default -> null;
            };
            if (replacement != null) {
                if (out == null) {
                    out = new StringBuilder(text.length() + 16).append(text, 0, i);
                }
                out.append(replacement);
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    /**
     * A time the browser shows in its own zone (console.js), with UTC on hover and as the text without script.
     */
    static String time(Instant instant) {
        if (instant == null) {
            return "<span class=\"none\">–</span>";
        }
        String utc = UTC.format(instant);
        return "<time datetime=\"" + esc(instant.truncatedTo(ChronoUnit.MILLIS)) + "\" title=\"UTC " + utc + "\">" + utc
                + " UTC</time>";
    }

    /**
     * As {@link #time(Instant)} to the millisecond (the browser's text too), with the microseconds on hover: for saga
     * histories, whose entries are often milliseconds apart.
     */
    static String timeMillis(Instant instant) {
        if (instant == null) {
            return "<span class=\"none\">–</span>";
        }
        String utc = UTC_MILLIS.format(instant);
        return "<time class=\"ms\" datetime=\"" + esc(instant.truncatedTo(ChronoUnit.MILLIS)) + "\" title=\"UTC "
                + UTC_MICROS.format(instant) + "\">" + utc + " UTC</time>";
    }

    /** {@code ?a=1&b=2} from the non-empty values, URL-encoded and escaped for an href. */
    static String query(Map<String, ?> parameters) {
        return esc(rawQuery(parameters));
    }

    /** {@code ?a=1&b=2} from the non-empty values, URL-encoded, for a Location header. */
    static String rawQuery(Map<String, ?> parameters) {
        StringBuilder out = new StringBuilder();
        parameters.forEach((key, value) -> {
            if (value != null && !value.toString().isEmpty()) {
                out.append(out.length() == 0 ? '?' : '&').append(url(key)).append('=').append(url(value.toString()));
            }
        });
        return out.toString();
    }

    /** A URL path segment or query value. */
    static String url(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** JSON indented for reading, or the text as it is when it is not JSON; escaped. */
    static String prettyJson(String text) {
        if (text == null) {
            return "";
        }
        try {
            return esc(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(JSON.readTree(text)));
        } catch (Exception notJson) {
            return esc(text);
        }
    }

    /** At most {@code max} characters, with an ellipsis when cut; escaped, with the whole text on hover. */
    static String shortened(String text, int max) {
        if (text == null) {
            return "";
        }
        if (text.length() <= max) {
            return esc(text);
        }
        return "<span title=\"" + esc(text) + "\">" + esc(text.substring(0, max)) + "…</span>";
    }

    /** A state or status as a coloured badge. */
    static String badge(String state) {
        if (state == null) {
            return "";
        }
        String kind = switch (state) {
            case "COMPLETED", "DONE", "REPLAYED", "UP", "LEADER", "PROVEN" -> "ok";
            case "PARKED", "FAILED", "DOWN", "lost", "VIOLATED" -> "bad";
            case "RUNNING", "COMPENSATING", "PENDING", "STANDBY", "INCOMPLETE" -> "busy";
            default -> "neutral";
        };
        return "<span class=\"badge " + kind + "\">" + esc(state) + "</span>";
    }

    /** Bytes as B, kB, MB or GB. */
    static String bytes(Long bytes) {
        if (bytes == null || bytes < 0) {
            return "<span class=\"none\">unknown</span>";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
