package dev.outboxsaga.console.internal;

/**
 * How far an inbox consumer (a Kafka consumer group) is behind the end of its topics.
 *
 * @param group      the consumer group id
 * @param lag        records not yet consumed (committed offset to the last committed record), or -1 when unknown
 * @param partitions partitions with a committed offset
 * @param error      why the lag could not be read, or null
 */
public record ConsumerLag(String group, long lag, int partitions, String error) {
}
