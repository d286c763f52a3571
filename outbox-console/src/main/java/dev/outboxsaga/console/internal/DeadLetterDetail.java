package dev.outboxsaga.console.internal;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Everything the dead letter page shows.
 *
 * @param row            the dead letter
 * @param key            the original record key, or null
 * @param value          the original record value (the payload), or null
 * @param headers        the original headers, in order, secret ones masked ({@link Redaction})
 * @param errorStack     the last failure's stack trace, or null
 * @param resolutionNote the note it was resolved with, or null
 * @param actions        the operator actions on it, newest first
 */
public record DeadLetterDetail(DeadLetterRow row, byte[] key, byte[] value, List<Header> headers, String errorStack,
        String resolutionNote, List<OperatorAction> actions) {

    public DeadLetterDetail {
        headers = List.copyOf(headers);
        actions = List.copyOf(actions);
    }

    /**
     * One original record header.
     *
     * @param key      its name
     * @param text     its value as UTF-8, null when it had none, or {@value Redaction#MASK} when it is redacted
     * @param redacted whether its name looks secret, so its value is masked ({@link Redaction})
     */
    public record Header(String key, String text, boolean redacted) {

        /** A header shown as it is. */
        public Header(String key, String text) {
            this(key, text, false);
        }
    }

    /** The key as UTF-8 text, or null. */
    public String keyText() {
        return key == null ? null : new String(key, StandardCharsets.UTF_8);
    }

    /** The payload as UTF-8 text, or null. */
    public String valueText() {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** Whether an action on it waits for its consumer. */
    public boolean actionPending() {
        return actions.stream().anyMatch(OperatorAction::pending);
    }
}
