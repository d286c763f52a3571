package dev.outboxsaga.template;

import dev.outboxsaga.saga.SagaMessages;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The participant's settings, validated once. Read from a properties file with environment
 * overrides ({@link #load(Properties, Map)}), or built in code ({@link #builder()}).
 *
 * <p>Every key is a constant below, with its default. Unknown keys are refused (a typo should not
 * silently fall back to a default), except under {@value #KAFKA_PREFIX}, which pass to the Kafka
 * clients unchanged (security settings and the like). An environment variable
 * {@code PARTICIPANT_<KEY>} (upper case, dots and dashes as underscores) overrides the key, e.g.
 * {@code PARTICIPANT_DATABASE_PASSWORD}. {@link #toString()} never shows the password.
 *
 * <p>When you add settings of your own, add a constant, read it in the constructor and add it to
 * {@code KEYS}.
 */
public final class ParticipantConfig {

    /** Required. The participant's name: sagas send its commands to {@code outbox.event.saga-command.<name>}. */
    public static final String PARTICIPANT_NAME = "participant.name";
    /** Required. JDBC URL of the participant's own PostgreSQL database. */
    public static final String DATABASE_URL = "database.url";
    /** Required. The database user. */
    public static final String DATABASE_USER = "database.user";
    /** The database password; default empty. Never logged. */
    public static final String DATABASE_PASSWORD = "database.password";
    /** Required. Kafka bootstrap servers. */
    public static final String KAFKA_BOOTSTRAP_SERVERS = "kafka.bootstrap.servers";
    /** Prefix of further Kafka client properties (consumer, and the embedded relay's producer), passed on without it. */
    public static final String KAFKA_PREFIX = "kafka.";
    /**
     * Whether this process also runs the outbox relay for its database, which publishes its replies;
     * default false (run the standalone {@code outbox-relay} next to the database instead).
     */
    public static final String RELAY_EMBEDDED = "relay.embedded";
    /** Size of the HikariCP pool; default 5. */
    public static final String DB_POOL_SIZE = "db.pool.size";
    /**
     * A business setting of the template's own: a reservation of more than this many units waits for a manager's
     * approval ({@link InventoryHandlers#approve}) before it is answered; default 0, which turns approvals off.
     */
    public static final String APPROVAL_ABOVE = "inventory.approval-above";

    /** The default configuration file, on the class path. */
    public static final String DEFAULT_RESOURCE = "participant.properties";

    private static final String ENV_PREFIX = "PARTICIPANT_";
    private static final Set<String> KEYS = Set.of(PARTICIPANT_NAME, DATABASE_URL, DATABASE_USER, DATABASE_PASSWORD,
            KAFKA_BOOTSTRAP_SERVERS, RELAY_EMBEDDED, DB_POOL_SIZE, APPROVAL_ABOVE);

    private final String participantName;
    private final String databaseUrl;
    private final String databaseUser;
    private final String databasePassword;
    private final String bootstrapServers;
    private final Map<String, String> kafkaProperties;
    private final boolean relayEmbedded;
    private final int poolSize;
    private final int approvalAbove;

    private ParticipantConfig(Map<String, String> values) {
        Values in = new Values(values);
        String name = in.required(PARTICIPANT_NAME);
        try {
            this.participantName = SagaMessages.requireName("participant", name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PARTICIPANT_NAME + ": " + e.getMessage(), e);
        }
        this.databaseUrl = in.required(DATABASE_URL);
        if (!databaseUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException(DATABASE_URL + " must be a jdbc:postgresql: URL, but was '"
                    + databaseUrl + "'");
        }
        this.databaseUser = in.required(DATABASE_USER);
        this.databasePassword = in.optional(DATABASE_PASSWORD, "");
        this.bootstrapServers = in.required(KAFKA_BOOTSTRAP_SERVERS);
        Map<String, String> kafka = new TreeMap<>();
        values.forEach((key, value) -> {
            if (key.startsWith(KAFKA_PREFIX) && !key.equals(KAFKA_BOOTSTRAP_SERVERS)) {
                kafka.put(key.substring(KAFKA_PREFIX.length()), value);
            }
        });
        this.kafkaProperties = Collections.unmodifiableMap(kafka);
        this.relayEmbedded = in.bool(RELAY_EMBEDDED, false);
        this.poolSize = in.integer(DB_POOL_SIZE, 5, 1, 1000);
        this.approvalAbove = in.integer(APPROVAL_ABOVE, 0, 0, Integer.MAX_VALUE);
        in.refuseUnknown();
    }

    /**
     * Reads a configuration from properties, with environment overrides.
     *
     * @param environment usually {@code System.getenv()}; only {@code PARTICIPANT_*} variables are read
     * @throws IllegalArgumentException naming the first missing, unknown or invalid key
     */
    public static ParticipantConfig load(Properties properties, Map<String, String> environment) {
        Map<String, String> values = new TreeMap<>();
        properties.stringPropertyNames().forEach(key -> values.put(key, properties.getProperty(key).trim()));
        Map<String, String> byEnvName = new LinkedHashMap<>();
        for (String key : KEYS) {
            byEnvName.put(envName(key), key);
        }
        for (String key : values.keySet()) {
            byEnvName.putIfAbsent(envName(key), key);
        }
        environment.forEach((variable, value) -> {
            if (!variable.startsWith(ENV_PREFIX)) {
                return;
            }
            String key = byEnvName.get(variable);
            if (key == null && variable.startsWith(ENV_PREFIX + "KAFKA_")) {
                // A client property only the environment sets: PARTICIPANT_KAFKA_SASL_MECHANISM -> kafka.sasl.mechanism
                key = variable.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
            }
            if (key == null) {
                throw new IllegalArgumentException("unknown environment override " + variable + "; known keys: "
                        + new TreeSet<>(KEYS));
            }
            values.put(key, value.trim());
        });
        return new ParticipantConfig(values);
    }

    /**
     * Reads {@code file}, or the class-path resource {@value #DEFAULT_RESOURCE} when {@code file} is
     * null, with environment overrides.
     *
     * @throws IllegalArgumentException when the file is missing or unreadable, or a key is missing or invalid
     */
    public static ParticipantConfig load(Path file, Map<String, String> environment) {
        Properties properties = new Properties();
        String source;
        if (file == null) {
            source = "class-path resource " + DEFAULT_RESOURCE;
            try (InputStream in = ParticipantConfig.class.getClassLoader().getResourceAsStream(DEFAULT_RESOURCE)) {
                if (in == null) {
                    throw new IllegalArgumentException(source + " not found; pass --config FILE");
                }
                properties.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read " + source + ": " + e.getMessage(), e);
            }
        } else {
            source = file.toAbsolutePath().toString();
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                properties.load(reader);
            } catch (NoSuchFileException e) {
                throw new IllegalArgumentException("configuration file not found: " + source, e);
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot read configuration file " + source + ": " + e.getMessage(), e);
            }
        }
        try {
            return load(properties, environment);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid configuration in " + source + ": " + e.getMessage(), e);
        }
    }

    /** The environment variable that overrides {@code key}. */
    public static String envName(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** A builder over the same keys, for use in code (tests); {@link Builder#build()} validates. */
    public static Builder builder() {
        return new Builder();
    }

    public String participantName() {
        return participantName;
    }

    public String databaseUrl() {
        return databaseUrl;
    }

    public String databaseUser() {
        return databaseUser;
    }

    /** The password; never log it. */
    public String databasePassword() {
        return databasePassword;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Further Kafka client properties, without the {@code kafka.} prefix. */
    public Map<String, String> kafkaProperties() {
        return kafkaProperties;
    }

    public boolean relayEmbedded() {
        return relayEmbedded;
    }

    public int poolSize() {
        return poolSize;
    }

    /** Reservations of more than this many units wait for approval; 0 when none does. */
    public int approvalAbove() {
        return approvalAbove;
    }

    /** Every setting, with the password (and secret-looking Kafka properties) masked. */
    @Override
    public String toString() {
        Map<String, Object> shown = new LinkedHashMap<>();
        shown.put(PARTICIPANT_NAME, participantName);
        shown.put(DATABASE_URL, databaseUrl);
        shown.put(DATABASE_USER, databaseUser);
        shown.put(DATABASE_PASSWORD, databasePassword.isEmpty() ? "" : "****");
        shown.put(KAFKA_BOOTSTRAP_SERVERS, bootstrapServers);
        Map<String, String> kafka = new TreeMap<>();
        kafkaProperties.forEach((key, value) -> kafka.put(key,
                key.contains("password") || key.contains("jaas") || key.contains("secret") ? "****" : value));
        shown.put("kafka.*", kafka);
        shown.put(RELAY_EMBEDDED, relayEmbedded);
        shown.put(DB_POOL_SIZE, poolSize);
        shown.put(APPROVAL_ABOVE, approvalAbove);
        return "ParticipantConfig" + shown;
    }

    /** Builds a {@link ParticipantConfig} in code, with the same keys and validation as the file. */
    public static final class Builder {
        private final Properties properties = new Properties();

        private Builder() {
        }

        /** Sets any key (see the constants); validated by {@link #build()}. */
        public Builder set(String key, Object value) {
            properties.setProperty(key, String.valueOf(value));
            return this;
        }

        /** @throws IllegalArgumentException naming the first missing, unknown or invalid key */
        public ParticipantConfig build() {
            return load(properties, Map.of());
        }
    }

    /** Reads values, remembering which keys were asked for, so that the rest can be refused. */
    private static final class Values {
        private final Map<String, String> values;
        private final Set<String> used = new TreeSet<>();

        Values(Map<String, String> values) {
            this.values = values;
        }

        String required(String key) {
            String value = optional(key, null);
            if (value == null || value.isEmpty()) {
                throw new IllegalArgumentException("missing required setting " + key + " (or environment variable "
                        + envName(key) + ")");
            }
            return value;
        }

        String optional(String key, String defaultValue) {
            used.add(key);
            String value = values.get(key);
            return value == null ? defaultValue : value;
        }

        boolean bool(String key, boolean defaultValue) {
            String value = optional(key, Boolean.toString(defaultValue));
            if (!value.equals("true") && !value.equals("false")) {
                throw new IllegalArgumentException(key + " must be true or false, but was '" + value + "'");
            }
            return Boolean.parseBoolean(value);
        }

        int integer(String key, int defaultValue, int min, int max) {
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

        void refuseUnknown() {
            for (String key : values.keySet()) {
                if (!used.contains(key) && !key.startsWith(KAFKA_PREFIX)) {
                    throw new IllegalArgumentException("unknown setting " + key + "; known settings: "
                            + new TreeSet<>(KEYS) + " and kafka.* client properties");
                }
            }
        }
    }
}
