package dev.outboxsaga.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(OutboxSagaExtension.class)
class OutboxWriteTest {

    private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private TestDatabase db;
    private final Outbox outbox = Outbox.builder().build();

    @BeforeEach
    void migrate(TestDatabase db) {
        this.db = db;
        OutboxSchema.migrate(db.dataSource());
        db.execute("CREATE TABLE account (id text PRIMARY KEY, balance bigint NOT NULL)");
    }

    private OutboxMessage.Builder debited(String account) {
        return outbox.message().aggregate("account", account).type("Debited").payload("{\"amount\": 10}");
    }

    @Test
    void committedTransactionKeepsBusinessRowAndMessageWithEveryField() throws Exception {
        UUID id = UUID.randomUUID();
        outbox.inTransaction(db.dataSource(), tx -> {
            try (Statement statement = tx.connection().createStatement()) {
                statement.executeUpdate("INSERT INTO account VALUES ('42', 90)");
            }
            tx.append(debited("42").id(id).correlationId("saga-7").traceparent(TRACEPARENT)
                    .header("tenant", "acme").build());
            return null;
        });

        assertThat(scalar("SELECT balance FROM account")).isEqualTo(90L);
        var row = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT id, aggregatetype, aggregateid, type, payload::text AS payload, headers->>'traceparent' AS tp, "
                        + "headers->>'tenant' AS tenant, correlationid, created_at IS NOT NULL AS stamped FROM outbox_event")
                .mapToMap().one());
        assertThat(row).containsEntry("id", id)
                .containsEntry("aggregatetype", "account")
                .containsEntry("aggregateid", "42")
                .containsEntry("type", "Debited")
                .containsEntry("payload", "{\"amount\": 10}")
                .containsEntry("tp", TRACEPARENT)
                .containsEntry("tenant", "acme")
                .containsEntry("correlationid", "saga-7")
                .containsEntry("stamped", true);
    }

    @Test
    void rolledBackTransactionLeavesNeitherBusinessRowNorMessage() {
        assertThatThrownBy(() -> outbox.inTransaction(db.dataSource(), tx -> {
            try (Statement statement = tx.connection().createStatement()) {
                statement.executeUpdate("INSERT INTO account VALUES ('42', 90)");
            }
            tx.append(debited("42").build());
            throw new java.io.IOException("business rule says no");
        })).isInstanceOf(java.io.IOException.class).hasMessage("business rule says no");

        assertThat(count("account")).isZero();
        assertThat(count("outbox_event")).isZero();
    }

    @Test
    void databaseTransactionCommitsTheCallersWorkAndReturnsItsResult() {
        long balance = DatabaseTransactions.inTransaction(db.dataSource(), connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("INSERT INTO account VALUES ('7', 70)");
            }
            return 70L;
        });

        assertThat(balance).isEqualTo(70L);
        assertThat(scalar("SELECT balance FROM account WHERE id = '7'")).isEqualTo(70L);
    }

    @Test
    void databaseTransactionRollsBackOnTheCallersCheckedExceptionAndWrapsSqlFailures() {
        assertThatThrownBy(() -> DatabaseTransactions.inTransaction(db.dataSource(), connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("INSERT INTO account VALUES ('7', 70)");
            }
            throw new java.io.IOException("business rule says no");
        })).isInstanceOf(java.io.IOException.class).hasMessage("business rule says no");
        assertThat(count("account")).isZero();

        assertThatThrownBy(() -> DatabaseTransactions.inTransaction(db.dataSource(), connection -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("INSERT INTO account VALUES ('7', 70)");
                statement.executeUpdate("INSERT INTO no_such_table VALUES (1)");
            }
            return null;
        })).isInstanceOf(OutboxException.class).hasMessageContaining("no_such_table");
        assertThat(count("account")).isZero();
    }

    @Test
    void callerOwnedConnectionIsNeitherCommittedNorClosedByTheOutbox() throws Exception {
        try (Connection connection = db.openConnection()) {
            connection.setAutoCommit(false);
            outbox.append(connection, debited("1").build());
            outbox.appendAll(connection, List.of(debited("2").build(), debited("3").build()));
            assertThat(connection.isClosed()).isFalse();
            assertThat(count("outbox_event")).as("invisible to others until the caller commits").isZero();
            connection.rollback();
        }
        assertThat(count("outbox_event")).isZero();
    }

    @Test
    void refusesAnAutoCommitConnectionBecauseTheRowWouldCommitAlone() throws Exception {
        try (Connection connection = db.openConnection()) {
            assertThatThrownBy(() -> outbox.append(connection, debited("1").build()))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("auto-commit");
        }
        assertThat(count("outbox_event")).isZero();
    }

    @Test
    void appendsManyInOneRoundTripKeepingTheirOrderAndFields() throws Exception {
        List<OutboxMessage> batch = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            batch.add(outbox.message().aggregate("account", "a" + (i % 7)).type("T" + i)
                    .payload("{\"i\": " + i + "}").correlationId(i % 2 == 0 ? "c" + i : null)
                    .header("n", Integer.toString(i)).build());
        }
        outbox.inTransaction(db.dataSource(), tx -> {
            tx.appendAll(batch);
            return null;
        });
        List<String> stored = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT id || '|' || aggregateid || '|' || type || '|' || payload::text || '|' || coalesce(correlationid, '-') "
                        + "|| '|' || (headers->>'n') FROM outbox_event ORDER BY ctid")
                .mapTo(String.class).list());
        List<String> expected = batch.stream().map(m -> m.id() + "|" + m.aggregateId() + "|" + m.type() + "|"
                + m.payload() + "|" + (m.correlationId() == null ? "-" : m.correlationId()) + "|" + m.headers().get("n"))
                .toList();
        assertThat(stored).containsExactlyElementsOf(expected);
    }

    @Test
    void worksOnAJdbiHandleInsideItsTransaction() {
        db.jdbi().useTransaction(handle -> {
            handle.execute("INSERT INTO account VALUES ('7', 1)");
            JdbiOutbox.append(outbox, handle, debited("7").build());
            JdbiOutbox.appendAll(outbox, handle, List.of(debited("7").build()));
        });
        assertThat(count("account")).isEqualTo(1);
        assertThat(count("outbox_event")).isEqualTo(2);
    }

    @Test
    void badInputIsRefusedBeforeTheInsertAndWritesNothing() {
        Outbox small = Outbox.builder().maxPayloadBytes(16).build();
        assertThatThrownBy(() -> small.inTransaction(db.dataSource(), tx -> {
            tx.append(small.message().aggregate("account", "1").type("Big").payload("{\"text\":\"0123456789\"}").build());
            return null;
        })).isInstanceOf(InvalidMessageException.class).hasMessageContaining("payload is 21 bytes, more than the limit of 16");
        assertThatThrownBy(() -> small.inTransaction(db.dataSource(), tx -> {
            tx.appendAll(List.of(
                    small.message().aggregate("account", "1").type("Ok").payload("{}").build(),
                    small.message().aggregate("account", "1").type("Big").payload("{\"text\":\"0123456789\"}").build()));
            return null;
        })).isInstanceOf(InvalidMessageException.class);
        assertThatThrownBy(() -> outbox.inTransaction(db.dataSource(), tx -> {
            tx.append(outbox.message().aggregate("account", " ").type("T").payload("{}").build());
            return null;
        })).isInstanceOf(InvalidMessageException.class).hasMessage("aggregateId must not be blank");
        assertThat(count("outbox_event")).isZero();
    }

    @Test
    void tableAndSchemaNamesAreValidatedAsIdentifiers() {
        assertThatThrownBy(() -> Outbox.builder().table("outbox; DROP TABLE account"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("table must be a lower-case SQL identifier");
        assertThatThrownBy(() -> Outbox.builder().schema("Public"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("schema");
    }

    @Test
    void customSchemaAndTableAreUsed() throws Exception {
        db.execute("CREATE SCHEMA billing");
        db.execute("CREATE TABLE billing.events (LIKE outbox_event INCLUDING ALL)");
        Outbox custom = Outbox.builder().schema("billing").table("events").build();
        custom.inTransaction(db.dataSource(), tx -> {
            tx.append(custom.message().aggregate("invoice", "1").type("Issued").payload("{}").build());
            return null;
        });
        assertThat(count("billing.events")).isEqualTo(1);
        assertThat(count("outbox_event")).isZero();
    }

    @Test
    void deleteAfterInsertKeepsTheTableEmptyWhileTheWalStillCarriesEveryInsert() throws Exception {
        db.execute("CREATE PUBLICATION outbox_pub FOR TABLE outbox_event");
        db.execute("SELECT pg_create_logical_replication_slot('outbox_slot', 'pgoutput')");
        Outbox deleting = Outbox.builder().deleteAfterInsert(true).build();
        deleting.inTransaction(db.dataSource(), tx -> {
            tx.append(debited("1").build());
            tx.appendAll(List.of(debited("2").build(), debited("3").build()));
            return null;
        });
        assertThat(count("outbox_event")).isZero();

        int inserts = 0;
        int deletes = 0;
        try (Connection connection = db.openConnection(); Statement statement = connection.createStatement();
             ResultSet changes = statement.executeQuery("SELECT data FROM pg_logical_slot_get_binary_changes("
                     + "'outbox_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'outbox_pub')")) {
            while (changes.next()) {
                byte kind = changes.getBytes(1)[0];
                inserts += kind == 'I' ? 1 : 0;
                deletes += kind == 'D' ? 1 : 0;
            }
        }
        assertThat(inserts).isEqualTo(3);
        assertThat(deletes).isEqualTo(3);
    }

    @Test
    void purgeDeletesOldRowsInBoundedBatchesAndKeepsNewOnes() throws Exception {
        List<OutboxMessage> batch = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            batch.add(debited("x").build());
        }
        outbox.inTransaction(db.dataSource(), tx -> {
            tx.appendAll(batch);
            return null;
        });
        db.execute("UPDATE outbox_event SET created_at = now() - interval '2 days' WHERE id IN "
                + "(SELECT id FROM outbox_event ORDER BY id LIMIT 20)");
        assertThat(outbox.purge(db.dataSource(), Duration.ofDays(1), 6)).isEqualTo(20);
        assertThat(count("outbox_event")).isEqualTo(5);
        assertThatThrownBy(() -> outbox.purge(db.dataSource(), Duration.ofDays(1), 0))
                .hasMessageContaining("batchSize");
    }

    @Test
    void migrationsCanRunAgainHarmlessly() {
        OutboxSchema.migrate(db.dataSource());
        assertThat(count("outbox_event")).isZero();
    }

    private long count(String table) {
        return scalar("SELECT count(*) FROM " + table);
    }

    private long scalar(String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }
}
