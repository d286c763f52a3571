package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.LongSummaryStatistics;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay killed while rows stream in: with SIGKILL at random instants, and by itself right after
 * a Kafka commit, before the engine confirms the slot. After every crash a new process resumes, and
 * in the end every committed row is in Kafka exactly once, in commit order per key.
 */
class RelayCrashTest extends RelayTestBase {

    /**
     * Kills of {@link #killMinusNineLoop()}: 8, as the chaos suite (outbox-chaos) kills relay processes far
     * more often; {@code -Drelay.crash.kills=200} (profile {@code soak}) for a soak.
     */
    private static final int KILLS = Integer.getInteger("relay.crash.kills", 6);
    private static final Duration PUBLISHING_WITHIN = Duration.ofSeconds(60);

    private OutboxTraffic traffic;

    @BeforeEach
    void startTraffic() {
        traffic = new OutboxTraffic(fixture, Duration.ofMillis(20));
    }

    @AfterEach
    void stopTraffic() throws Exception {
        if (traffic != null) {
            traffic.close();
        }
    }

    @Test
    void killMinusNineLoop() {
        // Each round costs a JVM start, a Debezium start and the catch-up (5 to 9 s on two busy cores).
        Duration budget = Duration.ofSeconds(Math.max(240, 12L * KILLS));
        assertTimeoutPreemptively(budget, this::killAndRestartWhileRowsStreamIn,
                () -> "killMinusNineLoop exceeded " + budget + "; see " + RelayProcess.LOG_DIRECTORY.toAbsolutePath());
    }

