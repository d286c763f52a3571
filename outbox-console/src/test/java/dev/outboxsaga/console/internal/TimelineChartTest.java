package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.internal.TimelineChart.Hop;
import dev.outboxsaga.console.internal.TimelineChart.Kind;
import dev.outboxsaga.console.internal.TimelineChart.Outcome;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/**
 * A saga's timeline chart from a history as the engine writes it: a parallel group's two branches, a step refused
 * retryably, retried, timed out, retried again and cancelled, then compensations going backwards, the last still
 * awaited; all within about a second, most hops a few milliseconds long.
 */
class TimelineChartTest {

    private static final Instant T0 = Instant.parse("2026-03-01T09:00:00.100000Z");

    private final List<SagaHistoryEntry> history = new ArrayList<>();

    private void entry(long micros, int step, String name, String event, String detail) {
        history.add(new SagaHistoryEntry(history.size() + 1, step, name, event, detail, T0.plus(micros, ChronoUnit.MICROS)));
    }

    private List<SagaHistoryEntry> cancelledWhileRetrying() {
        entry(0, 0, "holdLimit", "STARTED", "transfer v2");
        entry(0, 0, "holdLimit", "COMMAND_SENT", "HoldLimit to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000001");
        entry(0, 1, "screenPayee", "COMMAND_SENT", "ScreenPayee to bank-b, attempt 1, id 11111111-0000-0000-0000-000000000002");
        entry(3_200, 1, "screenPayee", "SUCCEEDED", null);
        entry(4_500, 0, "holdLimit", "SUCCEEDED", null);
        entry(4_500, 2, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000003");
        entry(6_000, 2, "debit", "FAILED", "retryable: bank busy");
        entry(6_000, 2, "debit", "RETRY_SCHEDULED", "bank busy; attempt 2 in 50 ms");
        entry(56_000, 2, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 2, id 11111111-0000-0000-0000-000000000004");
        entry(1_056_000, 2, "debit", "TIMED_OUT", "no reply to 11111111-0000-0000-0000-000000000004 within 1000 ms");
        entry(1_056_000, 2, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 3, id 11111111-0000-0000-0000-000000000005");
        entry(1_100_000, 2, "debit", "CANCELLED", "customer withdrew");
        entry(1_100_000, 2, "debit", "COMPENSATION_SENT", "Refund to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000006");
        entry(1_110_250, 2, "debit", "COMPENSATED", null);
        entry(1_110_250, 1, "screenPayee", "COMPENSATION_SENT",
                "ForgetScreening to bank-b, attempt 1, id 11111111-0000-0000-0000-000000000007");
        entry(1_111_000, 1, "screenPayee", "COMPENSATED", null);
        entry(1_111_000, 0, "holdLimit", "COMPENSATION_SENT",
                "ReleaseLimit to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000008");
        return history;
    }

    @Test
    void eachCommandSentIsAHopEndedByItsReplyItsTimeoutOrTheSagaGivingUp() {
        TimelineChart.Chart chart = TimelineChart.read(cancelledWhileRetrying());

        assertThat(chart.hops()).extracting(Hop::seq, Hop::stepIndex, Hop::kind, Hop::attempt, Hop::outcome).containsExactly(
                org.assertj.core.groups.Tuple.tuple(2L, 0, Kind.FORWARD, 1, Outcome.SUCCEEDED),
                org.assertj.core.groups.Tuple.tuple(3L, 1, Kind.FORWARD, 1, Outcome.SUCCEEDED),
                org.assertj.core.groups.Tuple.tuple(6L, 2, Kind.FORWARD, 1, Outcome.FAILED),
                org.assertj.core.groups.Tuple.tuple(9L, 2, Kind.FORWARD, 2, Outcome.TIMED_OUT),
                org.assertj.core.groups.Tuple.tuple(11L, 2, Kind.FORWARD, 3, Outcome.GIVEN_UP),
                org.assertj.core.groups.Tuple.tuple(13L, 2, Kind.COMPENSATION, 1, Outcome.SUCCEEDED),
                org.assertj.core.groups.Tuple.tuple(15L, 1, Kind.COMPENSATION, 1, Outcome.SUCCEEDED),
                org.assertj.core.groups.Tuple.tuple(17L, 0, Kind.COMPENSATION, 1, Outcome.OPEN));
        assertThat(chart.hops().get(1).ended()).isEqualTo(T0.plus(3_200, ChronoUnit.MICROS));
        assertThat(chart.hops().get(4).why()).isEqualTo("CANCELLED: customer withdrew");
        assertThat(chart.waits()).singleElement().satisfies(wait -> {
            assertThat(wait.stepIndex()).isEqualTo(2);
            assertThat(TimelineChart.micros(wait.from(), wait.to())).isEqualTo(50_000);
        });
        assertThat(chart.marks()).extracting(TimelineChart.Mark::event).containsExactly("STARTED", "CANCELLED");
        assertThat(chart.lanes()).containsExactly(java.util.Map.entry(0, "holdLimit"), java.util.Map.entry(1, "screenPayee"),
                java.util.Map.entry(2, "debit"));
    }

    @Test
    void theChartHasOneBarPerHopWithItsDurationInMillisecondsAndItsKindAndOutcomeAsClasses() {
        Svg svg = Svg.parse(TimelineChart.svg(cancelledWhileRetrying(), T0.plus(1_200, ChronoUnit.MILLIS)));

        List<Element> hops = svg.withClasses("rect", "hop");
        assertThat(hops).extracting(hop -> hop.getAttribute("data-hop"))
                .containsExactly("2", "3", "6", "9", "11", "13", "15", "17");
        assertThat(hops).extracting(hop -> hop.getAttribute("data-ms"))
                .containsExactly("4.5", "3.2", "1.5", "1000", "44", "10", "0.8", "89");
        assertThat(svg.withClasses("rect", "hop", "forward", "retry", "timed-out")).extracting(h -> h.getAttribute("data-hop"))
                .containsExactly("9");
        assertThat(svg.withClasses("rect", "hop", "given-up")).extracting(h -> h.getAttribute("data-hop")).containsExactly("11");
        assertThat(svg.withClasses("rect", "hop", "failed")).extracting(h -> h.getAttribute("data-hop")).containsExactly("6");
        assertThat(svg.withClasses("rect", "hop", "compensation")).hasSize(3);
        assertThat(svg.withClasses("rect", "hop", "open")).extracting(h -> h.getAttribute("data-hop")).containsExactly("17");
        assertThat(svg.withClasses("line", "wait")).hasSize(1);
        assertThat(svg.withClasses("g", "lane")).hasSize(3);
        assertThat(svg.withClasses("path", "mark")).hasSize(2);
        // Labels go where they fit in their lane: after the bar, before it, inside it, or only on hover.
        assertThat(svg.withClasses("text", "hop-label")).extracting(Element::getTextContent)
                .contains("4.5 ms", "1000 ms timed out", "89 ms awaiting reply").doesNotContain("1.5 ms failed");
        assertThat(svg.withClasses("text", "hop-label", "inside")).extracting(Element::getTextContent)
                .containsExactly("1000 ms timed out");
        assertThat(svg.all("//rect[@data-hop='6']/title").get(0).getTextContent()).contains("1.5 ms failed");
        assertLabelsApart(svg);

        // Milliseconds apart stay apart: the hops of the first 6 ms do not fall on one point.
        double holdStart = Svg.number(hops.get(0), "x");
        double debitStart = Svg.number(hops.get(2), "x");
        double plot = TimelineChart.WIDTH - TimelineChart.LABEL_WIDTH - TimelineChart.RIGHT;
        assertThat(debitStart - holdStart).isCloseTo(plot * 4.5 / 1200, org.assertj.core.data.Offset.offset(0.2));
        assertThat(Svg.number(hops.get(3), "width")).isCloseTo(plot * 1000 / 1200, org.assertj.core.data.Offset.offset(0.2));
        assertThat(Svg.number(hops.get(1), "width")).as("3.2 ms of 1.2 s, but at least 2 units wide").isEqualTo(2.0);
    }

    /** No two labels of a lane overlap each other, nor a bar of the lane they do not belong to. */
    private static void assertLabelsApart(Svg svg) {
        List<double[]> spans = new ArrayList<>();
        for (Element label : svg.withClasses("text", "hop-label")) {
            double width = 6.2 * label.getTextContent().length();
            double x = Svg.number(label, "x");
            boolean end = "end".equals(label.getAttribute("text-anchor"));
            spans.add(new double[] {Svg.number(label, "y"), end ? x - width : x, end ? x : x + width});
        }
        for (int i = 0; i < spans.size(); i++) {
            for (int j = i + 1; j < spans.size(); j++) {
                double[] a = spans.get(i);
                double[] b = spans.get(j);
                assertThat(a[0] == b[0] && a[1] < b[2] && b[1] < a[2]).as("labels %d and %d overlap", i, j).isFalse();
            }
        }
    }

    @Test
    void anEndedSagaEndsAtItsLastEntryAndHostileStepNamesAreEscaped() {
        String name = "<img src=x onerror=alert(1)>";
        entry(0, 0, name, "STARTED", "t v1");
        entry(0, 0, name, "COMMAND_SENT", "Debit to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000001");
        entry(2_000, 0, name, "SUCCEEDED", null);
        entry(2_000, 0, name, "COMPLETED", "\"<done>\"");

        String raw = TimelineChart.svg(history, T0.plus(1, ChronoUnit.HOURS));

        assertThat(raw).doesNotContain("<img", "<done>").contains("&lt;img src=x onerror=alert(1)&gt;");
        Svg svg = Svg.parse(raw);
        assertThat(svg.elementNames()).doesNotContain("img", "script");
        assertThat(svg.withClasses("rect", "hop")).singleElement().satisfies(hop -> {
            assertThat(hop.getAttribute("data-step")).isEqualTo(name);
            assertThat(hop.getAttribute("data-ms")).isEqualTo("2.0");
            assertThat(Svg.number(hop, "x") + Svg.number(hop, "width"))
                    .as("the axis ends at the last entry, not at now").isEqualTo(TimelineChart.WIDTH - TimelineChart.RIGHT);
        });
        assertThat(TimelineChart.svg(List.of(), Instant.now())).isEmpty();
    }

    @Test
    void hoursParkedWithNothingHappeningAreCutShortSoTheMillisecondsAroundThemStayReadable() {
        long parkedFor = 2L * 3600 * 1_000_000;
        entry(0, 0, "debit", "STARTED", "transfer v1");
        entry(0, 0, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000001");
        entry(5_000, 0, "debit", "SUCCEEDED", null);
        entry(5_000, 1, "credit", "COMMAND_SENT", "Credit to bank-b, attempt 1, id 11111111-0000-0000-0000-000000000002");
        entry(9_000, 1, "credit", "FAILED", "unknown account");
        entry(9_000, 0, "debit", "COMPENSATION_SENT", "Refund to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000003");
        entry(12_000, 0, "debit", "COMPENSATION_FAILED", "account frozen");
        entry(12_000, 0, "debit", "PARKED", "compensation failed after 1 attempt(s): account frozen");
        entry(parkedFor + 12_000, 0, "debit", "REPAIR_RETRY", "compensation retried by an operator");
        entry(parkedFor + 12_000, 0, "debit", "COMPENSATION_SENT",
                "Refund to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000004");
        entry(parkedFor + 20_000, 0, "debit", "COMPENSATED", null);
        entry(parkedFor + 20_000, 0, "debit", "ENDED_COMPENSATED", null);

        Svg svg = Svg.parse(TimelineChart.svg(history, null));

        assertThat(svg.withClasses("g", "break")).hasSize(1);
        double unit = (TimelineChart.WIDTH - TimelineChart.LABEL_WIDTH - TimelineChart.RIGHT - TimelineChart.BREAK) / 20_000.0;
        List<Element> hops = svg.withClasses("rect", "hop");
        assertThat(Svg.number(hops.get(0), "width")).as("5 of the 20 ms shown").isCloseTo(5_000 * unit,
                org.assertj.core.data.Offset.offset(0.2));
        assertThat(Svg.number(hops.get(3), "x")).as("after the gap, cut to its break")
                .isCloseTo(TimelineChart.LABEL_WIDTH + 12_000 * unit + TimelineChart.BREAK, org.assertj.core.data.Offset.offset(0.2));
        assertThat(hops.get(3).getAttribute("data-ms")).isEqualTo("8.0");
        assertLabelsApart(svg);
        assertThat(svg.all("//g[@class='axis']/text[@class='tick-label']")).extracting(Element::getTextContent)
                .containsExactly("+0 ms", "+5 ms", "+10 ms", "+2:00:00.015", "+2:00:00.020");
    }

    @Test
    void aLabelBeforeABarKeepsClearOfTheLabelAfterTheBarBeforeIt() {
        entry(0, 0, "debit", "COMMAND_SENT", "Debit to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000001");
        entry(400_000, 0, "debit", "SUCCEEDED", null);
        entry(560_000, 0, "debit", "COMPENSATION_SENT", "Refund to bank-a, attempt 1, id 11111111-0000-0000-0000-000000000002");
        entry(800_000, 0, "debit", "COMPENSATION_FAILED", "frozen");
        entry(850_000, 0, "debit", "COMPENSATION_SENT", "Refund to bank-a, attempt 2, id 11111111-0000-0000-0000-000000000003");
        entry(1_000_000, 0, "debit", "COMPENSATED", null);

        Svg svg = Svg.parse(TimelineChart.svg(history, null));

        assertThat(svg.withClasses("text", "hop-label")).extracting(Element::getTextContent)
                .containsExactly("400 ms", "240 ms failed", "150 ms");
        assertThat(svg.withClasses("text", "hop-label", "inside")).extracting(Element::getTextContent)
                .containsExactly("240 ms failed");
        assertLabelsApart(svg);
    }

    @Test
    void theAxisTicksAreRoundAndReadInTheirUnit() {
        assertThat(TimelineChart.tickStep(1_200_000)).isEqualTo(200_000);
        assertThat(TimelineChart.axisLabel(400_000, 200_000)).isEqualTo("400 ms");
        assertThat(TimelineChart.axisLabel(1_500, 500)).isEqualTo("1.5 ms");
        assertThat(TimelineChart.axisLabel(4_000_000, 2_000_000)).isEqualTo("4 s");
        assertThat(TimelineChart.axisLabel(120_000_000, 60_000_000)).isEqualTo("2 min");
        assertThat(TimelineChart.axisLabel(3_723_000_000L, 1_000_000)).isEqualTo("1:02:03");
        assertThat(TimelineChart.millis(999)).isEqualTo("1.0");
        assertThat(TimelineChart.millis(12_345)).isEqualTo("12");
    }
}
