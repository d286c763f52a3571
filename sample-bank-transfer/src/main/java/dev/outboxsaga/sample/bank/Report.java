package dev.outboxsaga.sample.bank;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The run's report: readable text for the terminal, and an HTML page with a latency chart and saga timelines. */
final class Report {

    private Report() {
    }

    static void print(DemoResult result, PrintStream out) {
        out.println();
        out.println("== bank transfers ==");
        out.printf("transfers          %d in %.1f s (%.0f transfers/s)%n", result.transfers(), result.seconds(),
                result.seconds() > 0 ? result.transfers() / result.seconds() : 0);
        result.byState().forEach((state, count) -> out.printf("  %-16s %d%n", state.toLowerCase(Locale.ROOT), count));
        out.printf("saga latency       p50 %d ms   p99 %d ms   max %d ms%n", result.percentile(50), result.percentile(99),
                result.latenciesMillis().isEmpty() ? 0 : result.latenciesMillis().get(result.latenciesMillis().size() - 1));
        out.printf("  without injected delays  p50 %d ms   p99 %d ms   (%d sagas)%n", result.undelayedPercentile(50),
                result.undelayedPercentile(99), result.undelayedLatenciesMillis().size());
        out.printf("longest stall      %d ms with sagas in flight and none ending (excluding sagas waiting on injected delays)%n",
                result.longestStallMillis());
        out.printf("compensations run  %d%n", result.compensationsRun());
        out.printf("duplicates         %d delivered again, %d suppressed by the inboxes, %d applied%n",
                result.duplicatesInjected(), result.duplicatesSuppressed(), result.duplicatesApplied());
        out.printf("notifications      %d recorded by the notification service (choreography: it reacts to "
                + "TransferCompleted)%n", result.notifications());
        DemoResult.Cancels cancels = result.cancels();
        if (cancels.requested() == 0) {
            out.println("cancels            none asked for");
        } else {
            out.printf("cancels            %d asked for while in flight (SagaAdmin.cancel)%n", cancels.requested());
            out.printf("  cancelled        %d, then compensated%s%n", cancels.cancelled(),
                    cancels.cancelledAtStep().isEmpty() ? "" : " (caught at " + byKey(cancels.cancelledAtStep()) + ")");
            out.printf("  too late         %d, refused%s%n", cancels.tooLateTotal(),
                    cancels.tooLate().isEmpty() ? "" : " (the saga was " + byKey(cancels.tooLate()) + ")");
            if (cancels.notDelivered() > 0) {
                out.printf("  not delivered    %d (the database could not be reached)%n", cancels.notDelivered());
            }
        }
        if (!result.refusals().isEmpty()) {
            out.println("refusals and failures");
            result.refusals().forEach((reason, count) -> out.printf("  %5d  %s%n", count, reason));
        }
        if (!result.unfinished().isEmpty()) {
            out.println("sagas that did not end (first ten)");
            result.unfinished().forEach(line -> out.println("  " + line));
        }
        if (!result.ledgerViolations().isEmpty()) {
            out.println("transfers whose ledgers differ from their outcome (first ten)");
            result.ledgerViolations().forEach(line -> out.println("  " + line));
        }
        if (!result.checkViolations().isEmpty()) {
            out.println("accounts and banks whose limit holds or screenings differ from their completed transfers (first ten)");
            result.checkViolations().forEach(line -> out.println("  " + line));
        }
        if (!result.notificationViolations().isEmpty()) {
            out.println("transfers notified other than once if completed, never otherwise (first ten)");
            result.notificationViolations().forEach(line -> out.println("  " + line));
        }
        if (!cancels.violations().isEmpty()) {
            out.println("cancelled transfers not undone (first ten)");
            cancels.violations().forEach(line -> out.println("  " + line));
        }
        out.println("invariants");
        out.printf("  %-4s money conserved: %,d cents before, %,d after%n", mark(result.moneyConserved()),
                result.moneyBefore(), result.moneyAfter());
        out.printf("  %-4s no negative balance (%d below zero)%n", mark(result.negativeBalances() == 0),
                result.negativeBalances());
        out.printf("  %-4s every transfer ended (%d stuck)%n", mark(result.stuck() == 0), result.stuck());
        out.printf("  %-4s each transfer's entries exactly once: ledger, limit hold, screening (%d misapplied)%n",
                mark(result.duplicatesApplied() == 0), result.duplicatesApplied());
        out.printf("  %-4s limits held and screenings open only for completed transfers (%d accounts or banks off)%n",
                mark(result.checksUnbalanced() == 0), result.checksUnbalanced());
        out.printf("  %-4s each completed transfer notified exactly once (%d notifications, %d completed, %d misapplied)%n",
                mark(result.notificationsMisapplied() == 0), result.notifications(), result.count("COMPLETED"),
                result.notificationsMisapplied());
        out.printf("  %-4s each cancelled transfer undone: compensated, nets zero at both banks, limit released, "
                + "screening cleared, not notified (%d cancelled, %d misapplied)%n", mark(cancels.misapplied() == 0), cancels.cancelled(),
                cancels.misapplied());
    }

