package dev.outboxsaga.console.internal.audit;

import dev.outboxsaga.core.OutboxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;

/**
 * Reads the window's topics {@code read_committed}, from the first record stamped at or after the read's
 * start to end offsets fixed beforehand, and notes on each window row the records that carry its id.
 *
 * <p>The ends are the partitions' high watermarks (not the last stable offsets): a relay transaction that
 * committed before they were taken may not have its commit marker on every partition yet, and its records
 * must be read. A {@code read_committed} reader waits at an open transaction until it ends, aborted records
 * are skipped; a partition that makes no progress for the patience is left unfinished and said so.
 */
final class TopicScan implements AutoCloseable {

    private static final long TIMEOUT_SECONDS = 60;

    /** What retention left of a partition that may have held window records. */
    record RetentionCut(long logStart, Instant oldestKept) {
    }

    private final OutboxSnapshot snapshot;
    private final Admin admin;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Duration patience;
    final Set<String> missingTopics = new HashSet<>();
    final Set<String> compactedTopics = new HashSet<>();
    final List<String> unreadableConfigs = new ArrayList<>();
    final Map<TopicPartition, RetentionCut> retentionCuts = new LinkedHashMap<>();
    /** Partitions whose read stopped short of its end, with where it stopped. */
    final Map<TopicPartition, Long> unfinished = new LinkedHashMap<>();
    private final Map<TopicPartition, Long> targets = new HashMap<>();
    private final Set<TopicPartition> awaitingFirstRecord = new HashSet<>();
    private final Set<TopicPartition> active = new HashSet<>();
    long recordsRead;
    long recordsWithoutId;

    TopicScan(OutboxSnapshot snapshot, Admin admin, Map<String, Object> kafkaProperties, Duration patience) {
        this.snapshot = snapshot;
        this.admin = admin;
        this.consumer = KafkaClients.consumer(kafkaProperties, "records");
        this.patience = patience;
    }

