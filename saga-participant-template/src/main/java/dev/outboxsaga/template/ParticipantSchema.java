package dev.outboxsaga.template;

import dev.outboxsaga.core.DatabaseTransactions;
import dev.outboxsaga.core.OutboxException;
import dev.outboxsaga.core.OutboxSchema;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * The participant's tables: outbox-saga's own (outbox, inbox, dead letters, relay, saga replies) and
 * the service's business tables from the class-path folder {@value #FOLDER}. Applied at every start;
 * every script is idempotent. With Flyway or Liquibase, point the tool at the same files instead.
 */
public final class ParticipantSchema {

    /** Where the business migrations live on the class path ({@code src/main/resources/db/participant/}). */
    public static final String FOLDER = "db/participant/";

    /** The business migrations, in the order they apply. Add yours at the end; never edit an applied one. */
    public static final List<String> SCRIPTS = List.of("V1__inventory.sql");

    /** Serializes concurrent starts of several instances: "partic" in ASCII. */
    private static final long MIGRATION_LOCK = 0x706172746963L;

    private ParticipantSchema() {
    }

    /**
     * Applies {@link OutboxSchema#migrate(DataSource)}, then each script of {@link #SCRIPTS} in its own
     * transaction under an advisory lock.
     *
     * @throws IllegalStateException naming the script that is missing or failed
     */
    public static void migrate(DataSource dataSource) {
        OutboxSchema.migrate(dataSource);
        for (String script : SCRIPTS) {
            String text = read(script);
            try {
                DatabaseTransactions.inTransaction(dataSource, connection -> {
                    try (Statement statement = connection.createStatement()) {
                        statement.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
                        statement.execute(text);
                    }
                    return null;
                });
            } catch (OutboxException e) {
                throw new IllegalStateException("migration " + FOLDER + script + " failed: " + e.getMessage(), e);
            }
        }
    }

    private static String read(String script) {
        try (InputStream in = ParticipantSchema.class.getClassLoader().getResourceAsStream(FOLDER + script)) {
            if (in == null) {
                throw new IllegalStateException("migration " + FOLDER + script + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("could not read migration " + FOLDER + script, e);
        }
    }
}
