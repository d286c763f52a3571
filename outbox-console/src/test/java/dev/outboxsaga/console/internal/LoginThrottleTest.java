package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {

    private static final String OUTSIDER = "203.0.113.7";
    private static final String OPERATOR = "198.51.100.20";

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-30T10:00:00Z"));
    private final LoginThrottle throttle = new LoginThrottle(clock);

    @Test
    void afterTheFreeFailuresEachFurtherAttemptWaitsADoublingDelayUpToTheMaximum() {
        for (int i = 0; i < LoginThrottle.FREE_PER_NAME; i++) {
            assertThat(throttle.begin(OUTSIDER, "alice")).as("free attempt " + (i + 1)).isPresent();
        }
        Duration expected = LoginThrottle.FIRST_DELAY;
        for (int round = 0; round < 12; round++) {
            assertThat(throttle.begin(OUTSIDER, " ALICE ")).as("names compare without case or blanks").isEmpty();
            Duration wait = throttle.retryAfter(OUTSIDER, "alice");
            assertThat(wait).as("round " + round).isEqualTo(expected);
            clock.now = clock.now.plus(wait);
            assertThat(throttle.begin(OUTSIDER, "alice")).as("allowed once the delay passed").isPresent();
            expected = expected.multipliedBy(2).compareTo(LoginThrottle.MAX_DELAY) > 0 ? LoginThrottle.MAX_DELAY
                    : expected.multipliedBy(2);
        }
        assertThat(throttle.retryAfter(OUTSIDER, "alice")).isEqualTo(LoginThrottle.MAX_DELAY);
    }

    @Test
    void anOutsidersFailuresForAnOperatorsNameDoNotDelayTheOperatorsOwnAddress() {
        for (int i = 0; i < 6; i++) {
            throttle.begin(OUTSIDER, "alice");
        }
        assertThat(throttle.begin(OUTSIDER, "alice")).isEmpty();
        assertThat(throttle.retryAfter(OPERATOR, "alice")).isZero();
        assertThat(throttle.begin(OPERATOR, "alice")).isPresent();
    }

    @Test
    void anAddressSprayingNewUserNamesIsDelayedAfterItsOwnBudget() {
        for (int i = 0; i < LoginThrottle.FREE_PER_ADDRESS; i++) {
            assertThat(throttle.begin(OUTSIDER, "user-" + i)).isPresent();
        }
        assertThat(throttle.begin(OUTSIDER, "yet-another-name")).as("over the address's budget, before hashing")
                .isEmpty();
        assertThat(throttle.begin(OPERATOR, "yet-another-name")).as("other addresses are not delayed").isPresent();
    }

    @Test
    void aSuccessClearsTheNameAndGivesTheAddressItsAttemptBack() {
        for (int i = 0; i < LoginThrottle.FREE_PER_NAME - 1; i++) {
            throttle.begin(OPERATOR, "carol");
        }
        throttle.succeeded(throttle.begin(OPERATOR, "carol").orElseThrow());
        for (int i = 0; i < LoginThrottle.FREE_PER_NAME; i++) {
            assertThat(throttle.begin(OPERATOR, "carol")).as("free again after the success").isPresent();
        }
        assertThat(throttle.begin(OPERATOR, "carol")).isEmpty();
    }

    @Test
    void anAbandonedAttemptIsNotCounted() {
        for (int i = 0; i < 10; i++) {
            throttle.abandoned(throttle.begin(OPERATOR, "dave").orElseThrow());
        }
        assertThat(throttle.retryAfter(OPERATOR, "dave")).isZero();
    }

    @Test
    void failuresAreForgottenAfterAQuietPeriod() {
        for (int i = 0; i < 8; i++) {
            clock.now = clock.now.plus(throttle.retryAfter(OUTSIDER, "erin"));
            throttle.begin(OUTSIDER, "erin");
        }
        clock.now = clock.now.plus(LoginThrottle.FORGET_AFTER);
        for (int i = 0; i < LoginThrottle.FREE_PER_NAME; i++) {
            assertThat(throttle.begin(OUTSIDER, "erin")).isPresent();
        }
    }

    @Test
    void aBurstOfParallelAttemptsGetsNoMoreThanTheFreeOnes() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            Callable<Optional<LoginThrottle.Attempt>> attempt = () -> throttle.begin(OUTSIDER, "frank");
            long allowed = 0;
            for (Future<Optional<LoginThrottle.Attempt>> result : pool.invokeAll(
                    IntStream.range(0, 40).mapToObj(i -> attempt).toList())) {
                allowed += result.get().isPresent() ? 1 : 0;
            }
            assertThat(allowed).isEqualTo(LoginThrottle.FREE_PER_NAME);
        } finally {
            pool.shutdownNow();
        }
    }
}
