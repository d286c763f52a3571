package dev.outboxsaga.console;

import dev.outboxsaga.console.internal.audit.ReportRendering;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * What a {@link ReconciliationAudit} found for one window of outbox rows: the counts, every exception
 * with its message id, and the bounds that limit what could be proven. {@link #toText()} renders it for
 * people, {@link #toJson()} for scripts.
 *
 * @param from          the window's start, inclusive ({@code created_at >= from})
 * @param to            the window's end, exclusive ({@code created_at < to})
 * @param auditedAt     the database's clock when the audit took its snapshot; rows committed later are not in it
 * @param relays        each relay whose tables were audited, and how far it had published
 * @param consumer      the consumer whose inbox was checked, or null when none was named
 * @param counts        how many rows and messages were checked, and how many passed
 * @param findingCounts how many findings of each kind, whether or not each is listed
 * @param findings      the findings, ordered by kind and creation time; at most
 *                      {@link ReconciliationAudit.Builder#maxFindingsListed(int)} per kind
 * @param bounds        what limits the proof: purged rows, Kafka retention, a relay or consumer that is behind
 * @param verdict       the outcome: see {@link Verdict}
 */
public record AuditReport(
        Instant from,
        Instant to,
        Instant auditedAt,
        List<RelayState> relays,
        String consumer,
        Counts counts,
        Map<Kind, Long> findingCounts,
        List<Finding> findings,
        List<Bound> bounds,
        Verdict verdict) {

    public AuditReport {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(auditedAt, "auditedAt");
        Objects.requireNonNull(counts, "counts");
        Objects.requireNonNull(verdict, "verdict");
        relays = List.copyOf(relays);
        EnumMap<Kind, Long> byKind = new EnumMap<>(Kind.class);
        byKind.putAll(findingCounts);
        findingCounts = java.util.Collections.unmodifiableMap(byKind);
        findings = List.copyOf(findings);
        bounds = List.copyOf(bounds);
    }

    /** The outcome of an audit. */
    public enum Verdict {
        /**
         * Every row of the window reached Kafka exactly once or is parked by the relay, and (with a
         * consumer) every one of them on the consumer's topics is in its inbox exactly once or parked there;
         * no bound cuts into the window. Parked messages are listed, but they are accounted for.
         */
        PROVEN,
        /**
         * Nothing wrong was found, but not everything could be checked: rows still in flight, data purged
         * or past Kafka's retention, or a bound that cuts into the window. Run again later, or narrow the
         * window to what is retained.
         */
        INCOMPLETE,
        /** At least one message is missing or duplicated, or an inbox contradicts its dead letters. */
        VIOLATED
    }

    /** What a finding means for the proof. */
    public enum Effect {
        /** The message was lost, duplicated, or its records contradict each other. */
        VIOLATION,
        /** The message is parked with a reason, for an operator: accounted for, not lost. */
        PARKED,
        /** The audit could not decide yet, or the evidence is gone. */
        UNSETTLED
    }

    /** Where a finding was made: between the outbox and Kafka, or between Kafka and the consumer's inbox. */
    public enum Stage {
        KAFKA,
        INBOX
    }

    /** The kinds of findings. */
    public enum Kind {
        /** A committed row that the relay has published past, yet no record with its id is in Kafka, nor is it parked. */
        MISSING_IN_KAFKA(Effect.VIOLATION),
        /** More than one committed Kafka record carries the row's id; {@link Finding#locations()} lists them all. */
        DUPLICATED_IN_KAFKA(Effect.VIOLATION),
        /** The relay parked the row in {@code outbox_relay_dead_letter} (its reason is the detail); it is not in Kafka. */
        PARKED_BY_RELAY(Effect.PARKED),
        /**
         * Not there yet: for {@link Stage#KAFKA}, the row is not in Kafka and the relay's committed position has not
         * passed the audit's snapshot; for {@link Stage#INBOX}, the record lies at or after the consumer group's
         * committed offset.
         */
        IN_FLIGHT(Effect.UNSETTLED),
        /**
         * Not found, but the evidence may be gone: the topic no longer keeps records that old (retention,
         * {@code deleteRecords}) or is compacted, or the inbox keeps no row that old on the record's partition
         * ({@code purgeInbox}).
         */
        NOT_RETAINED(Effect.UNSETTLED),
        /**
         * The consumer's group has committed past the record, yet the inbox has no row for its id. (A message
         * cannot be in one consumer's inbox twice: the inbox's primary key is {@code (consumer, message_id)}; a
         * second delivery is what it absorbs. So the inbox has no "duplicated" kind; see {@link #INBOX_INCONSISTENT}.)
         */
        MISSING_IN_INBOX(Effect.VIOLATION),
        /** In the inbox as {@code PARKED}, with its dead letter still parked or discarded by an operator (the detail says which). */
        PARKED_IN_INBOX(Effect.PARKED),
        /**
         * The inbox row and the dead letters of the message disagree: {@code PARKED} without a parked or
         * discarded dead letter, {@code PROCESSED} while a dead letter is still parked, or a dead letter without
         * an inbox row. The replay rules keep these together, so one of them was changed by hand or lost.
         */
        INBOX_INCONSISTENT(Effect.VIOLATION);

        private final Effect effect;

        Kind(Effect effect) {
            this.effect = effect;
        }

        public Effect effect() {
            return effect;
        }
    }

    /**
     * One exception to "exactly once".
     *
     * @param kind      what was found
     * @param stage     where: Kafka or the consumer's inbox ({@link Kind#IN_FLIGHT} and {@link Kind#NOT_RETAINED} occur at both)
     * @param messageId the outbox row's id, which is the Kafka {@code id} header and the inbox's message id
     * @param table     the outbox table of the row
     * @param createdAt the row's {@code created_at}
     * @param topic     the topic the relay routes the row to, or null when it has none (a parked row, say)
     * @param locations the Kafka records found with this id (two or more for a duplicate), in read order
     * @param detail    why, in words: a reason, a dead letter's id and status, an offset
     */
    public record Finding(Kind kind, Stage stage, UUID messageId, String table, Instant createdAt, String topic,
            List<Location> locations, String detail) {

        public Finding {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(stage, "stage");
            Objects.requireNonNull(messageId, "messageId");
            locations = List.copyOf(locations);
        }
    }

    /** A Kafka record's place. */
    public record Location(String topic, int partition, long offset) {

        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset;
        }
    }

    /**
     * What was checked and passed.
     *
     * @param rows          outbox rows committed in the window (every audited table)
     * @param publishedOnce rows found in Kafka exactly once
     * @param parkedByRelay rows parked by the relay instead
     * @param forConsumer   rows found in Kafka on the consumer's topics: what the inbox was checked for; 0 without a consumer
     * @param consumedOnce  of those, the messages whose inbox row says {@code PROCESSED}, with no dead letter against it
     * @param parkedInInbox of those, the messages parked by the consumer
     */
    public record Counts(long rows, long publishedOnce, long parkedByRelay, long forConsumer, long consumedOnce,
            long parkedInInbox) {
    }

    /**
     * Something that limits what the audit can prove.
     *
     * @param source      what it concerns: an outbox table, a relay, a topic partition, an inbox
     * @param statement   the limit, in words
     * @param limitsProof whether it keeps this window from being proven (false: stated for the record only)
     */
    public record Bound(String source, String statement, boolean limitsProof) {
    }

    /**
     * A relay whose tables were audited.
     *
     * @param name           its {@code relay.name}
     * @param tables         its outbox tables
     * @param positionsTopic where it commits its WAL position
     * @param position       its committed position as read, in words ({@code none} when it never committed one)
     * @param committedAt    when that position was committed to Kafka (the relay's clock), or null when unknown
     * @param coversSnapshot whether the position had passed the audit's database snapshot, so that every row of the
     *                       relay that the audit saw must be in Kafka; it matters only for rows not found there
     */
    public record RelayState(String name, List<String> tables, String positionsTopic, String position,
            Instant committedAt, boolean coversSnapshot) {

        public RelayState {
            tables = List.copyOf(tables);
        }
    }

    /** True only for {@link Verdict#PROVEN}. */
    public boolean proven() {
        return verdict == Verdict.PROVEN;
    }

    /** How many findings of {@code kind} there were (listed or not). */
    public long count(Kind kind) {
        return findingCounts.getOrDefault(kind, 0L);
    }

    /** The listed findings of {@code kind}. */
    public List<Finding> findings(Kind kind) {
        return findings.stream().filter(finding -> finding.kind() == kind).toList();
    }

    /** A plain-text report for people: verdict, counts, findings with their ids, bounds. */
    public String toText() {
        return ReportRendering.text(this);
    }

    /** The report as one JSON object, for scripts (times in ISO-8601 UTC). */
    public String toJson() {
        return ReportRendering.json(this);
    }

    @Override
    public String toString() {
        return toText();
    }
}
