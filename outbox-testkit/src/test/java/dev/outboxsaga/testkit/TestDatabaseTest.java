package dev.outboxsaga.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(OutboxSagaExtension.class)
class TestDatabaseTest {

    private static final Set<String> NAMES = ConcurrentHashMap.newKeySet();

    private String beforeEachDatabase;

    @BeforeEach
    void rememberDatabase(TestDatabase db) {
        beforeEachDatabase = db.name();
    }

    @AfterAll
    static void everyTestHadItsOwnDatabaseAndAllAreDropped(TestInfrastructure infra) throws Exception {
        assertThat(NAMES).hasSize(4);
        PostgresServer pg = infra.postgres();
        try (Connection c = java.sql.DriverManager.getConnection(pg.adminJdbcUrl(), pg.username(), pg.password());
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")) {
            while (rs.next()) {
                assertThat(NAMES).doesNotContain(rs.getString(1));
            }
        }
    }

    @Test
    void serverIsSetUpForLogicalDecoding(TestDatabase db) {
        NAMES.add(db.name());
        assertThat(db.name()).isEqualTo(beforeEachDatabase).matches("t_\\d+_[0-9a-f]+");
        List<String> settings = db.jdbi().withHandle(h -> List.of(
                show(h, "wal_level"), show(h, "synchronous_commit"), show(h, "max_replication_slots"),
                show(h, "max_wal_senders"), show(h, "max_connections"), show(h, "server_version_num")));
        assertThat(settings.subList(0, 5)).containsExactly("logical", "on", "64", "64", "300");
        assertThat(Integer.parseInt(settings.get(5))).isBetween(170000, 179999);
    }

    @Test
    void eachTestGetsAnEmptyDatabaseOfItsOwn(TestDatabase db) {
        NAMES.add(db.name());
        db.execute("CREATE TABLE account (id bigint PRIMARY KEY, balance bigint NOT NULL)");
        db.jdbi().useHandle(h -> h.execute("INSERT INTO account VALUES (1, 100)"));
        Long balance = db.jdbi().withHandle(h -> h.createQuery("SELECT balance FROM account").mapTo(Long.class).one());
        assertThat(balance).isEqualTo(100L);
        assertThat(db.jdbcUrl()).endsWith("/" + db.name());
    }

    @Test
    void aPgoutputReplicationSlotCanBeCreatedAndDropped(TestDatabase db) throws Exception {
        NAMES.add(db.name());
        try (Connection c = db.openConnection(); Statement s = c.createStatement()) {
            s.execute("SELECT pg_create_logical_replication_slot('x', 'pgoutput')");
            try (ResultSet rs = s.executeQuery(
                    "SELECT plugin, database FROM pg_replication_slots WHERE slot_name = 'x'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("pgoutput");
                assertThat(rs.getString(2)).isEqualTo(db.name());
            }
            s.execute("SELECT pg_drop_replication_slot('x')");
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'x'")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        }
    }

    @Test
    void aSlotLeftBehindDoesNotKeepTheDatabaseFromBeingDropped(TestDatabase db) {
        NAMES.add(db.name());
        String slot = "left_" + db.name();
        db.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        db.execute("CREATE PUBLICATION p FOR ALL TABLES");
        // TestDatabase.close() drops the slot, then the database; @AfterAll checks the database is gone.
    }

    private static String show(Handle h, String setting) {
        return h.createQuery("SHOW " + setting).mapTo(String.class).one();
    }
}
