package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.esc;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * A saga's history as an SVG chart: a time axis from its first entry, one lane per step, and each hop (a command sent,
 * until its reply, its timeout, or the saga giving up on it) as a bar labelled with its duration in milliseconds.
 * Forward commands, retries (attempt 2 and later), compensations and abandons have their own classes, and so have the
 * outcomes (succeeded, failed, timed out, given up, still open); the waits before a retry are dashed lines, and
 * entries of no duration (started, skipped, local work, cancelled, parked, late replies, the end) are marks.
 *
 * <p>The hops come from {@code saga_event} as the engine writes it: {@code COMMAND_SENT}, {@code COMPENSATION_SENT} and
 * {@code ABANDON_SENT} open a hop of their step; that step's next {@code SUCCEEDED}, {@code SETTLED}, {@code COMPENSATED}
 * ({@code FAILED}, {@code COMPENSATION_FAILED}; {@code TIMED_OUT}) closes it. A step has one awaited command at a time,
 * and each branch of a parallel group is a step of its own, so the step index pairs them. A hop still open when
 * another opens in its lane, when the saga is cancelled or passes its deadline (forward commands), parks or ends was
 * given up. Times are the entries' transaction times ({@code saga_event.at}, microseconds), so a fast saga's hops keep
 * their sub-second lengths; an idle gap (no hop open, no entry) longer than a fifth of the chart's time, such as hours
 * parked waiting for an operator, is cut short to a narrow break ({@link Scale}).
 */
final class TimelineChart {

    static final int WIDTH = 960;
    static final int LABEL_WIDTH = 190;
    static final int RIGHT = 70;
    static final int AXIS = 26;
    static final int LANE = 28;
    static final int BAR = 14;
    /** The width of an idle gap cut short. */
    static final int BREAK = 36;

    private TimelineChart() {
    }

    /** What a hop carried. */
    enum Kind {
        FORWARD, COMPENSATION, ABANDON;

        String css() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a hop ended. */
    enum Outcome {
        SUCCEEDED("ok", "succeeded"), FAILED("failed", "failed"), TIMED_OUT("timed-out", "timed out"),
        GIVEN_UP("given-up", "given up"), OPEN("open", "awaiting reply");

        final String css;
        final String label;

        Outcome(String css, String label) {
            this.css = css;
            this.label = label;
        }
    }

    /**
     * One command and what became of it.
     *
     * @param seq       the seq of the entry that sent it: the hop's id
     * @param stepIndex its step
     * @param stepName  that step's name, or null
     * @param kind      forward, compensation or abandon
     * @param attempt   its attempt, from 1
     * @param sent      when it was sent
     * @param ended     when its reply came, it timed out or was given up; null while open
     * @param outcome   how it ended
     * @param what      the sending entry's detail (command type, participant, attempt, id)
     * @param why       the closing entry's event and detail, or null
     */
    record Hop(long seq, int stepIndex, String stepName, Kind kind, int attempt, Instant sent, Instant ended,
            Outcome outcome, String what, String why) {

        boolean retry() {
            return attempt > 1;
        }
    }

    /** An entry of no duration, drawn as a mark in its lane. */
    record Mark(long seq, int stepIndex, String event, String detail, Instant at) {
    }

    /** The wait between a retryable failure and the attempt after it. */
    record Wait(int stepIndex, Instant from, Instant to, String detail) {
    }

    /** The hops, marks and waits of a history, in the order they began. */
    record Chart(List<Hop> hops, List<Mark> marks, List<Wait> waits, Map<Integer, String> lanes) {
    }

