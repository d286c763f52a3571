package dev.outboxsaga.console;

import dev.outboxsaga.console.internal.audit.AuditRun;
import dev.outboxsaga.console.internal.audit.AuditSettings;
import dev.outboxsaga.core.internal.SqlIdentifiers;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Proves, for a time window, that every committed outbox row of a service reached Kafka exactly once
 * (or was parked by the relay), and, for a named consumer, that every such message is in its inbox
 * exactly once (or parked there); lists each exception with its message id.
 *
 * <pre>{@code
 * AuditReport report = ReconciliationAudit.builder()
 *         .dataSource(paymentsDb)                       // the service's database: outbox and relay tables
 *         .kafkaProperties(Map.of("bootstrap.servers", "kafka:9092"))
 *         .relay("payments")                            // relay.name; reads public.outbox_event
 *         .consumer("ledger").consumerDataSource(ledgerDb)  // optional: also check this consumer's inbox
 *         .build()
 *         .run(Instant.parse("2025-03-01T00:00:00Z"), Instant.parse("2025-03-02T00:00:00Z"));
 * System.out.println(report.toText());
 * }</pre>
 *
 * <p><b>How.</b> In one read-only snapshot of the service's database the audit takes the rows with
 * {@code created_at} in {@code [from, to)} and the WAL position at that instant. It reads the relay's
 * topics {@code read_committed} (aborted and open transactions never count), from the first record at or after
 * {@code from} minus {@link Builder#clockSkew(Duration)} up to the end offsets taken when it starts (so it
 * ends), and counts the records carrying each row's id in their {@code id} header. A row not found is
 * missing only once the relay's committed position (read from its positions topic, where the relay
 * commits it in the same Kafka transaction as the records) has passed the snapshot; until then it is in
 * flight. The audit waits up to {@link Builder#patience(Duration)} for that, while the relay holds its
 * lease (its heartbeat moves the position even when the outbox is idle). With a consumer, each message
 * found in Kafka on the consumer's topics must have one inbox row; a record at or after the group's
 * committed offset is still in flight. The report states what bounds the proof: rows purged from the
 * outbox, records past Kafka's retention, inbox rows purged.
 *
 * <p><b>Cost.</b> One pass over the window's rows and one over the topics' records from the window's start
 * to their end; memory about 150 bytes per row of the window, so the window is limited to
 * {@link Builder#maxRows(int)} rows. It writes nothing anywhere.
 *
 * <p>Thread-safe; each {@link #run} is independent.
 */
public final class ReconciliationAudit {

    private final AuditSettings settings;

    private ReconciliationAudit(AuditSettings settings) {
        this.settings = settings;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Audits the rows created in {@code [from, to)}.
     *
     * @throws IllegalArgumentException when {@code from} is not before {@code to}, an outbox table does not
     *                                  exist, or the window holds more than {@link Builder#maxRows(int)} rows
     * @throws dev.outboxsaga.core.OutboxException when the database or Kafka fails
     */
    public AuditReport run(Instant from, Instant to) {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        if (!from.isBefore(to)) {
            throw new IllegalArgumentException("from (" + from + ") must be before to (" + to + ")");
        }
        return new AuditRun(settings, from, to).run();
    }

    /**
     * A relay whose outbox tables are audited, with the settings of its configuration file that decide
     * where its records go.
     *
     * @param name           its {@code relay.name}
     * @param tables         its {@code outbox.tables}, {@code schema.table}; the relay's own tables
     *                       ({@code outbox_relay_dead_letter}, {@code outbox_relay_lease}) are in the first one's schema
     * @param positionsTopic its {@code positions.topic}
     * @param topicPattern   its {@code topic.pattern}, with {@code ${aggregatetype}}
     * @param topicColumn    its {@code topic.column}, or null
     */
    public record Relay(String name, List<String> tables, String positionsTopic, String topicPattern,
            String topicColumn) {

        private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

        public Relay {
            if (name == null || name.isBlank() || name.length() > 200) {
                throw new IllegalArgumentException("relay name must be 1 to 200 characters, but was "
                        + (name == null ? "null" : "'" + name + "'"));
            }
            if (tables == null || tables.isEmpty()) {
                throw new IllegalArgumentException("relay " + name + " needs at least one outbox table");
            }
            tables = List.copyOf(tables);
            for (String table : tables) {
                String[] parts = table.split("\\.", -1);
                if (parts.length != 2) {
                    throw new IllegalArgumentException("relay " + name + ": outbox tables must be schema.table, but one is '"
                            + table + "'");
                }
                SqlIdentifiers.require("relay " + name + " outbox table schema", parts[0]);
                SqlIdentifiers.require("relay " + name + " outbox table", parts[1]);
            }
            if (positionsTopic == null || !TOPIC.matcher(positionsTopic).matches()) {
                throw new IllegalArgumentException("relay " + name + ": positions topic is not a valid Kafka topic name: "
                        + (positionsTopic == null ? "null" : "'" + positionsTopic + "'"));
            }
            if (topicPattern == null || topicPattern.isBlank()) {
                throw new IllegalArgumentException("relay " + name + ": topic pattern must not be blank");
            }
            if (topicColumn != null) {
                SqlIdentifiers.require("relay " + name + " topic column", topicColumn);
            }
        }

        /**
         * The relay {@code name} with the relay's defaults: table {@code public.outbox_event}, positions topic
         * {@code outbox-relay-positions.<name>}, topic pattern {@code outbox.event.${aggregatetype}}, no topic column.
         */
        public static Relay named(String name) {
            if (name == null) {
                throw new IllegalArgumentException("relay name must not be null");
            }
            return new Relay(name, List.of("public.outbox_event"),
                    "outbox-relay-positions." + name.replaceAll("[^a-zA-Z0-9._-]", "_"), "outbox.event.${aggregatetype}",
                    null);
        }

        /**
         * The relay described by its configuration file: {@code relay.name} (required), {@code outbox.tables},
         * {@code positions.topic}, {@code topic.pattern} and {@code topic.column}, with the relay's defaults.
         * Its other keys (the database, Kafka, the lease) are ignored, and so are environment overrides.
         */
        public static Relay fromProperties(Properties relayProperties) {
            String name = trimmed(relayProperties, "relay.name");
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("the relay properties have no relay.name");
            }
            Relay relay = named(name);
            String tables = trimmed(relayProperties, "outbox.tables");
            if (tables != null && !tables.isEmpty()) {
                relay = relay.withTables(Arrays.stream(tables.split(",")).map(String::trim).toArray(String[]::new));
            }
            String positions = trimmed(relayProperties, "positions.topic");
            if (positions != null && !positions.isEmpty()) {
                relay = relay.withPositionsTopic(positions);
            }
            String pattern = trimmed(relayProperties, "topic.pattern");
            if (pattern != null && !pattern.isEmpty()) {
                relay = relay.withTopicPattern(pattern);
            }
            String column = trimmed(relayProperties, "topic.column");
            if (column != null && !column.isEmpty()) {
                relay = relay.withTopicColumn(column);
            }
            return relay;
        }

        /** This relay reading {@code tables} ({@code schema.table}) instead. */
        public Relay withTables(String... tables) {
            return new Relay(name, List.of(tables), positionsTopic, topicPattern, topicColumn);
        }

        /** This relay committing its position to {@code positionsTopic} instead. */
        public Relay withPositionsTopic(String positionsTopic) {
            return new Relay(name, tables, positionsTopic, topicPattern, topicColumn);
        }

        /** This relay routing rows by {@code topicPattern} instead. */
        public Relay withTopicPattern(String topicPattern) {
            return new Relay(name, tables, positionsTopic, topicPattern, topicColumn);
        }

        /** This relay taking a row's topic from {@code topicColumn} when it is not empty. */
        public Relay withTopicColumn(String topicColumn) {
            return new Relay(name, tables, positionsTopic, topicPattern, topicColumn);
        }

        private static String trimmed(Properties properties, String key) {
            String value = properties.getProperty(key);
            return value == null ? null : value.trim();
        }
    }

    /** Configures a {@link ReconciliationAudit}; {@link #build()} validates and names any bad setting. */
    public static final class Builder {
        private DataSource dataSource;
        private final Map<String, Object> kafkaProperties = new HashMap<>();
        private final List<Relay> relays = new ArrayList<>();
        private String consumer;
        private DataSource consumerDataSource;
        private String consumerGroup;
        private final Set<String> consumerTopics = new LinkedHashSet<>();
        private String inboxTable = "inbox_message";
        private String deadLetterTable = "dead_letter";
        private Duration patience = Duration.ofSeconds(30);
        private Duration clockSkew = Duration.ofMinutes(1);
        private int maxRows = 1_000_000;
        private int maxFindingsListed = 1000;

        private Builder() {
        }

        /**
         * Required. The service's database: its outbox tables and the relay's tables. The audit only reads,
         * in one read-only transaction at a time, so a read-only role with SELECT on those tables will do.
         */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            return this;
        }

        /**
         * Required. Kafka client properties, at least {@code bootstrap.servers} (and security settings as your
         * cluster needs). The audit sets the deserializers, {@code isolation.level=read_committed} and
         * {@code enable.auto.commit=false} itself and joins no group. Values are never logged.
         */
        public Builder kafkaProperties(Map<String, ?> kafkaProperties) {
            Objects.requireNonNull(kafkaProperties, "kafkaProperties");
            this.kafkaProperties.putAll(kafkaProperties);
            return this;
        }

        /** As {@link #kafkaProperties(Map)}. */
        public Builder kafkaProperties(Properties kafkaProperties) {
            Objects.requireNonNull(kafkaProperties, "kafkaProperties");
            kafkaProperties.stringPropertyNames().forEach(key -> this.kafkaProperties.put(key, kafkaProperties.getProperty(key)));
            return this;
        }

        /** Shorthand for {@code kafkaProperties(Map.of("bootstrap.servers", bootstrapServers))}. */
        public Builder bootstrapServers(String bootstrapServers) {
            kafkaProperties.put("bootstrap.servers", Objects.requireNonNull(bootstrapServers, "bootstrapServers"));
            return this;
        }

        /** A relay with its defaults ({@link Relay#named(String)}): its table {@code public.outbox_event} is audited. */
        public Builder relay(String name) {
            return relay(Relay.named(name));
        }

        /**
         * A relay whose tables are audited; at least one is required. Add one per relay of a sharded outbox
         * (each shard table has its own relay).
         */
        public Builder relay(Relay relay) {
            relays.add(Objects.requireNonNull(relay, "relay"));
            return this;
        }

        /** Optional. The {@code InboxConsumer} name whose inbox is checked too; default none (Kafka only). */
        public Builder consumer(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("consumer name must not be blank");
            }
            this.consumer = name;
            return this;
        }

        /** The database of the consumer's inbox and dead letters; default {@link #dataSource(DataSource)}. */
        public Builder consumerDataSource(DataSource consumerDataSource) {
            this.consumerDataSource = Objects.requireNonNull(consumerDataSource, "consumerDataSource");
            return this;
        }

        /** The consumer's Kafka group id; default the consumer name (as {@code InboxConsumer}'s default). */
        public Builder consumerGroup(String consumerGroup) {
            if (consumerGroup == null || consumerGroup.isBlank()) {
                throw new IllegalArgumentException("consumerGroup must not be blank");
            }
            this.consumerGroup = consumerGroup;
            return this;
        }

        /**
         * The topics the consumer reads; only messages on these are checked in its inbox. Default: the topics
         * on which its group has committed offsets. Name them when the consumer may not have committed on every
         * topic yet.
         */
        public Builder consumerTopics(String... topics) {
            for (String topic : topics) {
                if (topic == null || topic.isBlank()) {
                    throw new IllegalArgumentException("consumerTopics must not contain a blank topic");
                }
                consumerTopics.add(topic);
            }
            return this;
        }

        /** The consumer's inbox table, {@code [schema.]table}; default {@code inbox_message}. */
        public Builder inboxTable(String inboxTable) {
            this.inboxTable = qualifiedName("inboxTable", inboxTable);
            return this;
        }

        /** The consumer's dead-letter table, {@code [schema.]table}; default {@code dead_letter}. */
        public Builder deadLetterTable(String deadLetterTable) {
            this.deadLetterTable = qualifiedName("deadLetterTable", deadLetterTable);
            return this;
        }

        /**
         * How long the audit waits, when some row is not yet in Kafka, for the relay's committed position to
         * pass its snapshot (the relay's heartbeat moves it every {@code heartbeat.interval.ms}, 10 s by
         * default), and for Kafka transactions open at its end offsets to end; default 30 s. It stops waiting
         * for a relay at once when no process holds that relay's lease.
         */
        public Builder patience(Duration patience) {
            if (patience == null || patience.isNegative()) {
                throw new IllegalArgumentException("patience must be zero or positive, but was " + patience);
            }
            this.patience = patience;
            return this;
        }

        /**
         * How far the clocks of the database, the relay and the Kafka brokers may disagree; default 1 minute.
         * Records are read from the first one stamped at or after {@code from} minus this, and a row counts as
         * possibly past retention when it is younger than a partition's oldest kept record by less than this.
         */
        public Builder clockSkew(Duration clockSkew) {
            if (clockSkew == null || clockSkew.isNegative()) {
                throw new IllegalArgumentException("clockSkew must be zero or positive, but was " + clockSkew);
            }
            this.clockSkew = clockSkew;
            return this;
        }

        /**
         * The most rows a window may hold; default 1,000,000 (about 150 MB of heap). A larger window is refused
         * before Kafka is read: audit it in parts.
         */
        public Builder maxRows(int maxRows) {
            if (maxRows < 1) {
                throw new IllegalArgumentException("maxRows must be at least 1, but was " + maxRows);
            }
            this.maxRows = maxRows;
            return this;
        }

        /** How many findings of each kind the report lists (all are counted); default 1000. */
        public Builder maxFindingsListed(int maxFindingsListed) {
            if (maxFindingsListed < 0) {
                throw new IllegalArgumentException("maxFindingsListed must be zero or positive, but was " + maxFindingsListed);
            }
            this.maxFindingsListed = maxFindingsListed;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming a missing or conflicting setting
         */
        public ReconciliationAudit build() {
            if (dataSource == null) {
                throw new IllegalArgumentException("dataSource is required: the service's database");
            }
            Object servers = kafkaProperties.get("bootstrap.servers");
            if (servers == null || servers.toString().isBlank()) {
                throw new IllegalArgumentException("kafkaProperties must contain bootstrap.servers");
            }
            if (relays.isEmpty()) {
                throw new IllegalArgumentException("at least one relay is required: relay(name)");
            }
            Set<String> names = new LinkedHashSet<>();
            Set<String> tables = new LinkedHashSet<>();
            for (Relay relay : relays) {
                if (!names.add(relay.name())) {
                    throw new IllegalArgumentException("relay " + relay.name() + " is named twice");
                }
                for (String table : relay.tables()) {
                    if (!tables.add(table)) {
                        throw new IllegalArgumentException("outbox table " + table + " is given for two relays");
                    }
                }
            }
            if (consumer == null && (consumerDataSource != null || consumerGroup != null || !consumerTopics.isEmpty())) {
                throw new IllegalArgumentException("consumerDataSource, consumerGroup and consumerTopics need consumer(name)");
            }
            return new ReconciliationAudit(new AuditSettings(dataSource, Map.copyOf(kafkaProperties), List.copyOf(relays),
                    consumer, consumerDataSource != null ? consumerDataSource : dataSource,
                    consumerGroup != null ? consumerGroup : consumer, List.copyOf(consumerTopics), inboxTable,
                    deadLetterTable, patience, clockSkew, maxRows, maxFindingsListed));
        }

        private static String qualifiedName(String setting, String value) {
            if (value == null) {
                throw new IllegalArgumentException(setting + " must not be null");
            }
            String[] parts = value.split("\\.", -1);
            if (parts.length > 2) {
                throw new IllegalArgumentException(setting + " must be [schema.]table, but was '" + value + "'");
            }
            for (String part : parts) {
                SqlIdentifiers.require(setting, part);
            }
            return value;
        }
    }
}
