package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
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
}