    /** Reads the hops, marks and waits out of a history (oldest entry first). */
    static Chart read(List<SagaHistoryEntry> history) {
        List<Hop> hops = new ArrayList<>();
        List<Mark> marks = new ArrayList<>();
        List<Wait> waits = new ArrayList<>();
        Map<Integer, String> lanes = new TreeMap<>();
        Map<Integer, Integer> open = new LinkedHashMap<>();
        Map<Integer, SagaHistoryEntry> retryScheduled = new LinkedHashMap<>();
        for (SagaHistoryEntry entry : history) {
            int lane = entry.stepIndex();
            lanes.putIfAbsent(lane, null);
            String detail = entry.detail() == null ? "" : entry.detail();
            if (entry.stepName() != null && !entry.event().equals("CANCELLED") && !entry.event().equals("DEADLINE_PASSED")
                    && lanes.get(lane) == null) {
                lanes.put(lane, entry.stepName());
            }
            switch (entry.event()) {
                case "COMMAND_SENT", "COMPENSATION_SENT", "ABANDON_SENT" -> {
                    close(hops, open, lane, entry, Outcome.GIVEN_UP);
                    Kind kind = entry.event().equals("COMMAND_SENT") ? Kind.FORWARD
                            : entry.event().equals("COMPENSATION_SENT") ? Kind.COMPENSATION : Kind.ABANDON;
                    int attempt = 1;
                    Matcher sent = DerivedShape.SENT.matcher(detail);
                    if (sent.matches()) {
                        attempt = Integer.parseInt(sent.group(3));
                    }
                    SagaHistoryEntry scheduled = retryScheduled.remove(lane);
                    if (scheduled != null) {
                        waits.add(new Wait(lane, scheduled.at(), entry.at(), scheduled.detail()));
                    }
                    open.put(lane, hops.size());
                    hops.add(new Hop(entry.seq(), lane, entry.stepName(), kind, attempt, entry.at(), null, Outcome.OPEN,
                            detail, null));
                }
                case "SUCCEEDED", "SETTLED", "COMPENSATED" -> closeOrMark(hops, marks, open, entry, Outcome.SUCCEEDED);
                case "FAILED", "COMPENSATION_FAILED" -> closeOrMark(hops, marks, open, entry, Outcome.FAILED);
                case "TIMED_OUT" -> closeOrMark(hops, marks, open, entry, Outcome.TIMED_OUT);
                case "RETRY_SCHEDULED" -> retryScheduled.put(lane, entry);
                case "CANCELLED", "DEADLINE_PASSED" -> {
                    // The forward commands in hand are given up (an abandon already out is not: it settles the step).
                    for (Integer awaited : List.copyOf(open.keySet())) {
                        if (hops.get(open.get(awaited)).kind() == Kind.FORWARD) {
                            close(hops, open, awaited, entry, Outcome.GIVEN_UP);
                        }
                    }
                    marks.add(mark(entry));
                }
                case "PARKED", "COMPLETED", "ENDED_COMPENSATED", "ENDED_FAILED" -> {
                    for (Integer awaited : List.copyOf(open.keySet())) {
                        close(hops, open, awaited, entry, Outcome.GIVEN_UP);
                    }
                    marks.add(mark(entry));
                }
                default -> marks.add(mark(entry));
            }
        }
        return new Chart(hops, marks, waits, lanes);
    }

    private static Mark mark(SagaHistoryEntry entry) {
        return new Mark(entry.seq(), entry.stepIndex(), entry.event(), entry.detail(), entry.at());
    }

    private static void closeOrMark(List<Hop> hops, List<Mark> marks, Map<Integer, Integer> open, SagaHistoryEntry entry,
            Outcome outcome) {
        if (!close(hops, open, entry.stepIndex(), entry, outcome)) {
            // Local work, a late compensation, a reply that did not fit after the hop had closed: no hop of its own.
            marks.add(mark(entry));
        }
    }

    private static boolean close(List<Hop> hops, Map<Integer, Integer> open, int lane, SagaHistoryEntry entry,
            Outcome outcome) {
        Integer index = open.remove(lane);
        if (index == null) {
            return false;
        }
        Hop hop = hops.get(index);
        hops.set(index, new Hop(hop.seq(), hop.stepIndex(), hop.stepName(), hop.kind(), hop.attempt(), hop.sent(),
                entry.at(), outcome, hop.what(), entry.event() + (entry.detail() == null ? "" : ": " + entry.detail())));
        return true;
    }

