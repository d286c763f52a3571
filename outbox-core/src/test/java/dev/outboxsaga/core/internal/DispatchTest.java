package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.InboxConsumer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class DispatchTest {

    private static final TopicPartition P0 = new TopicPartition("t", 0);
    private static final TopicPartition P1 = new TopicPartition("t", 1);

    private static ConsumerRecord<byte[], byte[]> record(int partition, long offset, String key) {
        return new ConsumerRecord<>("t", partition, offset, key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                new byte[0]);
    }

    private static List<Long> offsets(List<Dispatch.Item> batch) {
        return batch.stream().map(item -> item.record().offset()).toList();
    }

    @Test
    void aBatchTakesTheRunsOfFreeKeysAndAHeldKeyWaits() throws Exception {
        Dispatch dispatch = new Dispatch(InboxConsumer.Ordering.KEY, 10);
        dispatch.add(record(0, 0, "a"));
        dispatch.add(record(0, 1, "b"));
        dispatch.add(record(0, 2, "a"));
        List<Dispatch.Item> first = new java.util.ArrayList<>(dispatch.take(10));
        assertThat(offsets(first)).as("a's run").containsExactly(0L, 2L);
        first.addAll(dispatch.takeMore(10));
        assertThat(offsets(first)).as("then b's, in the same transaction").containsExactly(0L, 2L, 1L);
        assertThat(dispatch.takeMore(10)).isEmpty();

        dispatch.add(record(0, 3, "a"));
        dispatch.add(record(0, 4, "c"));
        assertThat(offsets(dispatch.take(10))).as("a is held by the first transaction").containsExactly(4L);
        assertThat(dispatch.take(10)).isEmpty();

        first.forEach(dispatch::done);
        dispatch.release(first.get(0).key());
        assertThat(offsets(dispatch.take(10))).containsExactly(3L);
    }

    @Test
    void theCommittableOffsetIsTheLowestUnfinishedRecordOfEachPartition() throws Exception {
        Dispatch dispatch = new Dispatch(InboxConsumer.Ordering.KEY, 1);
        dispatch.add(record(0, 10, "slow"));
        dispatch.add(record(0, 11, "fast"));
        dispatch.add(record(1, 5, "other"));
        Dispatch.Item slow = dispatch.take(10).get(0);
        Dispatch.Item fast = dispatch.take(10).get(0);
        Dispatch.Item other = dispatch.take(10).get(0);
        dispatch.done(fast);
        dispatch.done(other);
        assertThat(dispatch.committable()).isEqualTo(Map.of(P0, 10L, P1, 6L));
        dispatch.done(slow);
        assertThat(dispatch.committable()).isEqualTo(Map.of(P0, 12L, P1, 6L));
        assertThat(dispatch.size()).isZero();
    }

    @Test
    void aRecordPutBackRunsAloneBeforeTheRestOfItsKey() throws Exception {
        Dispatch dispatch = new Dispatch(InboxConsumer.Ordering.KEY, 10);
        for (long offset = 0; offset < 4; offset++) {
            dispatch.add(record(0, offset, "k"));
        }
        dispatch.add(record(0, 4, "other"));
        List<Dispatch.Item> batch = dispatch.take(10);
        dispatch.done(batch.get(0));
        batch.get(1).solo = true;
        dispatch.putBack(batch.subList(1, 4));
        dispatch.release(batch.get(0).key());
        assertThat(offsets(dispatch.takeMore(10))).as("a transaction under way takes no record that must run alone")
                .containsExactly(4L);
        assertThat(offsets(dispatch.take(10))).as("the failed record, alone").containsExactly(1L);
        assertThat(offsets(dispatch.take(10))).as("its key is held until it is done").isEmpty();
    }

    @Test
    void recordsWithoutAKeyAndPartitionOrderingKeepThePartitionsOrder() throws Exception {
        Dispatch byPartition = new Dispatch(InboxConsumer.Ordering.PARTITION, 1);
        byPartition.add(record(0, 0, "a"));
        byPartition.add(record(0, 1, "b"));
        assertThat(offsets(byPartition.take(10))).containsExactly(0L);
        assertThat(byPartition.take(10)).as("b waits for a in its partition").isEmpty();

        Dispatch byKey = new Dispatch(InboxConsumer.Ordering.KEY, 1);
        byKey.add(record(0, 0, null));
        byKey.add(record(0, 1, null));
        assertThat(offsets(byKey.take(10))).containsExactly(0L);
        assertThat(byKey.take(10)).isEmpty();
    }

    @Test
    void revokingDropsWhatHasNotStartedAndWaitsForWhatHas() throws Exception {
        Dispatch dispatch = new Dispatch(InboxConsumer.Ordering.KEY, 1);
        dispatch.add(record(0, 0, "a"));
        dispatch.add(record(0, 1, "b"));
        dispatch.add(record(1, 0, "c"));
        Dispatch.Item running = dispatch.take(10).get(0);
        CompletableFuture<Map<TopicPartition, Long>> revoked = CompletableFuture.supplyAsync(() -> {
            try {
                return dispatch.revoke(List.of(P0), 10_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !revoked.isDone());
        dispatch.done(running);
        assertThat(revoked.get(10, TimeUnit.SECONDS)).as("up to b, dropped unstarted").isEqualTo(Map.of(P0, 1L));
        assertThat(dispatch.committable()).isEqualTo(Map.of(P1, 0L));
        assertThat(offsets(dispatch.take(10))).containsExactly(0L);
        assertThat(dispatch.size()).isEqualTo(1);
    }

    @Test
    void aKeyWhoseRecordsWereRevokedIsNeverHandedToTwoThreadsAtOnce() throws Exception {
        Dispatch dispatch = new Dispatch(InboxConsumer.Ordering.KEY, 10);
        dispatch.add(record(0, 0, "k"));
        dispatch.revoke(List.of(P0), 1_000);
        // k is still listed as ready from before the revocation, and is listed again now.
        dispatch.add(record(1, 0, "k"));
        assertThat(offsets(dispatch.take(10))).containsExactly(0L);
        dispatch.add(record(1, 1, "k"));
        assertThat(dispatch.takeMore(10)).as("k is held: its next record waits").isEmpty();
        assertThat(dispatch.take(10)).isEmpty();
    }
}
