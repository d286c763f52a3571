package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.esc;

import dev.outboxsaga.console.AuditReport;
import java.util.List;

/** The reconciliation audit page: a form (service, relay, consumer, window) and, once run, its report. */
final class AuditPages {

    /** What the form holds; {@code from} and {@code to} as typed (ISO-8601, UTC). */
    record Form(String service, String relay, String consumer, String from, String to) {
    }

    private AuditPages() {
    }

    static String page(List<String> services, List<String> relays, List<String> consumers, Form form, AuditReport report,
            String failure, Sessions.Session session) {
        StringBuilder out = new StringBuilder("<h1>Reconciliation audit</h1>")
                .append("<p>Proves for a window of outbox rows (by <code>created_at</code>, UTC) that each reached Kafka ")
                .append("exactly once, read <code>read_committed</code> from the relay's topics up to its committed ")
                .append("position, and, with a consumer, that each is in its inbox exactly once or parked. Read-only; ")
                .append("the same as <code>outbox-saga audit</code>.</p>")
                .append("<form class=\"filters\" method=\"get\" action=\"/audit\">")
                .append(Pages.select("service", "Service", services, form.service(), null))
                .append(Pages.input("relay", "Relay (relay.name)", form.relay(), "list=\"relays\" required"))
                .append(datalist("relays", relays))
                .append(Pages.input("consumer", "Consumer (optional)", form.consumer(), "list=\"consumers\""))
                .append(datalist("consumers", consumers))
                .append(Pages.input("from", "From (UTC)", form.from(), "required placeholder=\"2026-11-30T08:00:00Z\""))
                .append(Pages.input("to", "To (UTC)", form.to(), "required placeholder=\"2026-11-30T09:00:00Z\""))
                .append("<input type=\"hidden\" name=\"run\" value=\"1\"><button type=\"submit\">Run the audit</button></form>");
        if (failure != null) {
            out.append("<p class=\"flash\" role=\"alert\">").append(esc(failure)).append("</p>");
        }
        if (report != null) {
            report(out, report);
        }
        return Pages.layout("Audit", "Audit", session, out.toString());
    }

    private static void report(StringBuilder out, AuditReport report) {
        AuditReport.Counts counts = report.counts();
        out.append("<section aria-labelledby=\"verdict\"><h2 id=\"verdict\">Verdict ").append(Html.badge(report.verdict().name()))
                .append("</h2><p>Window ").append(Html.time(report.from())).append(" to ").append(Html.time(report.to()))
                .append(", audited ").append(Html.time(report.auditedAt())).append(".</p>")
                .append("<table class=\"compact\"><tbody>")
                .append(row("Outbox rows in the window", counts.rows()))
                .append(row("Published to Kafka exactly once", counts.publishedOnce()))
                .append(row("Parked by the relay", counts.parkedByRelay()));
        if (report.consumer() != null) {
            out.append(row("On consumer " + report.consumer() + "'s topics", counts.forConsumer()))
                    .append(row("In its inbox exactly once", counts.consumedOnce()))
                    .append(row("Parked in its inbox", counts.parkedInInbox()));
        }
        out.append("</tbody></table></section>");

        out.append("<h2>Relays</h2><table class=\"compact\"><thead><tr><th scope=\"col\">Relay</th><th scope=\"col\">Tables</th>")
                .append("<th scope=\"col\">Committed position</th><th scope=\"col\">Covers the snapshot</th></tr></thead><tbody>");
        for (AuditReport.RelayState relay : report.relays()) {
            out.append("<tr><td>").append(esc(relay.name())).append("</td><td>").append(esc(String.join(", ", relay.tables())))
                    .append("</td><td><code>").append(esc(relay.position())).append("</code></td><td>")
                    .append(relay.coversSnapshot() ? "yes" : "<strong>no</strong>").append("</td></tr>");
        }
        out.append("</tbody></table>");

        out.append("<h2>What bounds the proof</h2>");
        if (report.bounds().isEmpty()) {
            out.append("<p class=\"muted\">nothing</p>");
        } else {
            out.append("<ul>");
            report.bounds().forEach(bound -> out.append("<li>").append(bound.limitsProof() ? "<strong>limits the proof:</strong> " : "")
                    .append(esc(bound.source())).append(": ").append(esc(bound.statement())).append("</li>"));
            out.append("</ul>");
        }

        out.append("<h2 id=\"findings\">Exceptions (").append(report.findingCounts().values().stream().mapToLong(Long::longValue).sum())
                .append(")</h2>");
        if (report.findings().isEmpty()) {
            out.append("<p class=\"muted\">none</p>");
            return;
        }
        out.append("<p>").append(esc(report.findingCounts().toString())).append("</p>")
                .append("<table class=\"compact\"><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Stage</th>")
                .append("<th scope=\"col\">Message id</th><th scope=\"col\">Table</th><th scope=\"col\">Created</th>")
                .append("<th scope=\"col\">Topic</th><th scope=\"col\">Where in Kafka</th><th scope=\"col\">Detail</th>")
                .append("</tr></thead><tbody>");
        for (AuditReport.Finding finding : report.findings()) {
            out.append("<tr><td>").append(Html.badge(finding.kind().name())).append("</td><td>").append(esc(finding.stage()))
                    .append("</td><td><code>").append(esc(finding.messageId())).append("</code></td><td>")
                    .append(esc(finding.table())).append("</td><td>").append(Html.time(finding.createdAt())).append("</td><td>")
                    .append(esc(finding.topic())).append("</td><td>")
                    .append(esc(String.join(", ", finding.locations().stream().map(Object::toString).toList())))
                    .append("</td><td>").append(esc(finding.detail())).append("</td></tr>");
        }
        out.append("</tbody></table>");
    }

    private static String row(String label, long value) {
        return "<tr><th scope=\"row\">" + esc(label) + "</th><td>" + value + "</td></tr>";
    }

    private static String datalist(String id, List<String> values) {
        StringBuilder out = new StringBuilder("<datalist id=\"").append(id).append("\">");
        values.forEach(value -> out.append("<option value=\"").append(esc(value)).append("\">"));
        return out.append("</datalist>").toString();
    }
}