    /**
     * The chart of a history, or an empty string for an empty one.
     *
     * @param now where hops still open end; the last entry's time when null (an ended saga)
     */
    static String svg(List<SagaHistoryEntry> history, Instant now) {
        if (history.isEmpty()) {
            return "";
        }
        Chart chart = read(history);
        Instant start = history.get(0).at();
        Instant last = start;
        for (SagaHistoryEntry entry : history) {
            if (entry.at().isAfter(last)) {
                last = entry.at();
            }
        }
        boolean anyOpen = chart.hops().stream().anyMatch(hop -> hop.ended() == null);
        Instant end = anyOpen && now != null && now.isAfter(last) ? now : last;
        long span = Math.max(micros(start, end), 1000);
        List<long[]> busy = new ArrayList<>();
        for (Hop hop : chart.hops()) {
            busy.add(new long[] {micros(start, hop.sent()), micros(start, hop.ended() != null ? hop.ended() : end)});
        }
        for (Mark mark : chart.marks()) {
            busy.add(new long[] {micros(start, mark.at()), micros(start, mark.at())});
        }
        busy.add(new long[] {span, span});
        List<Integer> laneOrder = new ArrayList<>(chart.lanes().keySet());
        int plotLeft = LABEL_WIDTH;
        int plotWidth = WIDTH - LABEL_WIDTH - RIGHT;
        int height = AXIS + laneOrder.size() * LANE + 8;
        Scale scale = new Scale(start, span, busy, plotLeft, plotWidth);
        StringBuilder out = new StringBuilder();
        out.append("<svg class=\"timeline-chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" ")
                .append("aria-labelledby=\"timeline-title\" width=\"").append(WIDTH).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height)
                .append("\" font-family=\"system-ui, sans-serif\" font-size=\"11\"><title id=\"timeline-title\">")
                .append(chart.hops().size()).append(chart.hops().size() == 1 ? " hop" : " hops").append(" over ")
                .append(esc(millis(span))).append(" ms, one lane per step</title>");
        // Lanes, with their step's index and name.
        for (int i = 0; i < laneOrder.size(); i++) {
            int laneTop = AXIS + i * LANE;
            int index = laneOrder.get(i);
            String name = chart.lanes().get(index);
            out.append("<g class=\"lane\" data-lane=\"").append(index).append("\"><rect class=\"lane-bg").append(i % 2 == 0
                    ? "" : " odd").append("\" x=\"0\" y=\"").append(laneTop).append("\" width=\"").append(WIDTH)
                    .append("\" height=\"").append(LANE).append("\" fill=\"").append(i % 2 == 0 ? "#ffffff" : "#f6f7f9")
                    .append("\"/><text class=\"lane-label\" x=\"8\" y=\"").append(laneTop + LANE / 2 + 4).append("\">")
                    .append(index).append(' ').append(esc(SagaDiagram.shortened(name == null ? "" : name, 26)));
            if (name != null && name.length() > 26) {
                out.append("<title>").append(esc(name)).append("</title>");
            }
            out.append("</text></g>");
        }
        // The time axis: about eight ticks of 1, 2 or 5 times a power of ten, in microseconds.
        long step = tickStep(scale.shown(span));
        out.append("<g class=\"axis\"><line x1=\"").append(plotLeft).append("\" y1=\"").append(AXIS - 4).append("\" x2=\"")
                .append(plotLeft + plotWidth).append("\" y2=\"").append(AXIS - 4).append("\" stroke=\"#5b6576\"/>");
        double lastLabel = Double.NEGATIVE_INFINITY;
        for (long tick = 0; tick <= span; tick += step) {
            long[] cut = scale.cutAt(tick);
            if (cut != null) {
                // On to the first tick after the gap (a gap of hours is not walked in steps of milliseconds).
                tick = (cut[1] + step - 1) / step * step - step;
                continue;
            }
            double x = scale.x(start.plus(tick, ChronoUnit.MICROS));
            if (x - lastLabel < 48 || scale.cuts.stream().anyMatch(gap -> Math.abs(x
                    - scale.x(start.plus((gap[0] + gap[1]) / 2, ChronoUnit.MICROS))) < 34)) {
                continue;
            }
            lastLabel = x;
            out.append("<line class=\"tick\" x1=\"").append(fmt(x)).append("\" y1=\"").append(AXIS - 8).append("\" x2=\"")
                    .append(fmt(x)).append("\" y2=\"").append(height - 8).append("\" stroke=\"#d9dde4\"/>")
                    .append("<text class=\"tick-label\" x=\"").append(fmt(x)).append("\" y=\"").append(AXIS - 11)
                    .append("\" text-anchor=\"middle\">+").append(esc(axisLabel(tick, step))).append("</text>");
        }
        for (long[] cut : scale.cuts) {
            double x1 = scale.x(start.plus(cut[0], ChronoUnit.MICROS)) + 4;
            double x2 = scale.x(start.plus(cut[1], ChronoUnit.MICROS)) - 4;
            out.append("<g class=\"break\"><title>").append(esc(millis(cut[1] - cut[0]) + " ms with nothing happening, "
                    + "cut short")).append("</title><rect x=\"").append(fmt(x1)).append("\" y=\"").append(AXIS - 8)
                    .append("\" width=\"").append(fmt(x2 - x1)).append("\" height=\"").append(height - AXIS)
                    .append("\" fill=\"#eef1f5\"/><text class=\"break-label\" x=\"").append(fmt((x1 + x2) / 2))
                    .append("\" y=\"").append(AXIS - 11).append("\" text-anchor=\"middle\">≈</text></g>");
        }
        out.append("</g>");
        for (Wait wait : chart.waits()) {
            // Below the bars, clear of their labels.
            double y = AXIS + laneOrder.indexOf(wait.stepIndex()) * LANE + (LANE + BAR) / 2.0 + 2;
            out.append("<line class=\"wait\" x1=\"").append(fmt(scale.x(wait.from())))
                    .append("\" y1=\"").append(fmt(y)).append("\" x2=\"")
                    .append(fmt(scale.x(wait.to()))).append("\" y2=\"").append(fmt(y))
                    .append("\" stroke=\"#6a4fa3\" stroke-dasharray=\"3 3\"><title>")
                    .append(esc("retry wait " + millis(micros(wait.from(), wait.to())) + " ms: " + wait.detail()))
                    .append("</title></line>");
        }
        List<Hop> hops = chart.hops();
        // Where the last label of each lane ends, so that a label before a bar keeps clear of the one after the last.
        Map<Integer, Double> labelEnds = new LinkedHashMap<>();
        for (int h = 0; h < hops.size(); h++) {
            Hop hop = hops.get(h);
            int laneTop = AXIS + laneOrder.indexOf(hop.stepIndex()) * LANE;
            Instant hopEnd = hop.ended() != null ? hop.ended() : end;
            double x1 = scale.x(hop.sent());
            double x2 = Math.max(scale.x(hopEnd), x1 + 2);
            // Room for the label up to the next hop in the lane (they never overlap: one awaited command per step).
            double room = WIDTH - 4;
            for (int later = h + 1; later < hops.size(); later++) {
                if (hops.get(later).stepIndex() == hop.stepIndex()) {
                    room = scale.x(hops.get(later).sent()) - 3;
                    break;
                }
            }
            double roomBefore = plotLeft;
            for (int earlier = h - 1; earlier >= 0; earlier--) {
                Hop previous = hops.get(earlier);
                if (previous.stepIndex() == hop.stepIndex()) {
                    roomBefore = scale.x(previous.ended() != null ? previous.ended() : end) + 3;
                    break;
                }
            }
            long duration = micros(hop.sent(), hopEnd);
            String label = millis(duration) + " ms" + (hop.outcome() == Outcome.SUCCEEDED ? "" : " " + hop.outcome().label);
            out.append("<rect class=\"hop ").append(hop.kind().css()).append(hop.retry() ? " retry" : "").append(' ')
                    .append(hop.outcome().css).append("\" data-hop=\"").append(hop.seq()).append("\" data-step=\"")
                    .append(esc(hop.stepName())).append("\" data-ms=\"").append(millis(duration)).append("\" x=\"")
                    .append(fmt(x1)).append("\" y=\"").append(laneTop + (LANE - BAR) / 2).append("\" width=\"")
                    .append(fmt(x2 - x1)).append("\" height=\"").append(BAR).append("\" rx=\"2\" fill=\"")
                    .append(fill(hop)).append("\"><title>").append(esc(hop.kind().css() + " " + hop.what() + ": "
                            + label + (hop.why() == null ? "" : " (" + hop.why() + ")"))).append("</title></rect>");
            // After the bar when there is room before the lane's next hop, inside it when it is wide enough, before it
            // when there is room after the lane's previous hop, else only on hover (the bar's title) and in data-ms.
            double labelWidth = 6.2 * label.length();
            roomBefore = Math.max(roomBefore, labelEnds.getOrDefault(hop.stepIndex(), roomBefore) + 6);
            if (x2 + 4 + labelWidth <= room) {
                out.append("<text class=\"hop-label\" x=\"").append(fmt(x2 + 4)).append("\" y=\"")
                        .append(laneTop + LANE / 2 + 4).append("\">").append(esc(label)).append("</text>");
                labelEnds.put(hop.stepIndex(), x2 + 4 + labelWidth);
            } else if (x1 - 4 - labelWidth >= roomBefore) {
                out.append("<text class=\"hop-label\" x=\"").append(fmt(x1 - 4)).append("\" y=\"")
                        .append(laneTop + LANE / 2 + 4).append("\" text-anchor=\"end\">").append(esc(label))
                        .append("</text>");
            } else if (x2 - x1 >= labelWidth + 8) {
                out.append("<text class=\"hop-label inside\" x=\"").append(fmt(x1 + 4)).append("\" y=\"")
                        .append(laneTop + LANE / 2 + 4).append("\" fill=\"#ffffff\">").append(esc(label)).append("</text>");
            }
        }
        for (Mark mark : chart.marks()) {
            double cx = scale.x(mark.at());
            double cy = AXIS + laneOrder.indexOf(mark.stepIndex()) * LANE + LANE / 2.0;
            out.append("<path class=\"mark ev-").append(esc(mark.event().toLowerCase(Locale.ROOT))).append("\" d=\"M ")
                    .append(fmt(cx)).append(' ').append(fmt(cy - 5)).append(" l 5 5 l -5 5 l -5 -5 z\" fill=\"#5b6576\">")
                    .append("<title>").append(esc(mark.event() + " at +" + millis(micros(start, mark.at())) + " ms"
                            + (mark.detail() == null ? "" : ": " + mark.detail()))).append("</title></path>");
        }
        return out.append("</svg>").toString();
    }

