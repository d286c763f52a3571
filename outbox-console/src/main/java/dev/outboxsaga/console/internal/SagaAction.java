package dev.outboxsaga.console.internal;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** What an operator may ask of a saga; its service's orchestrator carries it out (see {@code sql/V8}). */
public enum SagaAction {
    /** Send a parked saga's compensation again, with fresh attempts. Always safe. */
    RETRY_COMPENSATION("PARKED", false, "Retry compensation"),
    /** Record that a parked saga's compensation was done by hand, and go on compensating; a note is required. */
    MARK_COMPENSATED("PARKED", true, "Mark compensated"),
    /** Stop a running saga and compensate what ran, in reverse; the reason is required. */
    CANCEL("RUNNING", true, "Cancel");

    private final String allowedState;
    private final boolean noteRequired;
    private final String label;

    SagaAction(String allowedState, boolean noteRequired, String label) {
        this.allowedState = allowedState;
        this.noteRequired = noteRequired;
        this.label = label;
    }

    /** The saga state the action applies to. */
    public String allowedState() {
        return allowedState;
    }

    /** Whether the action needs a note (the reason, for a cancel). */
    public boolean noteRequired() {
        return noteRequired;
    }

    /** The button's text. */
    public String label() {
        return label;
    }

    /** The actions allowed in {@code state}. */
    public static List<SagaAction> allowedIn(String state) {
        return Arrays.stream(values()).filter(action -> action.allowedState.equals(state)).toList();
    }

    /**
     * The action named {@code name}, in any case.
     *
     * @throws IllegalArgumentException naming the actions when there is none of that name
     */
    public static SagaAction parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("unknown saga action '" + name + "'; known: " + Arrays.toString(values()));
        }
    }
}
