package dev.outboxsaga.relay;

import dev.outboxsaga.core.internal.Settings;
import dev.outboxsaga.core.internal.SqlIdentifiers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Everything a relay needs, validated once. Read from a properties file with environment
 * overrides ({@link #load(Properties, Map)}), or built in code ({@link #builder()}).
 *
 * <p>Every key is a constant below, with its default. Unknown keys are refused, except under
 * {@value #KAFKA_PREFIX}, which pass to the Kafka producer unchanged (security settings and the like).
 * An environment variable {@code OUTBOX_RELAY_<KEY>} (upper case, dots and dashes as underscores)
 * overrides the key, e.g. {@code OUTBOX_RELAY_DATABASE_PASSWORD}. {@link #toString()} never shows
 * the password.
 */
public final class RelayConfig {

    /** Required. The relay's name: its Kafka transactional id, lease and position key; shared by its standbys. */
    public static final String NAME = "relay.name";
    /** Required. JDBC URL of the database whose outbox is relayed. */
    public static final String DATABASE_URL = "database.url";
    /** Required. The database user; needs REPLICATION and the rights listed in the README. */
    public static final String DATABASE_USER = "database.user";
    /** The database password; default empty. Never logged. */
    public static final String DATABASE_PASSWORD = "database.password";
    /** Comma-separated outbox tables, {@code schema.table}; default {@code public.outbox_event}. */
    public static final String OUTBOX_TABLES = "outbox.tables";
    /** Replication slot; default {@code outbox_<relay.name>} with non-identifier characters as {@code _}. */
    public static final String SLOT_NAME = "slot.name";
    /** Publication; default {@code <slot.name>_pub}. */
    public static final String PUBLICATION_NAME = "publication.name";
    /**
     * Whether the relay may create the publication; default true. Set false under a least-privilege
     * role: the relay then verifies that the publication exists and covers the outbox tables.
     */
    public static final String PUBLICATION_CREATE = "publication.create";
    /** Required. Kafka bootstrap servers. */
    public static final String KAFKA_BOOTSTRAP_SERVERS = "kafka.bootstrap.servers";
    /** Prefix of further Kafka producer properties, passed on without the prefix. */
    public static final String KAFKA_PREFIX = "kafka.";
    /** Topic for a row: {@code ${aggregatetype}} is replaced; default {@code outbox.event.${aggregatetype}} as Debezium's router. */
    public static final String TOPIC_PATTERN = "topic.pattern";
    /** Optional column whose non-empty value is the row's topic, overriding the pattern; default none. */
    public static final String TOPIC_COLUMN = "topic.column";
    /**
     * Columns placed as headers, {@code column:header,...}; default
     * {@code type:eventType,correlationid:correlationId} (the router's {@code table.fields.additional.placement}).
     */
    public static final String HEADER_COLUMNS = "header.columns";
    /** A jsonb column whose object members become headers; default {@code headers}; empty for none. */
    public static final String HEADERS_JSON_COLUMN = "headers.json.column";
    /**
     * Compacted topic where the relay keeps its WAL position, written in the same Kafka transactions;
     * default {@code outbox-relay-positions.<relay.name>}. One topic per relay: a relay killed inside a
     * transaction blocks {@code read_committed} readers of its topic until its successor fences it, and
     * must not block other relays.
     */
    public static final String POSITIONS_TOPIC = "positions.topic";
    /** How long a leader's lease lasts without renewal; default 5000 ms. A standby takes over after it. */
    public static final String LEASE_TTL_MS = "lease.ttl.ms";
    /** How often the leader renews and a standby retries; default 1000 ms. */
    public static final String LEASE_RENEW_MS = "lease.renew.interval.ms";
    /** Heartbeat interval, so an idle outbox does not hold WAL back; default 10000 ms, 0 for none. */
    public static final String HEARTBEAT_INTERVAL_MS = "heartbeat.interval.ms";
    /**
     * How long Kafka may keep refusing one row before the relay parks it in
     * {@code outbox_relay_dead_letter} and goes on; default 120000 ms, 0 parks at the first refusal. A
     * refusal is the broker's answer about that record or its topic (the topic does not exist or may not
     * be written, the record is too large or invalid); the rows behind it wait meanwhile. A broker that
     * cannot be reached refuses nothing: the relay retries for as long as the outage lasts. A missing
     * topic shows only after the producer's {@code max.block.ms} (60000 ms unless {@code kafka.max.block.ms}
     * says otherwise).
     */
    public static final String PUBLISH_REFUSAL_TIMEOUT_MS = "publish.refusal.timeout.ms";
    /** Most records per Kafka transaction; default 8192. */
    public static final String MAX_BATCH_SIZE = "batch.max.size";
    /**
     * Debezium's {@code poll.interval.ms}; default 5 ms. It bounds the latency of a quiet stream twice: the
     * engine's reader sleeps this long when the WAL has nothing new, and its queue hands a batch over only
     * when the interval ends (or the batch is full). Lower is quicker but not free: Debezium's queue
     * busy-waits through the last millisecond of each interval, so an idle relay costs about 1/interval of
     * a core (measured: 20 ms about 5%, 5 ms about 10%, 2 ms about 25% of one core). Was 20 ms, which left
     * a quiet stream 20-30 ms behind.
     */
    public static final String POLL_INTERVAL_MS = "poll.interval.ms";
    /**
     * How long rows may gather into one Kafka transaction while the stream is busy; default 20 ms, at most
     * 10000, 0 never waits. After committing a batch of at least 64 rows the relay waits until this long
     * has passed since it received that batch before taking the next, while the engine goes on reading:
     * under load each transaction carries the rows of at least this long (fewer commits per row, the cost
     * of exactly-once), while a quiet stream's few rows go straight on at {@link #POLL_INTERVAL_MS} pace.
     */
    public static final String BATCH_LINGER_MS = "batch.linger.ms";
    /** Whether the first start publishes rows already in the outbox table; default true. */
    public static final String INITIAL_SNAPSHOT = "initial.snapshot";
    /**
     * Most rows the first start publishes from the outbox, in one Kafka transaction; default 100000.
     * Beyond it the first start stops (exit 3) rather than risk a transaction that times out and is redone forever.
     */
    public static final String SNAPSHOT_MAX_ROWS = "snapshot.max.rows";
    /** Port of the HTTP endpoint with {@code /metrics} and {@code /health}; default 9404, 0 for a random port, -1 for none. */
    public static final String METRICS_PORT = "metrics.port";
    /**
     * How long the oldest committed outbox row may wait for its Kafka commit before {@code /health}
     * reports the relay as not keeping up (503); default 30000 ms.
     */
    public static final String HEALTH_MAX_LAG_MS = "health.max.lag.ms";
    /** This process's name in the lease table; default host name and a random suffix. */
    public static final String INSTANCE_ID = "instance.id";

    private static final Settings.Keys KEYS = Settings.keys("OUTBOX_RELAY_", Set.of(NAME, DATABASE_URL, DATABASE_USER, DATABASE_PASSWORD, OUTBOX_TABLES,
            SLOT_NAME, PUBLICATION_NAME, PUBLICATION_CREATE, KAFKA_BOOTSTRAP_SERVERS, TOPIC_PATTERN, TOPIC_COLUMN,
            HEADER_COLUMNS, HEADERS_JSON_COLUMN, POSITIONS_TOPIC, LEASE_TTL_MS, LEASE_RENEW_MS, HEARTBEAT_INTERVAL_MS,
            MAX_BATCH_SIZE, POLL_INTERVAL_MS, BATCH_LINGER_MS, INITIAL_SNAPSHOT, SNAPSHOT_MAX_ROWS, METRICS_PORT, HEALTH_MAX_LAG_MS,
            INSTANCE_ID, PUBLISH_REFUSAL_TIMEOUT_MS)).withPassThrough(KAFKA_PREFIX, "producer properties");
    /** Producer settings the relay owns; setting them under kafka.* would break exactly-once. */
    private static final Set<String> RESERVED_KAFKA = Set.of("transactional.id", "enable.idempotence", "acks",
            "key.serializer", "value.serializer");

    /** One outbox table. */
    public record Table(String schema, String name) {
        /** {@code schema.name}. */
        public String qualified() {
            return schema + "." + name;
        }

        @Override
        public String toString() {
            return qualified();
        }
    }

    private final String name;
    private final String databaseUrl;
    private final String databaseUser;
    private final String databasePassword;
    private final List<Table> outboxTables;
    private final String slotName;
    private final String publicationName;
    private final boolean publicationCreate;
    private final String bootstrapServers;
    private final Map<String, String> kafkaProperties;
    private final String topicPattern;
    private final String topicColumn;
    private final Map<String, String> headerColumns;
    private final String headersJsonColumn;
    private final String positionsTopic;
    private final Duration leaseTtl;
    private final Duration leaseRenewInterval;
    private final Duration heartbeatInterval;
    private final int maxBatchSize;
    private final Duration pollInterval;
    private final Duration batchLinger;
    private final boolean initialSnapshot;
    private final int snapshotMaxRows;
    private final int metricsPort;
    private final Duration healthMaxLag;
    private final Duration publishRefusalTimeout;
    private final String instanceId;

    private RelayConfig(Settings in) {
        this.name = in.required(NAME);
        if (name.length() > 200) {
            throw new IllegalArgumentException(NAME + " must be at most 200 characters");
        }
        this.databaseUrl = in.required(DATABASE_URL);
        if (!databaseUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException(DATABASE_URL + " must be a jdbc:postgresql: URL, but was '"
                    + databaseUrl + "'");
        }
        this.databaseUser = in.required(DATABASE_USER);
        this.databasePassword = in.optional(DATABASE_PASSWORD, "");
        this.outboxTables = parseTables(in.optional(OUTBOX_TABLES, "public.outbox_event"));
        this.slotName = SqlIdentifiers.require(SLOT_NAME,
                in.optional(SLOT_NAME, "outbox_" + name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_")));
        this.publicationName = SqlIdentifiers.require(PUBLICATION_NAME, in.optional(PUBLICATION_NAME, slotName + "_pub"));
        this.publicationCreate = in.bool(PUBLICATION_CREATE, true);
        this.bootstrapServers = in.required(KAFKA_BOOTSTRAP_SERVERS);
        Map<String, String> kafka = in.unreadUnder(KAFKA_PREFIX);
        for (String property : kafka.keySet()) {
            if (RESERVED_KAFKA.contains(property)) {
                throw new IllegalArgumentException(KAFKA_PREFIX + property + " is set by the relay itself (exactly-once "
                        + "needs it) and cannot be configured");
            }
        }
        this.kafkaProperties = Collections.unmodifiableMap(kafka);
        this.topicPattern = in.optional(TOPIC_PATTERN, "outbox.event.${aggregatetype}");
        String topicColumnValue = in.optional(TOPIC_COLUMN, "");
        this.topicColumn = topicColumnValue.isEmpty() ? null : SqlIdentifiers.require(TOPIC_COLUMN, topicColumnValue);
        this.headerColumns = parseHeaderColumns(in.optional(HEADER_COLUMNS, "type:eventType,correlationid:correlationId"));
        String json = in.optional(HEADERS_JSON_COLUMN, "headers");
        this.headersJsonColumn = json.isEmpty() ? null : SqlIdentifiers.require(HEADERS_JSON_COLUMN, json);
        this.positionsTopic = in.optional(POSITIONS_TOPIC, "outbox-relay-positions." + name.replaceAll("[^a-zA-Z0-9._-]", "_"));
        if (!positionsTopic.matches("[a-zA-Z0-9._-]{1,249}")) {
            throw new IllegalArgumentException(POSITIONS_TOPIC + " is not a valid Kafka topic name: '" + positionsTopic + "'");
        }
        this.leaseTtl = in.millis(LEASE_TTL_MS, 5000, 500);
        this.leaseRenewInterval = in.millis(LEASE_RENEW_MS, 1000, 50);
        if (leaseRenewInterval.multipliedBy(2).compareTo(leaseTtl) > 0) {
            throw new IllegalArgumentException(LEASE_RENEW_MS + " (" + leaseRenewInterval.toMillis()
                    + ") must be at most half of " + LEASE_TTL_MS + " (" + leaseTtl.toMillis() + ")");
        }
        this.heartbeatInterval = in.millis(HEARTBEAT_INTERVAL_MS, 10000, 0);
        this.maxBatchSize = in.integer(MAX_BATCH_SIZE, 8192, 1, 1_000_000);
        this.pollInterval = in.millis(POLL_INTERVAL_MS, 5, 1);
        this.batchLinger = in.millis(BATCH_LINGER_MS, 20, 0);
        if (batchLinger.toMillis() > 10_000) {
            throw new IllegalArgumentException(BATCH_LINGER_MS + " must be at most 10000 ms (every row of a busy stream "
                    + "may wait that long), but was " + batchLinger.toMillis());
        }
        this.initialSnapshot = in.bool(INITIAL_SNAPSHOT, true);
        this.snapshotMaxRows = in.integer(SNAPSHOT_MAX_ROWS, 100_000, 0, 10_000_000);
        this.metricsPort = in.integer(METRICS_PORT, 9404, -1, 65535);
        this.healthMaxLag = in.millis(HEALTH_MAX_LAG_MS, 30000, 1);
        this.publishRefusalTimeout = in.millis(PUBLISH_REFUSAL_TIMEOUT_MS, 120000, 0);
        this.instanceId = in.optional(INSTANCE_ID, hostName() + "-" + UUID.randomUUID().toString().substring(0, 8));
        in.refuseUnknown();
    }

    /**
     * Reads a configuration from properties, with environment overrides.
     *
     * @param environment usually {@code System.getenv()}
     * @throws IllegalArgumentException naming the first missing, unknown or invalid key
     */
    public static RelayConfig load(Properties properties, Map<String, String> environment) {
        return new RelayConfig(Settings.read(KEYS, properties, environment));
    }

    /** The environment variable that overrides {@code key}. */
    public static String envName(String key) {
        return KEYS.envName(key);
    }

    /** A builder over the same keys, for use in code; {@link Builder#build()} validates. */
    public static Builder builder() {
        return new Builder();
    }

    public String name() {
        return name;
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

    public List<Table> outboxTables() {
        return outboxTables;
    }

    public String slotName() {
        return slotName;
    }

    public String publicationName() {
        return publicationName;
    }

    public boolean publicationCreate() {
        return publicationCreate;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Further producer properties, without the {@code kafka.} prefix. */
    public Map<String, String> kafkaProperties() {
        return kafkaProperties;
    }

    public String topicPattern() {
        return topicPattern;
    }

    /** The per-row topic column, or null. */
    public String topicColumn() {
        return topicColumn;
    }

    /** Column to header name, in order. */
    public Map<String, String> headerColumns() {
        return headerColumns;
    }

    /** The jsonb headers column, or null. */
    public String headersJsonColumn() {
        return headersJsonColumn;
    }

    public String positionsTopic() {
        return positionsTopic;
    }

    public Duration leaseTtl() {
        return leaseTtl;
    }

    public Duration leaseRenewInterval() {
        return leaseRenewInterval;
    }

    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    public int maxBatchSize() {
        return maxBatchSize;
    }

    public Duration pollInterval() {
        return pollInterval;
    }

    /** See {@link #BATCH_LINGER_MS}. */
    public Duration batchLinger() {
        return batchLinger;
    }

    public boolean initialSnapshot() {
        return initialSnapshot;
    }

    public int snapshotMaxRows() {
        return snapshotMaxRows;
    }

    public int metricsPort() {
        return metricsPort;
    }

    public Duration healthMaxLag() {
        return healthMaxLag;
    }

    /** How long Kafka may keep refusing a row before it is parked; see {@link #PUBLISH_REFUSAL_TIMEOUT_MS}. */
    public Duration publishRefusalTimeout() {
        return publishRefusalTimeout;
    }

    public String instanceId() {
        return instanceId;
    }

    /** The Kafka transactional id shared by every instance of this relay, which fences stale ones. */
    public String transactionalId() {
        return "outbox-relay-" + name;
    }

    /** Every setting with the password masked. */
    @Override
    public String toString() {
        Map<String, Object> shown = new LinkedHashMap<>();
        shown.put(NAME, name);
        shown.put(DATABASE_URL, databaseUrl);
        shown.put(DATABASE_USER, databaseUser);
        shown.put(DATABASE_PASSWORD, databasePassword.isEmpty() ? "" : "****");
        shown.put(OUTBOX_TABLES, outboxTables);
        shown.put(SLOT_NAME, slotName);
        shown.put(PUBLICATION_NAME, publicationName);
        shown.put(KAFKA_BOOTSTRAP_SERVERS, bootstrapServers);
        Map<String, String> maskedKafka = new TreeMap<>();
        kafkaProperties.forEach((key, value) -> maskedKafka.put(key,
                key.contains("password") || key.contains("jaas") || key.contains("secret") ? "****" : value));
        shown.put("kafka.*", maskedKafka);
        shown.put(TOPIC_PATTERN, topicPattern);
        shown.put(POSITIONS_TOPIC, positionsTopic);
        shown.put(INSTANCE_ID, instanceId);
        return "RelayConfig" + shown;
    }

    private static List<Table> parseTables(String value) {
        List<Table> tables = new ArrayList<>();
        for (String part : value.split(",")) {
            String trimmed = part.trim();
            String[] pieces = trimmed.split("\\.");
            if (pieces.length != 2) {
                throw new IllegalArgumentException(OUTBOX_TABLES + " must list schema.table names, but has '" + trimmed + "'");
            }
            tables.add(new Table(SqlIdentifiers.require(OUTBOX_TABLES, pieces[0]),
                    SqlIdentifiers.require(OUTBOX_TABLES, pieces[1])));
        }
        return List.copyOf(tables);
    }

    private static Map<String, String> parseHeaderColumns(String value) {
        Map<String, String> columns = new LinkedHashMap<>();
        if (value.isEmpty()) {
            return columns;
        }
        for (String part : value.split(",")) {
            String[] pieces = part.trim().split(":");
            if (pieces.length != 2 || pieces[1].isBlank()) {
                throw new IllegalArgumentException(HEADER_COLUMNS + " must be column:header pairs, but has '" + part + "'");
            }
            columns.put(SqlIdentifiers.require(HEADER_COLUMNS, pieces[0].trim()), pieces[1].trim());
        }
        return Collections.unmodifiableMap(columns);
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "relay";
        }
    }

    /** Builds a {@link RelayConfig} in code, with the same keys and validation as the file. */
    public static final class Builder {
        private final Properties properties = new Properties();

        private Builder() {
        }

        /** Sets any key (see the constants); validated by {@link #build()}. */
        public Builder set(String key, Object value) {
            properties.setProperty(key, String.valueOf(value));
            return this;
        }

        public RelayConfig build() {
            return load(properties, Map.of());
        }
    }
}
