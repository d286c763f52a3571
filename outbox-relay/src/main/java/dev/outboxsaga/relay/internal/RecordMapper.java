package dev.outboxsaga.relay.internal;

import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.core.internal.Json;
import dev.outboxsaga.relay.RelayConfig;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Turns an outbox row into the Kafka record Debezium's outbox event router writes for it under
 * Kafka Connect with a {@code StringConverter}: topic {@code outbox.event.<aggregatetype>}, key the
 * aggregate id, value the payload text, header {@code id}, and the configured columns as headers.
 */
public final class RecordMapper {

    /** A row that cannot become a record, and why. */
    public static final class Unpublishable extends Exception {
        private static final long serialVersionUID = 1L;

        public Unpublishable(String reason) {
            super(reason, null, false, false);
        }
    }

    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    /** Bytes Kafka adds to a record beyond key, value and headers (batch framing), rounded up. */
    private static final int RECORD_OVERHEAD = 512;

    private final RelayConfig config;
    private final int maxRecordBytes;
    /** Null without the OpenTelemetry API. */
    private final RelayTracing tracing;

    public RecordMapper(RelayConfig config, int maxRecordBytes) {
        this(config, maxRecordBytes, null);
    }

    public RecordMapper(RelayConfig config, int maxRecordBytes, RelayTracing tracing) {
        this.config = config;
        this.maxRecordBytes = maxRecordBytes;
        this.tracing = tracing;
    }

    /** The batch entry of {@code row}: its record and publish span, or why it has no record. */
    public BatchPublisher.Entry entry(OutboxRow row, Position position) {
        ProducerRecord<byte[], byte[]> record;
        try {
            record = toRecord(row);
        } catch (Unpublishable unpublishable) {
            return new BatchPublisher.Entry(row, null, unpublishable.getMessage(), position);
        }
        RelayTracing.Publish span = tracing == null ? null : tracing.start(record, row.get("id"));
        return new BatchPublisher.Entry(row, record, null, position, span);
    }

    public ProducerRecord<byte[], byte[]> toRecord(OutboxRow row) throws Unpublishable {
        String id = row.get("id");
        if (id == null) {
            throw new Unpublishable("the row has no id");
        }
        String topic = topic(row);
        String aggregateId = row.get("aggregateid");
        String payload = row.get("payload");
        RecordHeaders headers = new RecordHeaders();
        int size = RECORD_OVERHEAD;
        size += addHeader(headers, MessageHeaders.ID, id);
        for (Map.Entry<String, String> placement : config.headerColumns().entrySet()) {
            // Like the router, a NULL column still gives its header, with a null value.
            size += addHeader(headers, placement.getValue(), row.get(placement.getKey()));
        }
        String jsonHeaders = config.headersJsonColumn() == null ? null : row.get(config.headersJsonColumn());
        if (jsonHeaders != null && !jsonHeaders.equals("{}")) {
            Object parsed;
            try {
                parsed = Json.parse(jsonHeaders);
            } catch (IllegalArgumentException e) {
                throw new Unpublishable("column " + config.headersJsonColumn() + " is not JSON: " + e.getMessage());
            }
            if (!(parsed instanceof Map<?, ?> members)) {
                throw new Unpublishable("column " + config.headersJsonColumn() + " is not a JSON object");
            }
            for (Map.Entry<?, ?> member : members.entrySet()) {
                if (member.getValue() != null) {
                    size += addHeader(headers, member.getKey().toString(), member.getValue().toString());
                }
            }
        }
        byte[] key = aggregateId == null ? null : aggregateId.getBytes(StandardCharsets.UTF_8);
        byte[] value = payload == null ? null : payload.getBytes(StandardCharsets.UTF_8);
        size += (key == null ? 0 : key.length) + (value == null ? 0 : value.length);
        if (size > maxRecordBytes) {
            throw new Unpublishable("the record would take about " + size + " bytes, more than the producer's "
                    + "max.request.size of " + maxRecordBytes + " bytes");
        }
        Long timestamp = row.commitTimeMillis() > 0 ? row.commitTimeMillis() : null;
        return new ProducerRecord<>(topic, null, timestamp, key, value, headers);
    }

    private String topic(OutboxRow row) throws Unpublishable {
        String topic = null;
        if (config.topicColumn() != null) {
            String chosen = row.get(config.topicColumn());
            if (chosen != null && !chosen.isBlank()) {
                topic = chosen;
            }
        }
        if (topic == null) {
            String aggregateType = row.get("aggregatetype");
            if (aggregateType == null || aggregateType.isBlank()) {
                throw new Unpublishable("the routing column aggregatetype is empty");
            }
            topic = config.topicPattern().replace("${aggregatetype}", aggregateType);
        }
        if (!TOPIC.matcher(topic).matches()) {
            throw new Unpublishable("'" + topic + "' is not a valid Kafka topic name");
        }
        return topic;
    }

    private static int addHeader(RecordHeaders headers, String name, String value) {
        byte[] bytes = value == null ? null : value.getBytes(StandardCharsets.UTF_8);
        headers.add(name, bytes);
        return name.length() + (bytes == null ? 0 : bytes.length);
    }
}
