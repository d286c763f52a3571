package dev.outboxsaga.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(OutboxSagaExtension.class)
class PostgresRestartTest {

    @Test
    void restartCutsConnectionsAndKeepsPortDataAndSlots(TestDatabase db, TestInfrastructure infra) throws Exception {
        assumeTrue(infra.postgres() instanceof dev.outboxsaga.testkit.internal.EmbeddedPostgresServer,
                "restarting PostgreSQL needs the embedded server");
        db.execute("CREATE TABLE kept (n int)");
        db.execute("INSERT INTO kept VALUES (42)");
        db.execute("SELECT pg_create_logical_replication_slot('kept_slot', 'pgoutput')");
        int port = infra.postgres().port();
        try (Connection before = db.openConnection()) {
            infra.postgres().restart();
            assertThatThrownBy(() -> before.createStatement().executeQuery("SELECT 1")).isInstanceOf(SQLException.class);
        }
        assertThat(infra.postgres().port()).isEqualTo(port);
        try (Connection after = db.openConnection(); Statement statement = after.createStatement()) {
            try (ResultSet rows = statement.executeQuery("SELECT n FROM kept")) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getInt(1)).isEqualTo(42);
            }
            try (ResultSet rows = statement.executeQuery(
                    "SELECT current_setting('wal_level'), (SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'kept_slot')")) {
                rows.next();
                assertThat(rows.getString(1)).isEqualTo("logical");
                assertThat(rows.getLong(2)).isEqualTo(1);
            }
        }
    }

    @Test
    void crashKeepsCommittedRowsAndSlotsAndLosesTheRest(TestDatabase db, TestInfrastructure infra) throws Exception {
        db.execute("CREATE TABLE crashed (n int)");
        db.execute("SELECT pg_create_logical_replication_slot('crash_slot', 'pgoutput')");
        int port = infra.postgres().port();
        try (Connection open = db.openConnection(); Statement statement = open.createStatement()) {
            statement.execute("INSERT INTO crashed VALUES (1)");
            open.setAutoCommit(false);
            statement.execute("INSERT INTO crashed VALUES (2)");
            infra.postgres().crash();
            assertThatThrownBy(db::openConnection).isInstanceOf(SQLException.class);
            assertThatThrownBy(open::commit).isInstanceOf(SQLException.class);
        }
        infra.postgres().restart();
        assertThat(infra.postgres().port()).isEqualTo(port);
        try (Connection after = db.openConnection(); Statement statement = after.createStatement();
                ResultSet rows = statement.executeQuery("SELECT array_agg(n)::text,"
                        + " (SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'crash_slot') FROM crashed")) {
            rows.next();
            assertThat(rows.getString(1)).isEqualTo("{1}");
            assertThat(rows.getLong(2)).isEqualTo(1);
        }
    }
}
