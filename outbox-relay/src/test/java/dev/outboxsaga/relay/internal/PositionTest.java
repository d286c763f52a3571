package dev.outboxsaga.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PositionTest {

    private static Position at(long commitLsn, long txId, long lsn, long ordinal) {
        return Position.of(Map.of("lsn_commit", commitLsn, "lsn", lsn, "lsn_proc", lsn, "txId", txId), ordinal);
    }

    /** A row of an engine run's first transaction: Debezium has seen no commit yet. */
    private static Position firstOfRun(long txId, long lsn, long ordinal) {
        return Position.of(Map.of("lsn", lsn, "txId", txId), ordinal);
    }

    @Test
    void coversEverythingUpToItselfInStreamOrder() {
        Position committed = at(100, 7, 50, 0);
        assertThat(committed.covers(at(100, 7, 50, 0))).as("itself").isTrue();
        assertThat(committed.covers(at(100, 7, 49, 3))).as("earlier in the same transaction").isTrue();
        assertThat(committed.covers(at(90, 6, 500, 0))).as("an earlier transaction, whatever its event LSN").isTrue();
        assertThat(committed.covers(at(100, 7, 51, 0))).as("later in the same transaction").isFalse();
        assertThat(committed.covers(at(110, 8, 10, 0))).as("a later transaction, even with a lower event LSN").isFalse();
    }

    @Test
    void rowsSharingOneLsnAreToldApartByTheirOrdinal() {
        Position committed = at(100, 7, 50, 41);
        assertThat(committed.covers(at(100, 7, 50, 40))).isTrue();
        assertThat(committed.covers(at(100, 7, 50, 41))).isTrue();
        assertThat(committed.covers(at(100, 7, 50, 42))).as("the next row of the same COPY").isFalse();
    }

    @Test
    void theFirstTransactionOfARunIsMatchedByItsTransactionId() {
        Position committed = firstOfRun(7, 50, 99);
        assertThat(committed.covers(firstOfRun(7, 50, 99))).isTrue();
        assertThat(committed.covers(firstOfRun(7, 50, 100))).isFalse();
        assertThat(committed.covers(at(200, 7, 50, 100))).as("the same transaction, in a later run").isFalse();
        assertThat(committed.covers(at(200, 7, 50, 12))).isTrue();
        assertThat(committed.covers(at(200, 9, 10, 0))).as("a later transaction").isFalse();
        assertThat(at(300, 9, 10, 0).covers(firstOfRun(7, 50, 100)))
                .as("a run starts at or before the last published transaction").isTrue();
    }

    @Test
    void theSpecialPositionsCoverNoStreamedRow() {
        assertThat(Position.NONE.covers(Position.START)).isFalse();
        assertThat(Position.START.covers(Position.START)).isTrue();
        assertThat(Position.START.covers(at(0, 1, 0, 0))).isFalse();
        assertThat(Position.START.covers(firstOfRun(1, 5, 0))).as("a re-seeded position republishes the slot's rows").isFalse();
        assertThat(at(1, 1, 1, 0).covers(Position.START)).isTrue();
    }

    @Test
    void survivesTheRoundTripThroughThePositionsTopicAndReadsTheOldFormat() {
        Position position = at(100, 7, 50, 3);
        Map<String, Object> stored = DebeziumOffsets.mapFromJson(DebeziumOffsets.toJson(position.toStored()));
        assertThat(Position.fromStored(stored)).isEqualTo(position);
        assertThat(Position.fromStored(DebeziumOffsets.mapFromJson(DebeziumOffsets.toJson(Position.START.toStored()))))
                .isEqualTo(Position.START);

        Map<String, Object> old = new HashMap<>();
        old.put("offset", Map.of("lsn_commit", 100L, "lsn", 50L, "txId", 7L));
        Position fromOld = Position.fromStored(old);
        assertThat(fromOld.covers(at(100, 7, 50, 1000))).as("old positions covered every row at their LSN").isTrue();
        Map<String, Object> oldStart = new HashMap<>();
        oldStart.put("offset", null);
        assertThat(Position.fromStored(oldStart)).isEqualTo(Position.START);
    }
}
