package dev.outboxsaga.console.internal.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.Writer;

/**
 * Lets no terminal control character through to the operator's terminal: each C0 control but line feed and tab, DEL,
 * and each C1 control (U+0080 to U+009F) is written as {@value #STAND_IN}. What the CLI prints comes largely from the
 * services' databases (payloads, headers, error messages, saga data, notes), which anybody who can publish to a topic
 * can fill; an {@code ESC ]0;...BEL} there would retitle the window, an {@code ESC [2J} clear the screen, a lone
 * carriage return hide the start of a line. A carriage return directly before a line feed is a line break and stays.
 *
 * <p>Every command's output and error stream goes through it, so a command cannot forget it. JSON output passes
 * unchanged: {@link Cli#json} escapes these characters itself.
 */
final class TerminalSafeWriter extends FilterWriter {

    /** What each control character is written as. */
    static final char STAND_IN = '?';

    TerminalSafeWriter(Writer out) {
        super(out);
    }

    @Override
    public void write(int c) throws IOException {
        out.write(control((char) c) ? STAND_IN : c);
    }

    @Override
    public void write(char[] chars, int offset, int length) throws IOException {
        out.write(safe(new String(chars, offset, length)));
    }

    @Override
    public void write(String text, int offset, int length) throws IOException {
        out.write(safe(text.substring(offset, offset + length)));
    }

    /** {@code text} with each control character but line feed, tab and the carriage return of a CR LF replaced. */
    static String safe(String text) {
        StringBuilder safe = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean replace = control(c) && !(c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n');
            if (replace && safe == null) {
                safe = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (safe != null) {
                safe.append(replace ? STAND_IN : c);
            }
        }
        return safe == null ? text : safe.toString();
    }

    /** C0 but line feed and tab, DEL, C1. */
    static boolean control(char c) {
        return c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f && c <= 0x9f;
    }
}
