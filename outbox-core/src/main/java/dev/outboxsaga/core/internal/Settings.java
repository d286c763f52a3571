package dev.outboxsaga.core.internal;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One configuration read from properties with environment overrides: typed values with defaults and bounds, each
 * error naming its key, and every key that nothing read refused by name. The relay's, the participant template's
 * and the console's configuration classes all read through it, so that their keys, overrides and errors behave
 * alike.
 *
 * <p>Values are trimmed. An environment variable {@code <prefix><KEY>} (upper case, dots and dashes as underscores)
 * overrides a key that is known or that the properties set. A variable that names neither may name a key under a
 * pass-through prefix ({@code <prefix>KAFKA_SASL_MECHANISM} is {@code kafka.sasl.mechanism}) or a key of a family
 * of named entries ({@code <prefix>SERVICE_BANK_A_JDBC_URL} is {@code service.bank_a.jdbc-url}: the family's key
 * endings tell the name from the key, and the name is taken in lower case). Any other variable with the prefix is
 * refused; variables without it are ignored.
 */
public final class Settings {

    private final Keys keys;
    private final Map<String, String> values;
    private final Set<String> read = new HashSet<>();

    private Settings(Keys keys, Map<String, String> values) {
        this.keys = keys;
        this.values = values;
    }

    /**
     * The keys of a configuration whose environment variables start with {@code environmentPrefix}, e.g.
     * {@code OUTBOX_RELAY_}.
     */
    public static Keys keys(String environmentPrefix, Collection<String> keys) {
        return new Keys(environmentPrefix, Collections.unmodifiableSet(new TreeSet<>(keys)), Map.of(), List.of());
    }

    /**
     * Reads {@code properties}, then lets {@code environment} override them.
     *
     * @param environment usually {@code System.getenv()}; only variables with the keys' prefix are read
     * @throws IllegalArgumentException naming the first environment variable that names no key
     */
    public static Settings read(Keys keys, Properties properties, Map<String, String> environment) {
        Map<String, String> values = new TreeMap<>();
        properties.stringPropertyNames().forEach(key -> values.put(key, properties.getProperty(key).trim()));
        Map<String, String> keyByVariable = new HashMap<>();
        for (String key : keys.keys) {
            keyByVariable.put(keys.envName(key), key);
        }
        for (Family family : keys.families) {
            for (String name : namesUnder(values, family.prefix())) {
                for (String key : family.keys()) {
                    String full = family.prefix() + name + "." + key;
                    keyByVariable.put(keys.envName(full), full);
                }
            }
        }
        for (String key : values.keySet()) {
            keyByVariable.putIfAbsent(keys.envName(key), key);
        }
        // Sorted, so that the same environment always gives the same result and the same first error.
        new TreeMap<>(environment).forEach((variable, value) -> {
            if (!variable.startsWith(keys.environmentPrefix)) {
                return;
            }
            String key = keyByVariable.get(variable);
            if (key == null) {
                key = keys.keyOfEnvironmentOnly(variable.substring(keys.environmentPrefix.length()));
            }
            if (key == null) {
                throw new IllegalArgumentException("unknown environment override " + variable + "; known keys: "
                        + keys.known());
            }
            values.put(key, value.trim());
        });
        return new Settings(keys, values);
    }

