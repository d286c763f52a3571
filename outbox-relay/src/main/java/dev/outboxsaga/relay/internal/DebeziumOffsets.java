package dev.outboxsaga.relay.internal;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.json.JsonConverter;

/** Offsets in the JSON form Debezium's engine stores them (Kafka Connect's JsonConverter, no schemas). */
public final class DebeziumOffsets {

    private DebeziumOffsets() {
    }

    private static JsonConverter converter(boolean isKey) {
        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "false", "converter.type", isKey ? "key" : "value"), isKey);
        return converter;
    }

    public static byte[] toJson(Object value) {
        return converter(false).fromConnectData("", null, value);
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> mapFromJson(byte[] json) {
        Object value = converter(false).toConnectData("", json).value();
        return value == null ? null : new HashMap<>((Map<String, Object>) value);
    }

    /** The key the engine uses for the PostgreSQL connector's offsets. */
    public static byte[] key(String engineName, String topicPrefix) {
        return converter(true).fromConnectData(engineName, null, List.of(engineName, Map.of("server", topicPrefix)));
    }

    public static String text(byte[] json) {
        return new String(json, StandardCharsets.UTF_8);
    }
}
