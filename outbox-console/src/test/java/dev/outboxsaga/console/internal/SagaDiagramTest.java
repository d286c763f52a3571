package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.SagaShape.Compensation.COMMAND;
import static dev.outboxsaga.console.internal.SagaShape.Compensation.LOCAL;
import static dev.outboxsaga.console.internal.SagaShape.Compensation.NONE;
import static dev.outboxsaga.console.internal.SagaShape.Compensation.UNKNOWN;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/** A saga type's diagram: one node per step, branches side by side, what each step does, escaping. */
class SagaDiagramTest {

    private static final String HOSTILE = "<script>alert('x')</script>";

    private static SagaShape.Step participant(int index, String name, String participant, String command,
            String compensation, boolean conditional) {
        return new SagaShape.Step(index, name, SagaShape.Kind.PARTICIPANT, participant, command, COMMAND, compensation,
                Duration.ofSeconds(5), 3, conditional);
    }

    private static final SagaShape ORDER = new SagaShape("order", 2, Duration.ofMinutes(5), List.of(
            participant(0, "reserve", "stock", "Reserve", "Release", false),
            new SagaShape.Group("checks", List.of(
                    participant(1, "fraudCheck", "dynamic", "CheckFraud", "ForgetCheck", false),
                    participant(2, "limitCheck", "limits", "HoldLimit", "ReleaseLimit", true),
                    participant(3, HOSTILE, "limits", "Probe\"<b>", "Unprobe", false))),
            new SagaShape.Step(4, "book", SagaShape.Kind.LOCAL, null, null, LOCAL, null, null, null, false),
            new SagaShape.Step(5, "announce", SagaShape.Kind.LOCAL, null, null, NONE, null, null, null, true)));

    private static final SagaTypeDetail RECORDED = new SagaTypeDetail(ORDER, Instant.parse("2026-01-01T00:00:00Z"), 0,
            Map.of(0, new SagaTypeDetail.InFlight(2, 0, 0), 3, new SagaTypeDetail.InFlight(0, 1, 1)));

    @Test
    void oneNodePerStepInOrderWithTheGroupsBranchesSideBySide() {
        Svg svg = Svg.parse(SagaDiagram.svg(RECORDED));

        List<Element> steps = svg.withClasses("g", "step");
        assertThat(steps).extracting(step -> step.getAttribute("data-step"))
                .containsExactly("reserve", "fraudCheck", "limitCheck", HOSTILE, "book", "announce");
        assertThat(steps).extracting(step -> step.getAttribute("data-index")).containsExactly("0", "1", "2", "3", "4", "5");
        List<Element> branches = svg.all("//g[@class='group' and @data-group='checks']/g[contains(@class, 'step')]/rect");
        assertThat(branches).hasSize(3);
        assertThat(branches).extracting(box -> Svg.number(box, "y")).as("side by side").containsOnly(
                Svg.number(branches.get(0), "y"));
        for (int i = 1; i < branches.size(); i++) {
            assertThat(Svg.number(branches.get(i), "x") - Svg.number(branches.get(i - 1), "x"))
                    .isEqualTo(SagaDiagram.BOX_WIDTH + SagaDiagram.GAP_X);
        }
        List<Element> boxes = svg.all("//g[contains(@class, 'step')]/rect[@class='box']");
        double reserveY = Svg.number(boxes.get(0), "y");
        double bookY = Svg.number(boxes.get(4), "y");
        assertThat(Svg.number(branches.get(0), "y")).isBetween(reserveY + SagaDiagram.BOX_HEIGHT, bookY - SagaDiagram.BOX_HEIGHT);
        assertThat(Svg.number(boxes.get(5), "y")).isGreaterThan(bookY);
        assertThat(List.of(boxes.get(0), boxes.get(4), boxes.get(5))).extracting(box -> Svg.number(box, "x"))
                .as("the steps on their own in one column").containsOnly(Svg.number(boxes.get(0), "x"));
        assertThat(svg.withClasses("rect", "fork")).hasSize(1);
        assertThat(svg.withClasses("rect", "join")).hasSize(1);
    }

