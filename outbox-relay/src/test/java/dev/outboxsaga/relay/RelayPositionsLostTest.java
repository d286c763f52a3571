package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A relay whose slot has been used but whose positions are gone (here: {@code positions.topic}
 * changed) must not take it for an unfinished first start, drop the slot and publish the whole
 * outbox again. It stops for an operator, and {@code reseed} lets it go on from the slot.
 */
class RelayPositionsLostTest extends RelayTestBase {

    @Test
    void lostPositionsStopTheRelayAndReseedGoesOnFromTheSlotWithoutLossOrAFullRepublish(@TempDir Path dir)
            throws Exception {
        List<UUID> before = fixture.writeConcurrently("before", 1, 10, 5);
        OutboxRelay first = fixture.start(fixture.config().build());
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= before.size());
        first.close();
        await().atMost(Duration.ofSeconds(30)).until(() -> first.status().role() == RelayStatus.Role.STOPPED);
        String confirmedBefore = confirmedFlushLsn();

        RelayConfig repointed = fixture.config().set(RelayConfig.POSITIONS_TOPIC, "positions-elsewhere-"
                + UUID.randomUUID().toString().substring(0, 8)).build();
        OutboxRelay lost = OutboxRelay.create(repointed);
        assertThatThrownBy(lost::run).isInstanceOf(RelayFailedException.class)
                .hasMessageContaining("holds no position").hasMessageContaining("reseed");
        assertThat(lost.status().role()).isEqualTo(RelayStatus.Role.FAILED);
        assertThat(confirmedFlushLsn()).as("the slot is kept, where it was").isEqualTo(confirmedBefore);

        // The same, as the operator sees it: exit 3 from run, then reseed from the command line.
        Path configFile = write(dir, repointed);
        assertThat(cli("run", configFile)).isEqualTo(RelayMain.RELAY_FAILED);
        assertThat(cli("reseed", configFile)).isEqualTo(RelayMain.OK);
        assertThat(cli("reseed", configFile)).as("a second reseed finds the position").isEqualTo(RelayMain.FAILURE);

        List<UUID> after = fixture.writeConcurrently("after", 1, 4, 5);
        fixture.start(repointed);
        await().atMost(Duration.ofSeconds(60)).until(() -> ids(fixture.readAll(received)).containsAll(after));
        fixture.readAll(received, Duration.ofSeconds(3));

        List<UUID> ids = ids(received);
        assertThat(ids).filteredOn(after::contains).as("rows written after the reseed, once each").hasSize(after.size());
        long republished = ids.stream().filter(before::contains).count() - before.size();
        // The slot was confirmed up to the last transaction's start: at most its 5 rows come again.
        assertThat(republished).as("rows published again after the reseed").isLessThanOrEqualTo(5);
    }

    private static List<UUID> ids(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(RelayFixture::id).toList();
    }

    private String confirmedFlushLsn() throws Exception {
        try (Connection connection = fixture.db.dataSource().getConnection();
             PreparedStatement query = connection.prepareStatement(
                     "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
            query.setString(1, fixture.config().build().slotName());
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? rows.getString(1) : null;
            }
        }
    }

    private Path write(Path dir, RelayConfig config) throws Exception {
        Map<String, String> settings = new HashMap<>(fixture.processConfig("cli"));
        settings.put(RelayConfig.POSITIONS_TOPIC, config.positionsTopic());
        Properties properties = new Properties();
        properties.putAll(settings);
        Path file = dir.resolve("relay.properties");
        try (var out = Files.newBufferedWriter(file)) {
            properties.store(out, null);
        }
        return file;
    }

    private static int cli(String command, Path configFile) {
        CommandLine commandLine = new CommandLine(new RelayMain(Map.of()));
        commandLine.setOut(new PrintWriter(new StringWriter()));
        commandLine.setErr(new PrintWriter(new StringWriter()));
        return commandLine.execute(command, "--config", configFile.toString());
    }
}
