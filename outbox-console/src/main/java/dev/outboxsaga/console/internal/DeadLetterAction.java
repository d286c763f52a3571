package dev.outboxsaga.console.internal;

import java.util.Arrays;
import java.util.Locale;

/** What an operator may do with a parked dead letter. */
public enum DeadLetterAction {
    /** Run the consumer's handler on it once more; its consumer carries it out (see {@code sql/V8}). */
    REPLAY,
    /** Mark it DISCARDED with a note; done at once, no consumer needed. */
    DISCARD;

    /**
     * The action named {@code name}, in any case.
     *
     * @throws IllegalArgumentException naming the actions when there is none of that name
     */
    public static DeadLetterAction parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("unknown dead letter action '" + name + "'; known: "
                    + Arrays.toString(values()));
        }
    }
}
