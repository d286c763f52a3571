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

    /**
     * The audit page: the form (operators only; it starts an audit with a POST) and the audits kept, newest first.
     */
    static String page(List<String> services, List<String> relays, List<String> consumers, Form form,
            List<AuditRunner.Job> jobs, Sessions.Session session) {
        StringBuilder out = new StringBuilder("<h1>Reconciliation audit</h1>")
                .append("<p>Proves for a window of outbox rows (by <code>created_at</code>, UTC) that each reached Kafka ")
                .append("exactly once, read <code>read_committed</code> from the relay's topics up to its committed ")
                .append("position, and, with a consumer, that each is in its inbox exactly once or parked. Read-only; ")
                .append("the same as <code>outbox-saga audit</code>. One audit runs at a time, on its own thread.</p>");
        if (session.operator()) {
            out.append("<form class=\"filters\" method=\"post\" action=\"/audit\">").append(Pages.csrf(session))
                    .append(Pages.select("service", "Service", services, form.service(), null))
                    .append(Pages.input("relay", "Relay (relay.name)", form.relay(), "list=\"relays\" required"))
                    .append(datalist("relays", relays))
                    .append(Pages.input("consumer", "Consumer (optional)", form.consumer(), "list=\"consumers\""))
                    .append(datalist("consumers", consumers))
                    .append(Pages.input("from", "From (UTC)", form.from(), "required placeholder=\"2026-11-30T08:00:00Z\""))
                    .append(Pages.input("to", "To (UTC)", form.to(), "required placeholder=\"2026-11-30T09:00:00Z\""))
                    .append("<button type=\"submit\" id=\"run-audit\">Run the audit</button></form>");
        } else {
            out.append("<p class=\"muted\">Operators run audits; viewers read their reports below.</p>");
        }
        out.append("<h2>Audits</h2>");
        if (jobs.isEmpty()) {
            return Pages.layout("Audit", "Audit", session, out.append("<p class=\"muted\">none since the console started</p>")
                    .toString());
        }
        out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">Audit</th><th scope=\"col\">Service</th>")
                .append("<th scope=\"col\">Relay</th><th scope=\"col\">Consumer</th><th scope=\"col\">Window</th>")
                .append("<th scope=\"col\">By</th><th scope=\"col\">Started</th><th scope=\"col\">Outcome</th></tr></thead><tbody>");
        for (AuditRunner.Job job : jobs) {
            out.append("<tr><td><a href=\"/audit/").append(job.id).append("\">").append(job.id).append("</a></td><td>")
                    .append(esc(job.form.service())).append("</td><td>").append(esc(job.form.relay())).append("</td><td>")
                    .append(esc(job.form.consumer())).append("</td><td>").append(esc(job.form.from())).append(" to ")
                    .append(esc(job.form.to())).append("</td><td>").append(esc(job.actor)).append("</td><td>")
                    .append(Html.time(job.startedAt)).append("</td><td>").append(outcome(job)).append("</td></tr>");
        }
        return Pages.layout("Audit", "Audit", session, out.append("</tbody></table>").toString());
    }

    /** One audit: running (the page reloads itself every two seconds, without script), failed, or its report. */
    static String job(AuditRunner.Job job, Sessions.Session session) {
        StringBuilder out = new StringBuilder("<h1>Audit ").append(job.id).append("</h1><p>Service ")
                .append(esc(job.form.service())).append(", relay ").append(esc(job.form.relay()))
                .append(job.form.consumer() == null ? "" : ", consumer " + esc(job.form.consumer()))
                .append(", window ").append(esc(job.form.from())).append(" to ").append(esc(job.form.to()))
                .append("; started by ").append(esc(job.actor)).append(" ").append(Html.time(job.startedAt)).append(".</p>");
        if (job.running()) {
            out.append("<p class=\"flash\" role=\"status\">").append(Html.badge("RUNNING"))
                    .append(" This page reloads until the audit ends.</p>");
            return Pages.layout("Audit " + job.id, "Audit", session, out.toString(), 2);
        }
        if (job.failure() != null) {
            out.append("<p class=\"flash\" role=\"alert\">").append(esc(job.failure())).append("</p>");
        } else {
            report(out, job.report());
        }
        out.append("<p><a href=\"/audit\">All audits</a></p>");
        return Pages.layout("Audit " + job.id, "Audit", session, out.toString());
    }

    private static String outcome(AuditRunner.Job job) {
        if (job.running()) {
            return Html.badge("RUNNING");
        }
        return job.failure() != null ? Html.badge("FAILED") : Html.badge(job.report().verdict().name());
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
