package dev.outboxsaga.testkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessRegistryTest {

    @TempDir
    Path tmp;

    @Test
    void aRecordOfADeadOwnerGetsItsProcessKilledAndItsDirectoryDeleted() throws Exception {
        Process deadOwner = new ProcessBuilder("true").start();
        deadOwner.waitFor();
        Process postmaster = new ProcessBuilder("sleep", "600").start();
        try {
            Path dataDir = Files.createDirectories(tmp.resolve("data/base"));
            Files.writeString(dataDir.resolve("file"), "x");
            Path records = tmp.resolve("records");
            ProcessRegistry registry = new ProcessRegistry(records, Duration.ofSeconds(5));
            Properties p = new Properties();
            p.setProperty("owner.pid", String.valueOf(deadOwner.pid()));
            p.setProperty("owner.start", "");
            p.setProperty("process.pid", String.valueOf(postmaster.pid()));
            p.setProperty("process.start", String.valueOf(
                    postmaster.toHandle().info().startInstant().orElseThrow().toEpochMilli()));
            p.setProperty("dir", tmp.resolve("data").toString());
            try (var out = Files.newOutputStream(records.resolve("1-dead.record"))) {
                p.store(out, null);
            }

            List<Path> reaped = registry.reapStale();

            assertThat(reaped).containsExactly(tmp.resolve("data"));
            assertThat(postmaster.isAlive()).isFalse();
            assertThat(tmp.resolve("data")).doesNotExist();
            assertThat(records).isEmptyDirectory();
        } finally {
            postmaster.destroyForcibly();
        }
    }

    @Test
    void aRecordOfALiveOwnerIsLeftAlone() throws Exception {
        Process server = new ProcessBuilder("sleep", "600").start();
        try {
            Path dir = Files.createDirectories(tmp.resolve("live"));
            ProcessRegistry registry = new ProcessRegistry(tmp.resolve("records"), Duration.ofSeconds(5));
            try (ProcessRegistry.Registration ignored = registry.register(server.toHandle(), dir)) {
                assertThat(registry.reapStale()).isEmpty();
                assertThat(server.isAlive()).isTrue();
                assertThat(dir).exists();
            }
            assertThat(tmp.resolve("records")).isEmptyDirectory();
        } finally {
            server.destroyForcibly();
        }
    }
}
