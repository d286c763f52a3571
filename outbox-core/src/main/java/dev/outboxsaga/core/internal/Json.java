package dev.outboxsaga.core.internal;

import java.util.Map;

/**
 * The small amount of JSON that outbox-core needs without a JSON library: a strict syntax check
 * (RFC 8259) and writing a flat string map.
 */
public final class Json {

    private static final int MAX_DEPTH = 512;

    private Json() {
    }

    /**
     * Checks that {@code text} is one complete JSON value.
     *
     * @return {@code null} when valid, otherwise a description of the first error with its offset
     */
    public static String syntaxError(String text) {
        try {
            Parser parser = new Parser(text);
            parser.skipWhitespace();
            parser.value(0);
            parser.skipWhitespace();
            if (parser.pos != text.length()) {
                throw parser.error("unexpected content after the JSON value");
            }
            return null;
        } catch (SyntaxError e) {
            return e.getMessage();
        }
    }

    /**
     * Parses one complete JSON value into {@code Map<String, Object>} (insertion-ordered),
     * {@code List<Object>}, {@link String}, {@link java.math.BigDecimal}, {@link Boolean} or null.
     *
     * @throws IllegalArgumentException with the first syntax error and its offset
     */
    public static Object parse(String text) {
        try {
            Parser parser = new Parser(text);
            parser.skipWhitespace();
            Object value = parser.value(0);
            parser.skipWhitespace();
            if (parser.pos != text.length()) {
                throw parser.error("unexpected content after the JSON value");
            }
            return value;
        } catch (SyntaxError e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getMessage());
        }
    }

    /** Writes a map of strings as a JSON object, keys in the map's iteration order. */
    public static String writeObject(Map<String, String> map) {
        StringBuilder out = new StringBuilder(16 + map.size() * 32).append('{');
        boolean first = true;
        for (Map.Entry<String, String> entry : map.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            writeString(out, entry.getKey());
            out.append(':');
            if (entry.getValue() == null) {
                out.append("null");
            } else {
                writeString(out, entry.getValue());
            }
        }
        return out.append('}').toString();
    }

    /** Appends {@code value} as a quoted, escaped JSON string. */
    public static void writeString(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static final class SyntaxError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SyntaxError(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Parser {
        private final String text;
        private int pos;

        Parser(String text) {
            this.text = text;
        }

        SyntaxError error(String what) {
            return new SyntaxError(what + " at offset " + pos);
        }

        void skipWhitespace() {
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    return;
                }
            }
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nesting deeper than " + MAX_DEPTH);
            }
            if (pos >= text.length()) {
                throw error("unexpected end of input");
            }
            char c = text.charAt(pos);
            switch (c) {
                case '{':
                    return object(depth);
                case '[':
                    return array(depth);
                case '"':
                    return string();
                case 't':
                    literal("true");
                    return Boolean.TRUE;
                case 'f':
                    literal("false");
                    return Boolean.FALSE;
                case 'n':
                    literal("null");
                    return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        int start = pos;
                        number();
                        return new java.math.BigDecimal(text.substring(start, pos));
                    }
                    throw error("unexpected character '" + c + "'");
            }
        }

        Map<String, Object> object(int depth) {
            Map<String, Object> result = new java.util.LinkedHashMap<>();
            pos++;
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return result;
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') {
                    throw error("expected a string key");
                }
                String key = string();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                result.put(key, value(depth + 1));
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == '}') {
                    return result;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or '}'");
                }
            }
        }

        java.util.List<Object> array(int depth) {
            java.util.List<Object> result = new java.util.ArrayList<>();
            pos++;
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return result;
            }
            while (true) {
                skipWhitespace();
                result.add(value(depth + 1));
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == ']') {
                    return result;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or ']'");
                }
            }
        }

        String string() {
            StringBuilder out = new StringBuilder();
            pos++;
            while (pos < text.length()) {
                char c = text.charAt(pos++);
                if (c == '"') {
                    return out.toString();
                }
                if (c == '\\') {
                    if (pos >= text.length()) {
                        break;
                    }
                    char escaped = text.charAt(pos++);
                    switch (escaped) {
                        case '"' -> out.append('"');
                        case '\\' -> out.append('\\');
                        case '/' -> out.append('/');
                        case 'b' -> out.append('\b');
                        case 'f' -> out.append('\f');
                        case 'n' -> out.append('\n');
                        case 'r' -> out.append('\r');
                        case 't' -> out.append('\t');
                        case 'u' -> {
                            int code = 0;
                            for (int i = 0; i < 4; i++) {
                                int digit = pos < text.length() ? Character.digit(text.charAt(pos), 16) : -1;
                                if (digit < 0) {
                                    throw error("bad \\u escape");
                                }
                                code = code * 16 + digit;
                                pos++;
                            }
                            out.append((char) code);
                        }
                        default -> {
                            pos--;
                            throw error("bad escape '\\" + escaped + "'");
                        }
                    }
                } else if (c < 0x20) {
                    pos--;
                    throw error("control character in string");
                } else {
                    out.append(c);
                }
            }
            throw error("unterminated string");
        }

        void number() {
            if (peek() == '-') {
                pos++;
            }
            if (peek() == '0') {
                pos++;
            } else if (isDigit(peek())) {
                digits();
            } else {
                throw error("bad number");
            }
            if (peek() == '.') {
                pos++;
                if (!isDigit(peek())) {
                    throw error("bad number fraction");
                }
                digits();
            }
            if (peek() == 'e' || peek() == 'E') {
                pos++;
                if (peek() == '+' || peek() == '-') {
                    pos++;
                }
                if (!isDigit(peek())) {
                    throw error("bad number exponent");
                }
                digits();
            }
        }

        void digits() {
            while (isDigit(peek())) {
                pos++;
            }
        }

        void literal(String word) {
            if (!text.startsWith(word, pos)) {
                throw error("unexpected token");
            }
            pos += word.length();
        }

        void expect(char c) {
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        char peek() {
            return pos < text.length() ? text.charAt(pos) : '\0';
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }
    }
}
