package dev.outboxsaga.console.internal.audit;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** The audit's Kafka clients, from the caller's properties: read_committed, no group, nothing committed. */
final class KafkaClients {

    private KafkaClients() {
    }

    static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> properties, String purpose) {
        Map<String, Object> config = known(properties, ConsumerConfig.configNames());
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Looking for a relay's positions topic must not create it (uncompacted, with the broker's partition count).
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "outbox-saga-audit-" + purpose);
        return new KafkaConsumer<>(config);
    }

    static Admin admin(Map<String, Object> properties) {
        Map<String, Object> config = known(properties, AdminClientConfig.configNames());
        config.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "outbox-saga-audit");
        return Admin.create(config);
    }

    /** Only the settings the client knows, so that it does not warn about the others (naming them, not their values). */
    private static Map<String, Object> known(Map<String, Object> properties, java.util.Set<String> names) {
        Map<String, Object> config = new HashMap<>();
        properties.forEach((key, value) -> {
            if (names.contains(key) || key.startsWith("sasl.") || key.startsWith("ssl.")) {
                config.put(key, value);
            }
        });
        return config;
    }
}
