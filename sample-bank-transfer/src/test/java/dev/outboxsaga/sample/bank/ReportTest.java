package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {

    /**
     * Seen once in a default run on a loaded machine: a saga whose end was recorded some 200 ms before its transfer's
     * creation gave the histogram an index of -1, and the demo no report.
     */
    @Test
    void aLatencyBelowZeroStillHasItsBar() {
        assertThat(Report.histogram(List.of(-200L, 300L, 450L, 2_900L))).startsWith("<svg").contains("<rect");
    }
}
