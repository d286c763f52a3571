package dev.outboxsaga.console.internal.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outboxsaga.console.AuditReport;
import dev.outboxsaga.console.AuditReport.Bound;
import dev.outboxsaga.console.AuditReport.Finding;
import dev.outboxsaga.console.AuditReport.Kind;
import dev.outboxsaga.console.AuditReport.Location;
import java.util.stream.Collectors;

/** An {@link AuditReport} as plain text for people and as JSON for scripts. */
public final class ReportRendering {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportRendering() {
    }

    public static String text(AuditReport report) {
        StringBuilder out = new StringBuilder();
        AuditReport.Counts counts = report.counts();
        out.append("Reconciliation audit: ").append(report.verdict()).append('\n');
        out.append("Window    [").append(report.from()).append(", ").append(report.to()).append("), snapshot taken at ")
                .append(report.auditedAt()).append('\n');
        for (AuditReport.RelayState relay : report.relays()) {
            out.append("Relay     ").append(relay.name()).append(" (").append(String.join(", ", relay.tables()))
                    .append("; positions in ").append(relay.positionsTopic()).append("): ").append(relay.position());
            if (relay.committedAt() != null) {
                out.append(", committed at ").append(relay.committedAt());
            }
            out.append(relay.coversSnapshot() ? "; past the audit's snapshot"
                    : "; not past the audit's snapshot (which matters only for rows not found in Kafka)").append('\n');
        }
        if (report.consumer() != null) {
            out.append("Consumer  ").append(report.consumer()).append('\n');
        }
        out.append('\n');
        out.append("Outbox -> Kafka   ").append(counts.rows()).append(" row(s) committed in the window: ")
                .append(counts.publishedOnce()).append(" published exactly once, ").append(counts.parkedByRelay())
                .append(" parked by the relay\n");
        if (report.consumer() != null) {
            out.append("Kafka -> inbox    ").append(counts.forConsumer()).append(" of them in Kafka on the consumer's topics: ")
                    .append(counts.consumedOnce()).append(" in its inbox exactly once, ").append(counts.parkedInInbox())
                    .append(" parked there\n");
        }
        out.append('\n').append(sentence(report)).append('\n');
        if (!report.findingCounts().isEmpty()) {
            long total = report.findingCounts().values().stream().mapToLong(Long::longValue).sum();
            out.append("\nFindings (").append(total).append("):\n");
            for (Kind kind : Kind.values()) {
                long count = report.count(kind);
                if (count == 0) {
                    continue;
                }
                out.append("  ").append(kind).append(" (").append(kind.effect().name().toLowerCase()).append("): ")
                        .append(count).append('\n');
                int listed = 0;
                for (Finding finding : report.findings(kind)) {
                    listed++;
                    out.append("    ").append(finding.messageId()).append("  ").append(finding.stage())
                            .append("  ").append(finding.table()).append("  created ").append(finding.createdAt());
                    if (finding.topic() != null) {
                        out.append("  topic ").append(finding.topic());
                    }
                    if (!finding.locations().isEmpty()) {
                        out.append("  at ").append(finding.locations().stream().map(Location::toString)
                                .collect(Collectors.joining(", ")));
                    }
                    out.append("\n      ").append(finding.detail()).append('\n');
                }
                if (listed < count) {
                    out.append("    ... and ").append(count - listed).append(" more, not listed\n");
                }
            }
        }
        if (!report.bounds().isEmpty()) {
            out.append("\nBounds (! = keeps this window from being proven):\n");
            for (Bound bound : report.bounds()) {
                out.append(bound.limitsProof() ? "  ! " : "  - ").append(bound.source()).append(": ")
                        .append(bound.statement()).append('\n');
            }
        }
        return out.toString();
    }

    private static String sentence(AuditReport report) {
        AuditReport.Counts counts = report.counts();
        switch (report.verdict()) {
            case PROVEN:
                return "Proven: every one of the " + counts.rows() + " outbox row(s) committed in the window reached Kafka "
                        + "exactly once or is parked by the relay" + (report.consumer() == null ? "" : "; every one of the "
                        + counts.forConsumer() + " on consumer " + report.consumer() + "'s topics is in its inbox exactly "
                        + "once or parked there") + ".";
            case INCOMPLETE:
                return "Not proven yet: nothing wrong was found, but some rows are in flight or their evidence is gone, "
                        + "or a bound (!) cuts into the window.";
            default:
                return "Violated: at least one message is missing or duplicated, or an inbox contradicts its dead letters.";
        }
    }

    public static String json(AuditReport report) {
        ObjectNode root = JSON.createObjectNode();
        root.put("verdict", report.verdict().name());
        root.put("proven", report.proven());
        ObjectNode window = root.putObject("window");
        window.put("from", report.from().toString());
        window.put("to", report.to().toString());
        root.put("auditedAt", report.auditedAt().toString());
        ArrayNode relays = root.putArray("relays");
        for (AuditReport.RelayState relay : report.relays()) {
            ObjectNode node = relays.addObject();
            node.put("name", relay.name());
            ArrayNode tables = node.putArray("tables");
            relay.tables().forEach(tables::add);
            node.put("positionsTopic", relay.positionsTopic());
            node.put("position", relay.position());
            node.put("committedAt", relay.committedAt() == null ? null : relay.committedAt().toString());
            node.put("coversSnapshot", relay.coversSnapshot());
        }
        root.put("consumer", report.consumer());
        ObjectNode counts = root.putObject("counts");
        counts.put("rows", report.counts().rows());
        counts.put("publishedOnce", report.counts().publishedOnce());
        counts.put("parkedByRelay", report.counts().parkedByRelay());
        counts.put("forConsumer", report.counts().forConsumer());
        counts.put("consumedOnce", report.counts().consumedOnce());
        counts.put("parkedInInbox", report.counts().parkedInInbox());
        ObjectNode byKind = root.putObject("findingCounts");
        report.findingCounts().forEach((kind, count) -> byKind.put(kind.name(), count));
        ArrayNode findings = root.putArray("findings");
        for (Finding finding : report.findings()) {
            ObjectNode node = findings.addObject();
            node.put("kind", finding.kind().name());
            node.put("effect", finding.kind().effect().name());
            node.put("stage", finding.stage().name());
            node.put("messageId", finding.messageId().toString());
            node.put("table", finding.table());
            node.put("createdAt", finding.createdAt() == null ? null : finding.createdAt().toString());
            node.put("topic", finding.topic());
            ArrayNode locations = node.putArray("locations");
            for (Location location : finding.locations()) {
                ObjectNode at = locations.addObject();
                at.put("topic", location.topic());
                at.put("partition", location.partition());
                at.put("offset", location.offset());
            }
            node.put("detail", finding.detail());
        }
        ArrayNode bounds = root.putArray("bounds");
        for (Bound bound : report.bounds()) {
            ObjectNode node = bounds.addObject();
            node.put("source", bound.source());
            node.put("statement", bound.statement());
            node.put("limitsProof", bound.limitsProof());
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not render the audit report as JSON", e);
        }
    }
}
