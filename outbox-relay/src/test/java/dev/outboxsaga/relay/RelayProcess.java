package dev.outboxsaga.relay;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A relay in a JVM of its own ({@code RelayMain run --config FILE}), so that a test can kill it with
 * SIGKILL, or freeze it with SIGSTOP, as an operating system or an orchestrator would. Its stdout and
 * stderr go to {@code target/relay-processes/<name>.log}.
 *
 * <p>Every process started is remembered until it is gone: {@link #killAll()} (for {@code @AfterEach})
 * and a JVM shutdown hook make sure that no relay outlives the test run.
 */
final class RelayProcess implements AutoCloseable {

    static final Path LOG_DIRECTORY = Path.of("target", "relay-processes");
    private static final Set<RelayProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(RelayProcess::killAll, "relay-process-reaper"));
    }

    private final String name;
    private final Map<String, String> config;
    private final List<String> jvmFlags;
    private final Path logFile;
    private final Path configFile;
    /** Further relays for the same process ({@code run --config A --config B}), in order. */
    private final List<Map<String, String>> moreConfigs = new ArrayList<>();
    private Process process;
    private long startedAtNanos;

    /**
     * A relay process, not yet started.
     *
     * @param name     unique in the test run: names the log and config files
     * @param config   the relay's properties (see {@link RelayConfig} for the keys)
     * @param jvmFlags extra JVM options, e.g. {@code -Doutbox.relay.test.halt-after-commits=3}
     */
    RelayProcess(String name, Map<String, String> config, List<String> jvmFlags) {
        this.name = name;
        this.config = new TreeMap<>(config);
        this.jvmFlags = List.copyOf(jvmFlags);
        this.logFile = LOG_DIRECTORY.resolve(name + ".log").toAbsolutePath();
        this.configFile = LOG_DIRECTORY.resolve(name + ".properties").toAbsolutePath();
    }

    /** Before {@link #start()}: one more relay in this process, from a config file of its own. */
    synchronized RelayProcess alsoRunning(Map<String, String> config) {
        if (process != null) {
            throw new IllegalStateException("relay process " + name + " was started already");
        }
        moreConfigs.add(new TreeMap<>(config));
        return this;
    }

    /** SIGTERM, as an orchestrator stops a process, then waits up to a minute for it to exit; returns its exit code. */
    int terminate() throws InterruptedException {
        Process p = started();
        note("SIGTERM");
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("relay process " + name + " (pid " + p.pid() + ") ignored SIGTERM for a minute");
        }
        LIVE.remove(this);
        return p.exitValue();
    }

    /** Writes the config file and starts the JVM; returns this. */
    synchronized RelayProcess start() {
        if (process != null) {
            throw new IllegalStateException("relay process " + name + " was started already");
        }
        try {
            Files.createDirectories(LOG_DIRECTORY);
            Properties properties = new Properties();
            properties.putAll(config);
            try (Writer out = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
                properties.store(out, "relay process " + name);
            }
            List<String> command = new ArrayList<>();
            command.add(ProcessHandle.current().info().command()
                    .orElseThrow(() -> new IllegalStateException("cannot tell which java binary runs this JVM")));
            command.add("-Xmx256m");
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            // The engine's own account of start-up and streaming, to tell where a slow restart spends its time.
            command.add("-Dorg.slf4j.simpleLogger.log.io.debezium=info");
            command.addAll(jvmFlags);
            command.addAll(List.of(RelayMain.class.getName(), "run", "--config", configFile.toString()));
            for (int i = 0; i < moreConfigs.size(); i++) {
                Path more = LOG_DIRECTORY.resolve(name + "-" + (i + 2) + ".properties").toAbsolutePath();
                Properties moreProperties = new Properties();
                moreProperties.putAll(moreConfigs.get(i));
                try (Writer out = Files.newBufferedWriter(more, StandardCharsets.UTF_8)) {
                    moreProperties.store(out, "relay process " + name + ", relay " + (i + 2));
                }
                command.addAll(List.of("--config", more.toString()));
            }
            Files.writeString(logFile, LocalTime.now() + " [test] starting " + String.join(" ", jvmFlags) + " "
                    + RelayMain.class.getSimpleName() + " run --config " + configFile + System.lineSeparator(),
                    StandardCharsets.UTF_8);
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
            startedAtNanos = System.nanoTime();
            LIVE.add(this);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start relay process " + name, e);
        }
    }

    String name() {
        return name;
    }

    String instanceId() {
        return config.get(RelayConfig.INSTANCE_ID);
    }

    long pid() {
        return started().pid();
    }

    /** When {@link #start()} returned, on {@link System#nanoTime()}'s clock. */
    long startedAtNanos() {
        started();
        return startedAtNanos;
    }

    boolean isAlive() {
        return started().isAlive();
    }

    /** The exit code; 137 after SIGKILL or {@code Runtime.halt(137)}. */
    int exitCode() {
        Process p = started();
        if (p.isAlive()) {
            throw new IllegalStateException("relay process " + name + " (pid " + p.pid() + ") is still running");
        }
        return p.exitValue();
    }

    /** SIGKILL, then waits until the process is gone. */
    void kill() {
        Process p = started();
        note("SIGKILL");
        p.destroyForcibly();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("relay process " + name + " (pid " + p.pid() + ") survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing relay process " + name, e);
        }
        LIVE.remove(this);
    }

    /** SIGSTOP: the process freezes with its sockets open, like a long GC pause or a suspended VM. */
    void pause() {
        note("SIGSTOP");
        signal("STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    void resume() {
        note("SIGCONT");
        signal("CONT");
    }

    /** The process's output so far. */
    String log() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path logFile() {
        return logFile;
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            kill();
        }
        LIVE.remove(this);
    }

    /** Kills every relay process still running in this JVM. */
    static void killAll() {
        for (RelayProcess relay : List.copyOf(LIVE)) {
            try {
                relay.close();
            } catch (RuntimeException e) {
                System.err.println("could not kill relay process " + relay.name + ": " + e);
            }
        }
    }

    /** Adds a line to the log, so that it shows what the test did to the process and when. */
    private void note(String what) {
        try {
            Files.writeString(logFile, LocalTime.now() + " [test] " + what + System.lineSeparator(),
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void signal(String signal) {
        long pid = pid();
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run kill -" + signal + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending SIG" + signal + " to " + pid, e);
        }
    }

    private synchronized Process started() {
        if (process == null) {
            throw new IllegalStateException("relay process " + name + " was not started");
        }
        return process;
    }

    @Override
    public String toString() {
        return "relay process " + name + (process == null ? " (not started)" : " (pid " + process.pid() + ")");
    }
}
