package dev.outboxsaga.chaos;

import static org.awaitility.Awaitility.await;

import dev.outboxsaga.testkit.EmbeddedKafka;
import dev.outboxsaga.testkit.internal.FileTree;
import dev.outboxsaga.testkit.internal.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The test kit's single-node KRaft broker ({@link EmbeddedKafka}) in a JVM of its own, so that the suite
 * can SIGKILL it and start it again on the same ports and log dir, as a crashed broker host would.
 * {@link #main} is what runs in that JVM.
 */
final class KafkaBroker implements AutoCloseable {

    private static final String READY = "chaos kafka broker ready";

    private final Path logDir;
    private final Path logFile;
    private final int port;
    private final int controllerPort;
    private ChildProcess process;
    private int starts;

    private KafkaBroker(Path logDir, Path logFile, int port, int controllerPort) {
        this.logDir = logDir;
        this.logFile = logFile;
        this.port = port;
        this.controllerPort = controllerPort;
    }

    /** Starts a broker with a new log dir on two free ports; returns when it answers. */
    static KafkaBroker start(Path workDirectory) {
        try {
            Files.createDirectories(workDirectory);
            int[] ports = FreePorts.pick(2);
            KafkaBroker broker = new KafkaBroker(Files.createTempDirectory(workDirectory, "kafka-data-"),
                    workDirectory.resolve("kafka.log"), ports[0], ports[1]);
            broker.launch();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** SIGKILL: no controlled shutdown, no flush; the next start recovers the logs. */
    void kill() {
        process.kill();
    }

    /** Starts the broker again on the same ports and log dir; returns when it answers. */
    void restart() {
        if (process.isAlive()) {
            throw new IllegalStateException("the broker still runs: " + process);
        }
        launch();
    }

    private void launch() {
        int readyLines = starts++;
        process = ChildProcess.start("kafka", List.of(ChildProcess.javaBinary(), "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                KafkaBroker.class.getName(), logDir.toString(), Integer.toString(port), Integer.toString(controllerPort)),
                logFile);
        ChildProcess started = process;
        await("Kafka broker up on " + bootstrapServers()).atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(100))
                .failFast("the broker exited; see " + logFile, () -> !started.isAlive())
                .until(() -> started.log().split(READY, -1).length - 1 > readyLines);
    }

    @Override
    public void close() {
        if (process != null) {
            process.kill();
        }
        FileTree.deleteQuietly(logDir);
    }

    /** In the broker's JVM: {@code KafkaBroker <log dir> <port> <controller port>}; runs until killed. */
    public static void main(String[] args) throws InterruptedException {
        EmbeddedKafka kafka = EmbeddedKafka.startOn(Path.of(args[0]), Integer.parseInt(args[1]),
                Integer.parseInt(args[2]));
        System.out.println(READY + " on " + kafka.bootstrapServers());
        System.out.flush();
        Thread.currentThread().join();
    }
}
