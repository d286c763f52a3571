package dev.outboxsaga.console.internal;

/**
 * A value from a request made fit for a log line: control characters (line breaks among them, which would let a
 * request forge log lines) become {@code ?}, and long values are cut.
 */
final class LogText {

    private static final int MAX = 200;

    private LogText() {
    }

    /** {@code value} without control characters and at most {@value #MAX} characters; null as {@code null}. */
    static String of(Object value) {
        if (value == null) {
            return "null";
        }
        String text = value.toString();
        StringBuilder out = new StringBuilder(Math.min(text.length(), MAX + 3));
        for (int i = 0; i < text.length() && i < MAX; i++) {
            char c = text.charAt(i);
            out.append(Character.isISOControl(c) || c == '\u2028' || c == '\u2029' ? '?' : c);
        }
        if (text.length() > MAX) {
            out.append("...");
        }
        return out.toString();
    }
}
