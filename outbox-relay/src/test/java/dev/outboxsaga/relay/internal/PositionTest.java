package dev.outboxsaga.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PositionTest {

    private static Position at(long commitLsn, long lsn) {
        return Position.of(Map.of("lsn_commit", commitLsn, "lsn", lsn, "lsn_proc", lsn, "txId", 7L));
    }

    @Test
    void coversEverythingUpToItselfInStreamOrder() {
        Position committed = at(100, 50);
        assertThat(committed.covers(at(100, 50))).as("itself").isTrue();
        assertThat(committed.covers(at(100, 49))).as("earlier in the same transaction").isTrue();
        assertThat(committed.covers(at(90, 500))).as("an earlier transaction, whatever its event LSN").isTrue();
        assertThat(committed.covers(at(100, 51))).as("later in the same transaction").isFalse();
        assertThat(committed.covers(at(110, 10))).as("a later transaction, even with a lower event LSN").isFalse();
    }

    @Test
    void theFirstStartPositionCoversOnlyItsOwnSnapshot() {
        assertThat(Position.NONE.covers(Position.START)).isFalse();
        assertThat(Position.START.covers(Position.START)).isTrue();
        assertThat(Position.START.covers(at(0, 0))).isFalse();
        assertThat(at(1, 1).covers(Position.START)).isTrue();
    }
}