    /**
     * @throws IllegalArgumentException naming the key and its environment variable when it is not set or blank
     */
    public String required(String key) {
        String value = optional(key, null);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing required setting " + key + " (or environment variable "
                    + keys.envName(key) + ")");
        }
        return value;
    }

    /** The value of {@code key}, or {@code defaultValue} when it is not set. */
    public String optional(String key, String defaultValue) {
        read.add(key);
        String value = values.get(key);
        return value == null ? defaultValue : value;
    }

    /** @throws IllegalArgumentException naming the key unless the value is {@code true} or {@code false} */
    public boolean bool(String key, boolean defaultValue) {
        String value = optional(key, Boolean.toString(defaultValue));
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalArgumentException(key + " must be true or false, but was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    /** @throws IllegalArgumentException naming the key unless the value is a whole number from min to max */
    public int integer(String key, int defaultValue, int min, int max) {
        String value = optional(key, Integer.toString(defaultValue));
        int parsed;
        try {
            parsed = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, but was '" + value + "'");
        }
        if (parsed < min || parsed > max) {
            throw new IllegalArgumentException(key + " must be between " + min + " and " + max + ", but was " + parsed);
        }
        return parsed;
    }

    /** A duration given in whole milliseconds, at least {@code min}; as {@link #integer}. */
    public Duration millis(String key, int defaultValue, int min) {
        return Duration.ofMillis(integer(key, defaultValue, min, Integer.MAX_VALUE));
    }

    /** @throws IllegalArgumentException naming the key unless the value is an ISO-8601 duration of at least min */
    public Duration duration(String key, Duration defaultValue, Duration min) {
        String value = optional(key, defaultValue.toString());
        Duration parsed;
        try {
            parsed = Duration.parse(value);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(key + " must be an ISO-8601 duration such as PT15M or PT30S, but was '"
                    + value + "'");
        }
        if (parsed.compareTo(min) < 0) {
            throw new IllegalArgumentException(key + " must be at least " + min + ", but was " + parsed);
        }
        return parsed;
    }

    /**
     * The keys under {@code prefix} not read so far, without the prefix, with their values, sorted; they count as
     * read from now on. For properties passed on to a client, e.g. {@code kafka.*} after
     * {@code kafka.bootstrap.servers} has been read.
     */
    public Map<String, String> unreadUnder(String prefix) {
        Map<String, String> found = new TreeMap<>();
        values.forEach((key, value) -> {
            if (key.startsWith(prefix) && !read.contains(key)) {
                found.put(key.substring(prefix.length()), value);
            }
        });
        found.keySet().forEach(rest -> read.add(prefix + rest));
        return found;
    }

    /** The names {@code n} of the set keys {@code <familyPrefix>n.<key>}, sorted. */
    public Set<String> names(String familyPrefix) {
        return namesUnder(values, familyPrefix);
    }

    /**
     * @throws IllegalArgumentException naming the first key (in sorted order) that was set but never read, and not
     *                                  under a pass-through prefix, with the known keys
     */
    public void refuseUnknown() {
        for (String key : values.keySet()) {
            if (!read.contains(key) && keys.passThrough.keySet().stream().noneMatch(key::startsWith)) {
                StringBuilder passing = new StringBuilder();
                keys.passThrough.forEach((prefix, what) -> passing.append(" and ").append(prefix).append("* ").append(what));
                throw new IllegalArgumentException("unknown setting " + key + "; known settings: " + keys.known() + passing);
            }
        }
    }

    /** A key without the second dot ({@code service.orders}) names nothing: it stays unread and is refused. */
    private static Set<String> namesUnder(Map<String, String> values, String prefix) {
        Set<String> names = new TreeSet<>();
        for (String key : values.keySet()) {
            if (key.startsWith(prefix)) {
                int dot = key.indexOf('.', prefix.length());
                if (dot > prefix.length()) {
                    names.add(key.substring(prefix.length(), dot));
                }
            }
        }
        return names;
    }

    /** A key as it reads in an environment variable's name: upper case, dots and dashes as underscores. */
    private static String asVariable(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The rest of a variable's name as a key: lower case, underscores as dots. */
    private static String asKey(String variablePart) {
        return variablePart.toLowerCase(Locale.ROOT).replace('_', '.');
    }

    /** Entries {@code <prefix><name>.<key>}, e.g. {@code service.orders.jdbc-url}; keys under {@code passThrough} too. */
    private record Family(String prefix, List<String> keys, String passThrough) {
    }

    /** The keys a configuration knows and how environment variables name them; immutable. */
    public static final class Keys {
        private final String environmentPrefix;
        private final Set<String> keys;
        private final Map<String, String> passThrough;
        private final List<Family> families;

        private Keys(String environmentPrefix, Set<String> keys, Map<String, String> passThrough, List<Family> families) {
            this.environmentPrefix = Objects.requireNonNull(environmentPrefix, "environmentPrefix");
            this.keys = keys;
            this.passThrough = passThrough;
            this.families = families;
        }

        /**
         * These keys, and any key under {@code prefix} (e.g. {@code kafka.}), which is never refused as unknown and
         * may be set by the environment alone.
         *
         * @param what what those keys are, for the message that refuses an unknown key, e.g. {@code producer properties}
         */
        public Keys withPassThrough(String prefix, String what) {
            Map<String, String> more = new LinkedHashMap<>(passThrough);
            more.put(Objects.requireNonNull(prefix, "prefix"), Objects.requireNonNull(what, "what"));
            return new Keys(environmentPrefix, keys, Collections.unmodifiableMap(more), families);
        }

        /** These keys, and the keys {@code <prefix><name>.<key>} of entries of any name, e.g. {@code user.alice.role}. */
        public Keys withFamily(String prefix, List<String> keys) {
            return withFamily(new Family(Objects.requireNonNull(prefix, "prefix"), List.copyOf(keys), null));
        }

        /**
         * As {@link #withFamily(String, List)}, and each entry's keys under {@code <prefix><name>.<passThrough>}, which
         * the environment alone may set; the reader takes them with {@link Settings#unreadUnder(String)}.
         */
        public Keys withFamily(String prefix, List<String> keys, String passThrough) {
            return withFamily(new Family(Objects.requireNonNull(prefix, "prefix"), List.copyOf(keys),
                    Objects.requireNonNull(passThrough, "passThrough")));
        }

        private Keys withFamily(Family family) {
            List<Family> more = new ArrayList<>(families);
            more.add(family);
            return new Keys(environmentPrefix, keys, passThrough, List.copyOf(more));
        }

        /** The environment variable that overrides {@code key}. */
        public String envName(String key) {
            return environmentPrefix + asVariable(key);
        }

        /** The known keys, sorted, then each family's with {@code <name>} for the entry's name. */
        private String known() {
            List<String> known = new ArrayList<>(keys);
            for (Family family : families) {
                family.keys().forEach(key -> known.add(family.prefix() + "<name>." + key));
                if (family.passThrough() != null) {
                    known.add(family.prefix() + "<name>." + family.passThrough() + "*");
                }
            }
            return known.toString();
        }

        /** The key of a variable (its name after the prefix) that only the environment sets, or null. */
        private String keyOfEnvironmentOnly(String variable) {
            for (String prefix : passThrough.keySet()) {
                String start = asVariable(prefix);
                if (variable.startsWith(start)) {
                    return prefix + asKey(variable.substring(start.length()));
                }
            }
            for (Family family : families) {
                String start = asVariable(family.prefix());
                if (!variable.startsWith(start)) {
                    continue;
                }
                String rest = variable.substring(start.length());
                for (String key : family.keys()) {
                    String ending = "_" + asVariable(key);
                    if (rest.endsWith(ending) && rest.length() > ending.length()) {
                        return family.prefix() + rest.substring(0, rest.length() - ending.length()).toLowerCase(Locale.ROOT)
                                + "." + key;
                    }
                }
                if (family.passThrough() != null) {
                    String marker = "_" + asVariable(family.passThrough());
                    int at = rest.indexOf(marker);
                    if (at > 0) {
                        return family.prefix() + rest.substring(0, at).toLowerCase(Locale.ROOT) + "." + family.passThrough()
                                + asKey(rest.substring(at + marker.length()));
                    }
                }
            }
            return null;
        }
    }
}
