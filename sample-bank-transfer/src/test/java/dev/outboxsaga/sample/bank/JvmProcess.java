package dev.outboxsaga.sample.bank;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A main class of the test class path in a JVM of its own, so that a test can kill it with SIGKILL as
 * an operating system would. Output goes to {@code <directory>/<name>.log}. A shutdown hook kills
 * whatever is still running when the test JVM ends.
 */
final class JvmProcess {

    private static final Set<JvmProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> List.copyOf(LIVE).forEach(JvmProcess::kill),
                "jvm-process-reaper"));
    }

    private final String name;
    private final Path logFile;
    private final Process process;

    private JvmProcess(String name, Path logFile, Process process) {
        this.name = name;
        this.logFile = logFile;
        this.process = process;
    }

    /** Starts {@code mainClass} with {@code args} on this JVM's class path. */
    static JvmProcess start(String name, Path directory, String mainClass, String... args) {
        try {
            Files.createDirectories(directory);
            Path log = directory.resolve(name + ".log").toAbsolutePath();
            List<String> command = new ArrayList<>();
            command.add(ProcessHandle.current().info().command()
                    .orElseThrow(() -> new IllegalStateException("cannot tell which java binary runs this JVM")));
            command.add("-Xmx256m");
            command.add("-XX:TieredStopAtLevel=1");
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(mainClass);
            command.addAll(List.of(args));
            Files.writeString(log, LocalTime.now() + " [test] starting " + mainClass + " " + String.join(" ", args)
                    + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            JvmProcess started = new JvmProcess(name, log, process);
            LIVE.add(started);
            return started;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start " + name, e);
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    Path logFile() {
        return logFile;
    }

    /** Sends SIGKILL without waiting; {@link #kill()} then waits. */
    void signalKill() {
        note("SIGKILL");
        process.destroyForcibly();
    }

    /** SIGKILL, and waits until the process is gone; returns its exit code (137). */
    int kill() {
        if (process.isAlive()) {
            signalKill();
        }
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException(this + " survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing " + this, e);
        }
        LIVE.remove(this);
        return process.exitValue();
    }

    private void note(String what) {
        try {
            Files.writeString(logFile, LocalTime.now() + " [test] " + what + System.lineSeparator(),
                    StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ", log " + logFile + ")";
    }
}
