package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/** The overview's per-minute charts: one bar segment per outcome and minute, axes, legend totals, buckets. */
class ActivityChartsTest {

    private static final Instant FROM = Instant.parse("2026-03-01T10:00:00Z");

    private static ServiceActivity activity(Duration window) {
        TreeMap<Instant, ServiceActivity.Ended> ended = new TreeMap<>();
        ended.put(FROM.plusSeconds(5 * 60), new ServiceActivity.Ended(3, 0, 1));
        ended.put(FROM.plusSeconds(6 * 60), new ServiceActivity.Ended(1, 0, 0));
        ended.put(FROM.plusSeconds(179 * 60), new ServiceActivity.Ended(0, 2, 0));
        TreeMap<Instant, Long> parked = new TreeMap<>();
        parked.put(FROM.plusSeconds(90 * 60), 4L);
        return new ServiceActivity(FROM, FROM.plus(window), ended, parked, null);
    }

    @Test
    void aBarSegmentPerOutcomeAndMinuteScaledToARoundTopWithTotalsInTheLegend() {
        Svg svg = Svg.parse("<div>" + ActivityCharts.charts("orders", activity(Duration.ofHours(3))) + "</div>");

        List<Element> charts = svg.withClasses("svg", "activity-chart");
        assertThat(charts).hasSize(2);
        assertThat(svg.all("//figure[contains(@class, 'sagas-ended')]//g[@class='minute']"))
                .extracting(g -> g.getAttribute("data-minute"))
                .containsExactly("2026-03-01T10:05:00Z", "2026-03-01T10:06:00Z", "2026-03-01T12:59:00Z");
        List<Element> completed = svg.withClasses("rect", "bar", "completed").stream()
                .filter(bar -> bar.hasAttribute("data-count")).toList();
        assertThat(completed).extracting(bar -> bar.getAttribute("data-count")).containsExactly("3", "1");
        // The top is 5 (the busiest minute had 4): 3 of 5 of the plot's 86 units.
        assertThat(Svg.number(completed.get(0), "height")).isCloseTo(86 * 3 / 5.0, org.assertj.core.data.Offset.offset(0.1));
        Element failed = svg.all("//rect[@class='bar failed' and @data-count]").get(0);
        assertThat(Svg.number(failed, "y") + Svg.number(failed, "height")).as("stacked on the completed")
                .isCloseTo(Svg.number(completed.get(0), "y"), org.assertj.core.data.Offset.offset(0.11));
        assertThat(Svg.number(completed.get(1), "x") - Svg.number(completed.get(0), "x")).as("a minute per slot")
                .isCloseTo((ActivityCharts.WIDTH - 42) / 180.0, org.assertj.core.data.Offset.offset(0.11));
        assertThat(svg.all("//figure[contains(@class, 'dead-letters-parked')]//rect[@data-count]"))
                .singleElement().satisfies(bar -> assertThat(bar.getAttribute("data-count")).isEqualTo("4"));
        assertThat(svg.all("//ul[@class='legend']/li")).extracting(Element::getTextContent)
                .containsExactly("completed 4", "compensated 2", "failed 1", "parked 4");
        assertThat(svg.all("//svg[contains(@class, 'activity-chart')]/g[@class='axis']/text"))
                .extracting(Element::getTextContent).contains("0", "5", "−3 h", "−2 h", "−1 h", "now");
        assertThat(svg.all("//figcaption")).extracting(Element::getTextContent)
                .containsExactly("Sagas ended per minute", "Dead letters parked per minute");
    }

    @Test
    void aLongWindowIsDrawnInBucketsOfSeveralMinutes() {
        assertThat(ActivityCharts.bucketMinutes(Duration.ofHours(3))).isEqualTo(1);
        assertThat(ActivityCharts.bucketMinutes(Duration.ofHours(24))).isEqualTo(8);
        Svg svg = Svg.parse("<div>" + ActivityCharts.charts("orders", activity(Duration.ofHours(24))) + "</div>");

        assertThat(svg.all("//figure[contains(@class, 'sagas-ended')]//g[@class='minute']"))
                .extracting(g -> g.getAttribute("data-minute"))
                .as("10:05 and 10:06 share the bucket from 10:00").containsExactly("2026-03-01T10:00:00Z",
                        "2026-03-01T12:56:00Z");
        assertThat(svg.withClasses("rect", "bar", "completed").stream().filter(bar -> bar.hasAttribute("data-count")))
                .extracting(bar -> bar.getAttribute("data-count")).containsExactly("4");
        assertThat(svg.all("//figcaption")).extracting(Element::getTextContent).first().isEqualTo("Sagas ended per 8 minutes");
    }

    @Test
    void aFailureIsShownInsteadOfTheChartsAndNamesAreEscaped() {
        String html = ActivityCharts.charts("<svc>", ServiceActivity.failed(FROM, FROM.plusSeconds(3 * 3600),
                "activity: <refused>"));
        assertThat(html).contains("activity: &lt;refused&gt;").doesNotContain("<svg", "<refused>");
        assertThat(ActivityCharts.charts("<svc>", activity(Duration.ofHours(3)))).doesNotContain("<svc>");
    }

    @Test
    void theWindowIsOneOfThoseOffered() {
        assertThat(ServiceActivity.window(null)).isEqualTo(Duration.ofHours(3));
        assertThat(ServiceActivity.window("12")).isEqualTo(Duration.ofHours(12));
        assertThatThrownBy(() -> ServiceActivity.window("1000")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hours must be one of");
        assertThat(ActivityCharts.niceMax(0)).isEqualTo(1);
        assertThat(ActivityCharts.niceMax(4)).isEqualTo(5);
        assertThat(ActivityCharts.niceMax(11)).isEqualTo(20);
    }
}
