package dev.outboxsaga.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RelayMetricsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final RelayMetrics metrics = new RelayMetrics(registry, "orders");

    @Test
    void theLagIsThatOfTheOldestWaitingRowHoweverFastTheBatchesBeforeIt() {
        long now = System.currentTimeMillis();
        metrics.published(10, Map.of(), now - 5);
        assertThat(metrics.lagMillis()).isLessThan(1000);

        metrics.waiting(now - 60_000);
        assertThat(metrics.lagMillis()).isGreaterThanOrEqualTo(60_000);

        metrics.published(1, Map.of(), now - 60_000);
        metrics.waiting(System.currentTimeMillis());
        assertThat(metrics.lagMillis()).isLessThan(1000);
        metrics.notWaiting();
        assertThat(metrics.lagMillis()).as("between batches: the last batch's").isGreaterThanOrEqualTo(60_000);
    }

    @Test
    void rowsWithoutACommitTimeDoNotCountAsWaiting() {
        metrics.waiting(0);
        assertThat(metrics.lagMillis()).isZero();
    }

    @Test
    void parkedRowsAreCountedByReason() {
        metrics.published(20, Map.of("unknown_topic", 1, RelayMetrics.UNPUBLISHABLE, 2), System.currentTimeMillis());

        assertThat(registry.get("outbox.relay.records.parked").tags("relay", "orders", "reason", "unknown_topic")
                .counter().count()).isEqualTo(1.0);
        assertThat(registry.get("outbox.relay.records.parked").tags("reason", "unpublishable").counter().count())
                .isEqualTo(2.0);
        assertThat(registry.get("outbox.relay.records.parked").tags("reason", "not_authorized").counter().count())
                .isZero();
        assertThat(metrics.parkedCount()).isEqualTo(3);
        assertThat(metrics.publishedCount()).isEqualTo(20);
    }
}