    /** The legend under the chart: what each class of bar and mark means. */
    static String legend() {
        StringBuilder out = new StringBuilder("<ul class=\"legend timeline-legend\">");
        String[][] items = {
            {"hop forward ok", "command, answered"},
            {"hop forward retry ok", "retry (attempt 2 or later)"},
            {"hop compensation ok", "compensation"},
            {"hop compensation retry ok", "its retry"},
            {"hop abandon ok", "abandon"},
            {"hop forward failed", "refused or failed"},
            {"hop forward timed-out", "timed out"},
            {"hop forward given-up", "given up"},
            {"hop forward open", "awaiting a reply"},
        };
        for (String[] item : items) {
            out.append("<li><svg class=\"swatch\" width=\"22\" height=\"12\" viewBox=\"0 0 22 12\" aria-hidden=\"true\">")
                    .append("<rect class=\"").append(item[0]).append("\" x=\"1\" y=\"1\" width=\"20\" height=\"10\" rx=\"2\"/>")
                    .append("</svg>").append(item[1]).append("</li>");
        }
        out.append("<li><svg class=\"swatch\" width=\"22\" height=\"12\" viewBox=\"0 0 22 12\" aria-hidden=\"true\">")
                .append("<line class=\"wait\" x1=\"1\" y1=\"6\" x2=\"21\" y2=\"6\"/></svg>wait before a retry</li>")
                .append("<li><svg class=\"swatch\" width=\"22\" height=\"12\" viewBox=\"0 0 22 12\" aria-hidden=\"true\">")
                .append("<path class=\"mark\" d=\"M 11 1 l 5 5 l -5 5 l -5 -5 z\"/></svg>an entry: started, skipped, ")
                .append("local work, cancelled, parked, late reply, end (hover for each)</li>")
                .append("<li><svg class=\"swatch\" width=\"22\" height=\"12\" viewBox=\"0 0 22 12\" aria-hidden=\"true\">")
                .append("<rect class=\"break-swatch\" x=\"1\" y=\"0\" width=\"20\" height=\"12\"/></svg>≈ a long ")
                .append("wait with nothing happening, cut short</li>");
        return out.append("</ul>").toString();
    }

