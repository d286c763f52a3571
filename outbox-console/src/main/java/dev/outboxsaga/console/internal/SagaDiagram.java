package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.esc;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A saga type drawn as an SVG flow, top to bottom: start (with the saga deadline), each step as a box, each parallel
 * group as a fork, its branches side by side and a join, then the end. A box says the step's command type and
 * participant (or local work), its compensation, timeout and attempts, marks a conditional step ({@code when}), and
 * counts the type's sagas at that step now. Each step is one {@code <g class="step" data-step="name">}.
 *
 * <p>Only SVG presentation attributes and classes (console.css), no inline style, so the console's CSP holds; every
 * text from the database is escaped, in text and in attributes.
 */
final class SagaDiagram {

    static final int BOX_WIDTH = 240;
    static final int BOX_HEIGHT = 96;
    static final int GAP_X = 24;
    static final int GAP_Y = 30;
    static final int MARGIN = 24;
    private static final int LINE = 15;
    private static final int GROUP_LABEL = 22;
    private static final int BAR = 5;
    /** Characters that fit on one line of a box at the stylesheet's 12px. */
    private static final int CHARS = 34;

    private SagaDiagram() {
    }

    /** The diagram; {@code detail} gives the shape and the sagas at each step. */
    static String svg(SagaTypeDetail detail) {
        SagaShape shape = detail.shape();
        int columns = 1;
        for (SagaShape.Element element : shape.elements()) {
            if (element instanceof SagaShape.Group group) {
                columns = Math.max(columns, group.branches().size());
            }
        }
        int contentWidth = columns * BOX_WIDTH + (columns - 1) * GAP_X + 2 * GAP_X;
        int width = Math.max(contentWidth + 2 * MARGIN, 2 * BOX_WIDTH + 2 * MARGIN);
        int center = width / 2;
        StringBuilder body = new StringBuilder();
        int y = MARGIN;
        // Start, and the saga deadline beside it.
        body.append("<g class=\"terminal start\"><circle cx=\"").append(center).append("\" cy=\"").append(y + 10)
                .append("\" r=\"10\" fill=\"#17263d\"/><text x=\"").append(center + 18).append("\" y=\"").append(y + 14)
                .append("\" class=\"label\">start").append(shape.deadline() == null
                        ? (detail.derived() ? "" : " · no saga deadline")
                        : " · saga deadline " + esc(duration(shape.deadline())) + " after it began")
                .append("</text></g>");
        y += 20;
        for (SagaShape.Element element : shape.elements()) {
            arrow(body, center, y, y + GAP_Y);
            y += GAP_Y;
            if (element instanceof SagaShape.Step step) {
                box(body, detail, step, center - BOX_WIDTH / 2, y);
                y += BOX_HEIGHT;
            } else {
                y = group(body, detail, (SagaShape.Group) element, center, y, contentWidth);
            }
        }
        arrow(body, center, y, y + GAP_Y);
        y += GAP_Y;
        body.append("<g class=\"terminal end\"><circle cx=\"").append(center).append("\" cy=\"").append(y + 10)
                .append("\" r=\"10\" fill=\"none\" stroke=\"#17263d\" stroke-width=\"2\"/><circle cx=\"").append(center)
                .append("\" cy=\"").append(y + 10).append("\" r=\"6\" fill=\"#17263d\"/><text x=\"").append(center + 18)
                .append("\" y=\"").append(y + 14).append("\" class=\"label\">end</text></g>");
        int height = y + 20 + MARGIN;
        String title = "Saga " + shape.type() + " v" + shape.version() + ": " + shape.steps().size() + " steps"
                + (detail.derived() ? ", derived from history" : "");
        return "<svg class=\"diagram\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"diagram-title\" "
                + "width=\"" + width + "\" height=\"" + height + "\" viewBox=\"0 0 " + width + " " + height + "\" "
                + "font-family=\"system-ui, sans-serif\" font-size=\"12\"><title id=\"diagram-title\">" + esc(title)
                + "</title><defs><marker id=\"diagram-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
                + "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" "
                + "fill=\"#5b6576\"/></marker></defs>" + body + "</svg>";
    }

