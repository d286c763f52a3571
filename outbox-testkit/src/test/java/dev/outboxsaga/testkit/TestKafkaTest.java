package dev.outboxsaga.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(OutboxSagaExtension.class)
class TestKafkaTest {

    @Test
    void uniqueTopicsHaveTheirPartitions(TestKafka kafka) throws Exception {
        String a = kafka.uniqueTopic("orders");
        String b = kafka.uniqueTopic("orders", 1);
        assertThat(a).startsWith("orders-").isNotEqualTo(b);
        var topics = kafka.admin().describeTopics(List.of(a, b)).allTopicNames().get();
        assertThat(topics.get(a).partitions()).hasSize(3);
        assertThat(topics.get(b).partitions()).hasSize(1);
    }

    @Test
    void brokerRunsTransactionProtocolVersion2(TestInfrastructure infra) {
        assumeTrue(infra.kafka() instanceof EmbeddedKafka, "the transaction version is read from the embedded broker");
        assertThat(((EmbeddedKafka) infra.kafka()).transactionVersion()).isEqualTo((short) 2);
    }

    @Test
    void readCommittedConsumerSeesCommittedButNotAbortedRecords(TestKafka kafka) {
        String topic = kafka.uniqueTopic("tx", 1);
        Map<String, Object> producerConfig = kafka.producerConfig();
        producerConfig.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-" + topic);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(record(topic, "aborted"));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(record(topic, "committed"));
            producer.commitTransaction();
        }
        assertThat(readUntil(kafka, topic, "committed")).containsExactly("committed");
    }

    @Test
    void restartedBrokerKeepsItsAddressAndTopics(TestInfrastructure infra, TestKafka kafka) {
        assumeTrue(infra.kafka() instanceof EmbeddedKafka, "restarting the broker needs the embedded Kafka");
        EmbeddedKafka embedded = (EmbeddedKafka) infra.kafka();
        String topic = kafka.uniqueTopic("restart", 1);
        String before = embedded.bootstrapServers();
        embedded.restart();
        assertThat(embedded.bootstrapServers()).isEqualTo(before);
        assertThat(embedded.isRunning()).isTrue();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerConfig())) {
            producer.send(record(topic, "after-restart"));
        }
        assertThat(readUntil(kafka, topic, "after-restart")).containsExactly("after-restart");
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String value) {
        return new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> readUntil(TestKafka kafka, String topic, String last) {
        List<String> seen = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.consumerConfig("g-" + topic))) {
            consumer.subscribe(List.of(topic));
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    seen.add(new String(r.value(), StandardCharsets.UTF_8));
                }
                return seen.contains(last);
            });
        }
        return seen;
    }
}
