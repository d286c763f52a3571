package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The notification invariant sees a lost notification, a duplicated one, and one that should not exist. */
class NotificationCheckTest {

    private static Map<String, String> outcomes(String... idAndState) {
        Map<String, String> outcomes = new HashMap<>();
        for (int i = 0; i < idAndState.length; i += 2) {
            outcomes.put(idAndState[i], idAndState[i + 1]);
        }
        return outcomes;
    }

    @Test
    void oneForEachCompletedTransferAndNoneForTheOthersPasses() {
        assertThat(NotificationCheck.violations(outcomes("t-1", "COMPLETED", "t-2", "COMPENSATED", "t-3", "FAILED",
                "t-4", "RUNNING"), Map.of("t-1", 1L))).isEmpty();
    }

    @Test
    void aLostADuplicatedAndAnUnexpectedNotificationAreViolations() {
        assertThat(NotificationCheck.violations(outcomes("t-1", "COMPLETED", "t-2", "COMPLETED", "t-3", "COMPENSATED"),
                Map.of("t-2", 2L, "t-3", 1L, "t-9", 1L))).containsExactly(
                "t-1 COMPLETED: 0 notification(s), expected 1",
                "t-2 COMPLETED: 2 notification(s), expected 1",
                "t-3 COMPENSATED: 1 notification(s), expected 0",
                "t-9: 1 notification(s) for a transfer that was never started");
    }
}