    /** Finds the partitions of {@code topics} and where to read each, from {@code readFrom}; reads nothing yet. */
    void prepare(Collection<String> topics, Instant readFrom) {
        if (topics.isEmpty()) {
            return;
        }
        List<TopicPartition> partitions = new ArrayList<>();
        for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<TopicDescription>> described
                : admin.describeTopics(topics).topicNameValues().entrySet()) {
            try {
                described.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS).partitions()
                        .forEach(info -> partitions.add(new TopicPartition(described.getKey(), info.partition())));
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    missingTopics.add(described.getKey());
                } else {
                    throw failure("describe topic " + described.getKey(), e);
                }
            } catch (InterruptedException | TimeoutException e) {
                throw failure("describe topic " + described.getKey(), e);
            }
        }
        readCleanupPolicies(topics);
        if (partitions.isEmpty()) {
            return;
        }
        Map<TopicPartition, Long> earliest = offsets(partitions, OffsetSpec.earliest());
        Map<TopicPartition, Long> latest = offsets(partitions, OffsetSpec.latest());
        Map<TopicPartition, Long> fromTime = offsets(partitions, OffsetSpec.forTimestamp(readFrom.toEpochMilli()));
        consumer.assign(partitions);
        for (TopicPartition partition : partitions) {
            long logStart = earliest.get(partition);
            long end = latest.get(partition);
            long start = fromTime.get(partition) < 0 ? end : fromTime.get(partition);
            targets.put(partition, end);
            if (logStart > 0 && start <= logStart) {
                // Records older than the first kept one were deleted, and may have been the window's.
                if (logStart >= end) {
                    retentionCuts.put(partition, new RetentionCut(logStart, Instant.MAX));
                } else {
                    awaitingFirstRecord.add(partition);
                }
            }
            consumer.seek(partition, Math.max(start, logStart));
            active.add(partition);
        }
    }

    private void readCleanupPolicies(Collection<String> topics) {
        List<ConfigResource> resources = topics.stream().filter(topic -> !missingTopics.contains(topic))
                .map(topic -> new ConfigResource(ConfigResource.Type.TOPIC, topic)).toList();
        if (resources.isEmpty()) {
            return;
        }
        try {
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            configs.forEach((resource, config) -> {
                ConfigEntry policy = config.get("cleanup.policy");
                if (policy != null && policy.value() != null && policy.value().contains("compact")) {
                    compactedTopics.add(resource.name());
                }
            });
        } catch (ExecutionException e) {
            unreadableConfigs.addAll(topics);
        } catch (InterruptedException | TimeoutException e) {
            throw failure("describe the topics' configurations", e);
        }
    }

    /** Reads every prepared partition up to its end, or until it makes no progress for the patience. */
    void read() {
        for (TopicPartition partition : new ArrayList<>(active)) {
            if (consumer.position(partition) >= targets.get(partition)) {
                finish(partition);
            }
        }
        consumer.resume(active);
        Map<TopicPartition, Long> progressAt = new HashMap<>();
        long lastProgress = System.nanoTime();
        while (!active.isEmpty()) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                if (awaitingFirstRecord.remove(partition)) {
                    retentionCuts.put(partition, new RetentionCut(record.offset(), Instant.ofEpochMilli(record.timestamp())));
                }
                if (record.offset() < targets.get(partition)) {
                    take(record);
                }
            }
            for (TopicPartition partition : new ArrayList<>(active)) {
                long position = consumer.position(partition);
                if (!Long.valueOf(position).equals(progressAt.put(partition, position))) {
                    lastProgress = System.nanoTime();
                }
                if (position >= targets.get(partition)) {
                    finish(partition);
                }
            }
            if (!active.isEmpty() && System.nanoTime() - lastProgress > patience.toNanos()) {
                for (TopicPartition partition : active) {
                    unfinished.put(partition, consumer.position(partition));
                }
                consumer.pause(active);
                active.clear();
            }
        }
        for (TopicPartition partition : awaitingFirstRecord) {
            // Nothing committed is left between the log start and the end: all of it was deleted or aborted.
            retentionCuts.put(partition, new RetentionCut(consumer.position(partition), Instant.MAX));
        }
        awaitingFirstRecord.clear();
    }

    /** Moves every partition's end to its current high watermark, so that a further {@link #read()} reads on. */
    void extendToLatest() {
        if (targets.isEmpty()) {
            return;
        }
        Map<TopicPartition, Long> latest = offsets(targets.keySet(), OffsetSpec.latest());
        latest.forEach((partition, end) -> {
            if (end > targets.get(partition) && !unfinished.containsKey(partition)) {
                targets.put(partition, end);
                active.add(partition);
            }
        });
    }

    private void finish(TopicPartition partition) {
        consumer.pause(Set.of(partition));
        active.remove(partition);
    }

    private void take(ConsumerRecord<byte[], byte[]> record) {
        recordsRead++;
        Header header = record.headers().lastHeader("id");
        UUID id = header == null || header.value() == null ? null : parse(new String(header.value(), StandardCharsets.UTF_8));
        if (id == null) {
            recordsWithoutId++;
            return;
        }
        WindowRow row = snapshot.rows.get(id);
        if (row != null) {
            row.found(snapshot.topicIndex(record.topic()), record.topic(), record.partition(), record.offset());
        }
    }

    /** The message id as the inbox reads it: a UUID, possibly JSON-quoted (as Debezium's router may write it). */
    static UUID parse(String value) {
        String text = value.trim();
        if (text.length() >= 2 && text.startsWith("\"") && text.endsWith("\"")) {
            text = text.substring(1, text.length() - 1);
        }
        try {
            return UUID.fromString(text);
        } catch (IllegalArgumentException notAUuid) {
            return null;
        }
    }

    private Map<TopicPartition, Long> offsets(Collection<TopicPartition> partitions, OffsetSpec spec) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(partition -> request.put(partition, spec));
        try {
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> result =
                    admin.listOffsets(request).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            result.forEach((partition, info) -> offsets.put(partition, info.offset()));
            return offsets;
        } catch (ExecutionException | InterruptedException | TimeoutException e) {
            throw failure("list the offsets of " + partitions.size() + " partition(s)", e);
        }
    }

    private static OutboxException failure(String what, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return new OutboxException("the audit could not " + what + " in Kafka: " + cause, cause);
    }

    @Override
    public void close() {
        consumer.close();
    }
}
