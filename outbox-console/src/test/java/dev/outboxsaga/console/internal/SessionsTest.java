package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.ConsoleConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SessionsTest {

    @Test
    void aSessionEndsAfterTheIdleTimeoutAndEachRequestRenewsIt() {
        ManualClock clock = new ManualClock(Instant.parse("2024-05-01T10:00:00Z"));
        Sessions sessions = new Sessions(Duration.ofMinutes(30), clock);
        Sessions.Session session = sessions.create("alice", ConsoleConfig.Role.OPERATOR);

        clock.now = clock.now.plus(Duration.ofMinutes(29));
        assertThat(sessions.find(session.id)).contains(session);
        clock.now = clock.now.plus(Duration.ofMinutes(29));
        assertThat(sessions.find(session.id)).as("renewed by the last request").contains(session);
        clock.now = clock.now.plus(Duration.ofMinutes(31));
        assertThat(sessions.find(session.id)).isEmpty();
        assertThat(sessions.size()).isZero();
    }

    @Test
    void idsAndTokensAreRandom256BitValues() {
        Sessions sessions = new Sessions(Duration.ofMinutes(30), Clock.systemUTC());
        Sessions.Session a = sessions.create("alice", ConsoleConfig.Role.VIEWER);
        Sessions.Session b = sessions.create("alice", ConsoleConfig.Role.VIEWER);
        assertThat(a.id).hasSize(43).isNotEqualTo(b.id).isNotEqualTo(a.csrfToken);
        assertThat(a.csrfToken).hasSize(43).isNotEqualTo(b.csrfToken);
        assertThat(a.csrfMatches(a.csrfToken)).isTrue();
        assertThat(a.csrfMatches(b.csrfToken)).isFalse();
        assertThat(a.csrfMatches(null)).isFalse();
        assertThat(sessions.find("forged")).isEmpty();
        assertThat(a.actor()).isEqualTo("console:alice");
    }
}
