package dev.outboxsaga.testkit.internal;

import dev.outboxsaga.testkit.EmbeddedPostgresOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * PostgreSQL started by zonky's {@code EmbeddedPostgres}. Its data directory and postmaster pid
 * (read from {@code postmaster.pid}: as root, zonky runs the server under {@code unshare -U}) are
 * recorded in the {@link ProcessRegistry}.
 */
public final class EmbeddedPostgresServer extends AbstractPostgresServer {

    private static final String USER = "postgres";
    /** The server trusts local connections; a non-empty password keeps picky clients happy. */
    private static final String PASSWORD = "postgres";

    private EmbeddedPostgres postgres;
    private final Path dataDir;
    private final ProcessRegistry.Registration registration;
    private long postmasterPid;
    private final Map<String, String> settings;
    private boolean closed;
    private boolean crashed;

    private EmbeddedPostgresServer(EmbeddedPostgres postgres, Path dataDir,
            ProcessRegistry.Registration registration, long postmasterPid, Map<String, String> settings) {
        this.settings = settings;
        this.postgres = postgres;
        this.dataDir = dataDir;
        this.registration = registration;
        this.postmasterPid = postmasterPid;
    }

    /** Starts a server with the given options. */
    public static EmbeddedPostgresServer start(EmbeddedPostgresOptions options) {
        ProcessRegistry registry = ProcessRegistry.shared();
        Path dataDir;
        try {
            dataDir = Files.createTempDirectory(registry.directory(), "pg-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a PostgreSQL data directory", e);
        }
        ProcessRegistry.Registration registration = registry.register(null, dataDir);
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("wal_level", "logical");
        settings.put("synchronous_commit", "on");
        settings.put("fsync", options.fsync() ? "on" : "off");
        settings.put("full_page_writes", options.fsync() ? "on" : "off");
        settings.put("max_replication_slots", "64");
        settings.put("max_wal_senders", "64");
        settings.put("max_connections", "300");
        settings.put("timezone", "UTC");
        settings.putAll(options.settings());
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setPort(options.port())
                .setDataDirectory(dataDir)
                // initdb runs anyway on the empty directory; zonky must not delete it on close, so that
                // restart() can start on the same data. close() deletes it.
                .setCleanDataDirectory(false)
                .setRegisterShutdownHook(false);
        settings.forEach(builder::setServerConfig);
        EmbeddedPostgres pg;
        try {
            pg = builder.start();
        } catch (IOException | RuntimeException e) {
            FileTree.deleteQuietly(dataDir);
            registration.close();
            throw new IllegalStateException("cannot start embedded PostgreSQL in " + dataDir, e);
        }
        long pid = readPostmasterPid(dataDir, pg);
        registration.process(ProcessHandle.of(pid).orElse(null));
        return new EmbeddedPostgresServer(pg, dataDir, registration, pid, settings);
    }

    @Override
    public synchronized void crash() {
        if (closed) {
            throw new IllegalStateException("the server is closed");
        }
        if (crashed) {
            return;
        }
        Path postgresBinary = ProcessHandle.of(postmasterPid).flatMap(h -> h.info().command()).map(Path::of)
                .orElseThrow(() -> new IllegalStateException("PostgreSQL (pid " + postmasterPid + ") is not running"));
        List<String> command = new ArrayList<>();
        // pg_ctl refuses to run as root; zonky runs its binaries under unshare -U then, and so does this.
        if ("root".equals(System.getProperty("user.name"))) {
            command.addAll(List.of("unshare", "-U"));
        }
        command.addAll(List.of(postgresBinary.resolveSibling("pg_ctl").toString(), "stop", "-D", dataDir.toString(),
                "-m", "immediate", "-w", "-t", "30"));
        try {
            Process pgCtl = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(pgCtl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!pgCtl.waitFor(60, TimeUnit.SECONDS) || pgCtl.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while crashing PostgreSQL", e);
        }
        awaitExit();
        crashed = true;
    }

    @Override
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("the server is closed");
        }
        int port = postgres.getPort();
        try {
            // After crash() zonky's pg_ctl stop fails (logged at ERROR); close() still releases its lock file.
            postgres.close();
            crashed = false;
            awaitExit();
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setPort(port)
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    .setRegisterShutdownHook(false);
            settings.forEach(builder::setServerConfig);
            postgres = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot restart embedded PostgreSQL in " + dataDir, e);
        }
        postmasterPid = readPostmasterPid(dataDir, postgres);
        registration.process(ProcessHandle.of(postmasterPid).orElse(null));
    }

    private static long readPostmasterPid(Path dataDir, EmbeddedPostgres pg) {
        try {
            String first = Files.readAllLines(dataDir.resolve("postmaster.pid"), StandardCharsets.US_ASCII).get(0);
            return Long.parseLong(first.trim());
        } catch (IOException | RuntimeException e) {
            return pg.getProcess().pid();
        }
    }

    /** The pid of the postmaster, the server's main process. */
    public long postmasterPid() {
        return postmasterPid;
    }

    /** The data directory. */
    public Path dataDirectory() {
        return dataDir;
    }

    @Override
    public String host() {
        return "localhost";
    }

    @Override
    public int port() {
        return postgres.getPort();
    }

    @Override
    public String adminJdbcUrl() {
        return jdbcUrl("postgres");
    }

    @Override
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
    }

    @Override
    public String username() {
        return USER;
    }

    @Override
    public String password() {
        return PASSWORD;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            postgres.close();
            awaitExit();
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(EmbeddedPostgresServer.class)
                    .warn("could not stop PostgreSQL (pid {}): {}", postmasterPid, e.toString());
        } finally {
            FileTree.deleteQuietly(dataDir);
            registration.close();
        }
    }

    /** pg_ctl stop returns when the server is down; wait until the process is reaped too. */
    private void awaitExit() {
        ProcessHandle.of(postmasterPid).ifPresent(h -> {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                org.slf4j.LoggerFactory.getLogger(EmbeddedPostgresServer.class)
                        .warn("PostgreSQL process {} still there after stop", postmasterPid);
            }
        });
    }

    @Override
    public String toString() {
        return "embedded PostgreSQL on port " + port() + " (pid " + postmasterPid + ")";
    }
}
