package dev.outboxsaga.console.internal.audit;

import dev.outboxsaga.console.AuditReport;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One outbox row of the window and the Kafka records found with its id. Kept small (about 150 bytes with
 * its map entry): a window of a million rows is held in memory at once.
 */
final class WindowRow {

    final UUID id;
    /** Index into the snapshot's tables. */
    final short table;
    /** Index into the topic names, -1 when the relay can route it nowhere. */
    final int topic;
    final long createdAtMicros;
    int copies;
    private int firstTopic = -1;
    private int firstPartition;
    private long firstOffset;
    /** The copies after the first, for duplicates only. */
    private List<AuditReport.Location> more;

    WindowRow(UUID id, short table, int topic, long createdAtMicros) {
        this.id = id;
        this.table = table;
        this.topic = topic;
        this.createdAtMicros = createdAtMicros;
    }

    void found(int topicIndex, String topicName, int partition, long offset) {
        if (copies == 0) {
            firstTopic = topicIndex;
            firstPartition = partition;
            firstOffset = offset;
        } else {
            if (more == null) {
                more = new ArrayList<>(2);
            }
            more.add(new AuditReport.Location(topicName, partition, offset));
        }
        copies++;
    }

    /** The topic index of the first record found, -1 when none was. */
    int firstTopic() {
        return firstTopic;
    }

    int firstPartition() {
        return firstPartition;
    }

    long firstOffset() {
        return firstOffset;
    }

    List<AuditReport.Location> locations(List<String> topicNames) {
        if (copies == 0) {
            return List.of();
        }
        List<AuditReport.Location> all = new ArrayList<>(copies);
        all.add(new AuditReport.Location(topicNames.get(firstTopic), firstPartition, firstOffset));
        if (more != null) {
            all.addAll(more);
        }
        return all;
    }
}
