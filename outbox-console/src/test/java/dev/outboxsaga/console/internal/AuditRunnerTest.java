package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class AuditRunnerTest {

    private static final Instant FROM = Instant.parse("2026-11-30T08:00:00Z");
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-30T10:00:00Z"));
    private final AuditPages.Form form = new AuditPages.Form("orders", "orders-relay", null, FROM.toString(),
            FROM.plusSeconds(3600).toString());

    @Test
    void oneAuditRunsAtATimeAndASecondIsRefusedWhileItRuns() throws Exception {
        try (AuditRunner runner = new AuditRunner(Duration.ofHours(24), clock)) {
            CountDownLatch release = new CountDownLatch(1);
            AuditRunner.Job first = runner.start(form, FROM, FROM.plusSeconds(3600), "console:alice", () -> {
                try {
                    release.await(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalStateException("relay orders-relay has no position");
            });
            assertThat(first.running()).isTrue();
            assertThatThrownBy(() -> runner.start(form, FROM, FROM.plusSeconds(60), "console:bob", () -> null))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("an audit is running already (audit " + first.id + ", started by console:alice at "
                            + clock.now + "); wait for it to end");
            release.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> !first.running());
            assertThat(first.failure()).isEqualTo("The audit did not run: relay orders-relay has no position");
            assertThat(runner.start(form, FROM, FROM.plusSeconds(60), "console:bob", () -> {
                throw new IllegalArgumentException("no such relay");
            })).as("the permit is back").isNotNull();
            assertThat(runner.jobs()).hasSize(2).first().extracting(job -> job.actor).isEqualTo("console:bob");
        }
    }

    @Test
    void aWindowLongerThanTheMaximumOrEmptyIsRefusedBeforeAnythingRuns() {
        try (AuditRunner runner = new AuditRunner(Duration.ofHours(1), clock)) {
            assertThatThrownBy(() -> runner.start(form, FROM, FROM.plus(Duration.ofHours(2)), "console:alice",
                    () -> null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the window is PT2H long; the console audits at most PT1H at once");
            assertThatThrownBy(() -> runner.start(form, FROM, FROM, "console:alice", () -> null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must come after its start");
            assertThat(runner.jobs()).isEmpty();
        }
    }

    @Test
    void onlyTheLastAuditsAreKept() {
        try (AuditRunner runner = new AuditRunner(Duration.ofHours(1), clock)) {
            for (int i = 0; i < AuditRunner.KEPT + 5; i++) {
                AuditRunner.Job job = runner.start(form, FROM, FROM.plusSeconds(60), "console:alice", () -> {
                    throw new IllegalStateException("unreachable");
                });
                await().atMost(Duration.ofSeconds(10)).until(() -> !job.running());
            }
            assertThat(runner.jobs()).hasSize(AuditRunner.KEPT);
            assertThat(runner.job(1)).isEmpty();
            assertThat(runner.job(AuditRunner.KEPT + 5)).isPresent();
        }
    }
}
