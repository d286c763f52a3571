package dev.outboxsaga.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.testkit.internal.EmbeddedPostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class EmbeddedPostgresOptionsTest {

    @Test
    void fsyncCanBeTurnedOnAndThePostmasterPidIsTheRealServer() throws Exception {
        EmbeddedPostgresOptions options = EmbeddedPostgresOptions.builder().fsync(true).build();
        long pid;
        try (PostgresServer pg = PostgresServer.embedded(options)) {
            pid = ((EmbeddedPostgresServer) pg).postmasterPid();
            assertThat(ProcessHandle.of(pid)).hasValueSatisfying(h ->
                    assertThat(h.info().command().orElse("")).endsWith("postgres"));
            try (Connection c = DriverManager.getConnection(pg.adminJdbcUrl(), pg.username(), pg.password());
                    Statement s = c.createStatement()) {
                assertThat(show(s, "fsync")).isEqualTo("on");
                assertThat(show(s, "synchronous_commit")).isEqualTo("on");
                assertThat(show(s, "wal_level")).isEqualTo("logical");
            }
        }
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(java.util.Optional.of(true));
    }

    @Test
    void builderRejectsBadPorts() {
        assertThatThrownBy(() -> EmbeddedPostgresOptions.builder().port(70000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(EmbeddedPostgresOptions.defaults().port()).isZero();
        assertThat(EmbeddedPostgresOptions.defaults().fsync()).isFalse();
    }

    private static String show(Statement s, String name) throws Exception {
        try (ResultSet rs = s.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
