package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.console.ServiceRows;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The console's and the CLI's data layer against a real PostgreSQL with the project's migrations: saga pages and
 * filters, the saga page, queued actions and their refusals, dead letters (list, replay, discard, bulk with
 * preview) and the relay tables. Rows are written by hand as the services would; each test uses its own saga type
 * or consumer, so they share one database.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServiceDatabaseTest {

    private static final Instant T0 = Instant.parse("2024-05-01T10:00:00.123456Z");

    private TestDatabase db;
    private ServiceRows rows;
    private ServiceDatabase service;
    private String suffix;

    @BeforeAll
    void migrate(TestDatabase db) {
        this.db = db;
        rows = new ServiceRows(db);
        OutboxSchema.migrate(db.dataSource());
        service = ServiceDatabase.over("orders", db.dataSource());
    }

    @AfterAll
    void close() {
        service.close();
    }

    @BeforeEach
    void name() {
        suffix = UUID.randomUUID().toString().substring(0, 8);
    }

    // ---------------------------------------------------------------------------------------------
    // Sagas

    @Test
    void pagesThroughSagasNewestFirstWithoutGapsOrRepeats() {
        String type = "paging-" + suffix;
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            // Two sagas share each creation time, so the id decides their order within it.
            ids.add(rows.saga(type, 1, "COMPLETED", T0.plusSeconds(i / 2), null));
        }
        SagaFilter filter = SagaFilter.none().withType(type);
        List<SagaRow> seen = new ArrayList<>();
        SagaCursor cursor = null;
        int pages = 0;
        do {
            SagaPage page = service.sagas(filter, cursor, 10);
            seen.addAll(page.rows());
            cursor = page.next();
            pages++;
        } while (cursor != null);

        assertThat(pages).isEqualTo(3);
        assertThat(seen).extracting(SagaRow::id).containsExactlyInAnyOrderElementsOf(ids).doesNotHaveDuplicates();
        for (int i = 1; i < seen.size(); i++) {
            SagaRow previous = seen.get(i - 1);
            SagaRow row = seen.get(i);
            assertThat(row.createdAt().isBefore(previous.createdAt())
                    // PostgreSQL orders uuids as unsigned bytes, as their text sorts (Java's compareTo is signed).
                    || row.createdAt().equals(previous.createdAt())
                            && row.id().toString().compareTo(previous.id().toString()) < 0)
                    .as("row %d after row %d", i, i - 1).isTrue();
        }
        assertThat(seen.get(0).createdAt()).isEqualTo(T0.plusSeconds(12));
        assertThat(SagaCursor.parse(seen.get(9).cursor().encode())).isEqualTo(seen.get(9).cursor());
    }

    @Test
    void filtersByStateTypeVersionAgeStuckAndIdOrKey() {
        String type = "filters-" + suffix;
        Instant now = Instant.now();
        UUID oldParked = rows.saga(type, 1, "PARKED", now.minus(Duration.ofHours(2)), "key-a-" + suffix);
        UUID running = rows.saga(type, 2, "RUNNING", now.minus(Duration.ofMinutes(1)), "key-b-" + suffix);
        UUID completed = rows.saga(type, 2, "COMPLETED", now.minus(Duration.ofHours(3)), null);
        UUID otherType = rows.saga("other-" + suffix, 1, "PARKED", now, "key-a-" + suffix);

        assertThat(ids(SagaFilter.none().withType(type))).containsExactly(running, oldParked, completed);
        assertThat(ids(SagaFilter.none().withType(type).withVersion(2))).containsExactly(running, completed);
        assertThat(ids(SagaFilter.none().withType(type).withState("parked"))).containsExactly(oldParked);
        assertThat(ids(SagaFilter.none().withType(type).withOlderThan(Duration.ofMinutes(90))))
                .containsExactly(oldParked, completed);
        // Stuck: not ended and unchanged for an hour; the completed one ended, the running one moved a minute ago.
        assertThat(ids(SagaFilter.none().withType(type).withStuckFor(Duration.ofHours(1)))).containsExactly(oldParked);
        assertThat(ids(SagaFilter.none().withIdOrKey(running.toString()))).containsExactly(running);
        assertThat(ids(SagaFilter.none().withIdOrKey("key-a-" + suffix))).containsExactly(otherType, oldParked);
        assertThat(ids(SagaFilter.none().withIdOrKey("key-a-" + suffix).withType(type))).containsExactly(oldParked);
        assertThat(service.sagaTypes()).contains(new SagaType(type, 1), new SagaType(type, 2));
        assertThatThrownBy(() -> SagaFilter.none().withState("DONE")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("state must be one of");
        assertThatThrownBy(() -> service.sagas(SagaFilter.none(), null, 1001))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
    }

    @Test
    void aSagaPageShowsTheBranchesOfTheParallelGroupInHand() {
        String type = "parallel-" + suffix;
        UUID id = rows.saga(type, 1, "RUNNING", T0, null);
        UUID awaited = UUID.randomUUID();
        rows.event(id, 0, "limitCheck", "STARTED", null);
        rows.event(id, 0, "limitCheck", "COMMAND_SENT", "HoldLimit");
        rows.event(id, 1, "payeeCheck", "COMMAND_SENT", "ScreenPayee");
        rows.event(id, 1, "payeeCheck", "SUCCEEDED", null);
        rows.event(id, 0, "checks", "CANCELLED", "by an operator");
        rows.branches(id, "[{\"step\": 0, \"status\": \"PENDING\", \"attempt\": 2, \"command\": \"" + awaited
                + "\", \"due\": \"2026-01-01T00:00:30Z\"}, {\"step\": 1, \"status\": \"SUCCEEDED\", \"attempt\": 1}]");

        SagaDetail detail = service.saga(id).orElseThrow();

        assertThat(detail.branches()).containsExactly(
                new SagaBranch(0, "limitCheck", "PENDING", 2, awaited, Instant.parse("2026-01-01T00:00:30Z")),
                new SagaBranch(1, "payeeCheck", "SUCCEEDED", 1, null, null));
        String page = SagaPages.detail("orders", detail, new Sessions.Session("s", "alice",
                dev.outboxsaga.console.ConsoleConfig.Role.VIEWER, "t", T0));
        assertThat(page).contains("Parallel group in hand", "0 limitCheck", "PENDING", awaited.toString(),
                "1 payeeCheck", "SUCCEEDED");
        assertThat(service.saga(rows.saga(type, 1, "RUNNING", T0, null)).orElseThrow().branches())
                .as("no group in hand").isEmpty();
    }

    @Test
    void aSagaPageHasItsDataTimelineAndActions() {
        String type = "detail-" + suffix;
        UUID id = rows.saga(type, 1, "PARKED", T0, null);
        rows.event(id, 0, "debit", "STARTED", null);
        rows.event(id, 0, "debit", "COMMAND_SENT", "command 1");
        rows.event(id, 1, "credit", "COMPENSATION_FAILED", "B frozen");
        rows.event(id, 1, "credit", "PARKED", "compensation failed after 2 attempt(s)");
        OperatorAction retry = service.queueSagaAction(id, SagaAction.RETRY_COMPENSATION, "console:alice", "fixed B");

        SagaDetail detail = service.saga(id).orElseThrow();
        assertThat(detail.saga().state()).isEqualTo("PARKED");
        assertThat(detail.stepName()).isEqualTo("credit");
        assertThat(detail.data()).isEqualTo("{\"amount\": 100}");
        assertThat(detail.history()).extracting(SagaHistoryEntry::event)
                .containsExactly("STARTED", "COMMAND_SENT", "COMPENSATION_FAILED", "PARKED");
        assertThat(detail.actions()).singleElement().satisfies(action -> {
            assertThat(action.id()).isEqualTo(retry.id());
            assertThat(action.actor()).isEqualTo("console:alice");
            assertThat(action.action()).isEqualTo("RETRY_COMPENSATION");
            assertThat(action.targetKind()).isEqualTo("SAGA");
            assertThat(action.targetId()).isEqualTo(id.toString());
            assertThat(action.scope()).isEqualTo(type);
            assertThat(action.note()).isEqualTo("fixed B");
            assertThat(action.status()).isEqualTo("PENDING");
        });
        assertThat(detail.actionPending()).isTrue();
        assertThat(detail.saga().allowedActions()).containsExactly(SagaAction.RETRY_COMPENSATION, SagaAction.MARK_COMPENSATED);
        assertThat(service.saga(UUID.randomUUID())).isEmpty();
    }

    @Test
    void queuesOnlyTheActionsASagaStateAllowsOneAtATime() {
        String type = "actions-" + suffix;
        UUID parked = rows.saga(type, 1, "PARKED", T0, null);
        UUID running = rows.saga(type, 1, "RUNNING", T0, null);
        UUID completed = rows.saga(type, 1, "COMPLETED", T0, null);

        assertThatThrownBy(() -> service.queueSagaAction(parked, SagaAction.MARK_COMPENSATED, "console:alice", " "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MARK_COMPENSATED needs a note");
        assertThatThrownBy(() -> service.queueSagaAction(running, SagaAction.CANCEL, "console:alice", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(the reason)");
        OperatorAction mark = service.queueSagaAction(parked, SagaAction.MARK_COMPENSATED, "console:alice", "by hand");
        assertThat(mark.pending()).isTrue();
        assertThatThrownBy(() -> service.queueSagaAction(parked, SagaAction.RETRY_COMPENSATION, "console:bob", null))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("waits for its orchestrator already");
        assertThat(service.queueSagaAction(running, SagaAction.CANCEL, "cli:carol", "customer withdrew").action())
                .isEqualTo("CANCEL");
        assertThatThrownBy(() -> service.queueSagaAction(completed, SagaAction.RETRY_COMPENSATION, "console:alice", null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("saga " + completed + " is COMPLETED; RETRY_COMPENSATION needs a PARKED saga");
        assertThatThrownBy(() -> service.queueSagaAction(UUID.randomUUID(), SagaAction.CANCEL, "console:alice", "x"))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("no saga");
        assertThat(service.actionsOn(OperatorAction.SAGA, completed.toString())).isEmpty();
        assertThat(service.sagaOverview(Duration.ofMinutes(15)).pendingActions())
                .containsEntry("SAGA:" + type, 2L);
    }

    @Test
    void awaitsTheOutcomeTheServiceRecords() {
        UUID parked = rows.saga("await-" + suffix, 1, "PARKED", T0, null);
        OperatorAction queued = service.queueSagaAction(parked, SagaAction.RETRY_COMPENSATION, "console:alice", null);

        assertThat(service.awaitOutcome(queued.id(), Duration.ofMillis(300)).status()).isEqualTo("PENDING");
        CompletableFuture<Void> orchestrator = CompletableFuture.runAsync(() -> db.execute(
                "SELECT pg_sleep(0.3); UPDATE operator_action SET status = 'DONE', outcome = 'compensation sent again', "
                        + "done_at = now() WHERE id = " + queued.id()));
        OperatorAction done = service.awaitOutcome(queued.id(), Duration.ofSeconds(10));
        orchestrator.join();
        assertThat(done.status()).isEqualTo("DONE");
        assertThat(done.outcome()).isEqualTo("compensation sent again");
        assertThat(done.doneAt()).isNotNull();
    }

    @Test
    void theOverviewCountsSagasByStateAndTheStuckOnes() {
        Instant now = Instant.now();
        SagaOverview before = service.sagaOverview(Duration.ofMinutes(15));
        String type = "overview-" + suffix;
        rows.saga(type, 1, "RUNNING", now.minus(Duration.ofHours(1)), null);
        rows.saga(type, 1, "PARKED", now.minus(Duration.ofHours(1)), null);
        rows.saga(type, 1, "RUNNING", now, null);
        rows.saga(type, 1, "COMPLETED", now.minus(Duration.ofHours(1)), null);

        SagaOverview after = service.sagaOverview(Duration.ofMinutes(15));
        assertThat(after.countByState().get("RUNNING")).isEqualTo(before.countByState().getOrDefault("RUNNING", 0L) + 2);
        assertThat(after.parked()).isEqualTo(before.parked() + 1);
        assertThat(after.stuck()).isEqualTo(before.stuck() + 2);
        assertThat(after.total()).isEqualTo(before.total() + 4);
    }

    // ---------------------------------------------------------------------------------------------
    // Dead letters

    @Test
    void listsAndFiltersDeadLettersNewestFirst() {
        String consumer = "dl-list-" + suffix;
        long a = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "account frozen", T0, true);
        long b = rows.deadLetter(consumer, "payments", "java.sql.SQLException", "deadlock detected", T0.plusSeconds(60),
                true);
        long c = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "Account FROZEN again",
                T0.plusSeconds(120), true);
        rows.deadLetter("other-" + suffix, "orders", "X", "account frozen", T0, true);
        DeadLetterFilter mine = DeadLetterFilter.none().withConsumer(consumer);

        DeadLetterPage first = service.deadLetters(mine, null, 2);
        assertThat(first.rows()).extracting(DeadLetterRow::id).containsExactly(c, b);
        assertThat(service.deadLetters(mine, first.nextBefore(), 2).rows()).extracting(DeadLetterRow::id).containsExactly(a);
        assertThat(service.deadLetters(mine, first.nextBefore(), 2).nextBefore()).isNull();
        assertThat(ids(mine.withTopic("orders"))).containsExactly(c, a);
        assertThat(ids(mine.withErrorText("frozen"))).containsExactly(c, a);
        assertThat(ids(mine.withErrorText("sqlexception"))).containsExactly(b);
        assertThat(ids(mine.withParkedBetween(T0.plusSeconds(30), T0.plusSeconds(120)))).containsExactly(b);
        assertThat(ids(mine.withStatus("replayed"))).isEmpty();
        assertThat(service.countDeadLetters(mine.withTopic("orders"))).isEqualTo(2);
        assertThat(service.deadLetterCounts().get(consumer)).containsEntry("PARKED", 3L);
    }

    @Test
    void aDeadLetterPageHasItsRecordFailureAndActions() {
        String consumer = "dl-detail-" + suffix;
        long id = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "account frozen", T0, true);
        service.discard(id, "console:alice", "fixed by hand, ticket 7");

        DeadLetterDetail detail = service.deadLetter(id).orElseThrow();
        assertThat(detail.keyText()).isEqualTo("acc-1");
        assertThat(detail.valueText()).isEqualTo("{\"amount\":5}");
        assertThat(detail.headers()).containsExactly(new DeadLetterDetail.Header("id", "m-1"),
                new DeadLetterDetail.Header("empty", null));
        assertThat(detail.errorStack()).startsWith("java.lang.IllegalStateException: account frozen");
        assertThat(detail.row().status()).isEqualTo("DISCARDED");
        assertThat(detail.row().resolvedAt()).isNotNull();
        assertThat(detail.resolutionNote()).isEqualTo("fixed by hand, ticket 7");
        assertThat(detail.actions()).singleElement().satisfies(action -> {
            assertThat(action.action()).isEqualTo("DISCARD");
            assertThat(action.status()).isEqualTo("DONE");
            assertThat(action.outcome()).isEqualTo("discarded");
            assertThat(action.scope()).isEqualTo(consumer);
            assertThat(action.note()).isEqualTo("fixed by hand, ticket 7");
        });
        assertThat(service.deadLetter(-1)).isEmpty();
    }

    @Test
    void replayIsQueuedForParkedLettersWithAMessageIdAndDiscardNeedsANote() {
        String consumer = "dl-act-" + suffix;
        long parked = rows.deadLetter(consumer, "orders", "X", "boom", T0, true);
        long noId = rows.deadLetter(consumer, "orders", "X", "unreadable", T0, false);

        OperatorAction replay = service.queueReplay(parked, "console:alice", null);
        assertThat(replay.pending()).isTrue();
        assertThat(replay.scope()).isEqualTo(consumer);
        assertThat(replay.targetId()).isEqualTo(Long.toString(parked));
        assertThatThrownBy(() -> service.queueReplay(parked, "console:alice", null))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("waits for consumer " + consumer);
        assertThatThrownBy(() -> service.queueReplay(noId, "console:alice", null))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("has no message id");
        assertThatThrownBy(() -> service.discard(noId, "console:alice", ""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("DISCARD needs a note");
        service.discard(noId, "console:alice", "unreadable, republished by hand");
        assertThatThrownBy(() -> service.discard(noId, "console:alice", "again"))
                .isInstanceOf(IllegalStateException.class).hasMessage("dead letter " + noId + " is DISCARDED, not PARKED");
        assertThatThrownBy(() -> service.queueReplay(Long.MAX_VALUE, "console:alice", null))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("no dead letter");
        assertThat(service.actionsOn(OperatorAction.DEAD_LETTER, Long.toString(noId))).extracting(OperatorAction::action)
                .containsExactly("DISCARD");
    }

    @Test
    void bulkActionsTakeWhatThePreviewCountedAndNothingParkedAfterIt() {
        String consumer = "dl-bulk-" + suffix;
        DeadLetterFilter frozen = DeadLetterFilter.parked().withConsumer(consumer).withErrorText("frozen");
        long a = rows.deadLetter(consumer, "orders", "X", "frozen 1", T0, true);
        long b = rows.deadLetter(consumer, "orders", "X", "frozen 2", T0, true);
        long noId = rows.deadLetter(consumer, "orders", "X", "frozen, no id", T0, false);
        rows.deadLetter(consumer, "orders", "X", "other failure", T0, true);

        BulkPreview replayPreview = service.previewBulk(frozen, DeadLetterAction.REPLAY);
        assertThat(replayPreview.count()).isEqualTo(2);
        assertThat(service.previewBulk(frozen, DeadLetterAction.DISCARD).count()).isEqualTo(3);
        long late = rows.deadLetter(consumer, "orders", "X", "frozen later", T0, true);

        assertThat(service.replayAll(frozen, replayPreview.maxId(), "console:alice", "fixed")).isEqualTo(2);
        assertThat(service.actionsOn(OperatorAction.DEAD_LETTER, Long.toString(a))).singleElement()
                .satisfies(action -> assertThat(action.note()).isEqualTo("fixed"));
        assertThat(service.actionsOn(OperatorAction.DEAD_LETTER, Long.toString(b))).hasSize(1);
        assertThat(service.actionsOn(OperatorAction.DEAD_LETTER, Long.toString(late))).isEmpty();
        // Queued again: the pending replays are not queued twice.
        assertThat(service.replayAll(frozen, late, "console:alice", null)).isEqualTo(1);

        BulkPreview discardPreview = service.previewBulk(frozen, DeadLetterAction.DISCARD);
        assertThat(discardPreview.count()).isEqualTo(4);
        assertThatThrownBy(() -> service.discardAll(frozen, discardPreview.maxId(), "console:alice", null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(service.discardAll(frozen, noId, "console:alice", "stale")).isEqualTo(3);
        assertThat(service.deadLetter(noId).orElseThrow().row().status()).isEqualTo("DISCARDED");
        assertThat(service.deadLetter(late).orElseThrow().row().status()).isEqualTo("PARKED");
        assertThat(service.countDeadLetters(DeadLetterFilter.none().withConsumer(consumer).withStatus("DISCARDED")))
                .isEqualTo(3);
    }

    // ---------------------------------------------------------------------------------------------
    // Relays

    @Test
    void relayTablesShowLeasesSlotsAndParkedRows() {
        String relay = "relay-" + suffix;
        String slot = "console_test_" + suffix;
        db.execute("INSERT INTO outbox_relay_lease (relay, holder, epoch, expires_at) VALUES ('" + relay
                + "', 'host-1#abc', 3, now() + interval '5 seconds')");
        db.execute("INSERT INTO outbox_relay_slot (relay, slot_name) VALUES ('" + relay + "', '" + slot + "'), ('"
                + relay + "-gone', 'gone_" + suffix + "')");
        db.execute("INSERT INTO outbox_relay_dead_letter (id, relay, source_table, aggregatetype, reason) VALUES ('"
                + UUID.randomUUID() + "', '" + relay + "', 'public.outbox_event', 'order', 'too_large: 2 MB')");
        db.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            RelayTables tables = service.relayTables(50);
            assertThat(tables.leases()).filteredOn(l -> l.relay().equals(relay)).singleElement().satisfies(lease -> {
                assertThat(lease.instanceId()).isEqualTo("host-1");
                assertThat(lease.epoch()).isEqualTo(3);
                assertThat(lease.expired()).isFalse();
            });
            assertThat(tables.slots()).filteredOn(s -> s.slotName().equals(slot)).singleElement().satisfies(s -> {
                assertThat(s.relay()).isEqualTo(relay);
                assertThat(s.exists()).isTrue();
                assertThat(s.active()).isFalse();
                assertThat(s.walStatus()).isEqualTo("reserved");
                assertThat(s.retainedBytes()).isNotNull().isNotNegative();
                assertThat(s.lost()).isFalse();
            });
            assertThat(tables.slots()).filteredOn(s -> s.slotName().equals("gone_" + suffix)).singleElement()
                    .satisfies(s -> assertThat(s.lost()).isTrue());
            assertThat(tables.parkedByRelay()).containsEntry(relay, 1L);
            assertThat(tables.recentParked()).filteredOn(r -> r.relay().equals(relay)).singleElement()
                    .satisfies(r -> assertThat(r.reason()).isEqualTo("too_large: 2 MB"));
        } finally {
            db.execute("SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    // ---------------------------------------------------------------------------------------------

    private List<UUID> ids(SagaFilter filter) {
        return service.sagas(filter, null, 100).rows().stream().map(SagaRow::id).toList();
    }

    private List<Long> ids(DeadLetterFilter filter) {
        return service.deadLetters(filter, null, 100).rows().stream().map(DeadLetterRow::id).toList();
    }
}