    /** "a 3, b 1": counts by key, in the map's order. */
    static String byKey(Map<String, Long> counts) {
        StringBuilder text = new StringBuilder();
        counts.forEach((key, count) -> text.append(text.length() == 0 ? "" : ", ").append(key).append(' ').append(count));
        return text.toString();
    }

    private static String mark(boolean ok) {
        return ok ? "ok" : "FAIL";
    }

    static void writeHtml(DemoResult result, DemoOptions options, Path path) throws IOException {
        StringBuilder html = new StringBuilder();
        html.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>outbox-saga bank transfers</title><style>")
                .append("body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}")
                .append("td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}.ok{color:#17803d}")
                .append(".fail{color:#b91c1c;font-weight:bold}h2{margin-top:1.6em}code{background:#f3f3f3;padding:1px 4px}")
                .append("</style></head><body>");
        html.append("<h1>Bank transfers: ").append(result.invariantsHold() ? "<span class=ok>all invariants hold</span>"
                : "<span class=fail>invariants violated</span>").append("</h1>");
        html.append("<p>").append(result.transfers()).append(" transfers, concurrency ").append(options.concurrency())
                .append(", faults <code>").append(escape(options.faults().toString())).append("</code>, step timeout ")
                .append(options.stepTimeout().toMillis()).append(" ms, ").append(options.cancelPercent())
                .append("% cancelled in flight, daily limit ")
                .append(options.dailyLimit() == 0 ? "none" : options.dailyLimit() + " cents").append(", seed ")
                .append(options.seed()).append(".</p>");
        html.append("<table><tr><th>outcome</th><th>count</th></tr>");
        result.byState().forEach((state, count) -> html.append("<tr><td>").append(state).append("</td><td>")
                .append(count).append("</td></tr>"));
        html.append(String.format(Locale.ROOT, "<tr><td>throughput</td><td>%.0f transfers/s</td></tr>",
                result.seconds() > 0 ? result.transfers() / result.seconds() : 0));
        html.append("<tr><td>latency p50 / p99 / max</td><td>").append(result.percentile(50)).append(" / ")
                .append(result.percentile(99)).append(" / ")
                .append(result.latenciesMillis().isEmpty() ? 0 : result.latenciesMillis().get(result.latenciesMillis().size() - 1))
                .append(" ms</td></tr>");
        html.append("<tr><td>latency without injected delays p50 / p99</td><td>").append(result.undelayedPercentile(50))
                .append(" / ").append(result.undelayedPercentile(99)).append(" ms</td></tr>");
        html.append("<tr><td>longest stall (no saga ending while one without injected delay was in flight)</td><td>")
                .append(result.longestStallMillis()).append(" ms</td></tr>");
        html.append("<tr><td>compensations run</td><td>").append(result.compensationsRun()).append("</td></tr>");
        html.append("<tr><td>duplicates delivered / suppressed / applied</td><td>").append(result.duplicatesInjected())
                .append(" / ").append(result.duplicatesSuppressed()).append(" / ").append(result.duplicatesApplied())
                .append("</td></tr>");
        html.append("<tr><td>notifications (by choreography, on TransferCompleted)</td><td>")
                .append(result.notifications()).append("</td></tr>");
        DemoResult.Cancels cancels = result.cancels();
        html.append("<tr><td>cancels asked for while in flight (SagaAdmin.cancel)</td><td>").append(cancels.requested())
                .append("</td></tr>");
        html.append("<tr><td>&nbsp;&nbsp;cancelled, then compensated</td><td>").append(cancels.cancelled())
                .append(cancels.cancelledAtStep().isEmpty() ? "" : " (caught at " + escape(byKey(cancels.cancelledAtStep())) + ")")
                .append("</td></tr>");
        html.append("<tr><td>&nbsp;&nbsp;too late, refused</td><td>").append(cancels.tooLateTotal())
                .append(cancels.tooLate().isEmpty() ? "" : " (the saga was " + escape(byKey(cancels.tooLate())) + ")")
                .append("</td></tr>");
        if (cancels.notDelivered() > 0) {
            html.append("<tr><td>&nbsp;&nbsp;not delivered (database unreachable)</td><td>").append(cancels.notDelivered())
                    .append("</td></tr>");
        }
        html.append("</table>");
        html.append("<h2>Invariants</h2><ul>");
        invariant(html, result.moneyConserved(), String.format(Locale.ROOT, "money conserved: %,d cents before, %,d after",
                result.moneyBefore(), result.moneyAfter()));
        invariant(html, result.negativeBalances() == 0, "no negative balance");
        invariant(html, result.stuck() == 0, "every transfer ended (" + result.stuck() + " stuck)");
        invariant(html, result.duplicatesApplied() == 0, "each transfer's entries exactly once: ledger, limit hold, "
                + "screening (" + result.duplicatesApplied() + " misapplied)");
        invariant(html, result.checksUnbalanced() == 0, "limits held and screenings open only for completed transfers ("
                + result.checksUnbalanced() + " accounts or banks off)");
        invariant(html, result.notificationsMisapplied() == 0, "each completed transfer notified exactly once ("
                + result.notificationsMisapplied() + " misapplied)");
        invariant(html, cancels.misapplied() == 0, "each cancelled transfer undone: compensated, nets zero at both banks, "
                + "limit released, screening cleared, not notified (" + cancels.cancelled() + " cancelled, " + cancels.misapplied() + " misapplied)");
        html.append("</ul><h2>Saga latency</h2>").append(histogram(result.latenciesMillis()));
        html.append("<h2>Some sagas, step by step</h2>");
        for (DemoResult.Timeline timeline : result.timelines()) {
            html.append(timeline(timeline));
        }
        html.append("<p><small>").append(escape(result.resultLine())).append("</small></p></body></html>");
        if (path.getParent() != null) {
            Files.createDirectories(path.getParent());
        }
        Files.writeString(path, html.toString());
    }

