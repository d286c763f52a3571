package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.esc;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The overview's two small bar charts per service: sagas ended per minute by outcome (completed, compensated, failed,
 * stacked) and dead letters parked per minute, over the window (3 h by default), with a y axis, a time axis counted
 * back from now and a legend with the totals. Windows longer than 180 minutes are drawn in buckets of several minutes
 * (say so on the chart), so a bar is never thinner than the chart allows. SVG with classes only: no script, no style.
 */
final class ActivityCharts {

    static final int WIDTH = 340;
    static final int HEIGHT = 112;
    private static final int LEFT = 34;
    private static final int RIGHT = 8;
    private static final int TOP = 8;
    private static final int BOTTOM = 18;
    /** The most bars a chart has; longer windows are bucketed. */
    static final int MAX_BARS = 180;
    private static final DateTimeFormatter MINUTE = DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneOffset.UTC);

    private ActivityCharts() {
    }

    /** Both charts of one service's card, or its failure. */
    static String charts(String service, ServiceActivity activity) {
        StringBuilder out = new StringBuilder("<h3>Activity, last ").append(esc(hours(activity.window()))).append("</h3>");
        if (activity.failure() != null) {
            return out.append("<p class=\"error\">").append(esc(activity.failure())).append("</p>").toString();
        }
        int bucket = bucketMinutes(activity.window());
        List<Instant> starts = new ArrayList<>();
        for (Instant at = activity.from(); at.isBefore(activity.to()); at = at.plus(Duration.ofMinutes(bucket))) {
            starts.add(at);
        }
        List<ServiceActivity.Ended> ended = new ArrayList<>();
        List<Long> parked = new ArrayList<>();
        for (Instant at : starts) {
            Instant next = at.plus(Duration.ofMinutes(bucket));
            ended.add(activity.ended().subMap(at, true, next, false).values().stream()
                    .reduce(ServiceActivity.Ended.NONE, ServiceActivity.Ended::plus));
            parked.add(activity.parked().subMap(at, true, next, false).values().stream().mapToLong(Long::longValue).sum());
        }
        String per = bucket == 1 ? "per minute" : "per " + bucket + " minutes";
        ServiceActivity.Ended total = ended.stream().reduce(ServiceActivity.Ended.NONE, ServiceActivity.Ended::plus);
        long parkedTotal = parked.stream().mapToLong(Long::longValue).sum();

        String id = "act-" + Html.url(service).replace('%', '_');
        out.append("<figure class=\"activity sagas-ended\"><figcaption id=\"").append(esc(id)).append("-ended\">")
                .append("Sagas ended ").append(per).append("</figcaption>");
        long max = ended.stream().mapToLong(ServiceActivity.Ended::total).max().orElse(0);
        StringBuilder bars = new StringBuilder();
        double slot = (WIDTH - LEFT - RIGHT) / (double) starts.size();
        long scale = niceMax(max);
        for (int i = 0; i < starts.size(); i++) {
            ServiceActivity.Ended counts = ended.get(i);
            if (counts.total() == 0) {
                continue;
            }
            double x = LEFT + i * slot;
            double base = HEIGHT - BOTTOM;
            String title = MINUTE.format(starts.get(i)) + " UTC: " + counts.completed() + " completed, "
                    + counts.compensated() + " compensated, " + counts.failed() + " failed";
            bars.append("<g class=\"minute\" data-minute=\"").append(starts.get(i)).append("\"><title>").append(esc(title))
                    .append("</title>");
            base = bar(bars, "completed", counts.completed(), x, slot, base, scale);
            base = bar(bars, "compensated", counts.compensated(), x, slot, base, scale);
            bar(bars, "failed", counts.failed(), x, slot, base, scale);
            bars.append("</g>");
        }
        out.append(frame(id + "-ended", "Sagas ended " + per + " over the last " + hours(activity.window()) + ": "
                + total.completed() + " completed, " + total.compensated() + " compensated, " + total.failed() + " failed",
                scale, activity, bars.toString()));
        out.append(legend(new String[][] {{"completed", "completed " + total.completed()},
            {"compensated", "compensated " + total.compensated()}, {"failed", "failed " + total.failed()}}));
        out.append("</figure>");

        out.append("<figure class=\"activity dead-letters-parked\"><figcaption id=\"").append(esc(id)).append("-parked\">")
                .append("Dead letters parked ").append(per).append("</figcaption>");
        long parkedMax = parked.stream().mapToLong(Long::longValue).max().orElse(0);
        long parkedScale = niceMax(parkedMax);
        StringBuilder parkedBars = new StringBuilder();
        for (int i = 0; i < starts.size(); i++) {
            if (parked.get(i) == 0) {
                continue;
            }
            double x = LEFT + i * slot;
            parkedBars.append("<g class=\"minute\" data-minute=\"").append(starts.get(i)).append("\"><title>")
                    .append(esc(MINUTE.format(starts.get(i)) + " UTC: " + parked.get(i) + " parked")).append("</title>");
            bar(parkedBars, "parked", parked.get(i), x, slot, HEIGHT - BOTTOM, parkedScale);
            parkedBars.append("</g>");
        }
        out.append(frame(id + "-parked", "Dead letters parked " + per + " over the last " + hours(activity.window())
                + ": " + parkedTotal, parkedScale, activity, parkedBars.toString()));
        out.append(legend(new String[][] {{"parked", "parked " + parkedTotal}}));
        return out.append("</figure>").toString();
    }

    /** One stacked segment; returns its top, the base of the next. */
    private static double bar(StringBuilder out, String outcome, long count, double x, double slot, double base,
            long scale) {
        if (count == 0) {
            return base;
        }
        double height = (HEIGHT - TOP - BOTTOM) * (double) count / scale;
        double width = Math.max(slot - (slot >= 3 ? 1 : 0), 0.8);
        out.append("<rect class=\"bar ").append(outcome).append("\" data-count=\"").append(count).append("\" x=\"")
                .append(fmt(x)).append("\" y=\"").append(fmt(base - height)).append("\" width=\"").append(fmt(width))
                .append("\" height=\"").append(fmt(height)).append("\"/>");
        return base - height;
    }

    /** The chart's frame: axes, the y axis's top and middle, the time axis counted back from now, then the bars. */
    private static String frame(String labelId, String summary, long scale, ServiceActivity activity, String bars) {
        StringBuilder out = new StringBuilder("<svg class=\"activity-chart\" xmlns=\"http://www.w3.org/2000/svg\" ")
                .append("role=\"img\" aria-labelledby=\"").append(esc(labelId)).append("\" width=\"").append(WIDTH)
                .append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
                .append("\" font-family=\"system-ui, sans-serif\" font-size=\"10\"><title>").append(esc(summary))
                .append("</title>");
        int plotBottom = HEIGHT - BOTTOM;
        int plotRight = WIDTH - RIGHT;
        out.append("<g class=\"axis\">");
        for (long value : new long[] {scale / 2, scale}) {
            if (value == 0 || scale % 2 != 0 && value == scale / 2) {
                continue;
            }
            double y = plotBottom - (HEIGHT - TOP - BOTTOM) * (double) value / scale;
            out.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" y1=\"").append(fmt(y)).append("\" x2=\"")
                    .append(plotRight).append("\" y2=\"").append(fmt(y)).append("\" stroke=\"#e4e7ec\"/><text x=\"")
                    .append(LEFT - 4).append("\" y=\"").append(fmt(y + 3)).append("\" text-anchor=\"end\">").append(value)
                    .append("</text>");
        }
        out.append("<text x=\"").append(LEFT - 4).append("\" y=\"").append(plotBottom + 3)
                .append("\" text-anchor=\"end\">0</text><line x1=\"").append(LEFT).append("\" y1=\"").append(plotBottom)
                .append("\" x2=\"").append(plotRight).append("\" y2=\"").append(plotBottom).append("\" stroke=\"#5b6576\"/>")
                .append("<line x1=\"").append(LEFT).append("\" y1=\"").append(TOP).append("\" x2=\"").append(LEFT)
                .append("\" y2=\"").append(plotBottom).append("\" stroke=\"#5b6576\"/>");
        long minutes = activity.window().toMinutes();
        int ticks = 3;
        for (int i = 0; i <= ticks; i++) {
            double x = LEFT + (plotRight - LEFT) * (double) i / ticks;
            long ago = minutes - minutes * i / ticks;
            String label = i == ticks ? "now" : "−" + (minutes % 60 == 0 && ago % 60 == 0 && ago >= 60 ? ago / 60 + " h"
                    : ago + " min");
            out.append("<line x1=\"").append(fmt(x)).append("\" y1=\"").append(plotBottom).append("\" x2=\"").append(fmt(x))
                    .append("\" y2=\"").append(plotBottom + 3).append("\" stroke=\"#5b6576\"/><text x=\"").append(fmt(x))
                    .append("\" y=\"").append(plotBottom + 13).append("\" text-anchor=\"")
                    .append(i == 0 ? "start" : i == ticks ? "end" : "middle").append("\">").append(label).append("</text>");
        }
        out.append("</g>").append(bars).append("</svg>");
        return out.toString();
    }

    private static String legend(String[][] items) {
        StringBuilder out = new StringBuilder("<ul class=\"legend\">");
        for (String[] item : items) {
            out.append("<li><svg class=\"swatch\" width=\"12\" height=\"12\" viewBox=\"0 0 12 12\" aria-hidden=\"true\">")
                    .append("<rect class=\"bar ").append(item[0]).append("\" x=\"1\" y=\"1\" width=\"10\" height=\"10\"/>")
                    .append("</svg>").append(esc(item[1])).append("</li>");
        }
        return out.append("</ul>").toString();
    }

    /** Minutes per bar: 1 up to {@value #MAX_BARS} minutes, more for longer windows. */
    static int bucketMinutes(Duration window) {
        return (int) Math.max(1, (window.toMinutes() + MAX_BARS - 1) / MAX_BARS);
    }

    /** The y axis's top: 1, 2 or 5 times a power of ten, at least {@code max} (and at least 1). */
    static long niceMax(long max) {
        long step = 1;
        while (true) {
            for (long factor : new long[] {1, 2, 5}) {
                if (step * factor >= max) {
                    return Math.max(1, step * factor);
                }
            }
            step *= 10;
        }
    }

    /** "3 h", or "90 min". */
    static String hours(Duration window) {
        return window.toMinutes() % 60 == 0 ? window.toHours() + " h" : window.toMinutes() + " min";
    }

    private static String fmt(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }
}
