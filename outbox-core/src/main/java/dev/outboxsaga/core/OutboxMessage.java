package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.Json;
import dev.outboxsaga.core.internal.Uuids;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * One message to publish, as stored in the outbox table. Immutable; construction validates every
 * field and throws {@link InvalidMessageException} naming the first bad one, so a bad message is
 * refused before anything is written.
 *
 * @param id            unique message id; consumers deduplicate on it. A time-ordered UUID when null.
 * @param aggregateType the kind of entity the message is about (routes the topic,
 *                      {@code outbox.event.<aggregateType>} by default); 1 to 255 characters, not blank
 * @param aggregateId   the entity's id: the Kafka record key, so messages of one aggregate stay in
 *                      order; 1 to 255 characters, not blank
 * @param type          the message type, e.g. {@code TransferRequested}; 1 to 255 characters, not blank
 * @param payload       the message body: one complete JSON value
 * @param headers       further headers as text (for example {@code traceparent}); empty when null.
 *                      Names must not be blank or one of {@link MessageHeaders}' reserved names.
 * @param correlationId the saga or conversation this message belongs to, or null; at most 255 characters
 */
public record OutboxMessage(
        UUID id,
        String aggregateType,
        String aggregateId,
        String type,
        String payload,
        Map<String, String> headers,
        String correlationId) {

    private static final int MAX_NAME_LENGTH = 255;
    private static final Pattern TRACEPARENT = Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

    public OutboxMessage {
        if (id == null) {
            id = Uuids.timeOrdered();
        }
        requireName("aggregateType", aggregateType);
        requireName("aggregateId", aggregateId);
        requireName("type", type);
        if (payload == null) {
            throw new InvalidMessageException("payload", "must not be null (use the JSON text null if you mean it)");
        }
        String syntaxError = Json.syntaxError(payload);
        if (syntaxError != null) {
            throw new InvalidMessageException("payload", "is not valid JSON: " + syntaxError);
        }
        headers = headers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        for (Map.Entry<String, String> header : headers.entrySet()) {
            String name = header.getKey();
            if (name == null || name.isBlank()) {
                throw new InvalidMessageException("headers", "must not contain a blank header name");
            }
            if (MessageHeaders.isReserved(name)) {
                throw new InvalidMessageException("headers", "must not set the reserved header '" + name
                        + "'; it comes from the message's own field");
            }
            if (header.getValue() == null) {
                throw new InvalidMessageException("headers", "header '" + name + "' must not have a null value");
            }
        }
        String traceparent = headers.get(MessageHeaders.TRACEPARENT);
        if (traceparent != null && !TRACEPARENT.matcher(traceparent).matches()) {
            throw new InvalidMessageException("traceparent", "must be a W3C trace context like "
                    + "00-<32 hex>-<16 hex>-<2 hex>, but was '" + traceparent + "'");
        }
        if (correlationId != null) {
            requireName("correlationId", correlationId);
        }
    }

    /** A builder using the {@link PayloadCodec#jsonText()} codec for {@link Builder#payload(Object)}. */
    public static Builder builder() {
        return new Builder(PayloadCodec.jsonText());
    }

    /** A builder whose {@link Builder#payload(Object)} encodes with {@code codec}. */
    public static Builder builder(PayloadCodec codec) {
        if (codec == null) {
            throw new IllegalArgumentException("codec must not be null");
        }
        return new Builder(codec);
    }

    /** The W3C {@code traceparent} header, or null. */
    public String traceparent() {
        return headers.get(MessageHeaders.TRACEPARENT);
    }

    /** The payload's size in UTF-8 bytes. */
    public int payloadBytes() {
        return utf8Length(payload);
    }

    private static void requireName(String field, String value) {
        if (value == null) {
            throw new InvalidMessageException(field, "must not be null");
        }
        if (value.isBlank()) {
            throw new InvalidMessageException(field, "must not be blank");
        }
        if (value.length() > MAX_NAME_LENGTH) {
            throw new InvalidMessageException(field, "must be at most " + MAX_NAME_LENGTH + " characters, but has "
                    + value.length());
        }
    }

    private static int utf8Length(String text) {
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /** Builds an {@link OutboxMessage}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final PayloadCodec codec;
        private UUID id;
        private String aggregateType;
        private String aggregateId;
        private String type;
        private String payload;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private String correlationId;

        private Builder(PayloadCodec codec) {
            this.codec = codec;
        }

        /** The message id; a time-ordered UUID when not set. */
        public Builder id(UUID id) {
            this.id = id;
            return this;
        }

        /** The aggregate's type and id; see {@link OutboxMessage}. */
        public Builder aggregate(String aggregateType, String aggregateId) {
            this.aggregateType = aggregateType;
            this.aggregateId = aggregateId;
            return this;
        }

        public Builder aggregateType(String aggregateType) {
            this.aggregateType = aggregateType;
            return this;
        }

        public Builder aggregateId(String aggregateId) {
            this.aggregateId = aggregateId;
            return this;
        }

        public Builder type(String type) {
            this.type = type;
            return this;
        }

        /**
         * The payload, encoded now by this builder's codec.
         *
         * @throws InvalidMessageException naming {@code payload} when the codec refuses it
         */
        public Builder payload(Object payload) {
            if (payload == null) {
                throw new InvalidMessageException("payload", "must not be null");
            }
            try {
                this.payload = codec.encode(payload);
            } catch (IllegalArgumentException e) {
                InvalidMessageException invalid = new InvalidMessageException("payload", e.getMessage());
                invalid.initCause(e);
                throw invalid;
            }
            return this;
        }

        /** Adds a header; a later value for the same name replaces the earlier one. */
        public Builder header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        /** Adds all these headers. */
        public Builder headers(Map<String, String> headers) {
            this.headers.putAll(headers);
            return this;
        }

        /** The correlation (saga) id; none by default. */
        public Builder correlationId(String correlationId) {
            this.correlationId = correlationId;
            return this;
        }

        /** A W3C {@code traceparent}, carried as a header; none by default. */
        public Builder traceparent(String traceparent) {
            if (traceparent == null) {
                headers.remove(MessageHeaders.TRACEPARENT);
            } else {
                headers.put(MessageHeaders.TRACEPARENT, traceparent);
            }
            return this;
        }

        /**
         * @throws InvalidMessageException naming the first invalid field
         */
        public OutboxMessage build() {
            return new OutboxMessage(id, aggregateType, aggregateId, type, payload, headers, correlationId);
        }
    }
}
