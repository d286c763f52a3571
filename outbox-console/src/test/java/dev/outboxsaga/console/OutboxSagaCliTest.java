package dev.outboxsaga.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code outbox-saga} command against a real PostgreSQL with the project's migrations, run in process as the
 * jar runs it: its output (text and JSON), its exit code, and what it wrote to the service's database (the audit
 * trail). Rows are written by hand as the services would; the services carrying out queued actions are tested in
 * outbox-core and saga-core, and end to end in the console's browser test.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutboxSagaCliTest {

    private static final Instant T0 = Instant.parse("2026-11-01T10:00:00Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    private ServiceRows rows;
    private Path config;
    private String suffix;

    record Run(int code, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + out, e);
            }
        }
    }

    @BeforeAll
    void migrate(TestDatabase db, @TempDir Path folder) throws Exception {
        OutboxSchema.migrate(db.dataSource());
        rows = new ServiceRows(db);
        config = folder.resolve("console.properties");
        Files.writeString(config, String.join("\n",
                "service.orders.jdbc-url=" + db.jdbcUrl(),
                "service.orders.username=" + db.username(),
                "service.orders.password=" + db.password(),
                // Nothing listens there: the port of a server socket this test opened and closed.
                "service.down.jdbc-url=jdbc:postgresql://127.0.0.1:" + closedPort() + "/nothing?connectTimeout=2",
                "service.down.username=nobody",
                // The same database, with a relay process that does not answer.
                "service.watched.jdbc-url=" + db.jdbcUrl(),
                "service.watched.username=" + db.username(),
                "service.watched.password=" + db.password(),
                "service.watched.relays=http://127.0.0.1:" + closedPort() + "/health",
                ""));
    }

    @BeforeEach
    void name() {
        suffix = UUID.randomUUID().toString().substring(0, 8);
    }

    private Run run(String... args) {
        List<String> all = new ArrayList<>(List.of("--config", config.toString(), "--as", "alice"));
        all.addAll(List.of(args));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = OutboxSagaCli.execute(Map.of(), new PrintWriter(out), new PrintWriter(err), all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    // ---------------------------------------------------------------------------------------------
    // sagas

    @Test
    void sagasListFiltersAndPagesWithTheCursorItPrints() {
        String type = "transfer-" + suffix;
        UUID oldest = rows.saga(type, 1, "PARKED", T0, "order-1");
        UUID middle = rows.saga(type, 1, "PARKED", T0.plusSeconds(1), null);
        UUID newest = rows.saga(type, 1, "PARKED", T0.plusSeconds(2), null);
        rows.saga(type, 1, "COMPLETED", T0.plusSeconds(3), null);
        rows.saga("other-" + suffix, 1, "PARKED", T0.plusSeconds(4), null);

        Run first = run("sagas", "list", "--service", "orders", "--type", type, "--state", "parked", "--limit", "2");
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.out()).contains(newest.toString(), middle.toString()).doesNotContain(oldest.toString());
        String cursor = first.out().lines().filter(line -> line.startsWith("more: --after ")).findFirst()
                .orElseThrow().substring("more: --after ".length());

        Run second = run("sagas", "list", "-s", "orders", "--type", type, "--state", "PARKED", "--limit", "2",
                "--after", cursor, "--json");
        assertThat(second.code()).as(second.err()).isZero();
        JsonNode json = second.json();
        assertThat(json.get("sagas")).hasSize(1);
        assertThat(json.get("sagas").get(0).get("id").asText()).isEqualTo(oldest.toString());
        assertThat(json.get("sagas").get(0).get("key").asText()).isEqualTo("order-1");
        assertThat(json.get("next").isNull()).isTrue();

        Run byKey = run("sagas", "list", "-s", "orders", "--search", "order-1", "--json");
        assertThat(byKey.json().get("sagas")).extracting(node -> node.get("id").asText()).containsExactly(oldest.toString());
    }

    @Test
    void sagasShowPrintsTheTimelineAndTheAuditTrail() {
        UUID id = rows.saga("show-" + suffix, 2, "PARKED", T0, null);
        rows.event(id, 0, "debit", "COMMAND_SENT", "debit 100");
        rows.event(id, 1, "credit", "COMPENSATION_FAILED", "account closed");
        assertThat(run("sagas", "retry-compensation", id.toString(), "-s", "orders", "--wait", "0s").code()).isEqualTo(3);

        Run shown = run("sagas", "show", id.toString(), "--service", "orders");
        assertThat(shown.code()).as(shown.err()).isZero();
        assertThat(shown.out()).contains("PARKED", "show-" + suffix + " v2", "COMMAND_SENT", "debit 100",
                "COMPENSATION_FAILED", "account closed", "cli:alice", "RETRY_COMPENSATION", "PENDING");

        JsonNode json = run("sagas", "show", id.toString(), "-s", "orders", "--json").json();
        assertThat(json.get("history")).hasSize(2);
        assertThat(json.get("actions").get(0).get("actor").asText()).isEqualTo("cli:alice");
    }

    @Test
    void sagasShowPrintsTheBranchesOfAParallelGroupInHand() {
        UUID id = rows.saga("parallel-" + suffix, 1, "RUNNING", T0, null);
        rows.event(id, 1, "fraudCheck", "COMMAND_SENT", "CheckFraud");
        rows.event(id, 2, "limitCheck", "COMMAND_SENT", "HoldLimit");
        rows.branches(id, "[{\"step\": 1, \"status\": \"SUCCEEDED\", \"attempt\": 1}, "
                + "{\"step\": 2, \"status\": \"RETRY_DUE\", \"attempt\": 2, \"due\": \"2026-01-01T00:00:30Z\"}]");

        Run shown = run("sagas", "show", id.toString(), "-s", "orders");

        assertThat(shown.code()).as(shown.err()).isZero();
        assertThat(shown.out()).contains("Parallel group in hand", "fraudCheck", "SUCCEEDED", "limitCheck", "RETRY_DUE",
                "2026-01-01T00:00:30Z");
        assertThat(run("sagas", "show", id.toString(), "-s", "orders", "--json").json().get("branches")).hasSize(2);
    }

    @Test
    void sagasShowOfAnUnknownOrMalformedIdSaysSo() {
        UUID unknown = UUID.randomUUID();
        Run missing = run("sagas", "show", unknown.toString(), "-s", "orders");
        assertThat(missing.code()).isEqualTo(OutboxSagaCli.NOT_FOUND);
        assertThat(missing.err()).contains("no saga " + unknown);

        Run malformed = run("sagas", "show", "not-an-id", "-s", "orders");
        assertThat(malformed.code()).isEqualTo(OutboxSagaCli.USAGE);
        assertThat(malformed.err()).contains("'not-an-id' is not a saga id");
    }

    @Test
    void aRepairIsQueuedForTheOrchestratorAndRecordedWithItsOperatorAndNote() {
        String type = "repair-" + suffix;
        UUID parked = rows.saga(type, 1, "PARKED", T0, null);

        Run marked = run("sagas", "mark-compensated", parked.toString(), "-s", "orders", "--note", "refunded by hand",
                "--wait", "0s");
        assertThat(marked.code()).as(marked.err()).isEqualTo(OutboxSagaCli.PENDING);
        assertThat(marked.out()).contains("MARK_COMPENSATED", "queued", "orchestrator of " + type);
        assertThat(rows.scalar("SELECT actor || '|' || action || '|' || scope || '|' || note || '|' || status "
                + "FROM operator_action WHERE target_id = ?", parked.toString()))
                .isEqualTo("cli:alice|MARK_COMPENSATED|" + type + "|refunded by hand|PENDING");
    }

    @Test
    void aQueuedActionReportsTheOutcomeTheServiceRecordsWithinTheWait() {
        UUID running = rows.saga("cancel-" + suffix, 1, "RUNNING", T0, null);
        // Stands in for the orchestrator: records the outcome of the action once it is queued.
        CompletableFuture<Void> service = CompletableFuture.runAsync(() -> {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < deadline) {
                Object updated = rows.scalar("UPDATE operator_action SET status = 'DONE', outcome = 'cancelled', "
                        + "done_at = now() WHERE target_id = ? AND status = 'PENDING' RETURNING id", running.toString());
                if (updated != null) {
                    return;
                }
                Thread.onSpinWait();
            }
        });
        Run cancelled = run("sagas", "cancel", running.toString(), "-s", "orders", "--reason", "customer asked",
                "--wait", "10s", "--json");
        service.join();
        assertThat(cancelled.code()).as(cancelled.err()).isZero();
        assertThat(cancelled.json().get("status").asText()).isEqualTo("DONE");
        assertThat(cancelled.json().get("note").asText()).isEqualTo("customer asked");
    }

    @Test
    void anActionTheSagaStateDoesNotAllowIsRefusedAndNothingIsWritten() {
        UUID completed = rows.saga("refused-" + suffix, 1, "COMPLETED", T0, null);
        Run refused = run("sagas", "cancel", completed.toString(), "-s", "orders", "--reason", "too late");
        assertThat(refused.code()).isEqualTo(OutboxSagaCli.FAILED);
        assertThat(refused.err()).contains("COMPLETED");
        assertThat(rows.scalar("SELECT count(*) FROM operator_action WHERE target_id = ?", completed.toString()))
                .isEqualTo(0L);

        Run noNote = run("sagas", "mark-compensated", completed.toString(), "-s", "orders");
        assertThat(noNote.code()).isEqualTo(OutboxSagaCli.USAGE);
        assertThat(noNote.err()).contains("--note");
    }

    // ---------------------------------------------------------------------------------------------
    // dead-letters

    @Test
    void deadLettersListShowAndDiscardWithTheAuditEntry() {
        String consumer = "payments-" + suffix;
        long first = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "no such account", T0, true);
        long second = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "bad amount", T0, true);

        Run listed = run("dead-letters", "list", "-s", "orders", "--consumer", consumer, "--json");
        assertThat(listed.code()).as(listed.err()).isZero();
        assertThat(listed.json().get("deadLetters")).extracting(node -> node.get("id").asLong())
                .containsExactly(second, first);

        Run shown = run("dead-letters", "show", String.valueOf(first), "-s", "orders");
        assertThat(shown.out()).contains("no such account", "{\"amount\":5}", "Handler.handle(Handler.java:12)", "id: m-1");

        Run discarded = run("dead-letters", "discard", String.valueOf(first), "-s", "orders", "--note", "test data");
        assertThat(discarded.code()).as(discarded.err()).isZero();
        assertThat(rows.scalar("SELECT status || '|' || resolution_note FROM dead_letter WHERE id = ?", first))
                .isEqualTo("DISCARDED|test data");
        assertThat(rows.scalar("SELECT actor || '|' || action || '|' || status FROM operator_action "
                + "WHERE target_kind = 'DEAD_LETTER' AND target_id = ?", String.valueOf(first)))
                .isEqualTo("cli:alice|DISCARD|DONE");
        assertThat(run("dead-letters", "show", String.valueOf(first), "-s", "orders").out()).contains("test data", "DISCARD");

        Run again = run("dead-letters", "discard", String.valueOf(first), "-s", "orders", "--note", "twice");
        assertThat(again.code()).isEqualTo(OutboxSagaCli.FAILED);
        assertThat(run("dead-letters", "show", "999999999", "-s", "orders").code()).isEqualTo(OutboxSagaCli.NOT_FOUND);
    }

    @Test
    void aReplayIsQueuedForTheConsumer() {
        String consumer = "replay-" + suffix;
        long id = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "down", T0, true);
        Run replayed = run("dead-letters", "replay", String.valueOf(id), "-s", "orders", "--wait", "0s");
        assertThat(replayed.code()).as(replayed.err()).isEqualTo(OutboxSagaCli.PENDING);
        assertThat(replayed.out()).contains("consumer " + consumer);
        assertThat(rows.scalar("SELECT scope || '|' || status FROM operator_action WHERE target_kind = 'DEAD_LETTER' "
                + "AND target_id = ?", String.valueOf(id))).isEqualTo(consumer + "|PENDING");
    }

    @Test
    void bulkActionsCountFirstAndTakeOnlyTheFilteredParkedSet() {
        String consumer = "bulk-" + suffix;
        for (int i = 0; i < 3; i++) {
            rows.deadLetter(consumer, "orders", "java.sql.SQLException", "timeout " + i, T0, true);
        }
        long other = rows.deadLetter(consumer, "orders", "java.lang.NullPointerException", "bug", T0, true);

        Run neither = run("dead-letters", "discard", "--all-matching", "--consumer", consumer, "-s", "orders", "--note", "x");
        assertThat(neither.code()).isEqualTo(OutboxSagaCli.USAGE);
        assertThat(neither.err()).contains("--dry-run", "--yes");

        Run preview = run("dead-letters", "discard", "--all-matching", "--consumer", consumer, "--error", "SQLException",
                "--dry-run", "-s", "orders", "--note", "x", "--json");
        assertThat(preview.json().get("count").asLong()).isEqualTo(3);
        assertThat(rows.scalar("SELECT count(*) FROM dead_letter WHERE consumer = ? AND status = 'PARKED'", consumer))
                .isEqualTo(4L);

        Run done = run("dead-letters", "discard", "--all-matching", "--consumer", consumer, "--error", "SQLException",
                "--yes", "-s", "orders", "--note", "database was down");
        assertThat(done.code()).as(done.err()).isZero();
        assertThat(done.out()).contains("discarded 3 dead letter(s)");
        assertThat(rows.scalar("SELECT string_agg(id::text, ',') FROM dead_letter WHERE consumer = ? AND status = 'PARKED'",
                consumer)).isEqualTo(String.valueOf(other));
        assertThat(rows.scalar("SELECT count(*) FROM operator_action WHERE action = 'DISCARD' AND scope = ? "
                + "AND note = 'database was down' AND actor = 'cli:alice'", consumer)).isEqualTo(3L);
    }

    @Test
    void deadLettersShowMasksSecretHeadersInTextAndJson() throws Exception {
        long id = rows.deadLetter("secrets-" + suffix, "orders", "java.lang.IllegalStateException", "no such account", T0,
                true, secretHeaders(), "{\"amount\":5}");

        Run shown = run("dead-letters", "show", String.valueOf(id), "-s", "orders");
        assertThat(shown.code()).as(shown.err()).isZero();
        assertThat(shown.out()).doesNotContain("s3cr3t", "tok-9f2kQ", "pw-Hq77x")
                .contains("  Authorization: ****", "  X-Api-Token: ****", "  db_password: ****", "  trace-id: trace-4b1e0c");

        Run json = run("dead-letters", "show", String.valueOf(id), "-s", "orders", "--json");
        assertThat(json.out()).doesNotContain("s3cr3t", "tok-9f2kQ", "pw-Hq77x");
        JsonNode headers = json.json().get("headers");
        assertThat(headers.findValuesAsText("key")).containsExactly("Authorization", "X-Api-Token", "db_password",
                "trace-id");
        assertThat(headers.findValuesAsText("text")).containsExactly("****", "****", "****", "trace-4b1e0c");
        assertThat(headers.findValues("redacted")).extracting(JsonNode::asBoolean).containsExactly(true, true, true, false);

        // A configured list replaces the default one.
        Path custom = config.resolveSibling("redact-trace.properties");
        Files.writeString(custom, Files.readString(config) + "console.redact-headers=trace-*\n");
        StringWriter out = new StringWriter();
        int code = OutboxSagaCli.execute(Map.of(), new PrintWriter(out), new PrintWriter(new StringWriter()), "--config",
                custom.toString(), "dead-letters", "show", String.valueOf(id), "-s", "orders");
        assertThat(code).isZero();
        assertThat(out.toString()).contains("  Authorization: Bearer s3cr3t", "  trace-id: ****").doesNotContain("trace-4b1e0c");
    }

    /**
     * ESC ] 0;title BEL retitles the window, ESC [2J clears the screen, CSI (one C1 character for ESC [) sets colours, a
     * lone CR returns to the start of the line; no NUL, which PostgreSQL's text columns refuse.
     */
    private static final String HOSTILE = "\u001b]0;evil\u0007 \u001b[2J \u009b31m \u007f \rhidden \u0085";

    @Test
    void humanOutputCarriesNoTerminalControlCharacters() {
        String consumer = "hostile-" + suffix;
        long id = rows.deadLetter(consumer, "orders", "java.lang.IllegalStateException", "bad " + HOSTILE, T0, true,
                Map.of("trace-id", "t " + HOSTILE), "{\"note\": \"" + HOSTILE + "\u0000\",\n\t\"amount\": 5}");
        UUID saga = rows.saga("hostile-" + suffix, 1, "PARKED", T0, "key " + HOSTILE);
        rows.event(saga, 1, "debit", "COMPENSATION_FAILED", "refused " + HOSTILE);

        List<Run> runs = List.of(run("dead-letters", "show", String.valueOf(id), "-s", "orders"),
                run("dead-letters", "list", "-s", "orders", "--consumer", consumer),
                run("sagas", "show", saga.toString(), "-s", "orders"),
                run("sagas", "list", "-s", "orders", "--type", "hostile-" + suffix),
                run("sagas", "show", "\u001b[2J", "-s", "orders"));

        for (Run run : runs) {
            assertThat(controlCharacters(run.out() + run.err())).as(run.out() + run.err()).isEmpty();
        }
        assertThat(runs.get(0).out()).contains("{\"note\": \"?]0;evil? ?[2J ?31m ? ?hidden ??\",\n\t\"amount\": 5}")
                .contains("bad ?]0;evil?", "trace-id: t ?]0;evil?");
        assertThat(runs.get(1).out()).contains("bad ?]0;evil?");
        assertThat(runs.get(2).out()).contains("key ?]0;evil?", "refused ?]0;evil?");
        assertThat(runs.get(4).err()).contains("'?[2J' is not a saga id");
    }

    @Test
    void jsonOutputEscapesControlCharactersAndReadsBackExactly() {
        String payload = "{\"note\": \"" + HOSTILE + "\u0000\"}";
        long id = rows.deadLetter("json-" + suffix, "orders", "java.lang.IllegalStateException", "bad " + HOSTILE, T0, true,
                Map.of("trace-id", HOSTILE), payload);

        Run shown = run("dead-letters", "show", String.valueOf(id), "-s", "orders", "--json");

        assertThat(shown.code()).as(shown.err()).isZero();
        assertThat(controlCharacters(shown.out().replace("\n", ""))).as(shown.out()).isEmpty();
        assertThat(shown.out()).contains("\\u001B]0;evil\\u0007 \\u001B[2J \\u009B31m \\u007F \\rhidden \\u0085");
        JsonNode json = shown.json();
        assertThat(json.get("payload").asText()).isEqualTo(payload);
        assertThat(json.get("deadLetter").get("errorMessage").asText()).isEqualTo("bad " + HOSTILE);
        assertThat(json.get("headers").get(0).get("text").asText()).isEqualTo(HOSTILE);
    }

    private static Map<String, String> secretHeaders() {
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        headers.put("Authorization", "Bearer s3cr3t");
        headers.put("X-Api-Token", "tok-9f2kQ");
        headers.put("db_password", "pw-Hq77x");
        headers.put("trace-id", "trace-4b1e0c");
        return headers;
    }

    /** The terminal control characters in {@code text}, as code points: C0 but line feed and tab, DEL, C1. */
    private static List<Integer> controlCharacters(String text) {
        return text.chars().filter(c -> c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f && c <= 0x9f).boxed().toList();
    }

    // ---------------------------------------------------------------------------------------------
    // relays, configuration, passwords

    @Test
    void relaysStatusShowsLeasesAndFailsOnAnExpiredOne() {
        String relay = "relay-" + suffix;
        rows.scalar("INSERT INTO outbox_relay_lease (relay, holder, epoch, acquired_at, expires_at) "
                + "VALUES (?, 'host-a#1234', 7, now() - interval '1 hour', now() - interval '1 minute') RETURNING relay", relay);
        try {
            Run status = run("relays", "status", "-s", "orders");
            assertThat(status.code()).isEqualTo(OutboxSagaCli.FAILED);
            assertThat(status.out()).contains(relay, "host-a", "EXPIRED");
            JsonNode json = run("relays", "status", "-s", "orders", "--json").json();
            assertThat(json.get("orders").get("tables").get("leases").findValuesAsText("relay")).contains(relay);
        } finally {
            rows.scalar("DELETE FROM outbox_relay_lease WHERE relay = ? RETURNING relay", relay);
        }
    }

    @Test
    void relaysStatusAsksEachRelayProcessAndFailsOnOneThatDoesNotAnswer() {
        Run status = run("relays", "status", "-s", "watched");
        assertThat(status.code()).as(status.out() + status.err()).isEqualTo(OutboxSagaCli.FAILED);
        assertThat(status.out()).contains("/health", "UNREACHABLE");
        JsonNode json = run("relays", "status", "-s", "watched", "--json").json();
        assertThat(json.get("watched").get("processes").get(0).get("httpStatus").asInt()).isZero();
    }

    @Test
    void anUnknownServiceAMissingConfigurationAndAnUnreachableDatabaseEachHaveTheirExitCode() {
        Run unknown = run("sagas", "list", "-s", "nope");
        assertThat(unknown.code()).isEqualTo(OutboxSagaCli.USAGE);
        assertThat(unknown.err()).contains("no service 'nope'", "[down, orders, watched]");

        StringWriter err = new StringWriter();
        int code = OutboxSagaCli.execute(Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(err),
                "--config", config.resolveSibling("missing.properties").toString(), "sagas", "list", "-s", "orders");
        assertThat(code).isEqualTo(OutboxSagaCli.USAGE);
        assertThat(err.toString()).contains("missing.properties does not exist");

        Run down = run("sagas", "list", "-s", "down");
        assertThat(down.code()).as(down.err()).isEqualTo(OutboxSagaCli.UNREACHABLE);
        assertThat(down.err()).contains("cannot reach the database");
    }

    @Test
    void theConsoleRefusesToStartWithoutAUser() {
        Run refused = run("console");
        assertThat(refused.code()).isEqualTo(OutboxSagaCli.USAGE);
        assertThat(refused.err()).contains("at least one user", "user.<name>.password-hash");
    }

    @Test
    void hashPasswordPrintsAHashThatTheConsoleAccepts() {
        InputStream stdin = System.in;
        System.setIn(new ByteArrayInputStream("s3cret words\n".getBytes(StandardCharsets.UTF_8)));
        try {
            Run hashed = run("hash-password");
            assertThat(hashed.code()).as(hashed.err()).isZero();
            assertThat(Passwords.matches("s3cret words", hashed.out().strip())).isTrue();
            assertThat(hashed.out()).doesNotContain("s3cret");
        } finally {
            System.setIn(stdin);
        }
    }

    private static int closedPort() throws Exception {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
