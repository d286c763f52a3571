package dev.outboxsaga.console.internal.audit;

import dev.outboxsaga.console.AuditReport;
import dev.outboxsaga.console.AuditReport.Bound;
import dev.outboxsaga.console.AuditReport.Finding;
import dev.outboxsaga.console.AuditReport.Kind;
import dev.outboxsaga.console.AuditReport.Location;
import dev.outboxsaga.console.AuditReport.Stage;
import dev.outboxsaga.console.ReconciliationAudit;
import dev.outboxsaga.core.OutboxException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One run of the audit: snapshot, Kafka, relay positions, inbox, then the report. See {@link ReconciliationAudit}. */
public final class AuditRun {

    private static final Logger LOG = LoggerFactory.getLogger(AuditRun.class);
    private static final Duration RELAY_POLL = Duration.ofMillis(200);
    private static final int CHUNK = 5000;

    private final AuditSettings settings;
    private final Instant from;
    private final Instant to;
    private final List<Finding> findings = new ArrayList<>();
    private final Map<Kind, Long> findingCounts = new EnumMap<>(Kind.class);
    private final List<Bound> bounds = new ArrayList<>();
    private OutboxSnapshot snapshot;
    private TopicScan scan;
    private long publishedOnce;
    private long parkedByRelay;
    private long forConsumer;
    private long consumedOnce;
    private long parkedInInbox;

    public AuditRun(AuditSettings settings, Instant from, Instant to) {
        this.settings = settings;
        this.from = from;
        this.to = to;
    }

