package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-30T10:00:00Z"));
    private final LoginThrottle throttle = new LoginThrottle(clock);

    @Test
    void aNameIsRefusedAfterFiveFailuresUntilTheOldestIsFiveMinutesOld() {
        for (int i = 0; i < LoginThrottle.MAX_FAILURES; i++) {
            assertThat(throttle.wait("Alice")).isZero();
            throttle.failed("alice");
            clock.now = clock.now.plusSeconds(10);
        }
        assertThat(throttle.wait(" ALICE ")).as("names compare without case or blanks")
                .isEqualTo(Duration.ofMinutes(5).minusSeconds(50));
        assertThat(throttle.wait("bob")).isZero();

        clock.now = clock.now.plus(Duration.ofMinutes(5).minusSeconds(50));
        assertThat(throttle.wait("alice")).as("the oldest failure left the window").isZero();
        throttle.failed("alice");
        assertThat(throttle.wait("alice")).as("five in the window again").isPositive();
    }

    @Test
    void aSuccessClearsTheName() {
        for (int i = 0; i < LoginThrottle.MAX_FAILURES - 1; i++) {
            throttle.failed("carol");
        }
        throttle.succeeded("carol");
        throttle.failed("carol");
        assertThat(throttle.wait("carol")).isZero();
    }
}