    private static void invariant(StringBuilder html, boolean ok, String text) {
        html.append("<li class=").append(ok ? "ok" : "fail").append(">").append(ok ? "✔ " : "✘ ").append(escape(text))
                .append("</li>");
    }

    /** An SVG histogram of latencies in 30 buckets. */
    static String histogram(List<Long> latencies) {
        if (latencies.isEmpty()) {
            return "<p>no saga ended</p>";
        }
        int buckets = 30;
        long max = Math.max(1, latencies.get(latencies.size() - 1));
        int[] counts = new int[buckets];
        for (long latency : latencies) {
            // Can be below zero (seen once, on a loaded machine): a saga's ended_at is the now() of the transaction that
            // ended it, the time that transaction began.
            counts[(int) Math.min(buckets - 1, Math.max(0, latency) * buckets / (max + 1))]++;
        }
        int highest = 1;
        for (int count : counts) {
            highest = Math.max(highest, count);
        }
        int width = 720;
        int height = 220;
        int bar = width / buckets;
        StringBuilder svg = new StringBuilder("<svg width=\"" + (width + 60) + "\" height=\"" + (height + 40)
                + "\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">");
        for (int i = 0; i < buckets; i++) {
            int h = counts[i] * height / highest;
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#3b82f6\">"
                    + "<title>%d–%d ms: %d sagas</title></rect>", 40 + i * bar, height - h, bar - 2, h,
                    i * (max + 1) / buckets, (i + 1) * (max + 1) / buckets, counts[i]));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"40\" y=\"%d\">0 ms</text><text x=\"%d\" y=\"%d\" "
                + "text-anchor=\"end\">%d ms</text><text x=\"0\" y=\"12\">%d</text><line x1=\"40\" y1=\"%d\" x2=\"%d\" "
                + "y2=\"%d\" stroke=\"#999\"/></svg>", height + 16, 40 + width, height + 16, max, highest, height,
                40 + width, height));
        return svg.toString();
    }

    private static String timeline(DemoResult.Timeline timeline) {
        long span = Math.max(1, timeline.points().isEmpty() ? 1 : timeline.points().get(timeline.points().size() - 1).atMillis());
        StringBuilder html = new StringBuilder("<h3>").append(escape(timeline.transferId())).append(": ")
                .append(timeline.outcome()).append(" in ").append(span).append(" ms</h3>");
        int width = 720;
        int rowHeight = 16;
        html.append("<svg width=\"").append(width + 320).append("\" height=\"").append(timeline.points().size() * rowHeight + 10)
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">");
        int row = 0;
        for (DemoResult.Point point : timeline.points()) {
            int x = (int) (point.atMillis() * width / span);
            String color = point.event().contains("COMPENSAT") || point.event().contains("REFUND") ? "#dc2626"
                    : point.event().contains("FAIL") || point.event().contains("TIMED_OUT") || point.event().contains("LATE")
                    || point.event().contains("CANCEL") ? "#f59e0b" : "#16a34a";
            html.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">"
                    + "%d ms %s %s</text>", x + 5, row * rowHeight + 9, color, width + 12, row * rowHeight + 13,
                    point.atMillis(), escape(point.step()), escape(point.event())));
            row++;
        }
        html.append("</svg>");
        return html.toString();
    }

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    static String summary(Map<String, Long> byState) {
        return byState.toString();
    }
}
