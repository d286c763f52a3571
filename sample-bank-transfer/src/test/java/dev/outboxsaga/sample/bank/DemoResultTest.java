package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoResultTest {

    @Test
    void aStallIsTimeWithoutAnEndingWhileAnUndelayedSagaIsInFlight() {
        List<long[]> sagas = List.of(
                new long[] {0, 100, 0},
                new long[] {50, 150, 0},
                // Nothing ends from 150 to 2,000 while this one, with no injected delay, is in flight from 200.
                new long[] {200, 2_000, 0},
                new long[] {1_900, 2_100, 0});
        assertThat(DemoResult.longestStall(sagas)).isEqualTo(1_800);
    }

    @Test
    void sagasWaitingOnAnInjectedDelayDoNotCountAsAStall() {
        List<long[]> sagas = List.of(
                new long[] {0, 100, 0},
                new long[] {50, 5_000, 1},
                new long[] {4_900, 5_100, 0});
        assertThat(DemoResult.longestStall(sagas)).isEqualTo(100);
    }

    @Test
    void aLostOrDuplicatedNotificationFailsTheVerdict() {
        assertThat(result(0).invariantsHold()).isTrue();
        assertThat(result(0).resultLine()).contains(" notifications_misapplied=0 ");
        assertThat(result(1).invariantsHold()).isFalse();
        assertThat(result(1).resultLine()).contains(" notifications_misapplied=1 ");
    }

    @Test
    void aCancelledTransferNotUndoneFailsTheVerdictAndTheResultLineCountsTheCancels() {
        DemoResult.Cancels honoured = new DemoResult.Cancels(5, 3, Map.of("debit", 2L, "credit", 1L),
                Map.of("COMPLETED", 2L), 0, 0, List.of());
        assertThat(result(0, honoured).invariantsHold()).isTrue();
        assertThat(result(0, honoured).resultLine())
                .contains(" cancels=5 cancelled=3 cancels_too_late=2 ").contains(" cancels_misapplied=0 ");
        DemoResult.Cancels broken = new DemoResult.Cancels(5, 2, Map.of("debit", 2L), Map.of("COMPLETED", 2L), 0, 1,
                List.of("t-1 cancelled: ended COMPLETED, not COMPENSATED"));
        assertThat(result(0, broken).invariantsHold()).isFalse();
        assertThat(result(0, broken).resultLine()).contains(" cancels_misapplied=1 ");
    }

    @Test
    void aLimitHoldOrScreeningLeftBehindFailsTheVerdict() {
        assertThat(result(0, DemoResult.Cancels.none(), 1).invariantsHold()).isFalse();
        assertThat(result(0, DemoResult.Cancels.none(), 1).resultLine()).contains(" checks_unbalanced=1 ");
        assertThat(result(0).resultLine()).contains(" checks_unbalanced=0 ");
    }

    private static DemoResult result(long notificationsMisapplied) {
        return result(notificationsMisapplied, DemoResult.Cancels.none());
    }

    private static DemoResult result(long notificationsMisapplied, DemoResult.Cancels cancels) {
        return result(notificationsMisapplied, cancels, 0);
    }

    private static DemoResult result(long notificationsMisapplied, DemoResult.Cancels cancels, long checksUnbalanced) {
        return new DemoResult(2, Map.of("COMPLETED", 2L), 0, 1.0, List.of(10L, 20L), List.of(10L, 20L), 0, 0, 0, 0, 0,
                1_000, 1_000, 0, Map.of(), List.of(), List.of(), List.of(), 2 - notificationsMisapplied,
                notificationsMisapplied, notificationsMisapplied == 0 ? List.of() : List.of("t-1 COMPLETED: 0 notification(s), expected 1"),
                checksUnbalanced, checksUnbalanced == 0 ? List.of() : List.of("bank-b: 3 screening(s) not cleared, but 2 "
                        + "completed transfer(s) to it"), cancels);
    }
}