    /** A parallel group from {@code top}: its name, the fork, the branches side by side, the join; returns its bottom. */
    private static int group(StringBuilder out, SagaTypeDetail detail, SagaShape.Group group, int center, int top,
            int contentWidth) {
        List<SagaShape.Step> branches = group.branches();
        int n = Math.max(1, branches.size());
        int rowWidth = n * BOX_WIDTH + (n - 1) * GAP_X;
        int left = center - rowWidth / 2;
        int frameLeft = center - contentWidth / 2;
        int forkY = top + GROUP_LABEL;
        int boxesY = forkY + BAR + GAP_Y;
        int joinY = boxesY + BOX_HEIGHT + GAP_Y;
        int bottom = joinY + BAR + 10;
        out.append("<g class=\"group\" data-group=\"").append(esc(group.name())).append("\"><title>parallel group ")
                .append(esc(group.name())).append(": ").append(branches.size())
                .append(" branches, sent at once and joined</title>")
                .append("<rect class=\"frame\" x=\"").append(frameLeft).append("\" y=\"").append(top).append("\" width=\"")
                .append(contentWidth).append("\" height=\"").append(bottom - top).append("\" rx=\"8\" fill=\"none\" ")
                .append("stroke=\"#9aa5b5\" stroke-dasharray=\"6 4\"/><text class=\"group-name\" x=\"")
                .append(frameLeft + 10).append("\" y=\"").append(top + 15).append("\">parallel: ")
                .append(esc(shortened(group.name(), CHARS))).append("</text>");
        int firstCenter = left + BOX_WIDTH / 2;
        int lastCenter = left + (n - 1) * (BOX_WIDTH + GAP_X) + BOX_WIDTH / 2;
        out.append("<rect class=\"fork\" x=\"").append(Math.min(firstCenter, center) - 4).append("\" y=\"").append(forkY)
                .append("\" width=\"").append(Math.max(lastCenter, center) - Math.min(firstCenter, center) + 8)
                .append("\" height=\"").append(BAR).append("\" fill=\"#17263d\"/>");
        for (int i = 0; i < branches.size(); i++) {
            int x = left + i * (BOX_WIDTH + GAP_X);
            int branchCenter = x + BOX_WIDTH / 2;
            arrow(out, branchCenter, forkY + BAR, boxesY);
            box(out, detail, branches.get(i), x, boxesY);
            line(out, branchCenter, boxesY + BOX_HEIGHT, joinY);
        }
        out.append("<rect class=\"join\" x=\"").append(Math.min(firstCenter, center) - 4).append("\" y=\"").append(joinY)
                .append("\" width=\"").append(Math.max(lastCenter, center) - Math.min(firstCenter, center) + 8)
                .append("\" height=\"").append(BAR).append("\" fill=\"#17263d\"/></g>");
        line(out, center, joinY + BAR, bottom);
        return bottom;
    }

    /** One step's box at ({@code x}, {@code y}). */
    private static void box(StringBuilder out, SagaTypeDetail detail, SagaShape.Step step, int x, int y) {
        List<String> classes = new ArrayList<>(List.of("step", step.kind().name().toLowerCase(Locale.ROOT)));
        if (Boolean.TRUE.equals(step.conditional())) {
            classes.add("conditional");
        }
        SagaTypeDetail.InFlight here = detail.at(step.index());
        if (here.parked() > 0) {
            classes.add("has-parked");
        }
        List<String> lines = lines(step);
        out.append("<g class=\"").append(String.join(" ", classes)).append("\" data-step=\"").append(esc(step.name()))
                .append("\" data-index=\"").append(step.index()).append("\"><title>").append(esc(step.index() + " "
                        + step.name() + (Boolean.TRUE.equals(step.conditional()) ? " (conditional)" : "") + ": "
                        + String.join("; ", lines) + inFlightText(here, "; ")))
                .append("</title><rect class=\"box\" x=\"").append(x).append("\" y=\"").append(y).append("\" width=\"")
                .append(BOX_WIDTH).append("\" height=\"").append(BOX_HEIGHT).append("\" rx=\"6\" fill=\"#ffffff\" ")
                .append("stroke=\"#5b6576\"")
                .append(Boolean.TRUE.equals(step.conditional()) ? " stroke-dasharray=\"5 3\"" : "").append("/>");
        int textX = x + 10;
        int line = y + 18;
        out.append("<text class=\"name\" x=\"").append(textX).append("\" y=\"").append(line).append("\" font-weight=\"600\">")
                .append("<tspan class=\"index\">").append(step.index()).append("</tspan> ")
                .append(esc(shortened(step.name(), CHARS - 8))).append("</text>");
        if (Boolean.TRUE.equals(step.conditional())) {
            out.append("<text class=\"when\" x=\"").append(x + BOX_WIDTH - 10).append("\" y=\"").append(line)
                    .append("\" text-anchor=\"end\">when …</text>");
        }
        for (String text : lines) {
            line += LINE;
            out.append("<text class=\"fact\" x=\"").append(textX).append("\" y=\"").append(line).append("\">")
                    .append(esc(shortened(text, CHARS))).append("</text>");
        }
        if (here.total() > 0) {
            line += LINE;
            out.append("<text class=\"in-flight\" x=\"").append(textX).append("\" y=\"").append(line).append("\">");
            String separator = "";
            if (here.running() > 0) {
                out.append("<tspan class=\"n-running\">").append(here.running()).append(" running</tspan>");
                separator = " · ";
            }
            if (here.compensating() > 0) {
                out.append(separator).append("<tspan class=\"n-compensating\">").append(here.compensating())
                        .append(" compensating</tspan>");
                separator = " · ";
            }
            if (here.parked() > 0) {
                out.append(separator).append("<tspan class=\"n-parked\">").append(here.parked()).append(" parked</tspan>");
            }
            out.append("</text>");
        }
        out.append("</g>");
    }

