package dev.outboxsaga.chaos;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One relay process: the shipped jar run as {@code java -jar outbox-relay.jar run --config FILE}, and
 * what its log says it is doing (its phase), for the statistics of what each kill hit.
 *
 * <p>The phase follows the relay's own INFO lines: {@code starting as standby}, {@code is leader},
 * {@code created replication slot} (the first start's snapshot begins), {@code first start published},
 * {@code is streaming from slot}, and {@code stepped down} / {@code leader term ended} /
 * {@code lost its lease}. A streaming leader is in catch-up until a row committed after it began
 * streaming has reached the suite's reader (rows arrive in commit order, so everything before has too).
 */
final class RelayNode {

    /** What a relay process was doing when a fault hit it. */
    enum Phase {
        /** JVM start, connecting, or, as leader, fencing and resuming before the engine streams. */
        START_UP,
        /** Waiting for the lease while another process leads. */
        STANDBY,
        /** Leader on a first start, reading and publishing the rows already in the outbox. */
        SNAPSHOT,
        /** Leader streaming the WAL, not yet past the rows committed before it began. */
        CATCH_UP,
        /** Leader streaming rows committed after it began. */
        STREAMING
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
    private static final Pattern ROLE = Pattern.compile("\"role\":\"(\\w+)\"");

    private final String instanceId;
    private final ChildProcess process;
    private final int healthPort;
    private final long startedNanos = System.nanoTime();
    private long logOffset;
    private String partialLine = "";
    private Phase logPhase = Phase.START_UP;
    private boolean leader;
    private boolean firstStartPublished;
    private long streamingMark = -1;
    private boolean paused;

    private RelayNode(String instanceId, ChildProcess process, int healthPort) {
        this.instanceId = instanceId;
        this.process = process;
        this.healthPort = healthPort;
    }

    /**
     * Writes {@code config} to {@code <directory>/<instance id>.properties} and starts the jar.
     *
     * @param config relay properties ({@code instance.id} and {@code metrics.port} are set here)
     */
    static RelayNode start(Path jar, Path directory, String instanceId, Map<String, String> config, int healthPort) {
        Path configFile = directory.resolve(instanceId + ".properties");
        Properties properties = new Properties();
        properties.putAll(config);
        properties.setProperty("instance.id", instanceId);
        properties.setProperty("metrics.port", Integer.toString(healthPort));
        try {
            Files.createDirectories(directory);
            try (Writer out = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
                properties.store(out, "chaos relay " + instanceId);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ChildProcess process = ChildProcess.start("relay " + instanceId, List.of(ChildProcess.javaBinary(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-jar", jar.toString(), "run", "--config", configFile.toString()),
                directory.resolve(instanceId + ".log"));
        return new RelayNode(instanceId, process, healthPort);
    }

    String instanceId() {
        return instanceId;
    }

    ChildProcess process() {
        return process;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    boolean isPaused() {
        return paused;
    }

    /** Milliseconds since the process was started. */
    long ageMillis() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    /**
     * Reads the log lines written since the last call and updates the phase.
     *
     * @param issued the writers' row counter now: rows numbered above it commit later
     */
    synchronized void refresh(long issued) {
        String text;
        try (RandomAccessFile file = new RandomAccessFile(process.logFile().toFile(), "r")) {
            long length = file.length();
            if (length <= logOffset) {
                return;
            }
            byte[] bytes = new byte[(int) Math.min(length - logOffset, 16 << 20)];
            file.seek(logOffset);
            file.readFully(bytes);
            logOffset += bytes.length;
            text = partialLine + new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return;
        }
        int end = text.lastIndexOf('\n');
        partialLine = text.substring(end + 1);
        if (end < 0) {
            return;
        }
        for (String line : text.substring(0, end).split("\n")) {
            if (line.contains(") starting as standby") || line.contains(") stepped down")
                    || line.contains("leader term ended") || line.contains(") lost its lease")) {
                logPhase = Phase.STANDBY;
                leader = false;
            } else if (line.contains(") is leader, lease epoch")) {
                logPhase = Phase.START_UP;
                leader = true;
            } else if (line.contains(": created replication slot")) {
                logPhase = Phase.SNAPSHOT;
            } else if (line.contains(": first start published")) {
                logPhase = Phase.START_UP;
                firstStartPublished = true;
            } else if (line.contains(") is streaming from slot")) {
                logPhase = Phase.STREAMING;
                streamingMark = issued;
            }
        }
    }

    /**
     * The phase now, from the log (see {@link #refresh}).
     *
     * @param issued       the writers' row counter now
     * @param maxDelivered the largest row number the reader has seen
     */
    synchronized Phase phase(long issued, long maxDelivered) {
        refresh(issued);
        if (logPhase == Phase.STREAMING && maxDelivered <= streamingMark) {
            return Phase.CATCH_UP;
        }
        return logPhase;
    }

    /** Whether the log read so far says this process is reading or publishing the first start's snapshot. */
    synchronized boolean inSnapshot() {
        return logPhase == Phase.SNAPSHOT;
    }

    /** Whether this process published the first start's snapshot (as far as its log has been read). */
    synchronized boolean publishedFirstStart() {
        return firstStartPublished;
    }

    /** Whether the log says this process took the lease and has not given it up since. */
    synchronized boolean leadsByLog() {
        return leader;
    }

    /** The role {@code /health} reports, or why there is none (a paused or starting process does not answer). */
    String healthRole() {
        if (paused || !process.isAlive()) {
            return paused ? "paused" : "exited";
        }
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + healthPort + "/health")).timeout(Duration.ofMillis(700)).build(),
                    HttpResponse.BodyHandlers.ofString());
            Matcher role = ROLE.matcher(response.body());
            return (role.find() ? role.group(1) : "?") + "/" + response.statusCode();
        } catch (IOException e) {
            return "no answer";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    void kill() {
        process.kill();
        paused = false;
    }

    void pause() {
        process.pause();
        paused = true;
    }

    void resume() {
        process.resume();
        paused = false;
    }

    /** The last {@code lines} lines of the log. */
    String tail(int lines) {
        List<String> all = process.log().lines().toList();
        return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    @Override
    public String toString() {
        return "relay " + instanceId + " (pid " + process.pid() + ")";
    }
}
