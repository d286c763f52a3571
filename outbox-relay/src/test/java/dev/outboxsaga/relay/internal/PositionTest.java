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
    void theFirstTransactionOfARunIsMatchedByItsTransactionIdAndOrderedByWhereTheRunStarted() {
        Position committed = firstOfRun(7, 50, 99).startingAt(40);
        assertThat(committed.covers(firstOfRun(7, 50, 99).startingAt(40))).isTrue();
        assertThat(committed.covers(firstOfRun(7, 50, 100).startingAt(40))).isFalse();
        assertThat(committed.covers(at(200, 7, 50, 100))).as("the same transaction, in a later run").isFalse();
        assertThat(committed.covers(at(200, 7, 50, 12))).isTrue();
        assertThat(committed.covers(at(200, 9, 10, 0))).as("a later transaction").isFalse();
        assertThat(committed.covers(at(30, 6, 45, 0))).as("an earlier transaction").isTrue();
        assertThat(at(300, 9, 10, 0).covers(firstOfRun(7, 50, 100).startingAt(40)))
                .as("a run starts at or before the last published transaction").isTrue();
    }

    /**
     * The WAL: transaction a commits ending at 100, b at 200, then the COPY c (rows at LSN 150, commit at 900).
     * A relay resumed inside c, the first transaction of its run (started at 200), and stopped there; after a
     * crash the slot went back to 50. The next run must republish nothing before c's rows not yet published.
     */
    @Test
    void aPositionInTheFirstTransactionOfARunCoversWhatARunStartingFurtherBackStreamsAgain() {
        Position committed = firstOfRun(12, 150, 299).startingAt(200);

        assertThat(committed.covers(firstOfRun(10, 60, 0).startingAt(50))).as("a, first of the next run").isTrue();
        assertThat(committed.covers(at(100, 11, 110, 0))).as("b, before c").isTrue();
        assertThat(committed.covers(at(200, 12, 150, 299))).as("c's last published row").isTrue();
        assertThat(committed.covers(at(200, 12, 150, 300))).as("c's next row").isFalse();
        assertThat(committed.covers(at(900, 13, 120, 0))).as("the transaction after c").isFalse();
    }

    @Test
    void aPositionStoredWithoutItsCommitLsnTakesTheRunsStart() {
        Position legacy = firstOfRun(12, 150, 299);
        assertThat(legacy.covers(at(100, 11, 110, 0))).as("without a stand-in it orders below everything").isFalse();
        assertThat(legacy.startingAt(150).covers(at(100, 11, 110, 0))).isTrue();
        assertThat(legacy.startingAt(150).covers(at(900, 13, 120, 0))).isFalse();
        assertThat(at(100, 11, 110, 0).startingAt(5)).as("a known commit LSN stays").isEqualTo(at(100, 11, 110, 0));
        assertThat(Position.START.startingAt(5)).isEqualTo(Position.START);
    }

    @Test
    void theSpecialPositionsCoverNoStreamedRow() {
        assertThat(Position.NONE.covers(Position.START)).isFalse();
        assertThat(Position.START.covers(Position.START)).isTrue();
        assertThat(Position.START.covers(at(0, 1, 0, 0))).isFalse();
        assertThat(Position.START.covers(firstOfRun(1, 5, 0).startingAt(3))).as("a re-seeded position republishes the slot's rows").isFalse();
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
