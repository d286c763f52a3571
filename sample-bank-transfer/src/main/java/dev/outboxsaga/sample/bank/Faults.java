package dev.outboxsaga.sample.bank;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fault mix, in percent: business refusals (the transfer is made to fail: insufficient funds, an
 * unknown or frozen account, a limit exceeded), crashes in the middle of a bank's handler, replies
 * late enough to time out, and duplicated deliveries of commands and replies.
 */
public final class Faults {

    /** The fault names {@link #parse(String)} accepts. */
    public static final Set<String> NAMES = Set.of("refusal", "crash", "late", "duplicate");
    /** The default mix: moderate, every kind on. */
    public static final String DEFAULT = "refusal=10,crash=3,late=1,duplicate=5";

    private final Map<String, Integer> percent;
    private final Set<String> fired = ConcurrentHashMap.newKeySet();

    private Faults(Map<String, Integer> percent) {
        this.percent = percent;
    }

    /**
     * Reads {@code name=percent,...}; {@code none} for no faults.
     *
     * @throws IllegalArgumentException naming an unknown fault or a bad percentage
     */
    public static Faults parse(String spec) {
        Map<String, Integer> percent = new LinkedHashMap<>();
        NAMES.forEach(name -> percent.put(name, 0));
        if (spec == null || spec.isBlank() || spec.trim().equals("none")) {
            return new Faults(percent);
        }
        for (String part : spec.split(",")) {
            String[] pieces = part.trim().split("=");
            if (pieces.length != 2 || !NAMES.contains(pieces[0].trim())) {
                throw new IllegalArgumentException("unknown fault '" + part.trim() + "'; use name=percent with names "
                        + NAMES + ", e.g. " + DEFAULT);
            }
            int value;
            try {
                value = Integer.parseInt(pieces[1].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("fault " + pieces[0].trim() + " needs a whole percentage, not '"
                        + pieces[1].trim() + "'");
            }
            if (value < 0 || value > 100) {
                throw new IllegalArgumentException("fault " + pieces[0].trim() + " must be 0 to 100 percent, not " + value);
            }
            percent.put(pieces[0].trim(), value);
        }
        return new Faults(percent);
    }

    public int percent(String name) {
        return percent.get(name);
    }

    /** Whether the fault hits this time. */
    public boolean hits(String name, Random random) {
        int chance = percent.get(name);
        return chance > 0 && random.nextInt(100) < chance;
    }

    /**
     * Whether a crash or a late reply was injected into transfer {@code transferId} in this process
     * (operation keys are {@code <transfer id>/<kind>}): its saga waited on a fault on purpose.
     */
    public boolean delayed(String transferId) {
        String operation = ":" + transferId + "/";
        return fired.stream().anyMatch(key -> (key.startsWith("crash:") || key.startsWith("late:"))
                && key.contains(operation));
    }

    /** Whether a fault hits operation {@code key} the first time it is asked (never again for that key). */
    public boolean hitsOnce(String name, String key, Random random) {
        return hits(name, random) && fired.add(name + ":" + key);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        percent.forEach((name, value) -> text.append(text.length() == 0 ? "" : ",").append(name).append('=').append(value));
        return text.toString();
    }
}
