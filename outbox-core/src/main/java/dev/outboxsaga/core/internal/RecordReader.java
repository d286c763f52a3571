package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.DeadLetter;
import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.MessageHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;

/** Reads a Kafka record as an {@link InboundMessage}. */
public final class RecordReader {

    private RecordReader() {
    }

    /**
     * @throws IllegalArgumentException when the record has no readable message id; such a record
     *                                  cannot be deduplicated, so it is parked unread
     */
    public static InboundMessage read(ConsumerRecord<byte[], byte[]> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            headers.put(header.key(), header.value() == null ? null : text(header.value()));
        }
        headers.values().removeIf(java.util.Objects::isNull);
        UUID id = messageId(headers.get(MessageHeaders.ID), record);
        return new InboundMessage(
                id,
                headers.get(MessageHeaders.TYPE),
                record.key() == null ? null : text(record.key()),
                record.value() == null ? null : text(record.value()),
                headers,
                headers.get(MessageHeaders.CORRELATION_ID),
                record.topic(),
                record.partition(),
                record.offset(),
                Instant.ofEpochMilli(record.timestamp()));
    }

    /** The original record of a dead letter, rebuilt from its stored bytes. */
    public static ConsumerRecord<byte[], byte[]> original(DeadLetter deadLetter) {
        RecordHeaders headers = new RecordHeaders();
        deadLetter.headers().forEach(header -> headers.add(header.key(), header.value()));
        return new ConsumerRecord<>(deadLetter.topic(), deadLetter.partition(), deadLetter.offset(),
                deadLetter.parkedAt().toEpochMilli(), TimestampType.NO_TIMESTAMP_TYPE,
                deadLetter.key() == null ? -1 : deadLetter.key().length,
                deadLetter.value() == null ? -1 : deadLetter.value().length,
                deadLetter.key(), deadLetter.value(), headers, Optional.empty());
    }

    private static UUID messageId(String value, ConsumerRecord<?, ?> record) {
        String where = record.topic() + "-" + record.partition() + "@" + record.offset();
        if (value == null) {
            throw new IllegalArgumentException("record " + where + " has no '" + MessageHeaders.ID
                    + "' header, so it cannot be deduplicated");
        }
        try {
            return UUID.fromString(stripQuotes(value));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("record " + where + " has an '" + MessageHeaders.ID
                    + "' header that is not a UUID: '" + value + "'");
        }
    }

    /** A header written by a JSON header converter arrives quoted; accept both forms. */
    private static String stripQuotes(String value) {
        String trimmed = value.trim();
        if (trimmed.length() >= 2 && trimmed.startsWith("\"") && trimmed.endsWith("\"")) {
            return trimmed.substring(1, trimmed.length() - 1);
        }
        return trimmed;
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
