package dev.outboxsaga.sample.bank;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.relay.OutboxRelay;
import dev.outboxsaga.relay.RelayConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The demo's relays, bank a's participant and (when asked) the transfer service's orchestrator, each
 * in a JVM of its own to kill with SIGKILL. Processes are named by key: {@code relay <name>},
 * {@code bank bank-a}, {@code transfers}, and {@code <key> 2}, {@code <key> 3}, ... for further copies
 * of the same process (same properties, so the same consumer group).
 */
final class DemoProcesses implements DemoRun.Launcher, AutoCloseable {

    final Path directory;
    /** Processes killed, as {@code key=exit code}, in order. */
    final List<String> killed = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, JvmProcess> running = new ConcurrentHashMap<>();
    private final Map<String, String> mainClasses = new ConcurrentHashMap<>();
    private final Map<String, Path> files = new ConcurrentHashMap<>();
    private final List<OutboxRelay> relaysInProcess = new ArrayList<>();
    private boolean relaysHere;
    private int transferCopies;
    private int bankCopies = 1;
    private final Map<String, Map<String, String>> extra = new ConcurrentHashMap<>();
    private int generation;

    DemoProcesses(Path directory) {
        this.directory = directory.resolve(UUID.randomUUID().toString().substring(0, 6)).toAbsolutePath();
    }

    /** Runs the relays in this JVM (saves a JVM each on a small machine) rather than in JVMs of their own. */
    DemoProcesses relaysInThisJvm() {
        relaysHere = true;
        return this;
    }

    /** Runs {@code copies} orchestrator processes of the transfer service (0, the default: in the demo's JVM). */
    DemoProcesses transferProcesses(int copies) {
        transferCopies = copies;
        return this;
    }

    /** Runs {@code copies} participant processes of bank a, in one consumer group (default 1). */
    DemoProcesses bankProcesses(int copies) {
        bankCopies = copies;
        return this;
    }

    /** Further properties for the process of {@code key} (e.g. {@code kafka.group.instance.id}). */
    DemoProcesses with(String key, String property, String value) {
        extra.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(property, value);
        return this;
    }

    @Override
    public void relay(String name, Map<String, String> properties) {
        if (relaysHere) {
            RelayConfig.Builder config = RelayConfig.builder();
            properties.forEach(config::set);
            OutboxRelay relay = OutboxRelay.create(config.build());
            Thread thread = new Thread(relay, "relay-" + name);
            thread.setDaemon(true);
            thread.start();
            synchronized (this) {
                relaysInProcess.add(relay);
            }
            return;
        }
        launch("relay " + name, properties, "dev.outboxsaga.relay.RelayMain", "run", "--config");
    }

    @Override
    public void bank(String name, Map<String, String> properties) {
        for (int copy = 1; copy <= bankCopies; copy++) {
            launch(key("bank " + name, copy), properties, BankProcess.class.getName());
        }
    }

    @Override
    public boolean transfers(Map<String, String> properties) {
        for (int copy = 1; copy <= transferCopies; copy++) {
            launch(key("transfers", copy), properties, TransferProcess.class.getName());
        }
        return transferCopies > 0;
    }

    private static String key(String base, int copy) {
        return copy == 1 ? base : base + " " + copy;
    }

    private synchronized void launch(String key, Map<String, String> properties, String mainClass, String... options) {
        try {
            Files.createDirectories(directory);
            Path file = directory.resolve(key.replace(' ', '-') + ".properties");
            Properties written = new Properties();
            written.putAll(properties);
            written.putAll(extra.getOrDefault(key, Map.of()));
            try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                written.store(out, key);
            }
            mainClasses.put(key, mainClass + (options.length == 0 ? "" : " " + String.join(" ", options)));
            files.put(key, file);
            start(key);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void start(String key) {
        String[] command = mainClasses.get(key).split(" ");
        String[] args = new String[command.length];
        System.arraycopy(command, 1, args, 0, command.length - 1);
        args[args.length - 1] = files.get(key).toString();
        running.put(key, JvmProcess.start(key.replace(' ', '-') + "-" + (++generation), directory, command[0], args));
    }

    /** SIGKILL, then the same command again in a new JVM. */
    synchronized void killAndRestart(String key) {
        kill(key);
        start(key);
    }

    /** SIGKILL, and nothing started in its place; returns the exit code. */
    synchronized int kill(String key) {
        JvmProcess process = running.get(key);
        assertThat(process.isAlive()).as("%s alive before the kill", process).isTrue();
        int exit = process.kill();
        killed.add(key + "=" + exit);
        return exit;
    }

    /** Starts the process of {@code key} again after {@link #kill}. */
    synchronized void restart(String key) {
        assertThat(running.get(key).isAlive()).as("%s still running", key).isFalse();
        start(key);
    }

    /** Whether the current process of {@code key} has said it started (its log holds {@code " started"}). */
    boolean started(String key) {
        JvmProcess process = running.get(key);
        try {
            return process.isAlive() && Files.readString(process.logFile(), StandardCharsets.UTF_8).contains(" started");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * SIGKILLs every process still running, then waits for each. Called on the way out of a test, also one that
     * timed out: JUnit interrupts its thread then, and an interrupt must not leave the remaining processes running
     * (they would load the machine under the tests that follow), so the waits run with it cleared and it is set again.
     */
    synchronized void killAll() {
        List<JvmProcess> alive = running.values().stream().filter(JvmProcess::isAlive).toList();
        alive.forEach(JvmProcess::signalKill);
        boolean interrupted = Thread.interrupted();
        try {
            alive.forEach(JvmProcess::kill);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Kills what still runs and closes the relays of this JVM. */
    @Override
    public synchronized void close() {
        killAll();
        relaysInProcess.forEach(OutboxRelay::close);
    }
}
