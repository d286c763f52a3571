package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.core.OutboxException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DatabaseFailuresTest {

    @ParameterizedTest
    @ValueSource(strings = {"08006", "08003", "40001", "40P01", "53100", "53200", "55P03", "57P01", "57P02", "57P03",
            "57014"})
    void transientStatesAreTransientEvenWhenWrapped(String state) {
        SQLException sql = new SQLException("boom", state);
        assertThat(DatabaseFailures.isTransient(sql)).isTrue();
        assertThat(DatabaseFailures.isTransient(new OutboxException("could not append", sql))).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"23505", "23503", "22P02", "42P01", "42501", "55000", "P0001", "XX000"})
    void deterministicStatesAreNot(String state) {
        assertThat(DatabaseFailures.isTransient(new OutboxException("x", new SQLException("boom", state)))).isFalse();
    }

    @Test
    void poolTimeoutsAndSocketTimeoutsAreTransientOtherFailuresAreNot() {
        assertThat(DatabaseFailures.isTransient(new SQLTransientConnectionException("pool: no connection in 30 s")))
                .isTrue();
        assertThat(DatabaseFailures.isTransient(new RuntimeException(new java.net.SocketTimeoutException("read"))))
                .isTrue();
        assertThat(DatabaseFailures.isTransient(new IllegalStateException("bug"))).isFalse();
        assertThat(DatabaseFailures.isTransient(new SQLException("no state"))).isFalse();
    }
}