    public AuditReport run() {
        long started = System.nanoTime();
        snapshot = OutboxSnapshot.read(settings.dataSource(), settings.relays(), from, to, settings.maxRows());
        Instant readFrom = from.minus(settings.clockSkew());
        Map<ReconciliationAudit.Relay, RelayPositionReader.Position> positions = new LinkedHashMap<>();
        Map<ReconciliationAudit.Relay, String> behind = new HashMap<>();
        try (Admin admin = KafkaClients.admin(settings.kafkaProperties());
             TopicScan topics = new TopicScan(snapshot, admin, settings.kafkaProperties(), settings.patience())) {
            scan = topics;
            scan.prepare(List.copyOf(snapshot.topicNames), readFrom);
            scan.read();
            readRelayPositions(positions, behind);
            if (!unfound().isEmpty()) {
                // The relay may have committed more since the first read's ends were taken: read up to now.
                scan.extendToLatest();
                scan.read();
            }
            checkKafka(positions, behind, readFrom);
            if (settings.consumer() != null) {
                checkInbox(admin);
            }
        }
        AuditReport report = report(positions);
        LOG.info("audit of [{}, {}): {} ({} rows, {} records read) in {} ms", from, to, report.verdict(),
                snapshot.rows.size(), scan.recordsRead, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        return report;
    }

    private List<WindowRow> unfound() {
        return snapshot.rows.values().stream().filter(row -> row.copies == 0).toList();
    }

    /**
     * Reads every relay's committed position; for a relay with rows not found in Kafka, waits (up to the patience,
     * while a process holds its lease) until the position passes the snapshot, and notes why it did not.
     */
    private void readRelayPositions(Map<ReconciliationAudit.Relay, RelayPositionReader.Position> positions,
            Map<ReconciliationAudit.Relay, String> behind) {
        Set<ReconciliationAudit.Relay> waitingFor = new LinkedHashSet<>();
        unfound().forEach(row -> waitingFor.add(snapshot.relayOfTable.get(row.table)));
        long deadline = System.nanoTime() + settings.patience().toNanos();
        for (ReconciliationAudit.Relay relay : settings.relays()) {
            try (RelayPositionReader reader = new RelayPositionReader(settings.kafkaProperties(), relay)) {
                RelayPositionReader.Position position = reader.latest();
                while (waitingFor.contains(relay) && !position.covers(snapshot.snapshotLsn)) {
                    if (!leaseHeld(relay)) {
                        behind.put(relay, "no process holds relay " + relay.name() + "'s lease");
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        behind.put(relay, "waited " + settings.patience().toSeconds() + " s");
                        break;
                    }
                    sleep(RELAY_POLL);
                    position = reader.latest();
                }
                positions.put(relay, position);
            }
        }
    }

    private boolean leaseHeld(ReconciliationAudit.Relay relay) {
        String schema = OutboxSnapshot.relaySchema(relay);
        return ReadOnly.inTransaction(settings.dataSource(), Connection.TRANSACTION_READ_COMMITTED,
                "relay " + relay.name() + "'s lease", connection -> {
                    if (!ReadOnly.tableExists(connection, schema + ".outbox_relay_lease")) {
                        return false;
                    }
                    try (PreparedStatement statement = connection.prepareStatement(AuditSql.leaseHeld(schema))) {
                        statement.setString(1, relay.name());
                        try (ResultSet result = statement.executeQuery()) {
                            return result.next() && result.getBoolean(1);
                        }
                    }
                });
    }

    // ---------------------------------------------------------------------------------------------
    // Outbox -> Kafka

    private void checkKafka(Map<ReconciliationAudit.Relay, RelayPositionReader.Position> positions,
            Map<ReconciliationAudit.Relay, String> behind, Instant readFrom) {
        List<WindowRow> unfound = unfound();
        Map<UUID, String> parked = relayParked(unfound);
        Map<ReconciliationAudit.Relay, Integer> inFlightByRelay = new LinkedHashMap<>();
        Map<String, Integer> notRetainedByTopic = new TreeMap<>();
        Map<String, Integer> inFlightByTopic = new TreeMap<>();
        Map<String, Instant> retainedFrom = retainedFromByTopic();
        for (WindowRow row : snapshot.rows.values()) {
            if (row.copies == 1) {
                publishedOnce++;
                continue;
            }
            if (row.copies > 1) {
                add(Kind.DUPLICATED_IN_KAFKA, Stage.KAFKA, row, row.copies + " committed records carry this id");
                continue;
            }
            String topic = row.topic < 0 ? null : snapshot.topicNames.get(row.topic);
            ReconciliationAudit.Relay relay = snapshot.relayOfTable.get(row.table);
            RelayPositionReader.Position position = positions.get(relay);
            String reason = parked.get(row.id);
            if (reason != null) {
                parkedByRelay++;
                add(Kind.PARKED_BY_RELAY, Stage.KAFKA, row, reason);
            } else if (!position.covers(snapshot.snapshotLsn)) {
                inFlightByRelay.merge(relay, 1, Integer::sum);
                add(Kind.IN_FLIGHT, Stage.KAFKA, row, "relay " + relay.name() + " has not published past this audit's "
                        + "snapshot yet (" + behind.getOrDefault(relay, "its position is behind") + ")");
            } else if (topic == null) {
                add(Kind.MISSING_IN_KAFKA, Stage.KAFKA, row, "the relay can route it to no topic (empty aggregatetype "
                        + "or an invalid topic name), has published past it, and did not park it");
            } else if (scan.missingTopics.contains(topic)) {
                notRetainedByTopic.merge(topic, 1, Integer::sum);
                add(Kind.NOT_RETAINED, Stage.KAFKA, row, "topic " + topic + " does not exist (deleted, or never created)");
            } else if (scan.compactedTopics.contains(topic)) {
                notRetainedByTopic.merge(topic, 1, Integer::sum);
                add(Kind.NOT_RETAINED, Stage.KAFKA, row, "topic " + topic + " is compacted: an older record of its key "
                        + "may have been removed");
            } else if (hasUnfinishedPartition(topic)) {
                inFlightByTopic.merge(topic, 1, Integer::sum);
                add(Kind.IN_FLIGHT, Stage.KAFKA, row, "a Kafka transaction open on topic " + topic
                        + " kept the audit from reading to its end");
            } else if (retainedFrom.containsKey(topic)
                    && OutboxSnapshot.instant(row.createdAtMicros).isBefore(plusSkew(retainedFrom.get(topic)))) {
                notRetainedByTopic.merge(topic, 1, Integer::sum);
                add(Kind.NOT_RETAINED, Stage.KAFKA, row, "topic " + topic + " no longer keeps records that old "
                        + "(its oldest kept record is stamped " + retainedFrom.get(topic) + ")");
            } else {
                add(Kind.MISSING_IN_KAFKA, Stage.KAFKA, row, "relay " + relay.name() + " has published past it "
                        + "(position: " + position.describe() + "), yet no committed record carries its id, and it is "
                        + "not parked");
            }
        }
        kafkaBounds(inFlightByRelay, positions, behind, notRetainedByTopic, inFlightByTopic, readFrom);
    }

    private boolean hasUnfinishedPartition(String topic) {
        return scan.unfinished.keySet().stream().anyMatch(partition -> partition.topic().equals(topic));
    }

    private Instant plusSkew(Instant instant) {
        return instant.equals(Instant.MAX) ? instant : instant.plus(settings.clockSkew());
    }

    /** Per topic, the latest "oldest kept record" over its partitions that retention has cut into. */
    private Map<String, Instant> retainedFromByTopic() {
        Map<String, Instant> retainedFrom = new HashMap<>();
        scan.retentionCuts.forEach((partition, cut) -> retainedFrom.merge(partition.topic(), cut.oldestKept(),
                (a, b) -> a.isAfter(b) ? a : b));
        return retainedFrom;
    }

    /** The rows among {@code unfound} that their relay parked in {@code outbox_relay_dead_letter}, with the reason. */
    private Map<UUID, String> relayParked(List<WindowRow> unfound) {
        Map<String, List<UUID>> bySchema = new LinkedHashMap<>();
        for (WindowRow row : unfound) {
            bySchema.computeIfAbsent(OutboxSnapshot.relaySchema(snapshot.relayOfTable.get(row.table)),
                    schema -> new ArrayList<>()).add(row.id);
        }
        Map<UUID, String> parked = new HashMap<>();
        // Read after the relay's position: the relay parks a row before the Kafka transaction that moves past it.
        bySchema.forEach((schema, ids) -> ReadOnly.inTransaction(settings.dataSource(), Connection.TRANSACTION_READ_COMMITTED,
                "the relay's dead letters", connection -> {
                    if (!ReadOnly.tableExists(connection, AuditSql.relayDeadLetterTable(schema))) {
                        return null;
                    }
                    try (PreparedStatement statement = connection.prepareStatement(AuditSql.relayParked(schema))) {
                        for (int start = 0; start < ids.size(); start += CHUNK) {
                            Array array = connection.createArrayOf("uuid", ids.subList(start,
                                    Math.min(ids.size(), start + CHUNK)).toArray());
                            statement.setArray(1, array);
                            try (ResultSet result = statement.executeQuery()) {
                                while (result.next()) {
                                    parked.put(result.getObject(1, UUID.class), "parked by relay " + result.getString(2)
                                            + " at " + result.getObject(4, OffsetDateTime.class).toInstant() + ": "
                                            + result.getString(3));
                                }
                            }
                            array.free();
                        }
                    }
                    return null;
                }));
        return parked;
    }

    private void kafkaBounds(Map<ReconciliationAudit.Relay, Integer> inFlightByRelay,
            Map<ReconciliationAudit.Relay, RelayPositionReader.Position> positions,
            Map<ReconciliationAudit.Relay, String> behind, Map<String, Integer> notRetainedByTopic,
            Map<String, Integer> inFlightByTopic, Instant readFrom) {
        for (int i = 0; i < snapshot.tables.size(); i++) {
            String table = snapshot.tables.get(i);
            Instant oldest = snapshot.oldestRow.get(i);
            if (oldest == null) {
                bounds.add(new Bound("outbox " + table, "holds no rows at all. If its rows are deleted in the inserting "
                        + "transaction (Outbox deleteAfterInsert) or purged, the audit cannot see them and proves nothing "
                        + "about them", true));
            } else if (oldest.isAfter(from)) {
                bounds.add(new Bound("outbox " + table, "keeps no row older than " + oldest + " (purged by Outbox.purge, "
                        + "or written only since): rows of [" + from + ", " + oldest + ") cannot be checked", true));
            }
        }
        inFlightByRelay.forEach((relay, count) -> bounds.add(new Bound("relay " + relay.name(), "its committed position ("
                + positions.get(relay).describe() + ") had not passed this audit's snapshot ("
                + behind.getOrDefault(relay, "behind") + "): " + count + " row(s) not in Kafka are reported in flight, "
                + "not missing. Run the audit again once the relay has caught up", true)));
        for (String topic : scan.missingTopics) {
            bounds.add(new Bound("topic " + topic, "does not exist: its rows cannot be checked",
                    notRetainedByTopic.containsKey(topic)));
        }
        for (String topic : scan.compactedTopics) {
            bounds.add(new Bound("topic " + topic, "is compacted (cleanup.policy=compact): older records of a key may "
                    + "be gone, so neither a missing nor a duplicated record can be ruled out", true));
        }
        if (!scan.unreadableConfigs.isEmpty()) {
            bounds.add(new Bound("topics " + String.join(", ", scan.unreadableConfigs), "their cleanup.policy could not "
                    + "be read (DescribeConfigs not allowed?): compaction cannot be ruled out", true));
        }
        Map<String, Instant> retainedFrom = retainedFromByTopic();
        scan.retentionCuts.forEach((partition, cut) -> {
            boolean affects = snapshot.rows.values().stream().anyMatch(row -> row.topic >= 0
                    && snapshot.topicNames.get(row.topic).equals(partition.topic())
                    && OutboxSnapshot.instant(row.createdAtMicros).isBefore(plusSkew(retainedFrom.get(partition.topic()))));
            bounds.add(new Bound("partition " + partition, "records before offset " + cut.logStart() + " were deleted "
                    + "(retention, or deleteRecords); " + (cut.oldestKept().equals(Instant.MAX) ? "none is kept"
                    : "the oldest kept is stamped " + cut.oldestKept()) + ". For rows created before that (plus the "
                    + "clock skew) neither a missing nor a duplicated record can be ruled out", affects));
        });
        scan.unfinished.forEach((partition, offset) -> bounds.add(new Bound("partition " + partition, "a Kafka transaction "
                + "open at offset " + offset + " did not end within " + settings.patience().toSeconds() + " s; records "
                + "after it were not read" + (inFlightByTopic.containsKey(partition.topic())
                ? " (" + inFlightByTopic.get(partition.topic()) + " row(s) of its topic reported in flight)" : ""), true)));
        bounds.add(new Bound("kafka", "records were read read_committed from the first one stamped at or after "
                + readFrom + " (the window's start minus the clock skew) to the partitions' ends when the audit read "
                + "them; copies produced after that are not seen, and rows committed after the snapshot ("
                + snapshot.takenAt + ") are not in the audit", false));
    }

    // ---------------------------------------------------------------------------------------------
    // Kafka -> inbox

    private void checkInbox(Admin admin) {
        String consumer = settings.consumer();
        Map<TopicPartition, OffsetAndMetadata> committed = groupOffsets(admin);
        Set<String> topics = new LinkedHashSet<>(settings.consumerTopics());
        if (topics.isEmpty()) {
            committed.keySet().forEach(partition -> topics.add(partition.topic()));
        }
        List<WindowRow> candidates = new ArrayList<>();
        for (WindowRow row : snapshot.rows.values()) {
            if (row.copies > 0 && row.topic >= 0 && topics.contains(snapshot.topicNames.get(row.topic))) {
                candidates.add(row);
            }
        }
        forConsumer = candidates.size();
        if (settings.consumerTopics().isEmpty() && committed.isEmpty()) {
            bounds.add(new Bound("consumer " + consumer, "its group " + settings.consumerGroup() + " has no committed "
                    + "offsets, so the audit does not know its topics: its inbox was not checked. Name them with "
                    + "consumerTopics", snapshot.rows.values().stream().anyMatch(row -> row.copies > 0)));
            return;
        }
        if (candidates.isEmpty()) {
            return;
        }
        InboxCheck inbox = InboxCheck.read(settings.consumerDataSource(), consumer, settings.inboxTable(),
                settings.deadLetterTable(), candidates.stream().map(row -> row.id).toList());
        Map<String, Long> unprovable = new TreeMap<>();
        for (WindowRow row : candidates) {
            String topic = snapshot.topicNames.get(row.topic);
            Location location = row.locations(snapshot.topicNames).stream().filter(l -> l.topic().equals(topic))
                    .findFirst().orElse(row.locations(snapshot.topicNames).get(0));
            InboxCheck.InboxRow entry = inbox.inbox.get(row.id);
            List<InboxCheck.DeadLetterRow> letters = inbox.deadLetters.getOrDefault(row.id, List.of());
            InboxCheck.DeadLetterRow parkedLetter = letter(letters, "PARKED");
            InboxCheck.DeadLetterRow discardedLetter = letter(letters, "DISCARDED");
            if (entry != null && "PROCESSED".equals(entry.outcome())) {
                if (parkedLetter == null) {
                    consumedOnce++;
                } else {
                    add(Kind.INBOX_INCONSISTENT, Stage.INBOX, row, "processed, yet dead letter " + parkedLetter.id()
                            + " of the message is still PARKED");
                }
            } else if (entry != null) {
                if (parkedLetter != null || discardedLetter != null) {
                    parkedInInbox++;
                    InboxCheck.DeadLetterRow letter = parkedLetter != null ? parkedLetter : discardedLetter;
                    add(Kind.PARKED_IN_INBOX, Stage.INBOX, row, "dead letter " + letter.id() + " is " + letter.status()
                            + (parkedLetter != null ? " (" + letter.errorClass() + ": " + letter.errorMessage() + ")"
                            : ": discarded by an operator"));
                } else {
                    add(Kind.INBOX_INCONSISTENT, Stage.INBOX, row, "PARKED in the inbox, but "
                            + (letters.isEmpty() ? "the consumer has no dead letter for it"
                            : "its dead letter " + letters.get(0).id() + " is " + letters.get(0).status()
                            + " (a replay turns the inbox row PROCESSED in the same transaction)"));
                }
            } else {
                OffsetAndMetadata groupOffset = committed.get(new TopicPartition(location.topic(), location.partition()));
                if (groupOffset == null || location.offset() >= groupOffset.offset()) {
                    add(Kind.IN_FLIGHT, Stage.INBOX, row, "not consumed yet: the record is at offset " + location.offset()
                            + (groupOffset == null ? ", and group " + settings.consumerGroup() + " has no committed offset "
                            + "on " + location.topic() + "-" + location.partition()
                            : ", group " + settings.consumerGroup() + " has committed up to " + groupOffset.offset()));
                } else if (!letters.isEmpty()) {
                    add(Kind.INBOX_INCONSISTENT, Stage.INBOX, row, "dead letter " + letters.get(0).id() + " is "
                            + letters.get(0).status() + ", but the inbox has no row for the message");
                } else {
                    Long oldest = inbox.oldestOffset(location.topic(), location.partition());
                    if (oldest == null || location.offset() < oldest) {
                        unprovable.merge(location.topic() + "-" + location.partition(), oldest == null ? -1 : oldest,
                                (a, b) -> a);
                        add(Kind.NOT_RETAINED, Stage.INBOX, row, "not in the inbox, which keeps no row of "
                                + location.topic() + "-" + location.partition() + " before offset "
                                + (oldest == null ? "(none at all)" : oldest) + ": purged, or never consumed");
                    } else {
                        add(Kind.MISSING_IN_INBOX, Stage.INBOX, row, "group " + settings.consumerGroup() + " has committed "
                                + "past the record (up to " + groupOffset.offset() + "), yet the inbox has no row for it");
                    }
                }
            }
        }
        unprovable.forEach((partition, oldest) -> bounds.add(new Bound("inbox of " + consumer, "keeps no row of partition "
                + partition + (oldest < 0 ? " at all" : " before offset " + oldest) + " (purged by purgeInbox, or never "
                + "consumed): a message before it that is not in the inbox cannot be told missing", true)));
    }

    private static InboxCheck.DeadLetterRow letter(List<InboxCheck.DeadLetterRow> letters, String status) {
        return letters.stream().filter(letter -> status.equals(letter.status())).findFirst().orElse(null);
    }

    private Map<TopicPartition, OffsetAndMetadata> groupOffsets(Admin admin) {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(settings.consumerGroup())
                    .partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetAndMetadata> present = new HashMap<>();
            offsets.forEach((partition, offset) -> {
                if (offset != null) {
                    present.put(partition, offset);
                }
            });
            return present;
        } catch (ExecutionException | TimeoutException e) {
            throw new OutboxException("the audit could not read group " + settings.consumerGroup() + "'s committed offsets: "
                    + (e.getCause() != null ? e.getCause() : e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutboxException("interrupted while reading group " + settings.consumerGroup() + "'s offsets", e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The report

    private void add(Kind kind, Stage stage, WindowRow row, String detail) {
        long count = findingCounts.merge(kind, 1L, Long::sum);
        if (count <= settings.maxFindingsListed()) {
            findings.add(new Finding(kind, stage, row.id, snapshot.tables.get(row.table),
                    OutboxSnapshot.instant(row.createdAtMicros), row.topic < 0 ? null : snapshot.topicNames.get(row.topic),
                    row.locations(snapshot.topicNames), detail));
        }
    }

    private AuditReport report(Map<ReconciliationAudit.Relay, RelayPositionReader.Position> positions) {
        findings.sort(Comparator.comparing(Finding::kind).thenComparing(Finding::createdAt)
                .thenComparing(Finding::messageId));
        boolean violated = findingCounts.keySet().stream().anyMatch(kind -> kind.effect() == AuditReport.Effect.VIOLATION);
        boolean unsettled = findingCounts.keySet().stream().anyMatch(kind -> kind.effect() == AuditReport.Effect.UNSETTLED)
                || bounds.stream().anyMatch(Bound::limitsProof);
        AuditReport.Verdict verdict = violated ? AuditReport.Verdict.VIOLATED
                : unsettled ? AuditReport.Verdict.INCOMPLETE : AuditReport.Verdict.PROVEN;
        List<AuditReport.RelayState> relays = new ArrayList<>();
        positions.forEach((relay, position) -> relays.add(new AuditReport.RelayState(relay.name(), relay.tables(),
                relay.positionsTopic(), position.describe(), position.committedAt(),
                position.covers(snapshot.snapshotLsn))));
        return new AuditReport(from, to, snapshot.takenAt, relays, settings.consumer(),
                new AuditReport.Counts(snapshot.rows.size(), publishedOnce, parkedByRelay, forConsumer, consumedOnce,
                        parkedInInbox),
                findingCounts, findings, bounds, verdict);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutboxException("interrupted while waiting for the relay's position", e);
        }
    }
}