    private void killAndRestartWhileRowsStreamIn() throws Exception {
        long seed = Long.getLong("relay.crash.seed", System.nanoTime());
        System.out.printf("killMinusNineLoop: %d kills, seed %d (-Drelay.crash.seed=%d to repeat)%n", KILLS, seed, seed);
        Random random = new Random(seed);
        long testStarted = System.nanoTime();
        traffic.startWriters(2);
        List<Long> restartMillis = new ArrayList<>();
        for (int kill = 1; kill <= KILLS; kill++) {
            long issuedBeforeStart = traffic.issued();
            RelayProcess relay = fixture.startProcess("crash-" + kill, FAST_LEASE);
            await("relay " + relay.name() + " publishing rows committed after its start")
                    .atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO).pollDelay(Duration.ZERO)
                    .failFast(relay + " exited; see " + relay.logFile(), () -> !relay.isAlive())
                    .until(() -> traffic.receivedBeyond(issuedBeforeStart));
            restartMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - relay.startedAtNanos()));
            int delay = 300 + random.nextInt(1201);
            traffic.pollFor(Duration.ofMillis(delay));
            relay.kill();
            assertThat(relay.exitCode()).isEqualTo(137);
            traffic.checkWriters();
            System.out.printf("kill %d: published %d ms after start, killed %d ms later; %d rows written, %d read%n",
                    kill, restartMillis.get(restartMillis.size() - 1), delay, traffic.written().size(),
                    traffic.received().size());
        }

        traffic.stopWriters();
        RelayProcess last = fixture.startProcess("final", FAST_LEASE);
        await("every committed row in Kafka").atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO)
                .until(traffic::receivedAllWritten);
        traffic.drain(Duration.ofSeconds(1));
        assertThat(last.isAlive()).isTrue();
        LongSummaryStatistics stats = restartMillis.stream().mapToLong(Long::longValue).summaryStatistics();
        System.out.printf("killMinusNineLoop: %d kills in %d s; start to first new record: min %d, avg %.0f, max %d ms;"
                        + " all %s%n", KILLS, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - testStarted),
                stats.getMin(), stats.getAverage(), stats.getMax(), restartMillis);
        traffic.assertExactlyOnceInOrder();
    }

    @Test
    void killAtTheWorstMoment() throws Exception {
        traffic.startWriters(2);
        for (int commits : new int[] {3, 5}) {
            RelayProcess halting = fixture.startProcess("halt-after-" + commits, FAST_LEASE,
                    "-Doutbox.relay.test.halt-after-commits=" + commits);
            await(halting.name() + " halting after its commit " + commits).atMost(PUBLISHING_WITHIN)
                    .pollInterval(Duration.ZERO).until(() -> {
                        traffic.poll(Duration.ofMillis(100));
                        return !halting.isAlive();
                    });
            assertThat(halting.exitCode()).as("exit code of %s; log %s", halting, halting.logFile()).isEqualTo(137);
            traffic.checkWriters();
        }
        long issuedBeforeStart = traffic.issued();
        RelayProcess relay = fixture.startProcess("after-halts", FAST_LEASE);
        await("rows committed after the halts").atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO)
                .until(() -> traffic.receivedBeyond(issuedBeforeStart));
        traffic.pollFor(Duration.ofSeconds(1));
        traffic.stopWriters();
        await("every committed row in Kafka").atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO)
                .until(traffic::receivedAllWritten);
        traffic.drain(Duration.ofSeconds(1));
        assertThat(relay.isAlive()).isTrue();
        traffic.assertExactlyOnceInOrder();
    }

    /**
     * Two relays configured with one positions topic ({@code positions.topic}; by default each relay has
     * a topic of its own). A relay killed inside a Kafka transaction leaves it open until an instance of
     * the same name starts again, or for {@code transaction.timeout.ms} (the relay sets 5 minutes);
     * meanwhile the partition's last stable offset stays at that transaction, and read_committed readers
     * see nothing after it, here none of this relay's positions. A relay that restarts then must not
     * resume from a position it cannot see (and republish what it published): it waits until the
     * other transaction ends, then resumes from its own last commit.
     */
    @Test
    void restartWhileAnotherRelayHasATransactionOpenOnThePositionsTopic() throws Exception {
        String positionsTopic = fixture.config().build().positionsTopic();
        traffic.startWriters(2);
        RelayProcess halting = fixture.startProcess("halt-after-12", FAST_LEASE,
                "-Doutbox.relay.test.halt-after-commits=12");
        await(halting.name() + " publishing").atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO)
                .failFast(halting + " exited before it published", () -> !halting.isAlive())
                .until(() -> traffic.poll(Duration.ofMillis(100)) > 0);
        // The other relay opens its transaction while this one goes on committing positions behind it.
        String otherId = "outbox-relay-other-" + fixture.relayName;
        KafkaProducer<byte[], byte[]> otherRelay = openTransactionOn(positionsTopic, otherId);
        boolean otherOpen = true;
        try {
            await(halting.name() + " halting after its commit 12").atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO)
                    .until(() -> {
                        traffic.poll(Duration.ofMillis(100));
                        return !halting.isAlive();
                    });
            assertThat(halting.exitCode()).as("exit code of %s; log %s", halting, halting.logFile()).isEqualTo(137);
            assertThat(positionsAfter(positionsTopic, otherId)).as("positions of %s committed behind the other "
                    + "relay's open transaction (else this test tests nothing)", fixture.relayName).isPositive();

            RelayProcess restarted = fixture.startProcess("restarted", FAST_LEASE);
            // While the other transaction hides this relay's positions, nothing may be published again.
            traffic.pollFor(Duration.ofSeconds(10));
            assertThat(traffic.received().stream().map(RelayFixture::id).toList())
                    .as("records published while the positions were hidden").doesNotHaveDuplicates();
            assertThat(restarted.isAlive()).as("%s alive; log %s", restarted, restarted.logFile()).isTrue();

            // The other relay's next instance aborts its transaction (initTransactions); here, the test does.
            otherRelay.abortTransaction();
            otherOpen = false;
            long issuedAfterAbort = traffic.issued();
            await("rows committed after the other transaction ended").atMost(PUBLISHING_WITHIN)
                    .pollInterval(Duration.ZERO)
                    .failFast(restarted + " exited; see " + restarted.logFile(), () -> !restarted.isAlive())
                    .until(() -> traffic.receivedBeyond(issuedAfterAbort));
            traffic.pollFor(Duration.ofSeconds(1));
            traffic.stopWriters();
            await("every committed row in Kafka").atMost(PUBLISHING_WITHIN).pollInterval(Duration.ZERO)
                    .until(traffic::receivedAllWritten);
            traffic.drain(Duration.ofSeconds(1));
            restarted.log().lines().filter(line -> line.contains("dev.outboxsaga"))
                    .forEach(line -> System.out.println("restarted relay: " + line));
            traffic.assertExactlyOnceInOrder();
        } finally {
            if (otherOpen) {
                otherRelay.abortTransaction();
            }
            otherRelay.close();
        }
    }

    /**
     * Read uncommitted: how many records of this relay's key follow the first record of
     * {@code otherKey} in partition 0 of {@code topic}.
     */
    private long positionsAfter(String topic, String otherKey) {
        java.util.Map<String, Object> config = new java.util.HashMap<>(fixture.kafka.consumerConfig("positions-" + otherKey));
        config.put("isolation.level", "read_uncommitted");
        config.remove("group.id");
        org.apache.kafka.common.TopicPartition partition = new org.apache.kafka.common.TopicPartition(topic, 0);
        long otherAt = -1;
        long after = 0;
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer =
                new org.apache.kafka.clients.consumer.KafkaConsumer<>(config)) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            while (consumer.position(partition) < end) {
                for (var record : consumer.poll(Duration.ofMillis(500))) {
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    if (key.equals(otherKey) && otherAt < 0) {
                        otherAt = record.offset();
                    } else if (key.equals(fixture.relayName) && otherAt >= 0) {
                        after++;
                    }
                }
            }
        }
        return after;
    }

    /** A transactional producer with a transaction open on partition 0 of {@code topic}, as a killed relay leaves it. */
    private KafkaProducer<byte[], byte[]> openTransactionOn(String topic, String transactionalId) throws Exception {
        try {
            // As the relay creates it (PositionLog.ensureTopic).
            fixture.kafka.admin().createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                    .configs(java.util.Map.of("cleanup.policy", "compact")))).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
        java.util.Map<String, Object> config = new java.util.HashMap<>();
        config.put("bootstrap.servers", fixture.kafka.bootstrapServers());
        config.put("transactional.id", transactionalId);
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config);
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, 0, transactionalId.getBytes(StandardCharsets.UTF_8),
                "{\"offset\": null}".getBytes(StandardCharsets.UTF_8))).get();
        return producer;
    }

    /** A restarted relay has a new instance id, so it waits for its predecessor's lease to expire: keep that short. */
    private static final java.util.Map<String, String> FAST_LEASE = java.util.Map.of(
            RelayConfig.LEASE_TTL_MS, "1000", RelayConfig.LEASE_RENEW_MS, "250");
}
