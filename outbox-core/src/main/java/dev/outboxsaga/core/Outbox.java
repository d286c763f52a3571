package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.Json;
import dev.outboxsaga.core.internal.OptionalLibraries;
import dev.outboxsaga.core.internal.OutboxTracing;
import dev.outboxsaga.core.internal.Purge;
import dev.outboxsaga.core.internal.Shards;
import dev.outboxsaga.core.internal.Sql;
import dev.outboxsaga.core.internal.SqlIdentifiers;
import dev.outboxsaga.core.internal.Transactions;
import io.opentelemetry.api.OpenTelemetry;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Appends messages to the outbox table inside the caller's transaction.
 *
 * <p>The caller owns the transaction: {@link #append(Connection, OutboxMessage)} runs on the given
 * connection and never commits, rolls back or closes it. {@link #inTransaction(DataSource,
 * TransactionCallback)} opens, commits (or rolls back) and closes a transaction for you; with Jdbi, use
 * {@link JdbiOutbox}.
 *
 * <pre>{@code
 * Outbox outbox = Outbox.builder().build();
 * outbox.inTransaction(dataSource, tx -> {
 *     debit(tx.connection(), account, amount);
 *     tx.append(outbox.message().aggregate("account", account).type("Debited").payload(json).build());
 *     return null;
 * });
 * }</pre>
 *
 * <p>Thread-safe; create one per outbox (one table, or one set of shard tables) and share it.
 *
 * <p><b>Shards.</b> With {@link Builder#shards(int)} above 1, one {@code Outbox} writes to several tables,
 * each read by its own relay (slot, publication, lease), so that relaying scales out. Each message goes to
 * the table {@link #shardOf(String)} picks from its aggregate id (the Kafka key), so all messages of one
 * aggregate go through one table and one relay and keep their order; messages of different aggregates may
 * be published in another order than they were committed. See the relay's README, "Scaling out".
 *
 * <p><b>Traces.</b> With the OpenTelemetry API on the class path, each appended message gets a span of kind
 * PRODUCER ({@code append <aggregatetype>}) whose context is written as the row's {@code traceparent}: the
 * relay's publish span and the consumer's span continue it. See {@link Builder#openTelemetry(OpenTelemetry)}.
 */
public final class Outbox {

    private final String schema;
    private final List<String> tables;
    private final boolean deleteAfterInsert;
    private final int maxPayloadBytes;
    private final PayloadCodec payloadCodec;
    /** One per shard, in shard order. */
    private final List<Sql.Outbox> sql;
    private final List<String> qualifiedTables;
    /** Null without the OpenTelemetry API. */
    private final OutboxTracing tracing;

    private Outbox(Builder builder) {
        this.schema = builder.schema;
        List<String> names = new ArrayList<>();
        for (int shard = 0; shard < builder.shards; shard++) {
            // Shard 0 keeps the plain name, so that growing from one table to several keeps the table
            // (and the relay) that exists.
            names.add(SqlIdentifiers.require("table", shard == 0 ? builder.table : builder.table + "_" + shard));
        }
        this.tables = List.copyOf(names);
        this.deleteAfterInsert = builder.deleteAfterInsert;
        this.maxPayloadBytes = builder.maxPayloadBytes;
        this.payloadCodec = builder.payloadCodec;
        this.qualifiedTables = tables.stream().map(name -> SqlIdentifiers.qualified(schema, name)).toList();
        this.sql = qualifiedTables.stream().map(Sql.Outbox::forTable).toList();
        this.tracing = OptionalLibraries.OPEN_TELEMETRY ? OutboxTracing.create(builder.openTelemetry) : null;
    }

    /** A builder with every default; see its setters. */
    public static Builder builder() {
        return new Builder();
    }

    /** A message builder whose payload is encoded with this outbox's {@link PayloadCodec}. */
    public OutboxMessage.Builder message() {
        return OutboxMessage.builder(payloadCodec);
    }

    /**
     * Appends one message in the connection's current transaction.
     *
     * @throws InvalidMessageException when the payload is larger than {@link Builder#maxPayloadBytes(int)}
     * @throws IllegalStateException   when the connection is in auto-commit mode, where the row would
     *                                 not share the business transaction
     * @throws OutboxException         when the database refuses the insert
     */
    public void append(Connection connection, OutboxMessage message) {
        Objects.requireNonNull(message, "message");
        checkSize(message);
        requireTransaction(connection);
        int shard = shardOf(message.aggregateId());
        OutboxTracing.Append span = tracing == null ? null : tracing.start(message, qualifiedTables.get(shard));
        if (span == null) {
            insertOne(connection, shard, message, message.headers());
            return;
        }
        try {
            insertOne(connection, shard, message, withTraceparent(message.headers(), span.traceparent()));
        } catch (RuntimeException | Error failure) {
            span.failed(failure);
            throw failure;
        } finally {
            span.end();
        }
    }

    private void insertOne(Connection connection, int shard, OutboxMessage message, Map<String, String> headers) {
        Sql.Outbox sql = this.sql.get(shard);
        try {
            try (PreparedStatement insert = connection.prepareStatement(sql.insertOne())) {
                insert.setObject(1, message.id());
                insert.setString(2, message.aggregateType());
                insert.setString(3, message.aggregateId());
                insert.setString(4, message.type());
                insert.setString(5, message.payload());
                insert.setString(6, Json.writeObject(headers));
                insert.setString(7, message.correlationId());
                insert.executeUpdate();
            }
            if (deleteAfterInsert) {
                try (PreparedStatement delete = connection.prepareStatement(sql.deleteOne())) {
                    delete.setObject(1, message.id());
                    delete.executeUpdate();
                }
            }
        } catch (SQLException e) {
            throw new OutboxException("could not append message " + message.id() + " to outbox table "
                    + qualifiedTables().get(shard) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Appends messages in the connection's current transaction, in order, in one round trip (one per
     * shard table when sharded, each in the messages' order). All are validated before any is written.
     *
     * @throws InvalidMessageException when a payload is too large
     * @throws IllegalStateException   when the connection is in auto-commit mode
     * @throws OutboxException         when the database refuses the insert
     */
    public void appendAll(Connection connection, Collection<OutboxMessage> messages) {
        Objects.requireNonNull(messages, "messages");
        if (messages.isEmpty()) {
            return;
        }
        if (messages.size() == 1) {
            append(connection, messages.iterator().next());
            return;
        }
        List<OutboxMessage> all = List.copyOf(messages);
        all.forEach(this::checkSize);
        requireTransaction(connection);
        Map<OutboxMessage, OutboxTracing.Append> spans = tracing == null ? null : startSpans(all);
        try {
            if (tables.size() == 1) {
                insertAll(connection, 0, all, spans);
                return;
            }
            Map<Integer, List<OutboxMessage>> byShard = new TreeMap<>();
            for (OutboxMessage message : all) {
                byShard.computeIfAbsent(shardOf(message.aggregateId()), shard -> new ArrayList<>()).add(message);
            }
            byShard.forEach((shard, batch) -> insertAll(connection, shard, batch, spans));
        } catch (RuntimeException | Error failure) {
            if (spans != null) {
                spans.values().forEach(span -> span.failed(failure));
            }
            throw failure;
        } finally {
            if (spans != null) {
                spans.values().forEach(OutboxTracing.Append::end);
            }
        }
    }

    /** A span per message, by identity; null while there is no tracer. */
    private Map<OutboxMessage, OutboxTracing.Append> startSpans(List<OutboxMessage> messages) {
        Map<OutboxMessage, OutboxTracing.Append> spans = new IdentityHashMap<>();
        for (OutboxMessage message : messages) {
            OutboxTracing.Append span = tracing.start(message, qualifiedTables.get(shardOf(message.aggregateId())));
            if (span == null) {
                return null;
            }
            spans.put(message, span);
        }
        return spans;
    }

    /** {@code headers} with the {@code traceparent} given, unchanged when it is the same. */
    private static Map<String, String> withTraceparent(Map<String, String> headers, String traceparent) {
        if (traceparent == null || traceparent.equals(headers.get(MessageHeaders.TRACEPARENT))) {
            return headers;
        }
        Map<String, String> traced = new LinkedHashMap<>(headers);
        traced.put(MessageHeaders.TRACEPARENT, traceparent);
        return traced;
    }

    private void insertAll(Connection connection, int shard, List<OutboxMessage> batch,
            Map<OutboxMessage, OutboxTracing.Append> spans) {
        Sql.Outbox sql = this.sql.get(shard);
        int n = batch.size();
        UUID[] ids = new UUID[n];
        String[] aggregateTypes = new String[n];
        String[] aggregateIds = new String[n];
        String[] types = new String[n];
        String[] payloads = new String[n];
        String[] headers = new String[n];
        String[] correlationIds = new String[n];
        for (int i = 0; i < n; i++) {
            OutboxMessage message = batch.get(i);
            ids[i] = message.id();
            aggregateTypes[i] = message.aggregateType();
            aggregateIds[i] = message.aggregateId();
            types[i] = message.type();
            payloads[i] = message.payload();
            headers[i] = Json.writeObject(spans == null ? message.headers()
                    : withTraceparent(message.headers(), spans.get(message).traceparent()));
            correlationIds[i] = message.correlationId();
        }
        try {
            Array idArray = connection.createArrayOf("uuid", ids);
            try (PreparedStatement insert = connection.prepareStatement(sql.insertMany())) {
                insert.setArray(1, idArray);
                insert.setArray(2, connection.createArrayOf("varchar", aggregateTypes));
                insert.setArray(3, connection.createArrayOf("varchar", aggregateIds));
                insert.setArray(4, connection.createArrayOf("varchar", types));
                insert.setArray(5, connection.createArrayOf("text", payloads));
                insert.setArray(6, connection.createArrayOf("text", headers));
                insert.setArray(7, connection.createArrayOf("varchar", correlationIds));
                insert.executeUpdate();
            }
            if (deleteAfterInsert) {
                try (PreparedStatement delete = connection.prepareStatement(sql.deleteMany())) {
                    delete.setArray(1, idArray);
                    delete.executeUpdate();
                }
            }
        } catch (SQLException e) {
            throw new OutboxException("could not append " + n + " messages to outbox table "
                    + qualifiedTables().get(shard) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code work} in a new transaction on a connection from {@code dataSource}: commits when it
     * returns, rolls back when it throws (and rethrows), and always returns the connection.
     *
     * @throws X              what the work throws
     * @throws OutboxException when the database fails to begin or commit
     */
    public <R, X extends Exception> R inTransaction(DataSource dataSource, TransactionCallback<R, X> work) throws X {
        Objects.requireNonNull(work, "work");
        return Transactions.inTransaction(dataSource, connection -> work.apply(new OutboxTransaction() {
            @Override
            public Connection connection() {
                return connection;
            }

            @Override
            public void append(OutboxMessage message) {
                Outbox.this.append(connection, message);
            }

            @Override
            public void appendAll(Collection<OutboxMessage> messages) {
                Outbox.this.appendAll(connection, messages);
            }
        }));
    }

    /**
     * Deletes rows created before {@code now - olderThan}, in transactions of at most
     * {@code batchSize} rows each, so a large backlog never holds long locks. For outboxes that keep
     * rows ({@link Builder#deleteAfterInsert(boolean)} false); run it on a schedule.
     *
     * @return the number of rows deleted, over every shard table
     */
    public long purge(DataSource dataSource, Duration olderThan, int batchSize) {
        long deleted = 0;
        for (Sql.Outbox shard : sql) {
            deleted += Purge.inBatches(dataSource, shard.purgeBatch(), List.of(), olderThan, batchSize);
        }
        return deleted;
    }

    /** The outbox table (shard 0's when sharded), qualified with its schema when one is configured. */
    public String qualifiedTable() {
        return qualifiedTables().get(0);
    }

    /** Every shard's table, qualified with its schema when one is configured, in shard order. */
    public List<String> qualifiedTables() {
        return qualifiedTables;
    }

    /**
     * The shard tables' names, unqualified, in shard order: the {@link Builder#table(String) table} itself,
     * then {@code <table>_1} ... {@code <table>_<n-1>}.
     */
    public List<String> tables() {
        return tables;
    }

    /** The table's schema, or null when the connection's {@code search_path} decides. */
    public String schema() {
        return schema;
    }

    /**
     * The shard, in {@code [0, shards)}, that holds the messages of {@code aggregateId}: Kafka's murmur2 hash of
     * its UTF-8 bytes, made non-negative, modulo the shard count (the hash of Kafka's default partitioner).
     * Stable across processes and releases; it changes only with the shard count.
     */
    public int shardOf(String aggregateId) {
        return Shards.of(Objects.requireNonNull(aggregateId, "aggregateId"), tables.size());
    }

    /** Whether rows are deleted in the transaction that inserts them. */
    public boolean deleteAfterInsert() {
        return deleteAfterInsert;
    }

    /** The largest payload accepted, in UTF-8 bytes. */
    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    /** The codec used by {@link #message()}. */
    public PayloadCodec payloadCodec() {
        return payloadCodec;
    }

    private void checkSize(OutboxMessage message) {
        int bytes = message.payloadBytes();
        if (bytes > maxPayloadBytes) {
            throw new InvalidMessageException("payload", "is " + bytes + " bytes, more than the limit of "
                    + maxPayloadBytes + " bytes (Outbox.Builder.maxPayloadBytes)");
        }
    }

    private static void requireTransaction(Connection connection) {
        Objects.requireNonNull(connection, "connection");
        try {
            if (connection.getAutoCommit()) {
                throw new IllegalStateException("the connection is in auto-commit mode, so the outbox row would "
                        + "commit apart from the business change; call setAutoCommit(false) and commit yourself, "
                        + "or use Outbox.inTransaction");
            }
        } catch (SQLException e) {
            throw new OutboxException("could not read the connection's auto-commit mode", e);
        }
    }

    /** Configures an {@link Outbox}. Every setting has a default, stated on its setter. */
    public static final class Builder {
        private String schema;
        private String table = "outbox_event";
        private int shards = 1;
        private boolean deleteAfterInsert;
        private int maxPayloadBytes = 1024 * 1024;
        private PayloadCodec payloadCodec = PayloadCodec.jsonText();
        // Object, not its type: a field of it would fail reflection on this class without the API.
        private Object openTelemetry;

        private Builder() {
        }

        /** The table's schema; default none, so the connection's {@code search_path} decides. */
        public Builder schema(String schema) {
            this.schema = schema == null ? null : SqlIdentifiers.require("schema", schema);
            return this;
        }

        /** The outbox table; default {@code outbox_event} (created by {@code sql/V1__outbox.sql}). */
        public Builder table(String table) {
            this.table = SqlIdentifiers.require("table", table);
            return this;
        }

        /**
         * How many outbox tables to spread messages over, by a stable hash of their aggregate id; default 1.
         * Shard 0 is {@link #table(String)}, shard {@code k} is {@code <table>_k}: create them with
         * {@link OutboxSchema#migrateShards(DataSource, Outbox)} or from {@code sql/outbox_shard.sql}, and run
         * one relay per table. Changing the count moves aggregates between tables: drain the relays first
         * (the relay's README, "Resharding").
         */
        public Builder shards(int shards) {
            if (shards < 1 || shards > 256) {
                throw new IllegalArgumentException("shards must be between 1 and 256, but was " + shards);
            }
            this.shards = shards;
            return this;
        }

        /**
         * Whether to delete each row in the same transaction that inserts it; default false. The WAL
         * still carries the insert to the relay, and the table stays empty. When false, call
         * {@link Outbox#purge} on a schedule.
         */
        public Builder deleteAfterInsert(boolean deleteAfterInsert) {
            this.deleteAfterInsert = deleteAfterInsert;
            return this;
        }

        /** The largest payload accepted, in UTF-8 bytes; default 1 MiB (Kafka's default record limit). */
        public Builder maxPayloadBytes(int maxPayloadBytes) {
            if (maxPayloadBytes < 1) {
                throw new IllegalArgumentException("maxPayloadBytes must be at least 1, but was " + maxPayloadBytes);
            }
            this.maxPayloadBytes = maxPayloadBytes;
            return this;
        }

        /** How {@link Outbox#message()} encodes payload objects; default {@link PayloadCodec#jsonText()}. */
        public Builder payloadCodec(PayloadCodec payloadCodec) {
            this.payloadCodec = Objects.requireNonNull(payloadCodec, "payloadCodec");
            return this;
        }

        /**
         * Traces each append with a span of kind PRODUCER, whose context becomes the row's {@code traceparent}.
         * Its parent is the current span (in an inbox handler, the handler's), else the message's own
         * {@code traceparent}. Default: when the OpenTelemetry API is on the class path, the global
         * {@code OpenTelemetry} once the application has set it ({@code GlobalOpenTelemetry.set}, or the Java
         * agent); until then, and without the API, nothing is traced and the message's {@code traceparent} is
         * written as it is.
         */
        public Builder openTelemetry(OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        public Outbox build() {
            return new Outbox(this);
        }
    }
}