    private static String fill(Hop hop) {
        return switch (hop.kind()) {
            case COMPENSATION -> hop.retry() ? "#7c4a03" : "#b7791f";
            case ABANDON -> "#7a6a58";
            case FORWARD -> hop.retry() ? "#6a4fa3" : "#1f5fbf";
        };
    }

    /**
     * Time to x: linear, except that each idle gap (no hop open, no entry) longer than a fifth of the chart's time is
     * cut to {@link #BREAK} units, so that hours parked waiting for an operator do not squeeze the milliseconds of
     * the hops before and after them into a sliver.
     */
    static final class Scale {
        final Instant start;
        final int left;
        /** The cut gaps, in microseconds from the start: {from, to}, in order. */
        final List<long[]> cuts = new ArrayList<>();
        final double unit;

        Scale(Instant start, long span, List<long[]> busy, int left, int width) {
            this.start = start;
            this.left = left;
            List<long[]> sorted = new ArrayList<>(busy);
            sorted.sort(java.util.Comparator.comparingLong(interval -> interval[0]));
            long reached = 0;
            long cut = 0;
            for (long[] interval : sorted) {
                if (interval[0] - reached > span / 5) {
                    cuts.add(new long[] {reached, interval[0]});
                    cut += interval[0] - reached;
                }
                reached = Math.max(reached, interval[1]);
            }
            this.unit = (width - cuts.size() * BREAK) / (double) Math.max(span - cut, 1);
        }

