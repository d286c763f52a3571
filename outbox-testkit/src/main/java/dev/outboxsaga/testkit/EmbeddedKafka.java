package dev.outboxsaga.testkit;

import dev.outboxsaga.testkit.internal.FileTree;
import dev.outboxsaga.testkit.internal.FreePorts;
import dev.outboxsaga.testkit.internal.ProcessRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.apache.kafka.server.common.TransactionVersion;

/**
 * A single-node KRaft Kafka broker ({@code process.roles=broker,controller}) running in this JVM.
 *
 * <p>Settings: listener {@code PLAINTEXT://127.0.0.1:<random port>}, a controller listener on
 * another random port, log dir in a temp directory deleted by {@link #close()},
 * {@code num.partitions=3}, {@code auto.create.topics.enable=true}, replication factor 1 and
 * min ISR 1 for the offsets and transaction-state topics, {@code min.insync.replicas=1},
 * {@code group.initial.rebalance.delay.ms=0}, and the storage formatted with the latest production
 * metadata version and {@code transaction.version=2} (KIP-890).
 *
 * <p>{@link #stop()} and {@link #restart()} keep the ports and the log dir, so clients reconnect to
 * the same {@link #bootstrapServers()} and find their topics and transactions again.
 *
 * <p>{@link #start(Map)} starts a broker with some of these settings changed, e.g.
 * {@code auto.create.topics.enable=false} to test what clients do with a topic that does not exist.
 */
public final class EmbeddedKafka implements KafkaServer {

    private static final int NODE_ID = 1;

    private final Path logDir;
    private final int port;
    private final int controllerPort;
    private final KafkaConfig config;
    private final ProcessRegistry.Registration registration;
    private KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafka(Path logDir, int port, int controllerPort, ProcessRegistry.Registration registration,
            Map<String, String> overrides) {
        this.logDir = logDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.registration = registration;
        Properties properties = brokerProperties();
        properties.putAll(overrides);
        this.config = KafkaConfig.fromProps(properties, false);
    }

    /** Formats a new log dir and starts the broker; waits until it answers an admin request. */
    public static EmbeddedKafka start() {
        return start(Map.of());
    }

    /**
     * As {@link #start()}, with broker settings replaced or added by {@code overrides} (for example
     * {@code auto.create.topics.enable=false}).
     */
    public static EmbeddedKafka start(Map<String, String> overrides) {
        Path dir;
        try {
            dir = Files.createTempDirectory(ProcessRegistry.shared().directory(), "kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create Kafka log dir", e);
        }
        ProcessRegistry.Registration registration = ProcessRegistry.shared().register(null, dir);
        int[] ports = FreePorts.pick(2);
        EmbeddedKafka kafka;
        try {
            kafka = new EmbeddedKafka(dir, ports[0], ports[1], registration, Map.copyOf(overrides));
        } catch (RuntimeException e) {
            FileTree.deleteQuietly(dir);
            registration.close();
            throw e;
        }
        try {
            kafka.format();
            kafka.startServer();
            return kafka;
        } catch (RuntimeException e) {
            kafka.close();
            throw e;
        }
    }

    /**
     * Starts a broker on the given ports and log dir, formatting the dir only if it holds no broker yet;
     * waits until it answers an admin request. For a broker in a process of its own that a test kills
     * with SIGKILL and starts again on the same data: the caller owns the dir, {@link #close()} keeps it.
     */
    public static EmbeddedKafka startOn(Path logDir, int port, int controllerPort) {
        EmbeddedKafka kafka = new EmbeddedKafka(logDir, port, controllerPort, null, Map.of());
        if (!Files.exists(logDir.resolve("meta.properties"))) {
            kafka.format();
        }
        kafka.startServer();
        return kafka;
    }

    /** The port of the controller listener. */
    public int controllerPort() {
        return controllerPort;
    }

    @Override
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** The log dir, also holding the KRaft metadata log. */
    public Path logDir() {
        return logDir;
    }

    /** Whether the broker is running (started and not stopped). */
    public synchronized boolean isRunning() {
        return server != null;
    }

    /**
     * The finalized {@code transaction.version} feature level of the running broker: 2 means the
     * KIP-890 transaction protocol.
     */
    public short transactionVersion() {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            FinalizedVersionRange range = admin.describeFeatures().featureMetadata().get(30, TimeUnit.SECONDS)
                    .finalizedFeatures().get(TransactionVersion.FEATURE_NAME);
            return range == null ? 0 : range.maxVersionLevel();
        } catch (Exception e) {
            throw new IllegalStateException("cannot describe the broker's features", e);
        }
    }

    /** Shuts the broker down, keeping its ports and log dir; does nothing if it is stopped. */
    public synchronized void stop() {
        if (server != null) {
            KafkaRaftServer s = server;
            server = null;
            s.shutdown();
            s.awaitShutdown();
        }
    }

    /**
     * Stops the broker if it runs, then starts it again on the same ports and log dir; also starts a
     * broker that {@link #stop()} stopped. Returns once the broker answers an admin request.
     */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("the broker is closed");
        }
        stop();
        startServer();
    }

    /** Stops the broker and deletes its log dir, unless the broker was started by {@link #startOn}. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            if (registration != null) {
                FileTree.deleteQuietly(logDir);
                registration.close();
            }
        }
    }

    private Properties brokerProperties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        p.put("num.partitions", "3");
        p.put("auto.create.topics.enable", "true");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("min.insync.replicas", "1");
        p.put("default.replication.factor", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
        p.put("controlled.shutdown.enable", "true");
        p.put("server.max.startup.time.ms", String.valueOf(Duration.ofMinutes(1).toMillis()));
        return p;
    }

    private void format() {
        try (PrintStream quiet = new PrintStream(OutputStream.nullOutputStream())) {
            new Formatter()
                    .setPrintStream(quiet)
                    .setNodeId(NODE_ID)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setDirectories(List.of(logDir.toString()))
                    .setMetadataLogDirectory(Optional.of(logDir.toString()))
                    .setControllerListenerName("CONTROLLER")
                    .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setFeatureLevel(TransactionVersion.FEATURE_NAME, TransactionVersion.TV_2.featureLevel())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format Kafka storage in " + logDir, e);
        }
    }

    private void startServer() {
        KafkaRaftServer s = new KafkaRaftServer(config, Time.SYSTEM);
        s.startup();
        server = s;
        awaitReady();
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            while (true) {
                try {
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("Kafka broker did not become ready", e);
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Kafka broker did not become ready");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
    }
}
