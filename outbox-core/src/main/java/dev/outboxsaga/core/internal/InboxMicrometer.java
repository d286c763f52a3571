package dev.outboxsaga.core.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;

/**
 * The Micrometer meters of one inbox consumer, tagged {@code consumer} and {@code topic} (see
 * docs/OBSERVABILITY.md). Created only when the application hands in a registry, so Micrometer's classes
 * are loaded only then. Counted after the transaction that settled the record committed.
 */
public final class InboxMicrometer {

    private final MeterRegistry registry;
    private final String consumer;
    private final Map<String, TopicMeters> topics = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Lag> lags = new ConcurrentHashMap<>();

    private final class TopicMeters {
        final Counter handled;
        final Counter duplicates;
        final Counter retries;
        final Counter parked;
        final Timer handler;

        TopicMeters(String topic) {
            Tags tags = Tags.of("consumer", consumer, "topic", topic);
            handled = Counter.builder("outbox.inbox.handled").tags(tags)
                    .description("Messages whose handler's transaction committed").register(registry);
            duplicates = Counter.builder("outbox.inbox.duplicates").tags(tags)
                    .description("Deliveries skipped because the inbox held the message already").register(registry);
            retries = Counter.builder("outbox.inbox.retries").tags(tags)
                    .description("Handler attempts that failed and are retried").register(registry);
            parked = Counter.builder("outbox.inbox.parked").tags(tags)
                    .description("Messages parked as dead letters").register(registry);
            handler = Timer.builder("outbox.inbox.handler").tags(tags)
                    .description("Time in the handler of messages whose transaction committed").register(registry);
        }
    }

    /** One partition's lag gauge and its value. */
    private record Lag(AtomicLong records, Gauge gauge) {
    }

    private InboxMicrometer(MeterRegistry registry, String consumer, List<String> topicNames) {
        this.registry = registry;
        this.consumer = consumer;
        topicNames.forEach(topic -> topics.put(topic, new TopicMeters(topic)));
    }

    /** @param registry a {@code MeterRegistry} */
    public static InboxMicrometer create(Object registry, String consumer, List<String> topics) {
        return new InboxMicrometer((MeterRegistry) registry, consumer, topics);
    }

    private TopicMeters of(String topic) {
        TopicMeters meters = topics.get(topic);
        return meters != null ? meters : topics.computeIfAbsent(topic, TopicMeters::new);
    }

    public void handled(String topic, long handlerNanos) {
        TopicMeters meters = of(topic);
        meters.handled.increment();
        meters.handler.record(handlerNanos, TimeUnit.NANOSECONDS);
    }

    public void duplicate(String topic) {
        of(topic).duplicates.increment();
    }

    public void retried(String topic) {
        of(topic).retries.increment();
    }

    public void parked(String topic) {
        of(topic).parked.increment();
    }

    /** Records behind the end of {@code partition}'s log (its last stable offset) for this consumer. */
    public void lag(TopicPartition partition, long records) {
        Lag lag = lags.get(partition);
        if (lag == null) {
            AtomicLong value = new AtomicLong(records);
            Gauge gauge = Gauge.builder("outbox.inbox.lag", value, AtomicLong::doubleValue)
                    .tags("consumer", consumer, "topic", partition.topic(), "partition",
                            Integer.toString(partition.partition()))
                    .baseUnit("records")
                    .description("Records of the partition not yet handled: after the fetch position, or fetched "
                            + "and unfinished")
                    .register(registry);
            lags.put(partition, new Lag(value, gauge));
            return;
        }
        lag.records().set(records);
    }

    /** The partitions went to another consumer: their gauges go. */
    public void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            Lag lag = lags.remove(partition);
            if (lag != null) {
                registry.remove(lag.gauge());
            }
        }
    }
}