    /** What a box says below the name: what it does, how it is undone, its timeout and attempts. */
    static List<String> lines(SagaShape.Step step) {
        List<String> lines = new ArrayList<>();
        switch (step.kind()) {
            case PARTICIPANT -> lines.add((step.commandType() == null ? "?" : step.commandType()) + " → "
                    + (step.participant() == null ? "?" : step.participant()));
            case LOCAL -> lines.add("local step");
            default -> lines.add("kind not seen in the history");
        }
        lines.add(switch (step.compensation()) {
            case COMMAND -> "undo: " + (step.compensationType() == null ? "a command" : step.compensationType());
            case LOCAL -> "undo: local";
            case NONE -> "no compensation";
            default -> "undo: not seen in the history";
        });
        if (step.kind() != SagaShape.Kind.LOCAL) {
            if (step.timeout() != null || step.retryAttempts() != null) {
                lines.add("timeout " + (step.timeout() == null ? "?" : duration(step.timeout())) + " · "
                        + (step.retryAttempts() == null ? "? attempts" : step.retryAttempts()
                                + (step.retryAttempts() == 1 ? " attempt" : " attempts")));
            } else if (step.kind() == SagaShape.Kind.PARTICIPANT) {
                lines.add("timeout and attempts unknown");
            }
        }
        return lines;
    }

    private static String inFlightText(SagaTypeDetail.InFlight here, String prefix) {
        if (here.total() == 0) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        if (here.running() > 0) {
            parts.add(here.running() + " running");
        }
        if (here.compensating() > 0) {
            parts.add(here.compensating() + " compensating");
        }
        if (here.parked() > 0) {
            parts.add(here.parked() + " parked");
        }
        return prefix + String.join(", ", parts) + " here now";
    }

    private static void arrow(StringBuilder out, int x, int from, int to) {
        out.append("<line class=\"flow\" x1=\"").append(x).append("\" y1=\"").append(from).append("\" x2=\"").append(x)
                .append("\" y2=\"").append(to - 1).append("\" stroke=\"#5b6576\" stroke-width=\"1.5\" ")
                .append("marker-end=\"url(#diagram-arrow)\"/>");
    }

    private static void line(StringBuilder out, int x, int from, int to) {
        out.append("<line class=\"flow\" x1=\"").append(x).append("\" y1=\"").append(from).append("\" x2=\"").append(x)
                .append("\" y2=\"").append(to).append("\" stroke=\"#5b6576\" stroke-width=\"1.5\"/>");
    }

    /** A duration as people say it: 250 ms, 30 s, 2 min, 1 h 30 min. */
    static String duration(Duration duration) {
        long millis = duration.toMillis();
        if (millis < 1000) {
            return millis + " ms";
        }
        if (millis % 1000 != 0 || millis < 60_000) {
            return millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
        }
        long seconds = millis / 1000;
        if (seconds % 60 != 0) {
            return seconds + " s";
        }
        long minutes = seconds / 60;
        if (minutes < 60 || minutes % 60 != 0 && minutes < 120) {
            return minutes + " min";
        }
        return minutes % 60 == 0 ? minutes / 60 + " h" : minutes / 60 + " h " + minutes % 60 + " min";
    }

    /** At most {@code max} characters, with an ellipsis when cut (not escaped: the caller escapes). */
    static String shortened(String text, int max) {
        if (text == null) {
            return "";
        }
        return text.length() <= max ? text : text.substring(0, Math.max(1, max - 1)) + "…";
    }
}
