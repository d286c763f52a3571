package dev.outboxsaga.saga.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The check for ends persisted by another process: one query per interval for every waiter, none without one. */
@ExtendWith(OutboxSagaExtension.class)
class SagaNoticesTest {

    @Test
    void manyWaitersShareOneCheckPerIntervalAndNobodyWaitingMeansNoCheck(TestDatabase db) {
        OutboxSchema.migrate(db.dataSource());
        try (SagaNotices notices = new SagaNotices("notices-test", db.dataSource(), new Definitions(), List.of(),
                Duration.ofMillis(100))) {
            List<UUID> ids = IntStream.range(0, 50).mapToObj(i -> UUID.randomUUID()).toList();
            List<CompletableFuture<Void>> waiters = ids.stream().map(notices::watch).toList();
            long start = System.nanoTime();

            await().atMost(Duration.ofSeconds(10)).until(() -> notices.checks() >= 5);
            long elapsedIntervals = (System.nanoTime() - start) / 100_000_000L;
            assertThat(notices.checks()).as("one check per 100 ms for all 50 waiters").isLessThanOrEqualTo(elapsedIntervals + 1);

            for (int i = 0; i < ids.size(); i++) {
                notices.forget(ids.get(i), waiters.get(i));
            }
            long idle = notices.checks();
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                    .until(() -> notices.checks() <= idle + 1);
            assertThat(waiters).noneMatch(CompletableFuture::isDone);
        }
    }
}
