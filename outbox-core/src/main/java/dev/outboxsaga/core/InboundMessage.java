package dev.outboxsaga.core;

import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * A message received from Kafka, as handed to a {@link MessageHandler}.
 *
 * @param id            the message id from the {@value MessageHeaders#ID} header; the inbox key
 * @param type          the {@value MessageHeaders#TYPE} header, or null
 * @param key           the record key as UTF-8 text (the aggregate id), or null
 * @param payload       the record value as UTF-8 text (JSON)
 * @param headers       every header as UTF-8 text (a later header of the same name wins)
 * @param correlationId the {@value MessageHeaders#CORRELATION_ID} header, or null
 * @param topic         the topic it was read from
 * @param partition     its partition
 * @param offset        its offset
 * @param timestamp     the record's timestamp
 */
public record InboundMessage(
        UUID id,
        String type,
        String key,
        String payload,
        Map<String, String> headers,
        String correlationId,
        String topic,
        int partition,
        long offset,
        Instant timestamp) {

    public InboundMessage {
        headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    /** The W3C {@code traceparent} header, or null. */
    public String traceparent() {
        return headers.get(MessageHeaders.TRACEPARENT);
    }
}
