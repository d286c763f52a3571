package dev.outboxsaga.sample.bank;

import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.core.DatabaseTransactions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Statement;
import javax.sql.DataSource;

/** Applies outbox-saga's migrations and some of the demo's own scripts. */
final class Schema {

    private Schema() {
    }

    /** Applies outbox-saga's migrations, then {@code scripts} (under {@code /db/}, each idempotent) in order. */
    static void migrate(DataSource dataSource, String... scripts) {
        OutboxSchema.migrate(dataSource);
        for (String script : scripts) {
            String sql;
            try (InputStream in = Schema.class.getResourceAsStream("/db/" + script)) {
                sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException | NullPointerException e) {
                throw new IllegalStateException("missing migration db/" + script, e);
            }
            DatabaseTransactions.inTransaction(dataSource, connection -> {
                try (Statement statement = connection.createStatement()) {
                    statement.execute(sql);
                }
                return null;
            });
        }
    }
}
