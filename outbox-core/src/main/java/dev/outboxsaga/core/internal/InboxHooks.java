package dev.outboxsaga.core.internal;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Points inside the consumer where tests inject faults. Throwing from a hook stops the worker at
 * once, without committing Kafka offsets, the way a killed process would.
 */
public interface InboxHooks {

    InboxHooks NONE = new InboxHooks() {
    };

    /** After the database transaction for {@code record} committed, before its offset is recorded. */
    default void afterDatabaseCommit(ConsumerRecord<byte[], byte[]> record) {
    }
}
