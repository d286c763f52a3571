package dev.outboxsaga.testkit.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records, in a directory under {@code java.io.tmpdir}, each server process and directory this JVM
 * started, so that a later JVM can stop and delete what a JVM killed with SIGKILL left behind.
 *
 * <p>A record names its owner JVM (pid and start time), the server process (pid and start time;
 * none for an in-JVM Kafka) and a directory. A record whose owner is gone is stale: its process, if
 * still the same process, gets SIGTERM, then SIGKILL after a wait, and its directory is deleted.
 */
public final class ProcessRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessRegistry.class);
    private static final String SUFFIX = ".record";
    private static volatile ProcessRegistry shared;

    private final Path directory;
    private final java.time.Duration termWait;

    /** A registry keeping its records in {@code directory}; {@code termWait} is the SIGTERM grace. */
    public ProcessRegistry(Path directory, java.time.Duration termWait) {
        this.directory = directory;
        this.termWait = termWait;
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + directory, e);
        }
    }

    /**
     * The registry in {@code <java.io.tmpdir>/outbox-saga-testkit}; the first call in a JVM reaps
     * the stale records of earlier JVMs.
     */
    public static ProcessRegistry shared() {
        ProcessRegistry r = shared;
        if (r == null) {
            synchronized (ProcessRegistry.class) {
                r = shared;
                if (r == null) {
                    r = new ProcessRegistry(Paths.get(System.getProperty("java.io.tmpdir"), "outbox-saga-testkit"),
                            java.time.Duration.ofSeconds(10));
                    List<Path> reaped = r.reapStale();
                    if (!reaped.isEmpty()) {
                        LOG.warn("cleaned up after {} server(s) left by earlier test JVMs: {}", reaped.size(), reaped);
                    }
                    shared = r;
                }
            }
        }
        return r;
    }

    /** The directory holding the records; servers also put their data directories in it. */
    public Path directory() {
        return directory;
    }

    /** Records {@code dir} (and {@code process}, if not null) as owned by this JVM. */
    public Registration register(ProcessHandle process, Path dir) {
        Registration reg = new Registration(directory.resolve(
                ProcessHandle.current().pid() + "-" + UUID.randomUUID() + SUFFIX), dir);
        reg.process(process);
        return reg;
    }

    /**
     * Stops the processes and deletes the directories of records whose owner JVM is gone.
     *
     * @return the directories of the records reaped
     */
    public List<Path> reapStale() {
        List<Path> staleRecords = new ArrayList<>();
        List<Properties> stale = new ArrayList<>();
        try (DirectoryStream<Path> records = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path record : records) {
                Properties p = new Properties();
                try (InputStream in = Files.newInputStream(record)) {
                    p.load(in);
                } catch (IOException e) {
                    continue; // vanished or half-written: skip
                }
                if (!isAlive(p.getProperty("owner.pid"), p.getProperty("owner.start"))) {
                    staleRecords.add(record);
                    stale.add(p);
                }
            }
        } catch (IOException e) {
            LOG.warn("could not scan {} for stale servers: {}", directory, e.toString());
        }
        // SIGTERM all first, then wait: servers shut down side by side.
        List<ProcessHandle> processes = new ArrayList<>();
        for (Properties p : stale) {
            sameProcess(p.getProperty("process.pid"), p.getProperty("process.start")).ifPresent(h -> {
                LOG.warn("stopping orphaned server process {} ({})", h.pid(), h.info().command().orElse("?"));
                h.destroy();
                processes.add(h);
            });
        }
        long deadline = System.nanoTime() + termWait.toNanos();
        for (ProcessHandle h : processes) {
            awaitExit(h, deadline);
        }
        List<Path> reaped = new ArrayList<>();
        for (int i = 0; i < stale.size(); i++) {
            String dir = stale.get(i).getProperty("dir");
            if (dir != null && !dir.isEmpty()) {
                FileTree.deleteQuietly(Paths.get(dir));
                reaped.add(Paths.get(dir));
            }
            try {
                Files.deleteIfExists(staleRecords.get(i));
            } catch (IOException e) {
                LOG.warn("could not delete {}: {}", staleRecords.get(i), e.toString());
            }
        }
        return reaped;
    }

    /** Waits for {@code h} to exit until {@code deadline}, then sends SIGKILL to it and its children. */
    private void awaitExit(ProcessHandle h, long deadline) {
        try {
            h.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception timeout) {
            List<ProcessHandle> children = h.descendants().toList();
            h.destroyForcibly();
            children.forEach(ProcessHandle::destroyForcibly);
            try {
                h.onExit().get(termWait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warn("process {} did not exit after SIGKILL", h.pid());
            }
        }
    }

    private static boolean isAlive(String pid, String start) {
        return sameProcess(pid, start).isPresent();
    }

    /** The live process with that pid, if its start time matches the recorded one (if any). */
    private static Optional<ProcessHandle> sameProcess(String pid, String start) {
        if (pid == null || pid.isEmpty()) {
            return Optional.empty();
        }
        Optional<ProcessHandle> h;
        try {
            h = ProcessHandle.of(Long.parseLong(pid.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (h.isEmpty() || !h.get().isAlive()) {
            return Optional.empty();
        }
        if (start != null && !start.isEmpty()) {
            Optional<Instant> actual = h.get().info().startInstant();
            if (actual.isPresent() && actual.get().toEpochMilli() != Long.parseLong(start.trim())) {
                return Optional.empty(); // the pid was reused
            }
        }
        return h;
    }

    private static String startOf(ProcessHandle h) {
        return h.info().startInstant().map(i -> String.valueOf(i.toEpochMilli())).orElse("");
    }

    /** One record; {@link #close()} deletes it once its server is stopped and its directory gone. */
    public final class Registration implements AutoCloseable {
        private final Path file;
        private final Path dir;

        private Registration(Path file, Path dir) {
            this.file = file;
            this.dir = dir;
        }

        /** Records the server process (may be null). */
        public synchronized void process(ProcessHandle process) {
            ProcessHandle me = ProcessHandle.current();
            Properties p = new Properties();
            p.setProperty("owner.pid", String.valueOf(me.pid()));
            p.setProperty("owner.start", startOf(me));
            p.setProperty("process.pid", process == null ? "" : String.valueOf(process.pid()));
            p.setProperty("process.start", process == null ? "" : startOf(process));
            p.setProperty("dir", dir == null ? "" : dir.toString());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    p.store(out, "outbox-saga-testkit server record");
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file, e);
            }
        }

        @Override
        public void close() {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("could not delete {}: {}", file, e.toString());
            }
        }
    }
}