    @Test
    void eachNodeSaysWhatItsStepDoesHowItIsUndoneItsTimeoutAttemptsConditionAndItsSagasNow() {
        Svg svg = Svg.parse(SagaDiagram.svg(RECORDED));

        assertThat(text(svg, "reserve")).contains("Reserve → stock", "undo: Release", "timeout 5 s · 3 attempts",
                "2 running");
        assertThat(text(svg, "fraudCheck")).contains("CheckFraud → dynamic").doesNotContain("running");
        assertThat(text(svg, "book")).contains("local step", "undo: local").doesNotContain("timeout");
        assertThat(text(svg, "announce")).contains("local step", "no compensation", "when …");
        assertThat(svg.withClasses("g", "step", "conditional")).extracting(step -> step.getAttribute("data-step"))
                .containsExactly("limitCheck", "announce");
        assertThat(svg.all("//g[contains(@class, 'conditional')]/rect[@stroke-dasharray]")).hasSize(2);
        assertThat(svg.withClasses("g", "step", "has-parked")).singleElement()
                .satisfies(step -> assertThat(step.getAttribute("data-step")).isEqualTo(HOSTILE));
        assertThat(svg.withClasses("tspan", "n-parked")).singleElement()
                .satisfies(count -> assertThat(count.getTextContent()).isEqualTo("1 parked"));
        assertThat(svg.all("//g[contains(@class, 'start')]/text").get(0).getTextContent())
                .isEqualTo("start · saga deadline 5 min after it began");
        assertThat(svg.all("//title").get(0).getTextContent()).isEqualTo("Saga order v2: 6 steps");
    }

    @Test
    void hostileNamesAndCommandTypesAreEscapedInTextAndAttributes() {
        String raw = SagaDiagram.svg(RECORDED);

        assertThat(raw).doesNotContain("<script", "<b>", "\"<b>").contains("&lt;script&gt;", "Probe&quot;&lt;b&gt;");
        Svg svg = Svg.parse(raw);
        assertThat(svg.elementNames()).doesNotContain("script", "b");
        assertThat(text(svg, HOSTILE)).contains("Probe\"<b> → limits");
    }

    @Test
    void aShapeDerivedFromHistorySaysWhatIsNotKnown() {
        SagaShape derived = new SagaShape("old", 1, null, List.of(
                new SagaShape.Step(0, "debit", SagaShape.Kind.PARTICIPANT, "bank-a", "Debit", UNKNOWN, null, null, null,
                        null),
                new SagaShape.Step(1, "step 1", SagaShape.Kind.UNKNOWN, null, null, UNKNOWN, null, null, null, null)));
        Svg svg = Svg.parse(SagaDiagram.svg(new SagaTypeDetail(derived, null, 12, Map.of())));

        assertThat(svg.withClasses("g", "step")).hasSize(2);
        assertThat(text(svg, "debit")).contains("Debit → bank-a", "undo: not seen in the history",
                "timeout and attempts unknown");
        assertThat(text(svg, "step 1")).contains("kind not seen in the history");
        assertThat(svg.all("//title").get(0).getTextContent()).isEqualTo("Saga old v1: 2 steps, derived from history");
        assertThat(svg.all("//g[contains(@class, 'start')]/text").get(0).getTextContent()).isEqualTo("start");
    }

    @Test
    void durationsReadAsPeopleSayThem() {
        assertThat(List.of(250L, 1_500L, 30_000L, 90_000L, 120_000L, 5_400_000L, 7_200_000L, 9_000_000L))
                .extracting(ms -> SagaDiagram.duration(Duration.ofMillis(ms)))
                .containsExactly("250 ms", "1.5 s", "30 s", "90 s", "2 min", "90 min", "2 h", "2 h 30 min");
    }

    /** The text of a step's node, without its hover title. */
    private static String text(Svg svg, String step) {
        List<Element> nodes = svg.withClasses("g", "step").stream().filter(g -> g.getAttribute("data-step").equals(step))
                .toList();
        assertThat(nodes).as("node of " + step).hasSize(1);
        StringBuilder text = new StringBuilder();
        org.w3c.dom.NodeList children = nodes.get(0).getElementsByTagName("text");
        for (int i = 0; i < children.getLength(); i++) {
            text.append(children.item(i).getTextContent()).append('\n');
        }
        return text.toString();
    }
}