        double x(Instant at) {
            long micros = micros(start, at);
            long cutBefore = 0;
            int breaks = 0;
            for (long[] cut : cuts) {
                if (micros >= cut[1]) {
                    cutBefore += cut[1] - cut[0];
                    breaks++;
                } else if (micros > cut[0]) {
                    return left + (cut[0] - cutBefore) * unit + breaks * BREAK
                            + BREAK * (double) (micros - cut[0]) / (cut[1] - cut[0]);
                } else {
                    break;
                }
            }
            return left + (micros - cutBefore) * unit + breaks * BREAK;
        }

        /** The cut gap a time lies in, or null. */
        long[] cutAt(long micros) {
            return cuts.stream().filter(cut -> micros > cut[0] && micros < cut[1]).findFirst().orElse(null);
        }

        /** The time shown: the span less the cut gaps. */
        long shown(long span) {
            return span - cuts.stream().mapToLong(cut -> cut[1] - cut[0]).sum();
        }
    }

    static long micros(Instant from, Instant to) {
        return ChronoUnit.MICROS.between(from, to);
    }

    /** Microseconds as milliseconds: one decimal below 10 ms, whole milliseconds above. */
    static String millis(long micros) {
        if (micros < 10_000) {
            return String.format(Locale.ROOT, "%.1f", micros / 1000.0);
        }
        return Long.toString(Math.round(micros / 1000.0));
    }

    /** A tick step of 1, 2 or 5 times a power of ten microseconds, giving at most eight ticks over {@code span}. */
    static long tickStep(long span) {
        long step = 1;
        while (true) {
            for (long factor : new long[] {1, 2, 5}) {
                if (span / (step * factor) <= 8) {
                    return step * factor;
                }
            }
            step *= 10;
        }
    }

    /**
     * A tick's time since the start, in the unit its step reads best in; past a minute with finer steps (after a cut
     * gap) as hours, minutes and seconds: {@code 2:00:00.015}.
     */
    static String axisLabel(long micros, long step) {
        if (micros >= 60_000_000 && step < 60_000_000) {
            long seconds = micros / 1_000_000;
            String fraction = step >= 1_000_000 ? "" : step >= 1000
                    ? String.format(Locale.ROOT, ".%03d", micros % 1_000_000 / 1000)
                    : String.format(Locale.ROOT, ".%06d", micros % 1_000_000);
            return String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60) + fraction;
        }
        if (step < 1000) {
            return String.format(Locale.ROOT, "%.1f ms", micros / 1000.0);
        }
        if (step < 1_000_000) {
            return micros / 1000 + " ms";
        }
        if (step < 60_000_000) {
            return (micros % 1_000_000 == 0 ? Long.toString(micros / 1_000_000)
                    : String.format(Locale.ROOT, "%.1f", micros / 1_000_000.0)) + " s";
        }
        if (step < 3_600_000_000L) {
            return (micros % 60_000_000 == 0 ? Long.toString(micros / 60_000_000)
                    : String.format(Locale.ROOT, "%.1f", micros / 60_000_000.0)) + " min";
        }
        return String.format(Locale.ROOT, "%.1f h", micros / 3_600_000_000.0);
    }

    private static String fmt(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }
}
