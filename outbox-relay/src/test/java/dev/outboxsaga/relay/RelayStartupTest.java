package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.relay.RelayStatus.Role;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** What a relay checks and may do while it starts: the publication, the lease, the slot's holder. */
class RelayStartupTest extends RelayTestBase {

    private static final Duration PATIENCE = Duration.ofSeconds(60);

    /** Runs {@code relay} until it fails, at most {@code within}; the failure. */
    static RelayFailedException runUntilFailed(OutboxRelay relay, Duration within) throws Exception {
        CompletableFuture<Void> run = CompletableFuture.runAsync(relay);
        try {
            run.get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(RelayFailedException.class);
            return (RelayFailedException) e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("the relay still runs after " + within + ": " + relay.status(), e);
        } finally {
            relay.close();
        }
        throw new AssertionError("the relay returned without failing: " + relay.status());
    }

    private String scalar(String sql) {
        return fixture.db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(String.class).findOne().orElse(null));
    }

    /** An owner's {@code CREATE PUBLICATION} without {@code publish = 'insert'}: it publishes deletes and updates too. */
    private void createDefaultPublication(RelayConfig config) {
        fixture.db.execute("CREATE PUBLICATION " + config.publicationName()
                + " FOR TABLE public.outbox_event, public.outbox_relay_heartbeat");
    }

    @Test
    void aPublicationThatPublishesMoreThanInsertsIsRefusedNamingTheCommandThatFixesIt() throws Exception {
        RelayConfig config = fixture.config().set(RelayConfig.PUBLICATION_CREATE, false).build();
        createDefaultPublication(config);

        OutboxRelay relay = OutboxRelay.create(config);

        assertThat(runUntilFailed(relay, PATIENCE))
                .hasMessageContaining("ALTER PUBLICATION " + config.publicationName() + " SET (publish = 'insert')");
        assertThat(relay.status().role()).isEqualTo(Role.FAILED);
        assertThat(scalar("SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = '" + config.slotName() + "'"))
                .as("refused before it made a slot").isEqualTo("0");
    }

    @Test
    void aDefaultPublicationIsNarrowedToInsertsWhenTheRelayMayManageItSoHeartbeatsArePurged() {
        RelayConfig config = fixture.config().build();
        createDefaultPublication(config);
        fixture.db.execute("INSERT INTO outbox_relay_heartbeat (relay, beat_at) VALUES ('" + config.name()
                + "', now() - interval '1 hour')");

        OutboxRelay relay = fixture.start(config);

        await().atMost(PATIENCE).until(() -> relay.status().streaming());
        await("heartbeats older than a minute purged").atMost(PATIENCE).until(() -> "0".equals(scalar(
                "SELECT count(*)::text FROM outbox_relay_heartbeat WHERE beat_at < now() - interval '1 minute'")));
        assertThat(scalar("SELECT (pubinsert AND NOT pubupdate AND NOT pubdelete)::text FROM pg_publication "
                + "WHERE pubname = '" + config.publicationName() + "'")).isEqualTo("true");
    }

    @Test
    void twoProcessesWithTheSameInstanceIdDoNotBothLead() throws Exception {
        RelayConfig config = fixture.config().set(RelayConfig.INSTANCE_ID, "same-id").build();
        OutboxRelay first = fixture.start(config);
        await().atMost(PATIENCE).until(() -> first.status().streaming());

        OutboxRelay second = fixture.start(config);

        await("the second process stays a standby").during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10))
                .until(() -> second.status().role() == Role.STANDBY && first.status().role() == Role.LEADER);
        assertThat(second.status().leaseEpoch()).isZero();
        assertThat(first.status().instanceId()).as("the configured id stays readable").isEqualTo("same-id");
        assertThat(fixture.leaseHolder()).isEqualTo("same-id");

        fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
            tx.append(fixture.message("k", 1));
            return null;
        });
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= 1);
        fixture.drain(received);
        assertThat(received).as("records published").hasSize(1);
        assertThat(first.status().recordsPublished()).isEqualTo(1);
        assertThat(second.status().recordsPublished()).isZero();
    }

    /**
     * A process that took the lease and then froze during start-up (SIGSTOP here; a GC pause or a suspended VM
     * in life) wakes up after another process has taken over and streams. It must not end the new leader's
     * walsender: its lease is checked in the database in the same transaction as the termination.
     */
    @Test
    void aProcessThatLostTheLeaseDuringStartUpLeavesTheNewLeadersWalsenderAlone() throws Exception {
        // A first run publishes a row, so that later starts resume from a position (and evict a stale slot holder).
        RelayConfig config = fixture.config().build();
        OutboxRelay first = fixture.start(config);
        fixture.outbox.inTransaction(fixture.db.dataSource(), tx -> {
            tx.append(fixture.message("k", 1));
            return null;
        });
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(PATIENCE).until(() -> fixture.readAll(received).size() >= 1);
        first.close();
        await().atMost(PATIENCE).until(() -> first.status().role() == Role.STOPPED && "false".equals(scalar(
                "SELECT active::text FROM pg_replication_slots WHERE slot_name = '" + config.slotName() + "'")));

        fixture.db.execute("ALTER PUBLICATION " + config.publicationName() + " DROP TABLE public.outbox_relay_heartbeat");

        staleProcessWakesUpAfterATakeover(config);
    }

    /** As above, during a first start: the stale process would take the new leader's slot for a half-made one. */
    @Test
    void aProcessThatLostTheLeaseDuringAFirstStartDoesNotDropTheNewLeadersSlot() throws Exception {
        RelayConfig config = fixture.config().build();
        // What an interrupted first start leaves: a publication and a slot, nothing in Kafka.
        fixture.db.execute("CREATE PUBLICATION " + config.publicationName()
                + " FOR TABLE public.outbox_event WITH (publish = 'insert')");
        fixture.db.execute("SELECT pg_create_logical_replication_slot('" + config.slotName() + "', 'pgoutput')");
        fixture.db.execute("INSERT INTO outbox_relay_slot (relay, slot_name) VALUES ('" + config.name() + "', '"
                + config.slotName() + "')");

        staleProcessWakesUpAfterATakeover(config);
    }

    /**
     * Starts a relay process that blocks in start-up (adding the heartbeat table, missing from the publication,
     * waits for a lock held here), freezes it, lets another relay take the lease and stream, then wakes it up:
     * the new leader's walsender must stay as it is.
     */
    private void staleProcessWakesUpAfterATakeover(RelayConfig config) throws Exception {
        RelayProcess stale;
        try (Connection locker = fixture.db.dataSource().getConnection(); Statement lock = locker.createStatement()) {
            locker.setAutoCommit(false);
            lock.execute("LOCK TABLE public.outbox_relay_heartbeat IN ACCESS EXCLUSIVE MODE");
            stale = fixture.startProcess("stale");
            await("the stale process blocked in start-up").atMost(PATIENCE).until(() -> "1".equals(scalar(
                    "SELECT count(*)::text FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            + "AND query LIKE 'ALTER PUBLICATION%'")));
            stale.pause();
            locker.rollback();
        }

        OutboxRelay leader = fixture.start(fixture.config().build());
        await().atMost(PATIENCE).until(() -> leader.status().streaming() && scalar(
                "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = '" + config.slotName() + "'") != null);
        String walsender = scalar("SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = '"
                + config.slotName() + "'");

        stale.resume();

        await("the stale process past its blocked statement").atMost(PATIENCE)
                .until(() -> stale.log().contains("to publication " + config.publicationName()));
        await("the new leader's walsender untouched").during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10))
                .until(() -> walsender.equals(scalar("SELECT active_pid::text FROM pg_replication_slots "
                        + "WHERE slot_name = '" + config.slotName() + "'")));
        assertThat(leader.status().role()).isEqualTo(Role.LEADER);
        assertThat(stale.isAlive()).as("the stale process waits as a standby; see %s", stale.logFile()).isTrue();
        assertThat(stale.log()).as("see %s", stale.logFile()).contains("does not hold the lease any more");
    }
}
