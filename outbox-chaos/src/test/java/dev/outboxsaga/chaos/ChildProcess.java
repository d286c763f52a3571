package dev.outboxsaga.chaos;

import dev.outboxsaga.testkit.internal.ProcessRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalTime;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * An operating-system process started by the suite (a relay or the Kafka broker), its output appended
 * to a log file, that the suite can SIGKILL, SIGSTOP and SIGCONT.
 *
 * <p>No child outlives the suite: {@link #killAll()} (called after each test) and a shutdown hook kill
 * what still runs, and each child is recorded in the test kit's {@link ProcessRegistry}, so that the
 * next test JVM kills what a JVM killed with SIGKILL left behind.
 */
final class ChildProcess {

    private static final Set<ChildProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ChildProcess::killAll, "chaos-child-reaper"));
    }

    private final String name;
    private final Process process;
    private final Path logFile;
    private final ProcessRegistry.Registration registration;

    private ChildProcess(String name, Process process, Path logFile, ProcessRegistry.Registration registration) {
        this.name = name;
        this.process = process;
        this.logFile = logFile;
        this.registration = registration;
    }

    /** Starts {@code command}, appending its stdout and stderr to {@code logFile}. */
    static ChildProcess start(String name, List<String> command, Path logFile) {
        try {
            Files.createDirectories(logFile.getParent());
            Files.writeString(logFile, LocalTime.now() + " [chaos] starting " + String.join(" ", command)
                    + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
            ChildProcess child = new ChildProcess(name, process, logFile,
                    ProcessRegistry.shared().register(process.toHandle(), null));
            LIVE.add(child);
            return child;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start " + name, e);
        }
    }

    /** The {@code java} binary running this JVM. */
    static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElseThrow(() -> new IllegalStateException("cannot tell which java binary runs this JVM"));
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The exit code; 137 after SIGKILL. */
    int exitCode() {
        return process.exitValue();
    }

    Path logFile() {
        return logFile;
    }

    /** The output so far. */
    String log() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGKILL (which also ends a stopped process); waits until the process is gone. */
    void kill() {
        if (process.isAlive()) {
            note("SIGKILL");
            process.destroyForcibly();
        }
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException(name + " (pid " + pid() + ") survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing " + name, e);
        }
        LIVE.remove(this);
        registration.close();
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

    /** Adds a line to the log, so that it shows what the suite did to the process and when. */
    void note(String what) {
        try {
            Files.writeString(logFile, LocalTime.now() + " [chaos] " + what + System.lineSeparator(),
                    StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void signal(String signal) {
        if (!process.isAlive()) {
            return;
        }
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("kill -" + signal + " " + pid() + " hangs");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run kill -" + signal + " " + pid(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending SIG" + signal + " to " + pid(), e);
        }
    }

    /** Kills every child still running. */
    static void killAll() {
        for (ChildProcess child : List.copyOf(LIVE)) {
            try {
                child.kill();
            } catch (RuntimeException e) {
                System.err.println("could not kill " + child.name + ": " + e);
            }
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + pid() + ")";
    }
}
