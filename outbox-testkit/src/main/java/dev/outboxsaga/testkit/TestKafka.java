package dev.outboxsaga.testkit;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A test's handle on the shared {@link KafkaServer}: client configs, an {@link Admin} and topics
 * with unique names. {@link #close()} closes the admin client; topics are left in place.
 */
public final class TestKafka implements AutoCloseable {

    /** Partitions of a topic made by {@link #uniqueTopic(String)}. */
    public static final int DEFAULT_PARTITIONS = 3;

    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final KafkaServer server;
    private Admin admin;
    private boolean closed;

    private TestKafka(KafkaServer server) {
        this.server = server;
    }

    /** A handle on {@code server}. */
    public static TestKafka create(KafkaServer server) {
        return new TestKafka(Objects.requireNonNull(server, "server"));
    }

    /** The {@code bootstrap.servers} value. */
    public String bootstrapServers() {
        return server.bootstrapServers();
    }

    /** The server; an {@link EmbeddedKafka} when embedded. */
    public KafkaServer server() {
        return server;
    }

    /** Creates a topic named {@code <prefix>-<n>-<random>} with 3 partitions and returns its name. */
    public String uniqueTopic(String prefix) {
        return uniqueTopic(prefix, DEFAULT_PARTITIONS);
    }

    /**
     * Creates a topic named {@code <prefix>-<n>-<random>} with {@code partitions} partitions (and the
     * broker's default replication factor) and returns its name once the broker's metadata shows it
     * with a leader for every partition.
     */
    public String uniqueTopic(String prefix, int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1: " + partitions);
        }
        String name = prefix + "-" + COUNTER.incrementAndGet() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        try {
            admin().createTopics(List.of(new NewTopic(name, Optional.of(partitions), Optional.empty())))
                    .all().get(30, TimeUnit.SECONDS);
            awaitVisible(name, partitions);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topic " + name, e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name + ": " + e.getMessage(), e);
        }
        return name;
    }

    /** The controller has the topic; wait until the broker's metadata has it too, with leaders. */
    private void awaitVisible(String name, int partitions) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                TopicDescription d = admin().describeTopics(List.of(name)).allTopicNames()
                        .get(10, TimeUnit.SECONDS).get(name);
                if (d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null)) {
                    return;
                }
            } catch (ExecutionException | TimeoutException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("topic " + name + " did not become visible", notYet);
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topic " + name + " has no leader");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /**
     * A new, mutable producer config: bootstrap servers and byte[] key and value serializers; add
     * {@code transactional.id} for a transactional producer.
     */
    public Map<String, Object> producerConfig() {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return config;
    }

    /**
     * A new, mutable consumer config: bootstrap servers, the group, byte[] key and value
     * deserializers, {@code isolation.level=read_committed}, {@code auto.offset.reset=earliest},
     * {@code enable.auto.commit=false}.
     */
    public Map<String, Object> consumerConfig(String groupId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, Objects.requireNonNull(groupId, "groupId"));
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return config;
    }

    /** An admin client, made on first use and closed by {@link #close()}; do not close it yourself. */
    public synchronized Admin admin() {
        if (closed) {
            throw new IllegalStateException("TestKafka is closed");
        }
        if (admin == null) {
            admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
        }
        return admin;
    }

    /** Closes the admin client; idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        if (admin != null) {
            admin.close();
            admin = null;
        }
    }

    @Override
    public String toString() {
        return "TestKafka[" + bootstrapServers() + "]";
    }
}
