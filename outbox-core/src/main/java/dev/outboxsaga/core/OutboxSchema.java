package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.Transactions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * The versioned SQL scripts of outbox-saga (the project's {@code sql/} folder, shipped in this jar
 * under {@code dev/outboxsaga/sql/}), and a way to apply them for services that use no migration
 * tool. With Flyway or Liquibase, point the tool at the same files instead.
 *
 * <p>Every script is idempotent, so applying them again is harmless; they run under a transaction
 * advisory lock so concurrent starts do not race.
 */
public final class OutboxSchema {

    /** The scripts, in the order they apply. */
    public static final List<String> SCRIPTS = List.of(
            "V1__outbox.sql",
            "V2__inbox.sql",
            "V3__dead_letter.sql",
            "V4__relay.sql",
            "V5__saga.sql",
            "V6__relay_slot.sql",
            "V7__saga_guards.sql",
            "V8__operations.sql",
            "V9__saga_conditional_steps.sql",
            "V10__saga_deadline.sql",
            "V11__saga_parallel_steps.sql",
            "V12__saga_deferred_replies.sql",
            "V13__saga_definition.sql");

    private static final String RESOURCE_FOLDER = "dev/outboxsaga/sql/";
    /** An arbitrary constant shared by every process that migrates: "outbox" in ASCII. */
    private static final long MIGRATION_LOCK = 0x6f7574626f78L;

    private OutboxSchema() {
    }

    /**
     * Applies every script in {@link #SCRIPTS} to the database behind {@code dataSource}, each in its
     * own transaction, creating the tables in the connection's default schema.
     *
     * @throws OutboxException when a script fails; earlier scripts stay applied
     */
    public static void migrate(DataSource dataSource) {
        for (String script : SCRIPTS) {
            String text = script(script);
            Transactions.inTransaction(dataSource, connection -> {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
                    statement.execute(text);
                }
                return null;
            });
        }
    }

    /** The template that creates one shard table of a sharded outbox: see {@link #migrateShards}. */
    public static final String SHARD_SCRIPT = "outbox_shard.sql";

    /**
     * Creates the shard tables of {@code outbox} ({@link Outbox.Builder#shards(int)}) that do not exist yet,
     * each {@code LIKE} the outbox table {@code INCLUDING ALL}, from {@value #SHARD_SCRIPT}: after
     * {@link #migrate(DataSource)}, which creates shard 0. Does nothing for an outbox of one table.
     *
     * @throws OutboxException when a statement fails; shard tables created before stay
     */
    public static void migrateShards(DataSource dataSource, Outbox outbox) {
        String template = script(SHARD_SCRIPT);
        List<String> tables = outbox.qualifiedTables();
        for (String table : tables.subList(1, tables.size())) {
            // The names come from Outbox.Builder, which admits plain lower-case identifiers only.
            String text = template.replace("${shard_table}", table).replace("${outbox_table}", tables.get(0));
            Transactions.inTransaction(dataSource, connection -> {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
                    statement.execute(text);
                }
                return null;
            });
        }
    }

    /** The text of one script from {@link #SCRIPTS}, or {@link #SHARD_SCRIPT}. */
    public static String script(String name) {
        try (InputStream in = OutboxSchema.class.getClassLoader().getResourceAsStream(RESOURCE_FOLDER + name)) {
            if (in == null) {
                throw new OutboxException("migration script " + name + " is missing from the class path at "
                        + RESOURCE_FOLDER);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new OutboxException("could not read migration script " + name, e);
        }
    }
}
