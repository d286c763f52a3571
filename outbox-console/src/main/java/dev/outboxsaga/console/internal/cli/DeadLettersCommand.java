package dev.outboxsaga.console.internal.cli;

import dev.outboxsaga.console.internal.BulkPreview;
import dev.outboxsaga.console.internal.DeadLetterAction;
import dev.outboxsaga.console.internal.DeadLetterDetail;
import dev.outboxsaga.console.internal.DeadLetterFilter;
import dev.outboxsaga.console.internal.DeadLetterPage;
import dev.outboxsaga.console.internal.DeadLetterRow;
import dev.outboxsaga.console.internal.OperatorAction;
import dev.outboxsaga.console.internal.ServiceDatabase;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code outbox-saga dead-letters ...}: list, show, replay and discard parked messages. */
@Command(name = "dead-letters", description = "List and show parked messages; replay or discard them, one by one or a filtered set.",
        subcommands = {DeadLettersCommand.ListDeadLetters.class, DeadLettersCommand.Show.class,
                DeadLettersCommand.Replay.class, DeadLettersCommand.Discard.class})
public final class DeadLettersCommand {

    @ParentCommand
    Cli.Root root;

    /** The filters of a list or a bulk action. */
    static final class Filters {
        @Option(names = "--consumer", description = "The consumer that parked them.")
        String consumer;
        @Option(names = "--topic", description = "The topic they were read from.")
        String topic;
        @Option(names = "--error", paramLabel = "TEXT", description = "Text in the error class or message.")
        String errorText;
        @Option(names = "--from", paramLabel = "TIME", description = "Parked at or after (2026-11-30T08:00:00Z or 2026-11-30).")
        Instant from;
        @Option(names = "--to", paramLabel = "TIME", description = "Parked before.")
        Instant to;

        DeadLetterFilter filter(String status) {
            return new DeadLetterFilter(consumer, status, topic, errorText, from, to);
        }

        boolean any() {
            return consumer != null || topic != null || errorText != null || from != null || to != null;
        }
    }

    /** Either ids, or every parked dead letter the filters take. */
    static final class Targets {
        @Parameters(paramLabel = "ID", arity = "1..*", description = "Dead letter ids.")
        List<Long> ids;

        @Option(names = "--all-matching", required = true,
                description = "Every parked dead letter the filters take (with --dry-run to count them first, or --yes).")
        boolean allMatching;
    }

    /** What a bulk action needs besides its targets. */
    static final class Bulk {
        @Mixin
        Filters filters;
        @Option(names = "--dry-run", description = "With --all-matching: only say how many it would take.")
        boolean dryRun;
        @Option(names = "--yes", description = "With --all-matching: do it without a dry run first.")
        boolean yes;
    }

    @Command(name = "list", description = "Dead letters newest first, a page at a time.")
    static final class ListDeadLetters implements Callable<Integer> {
        @ParentCommand
        DeadLettersCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        SagasCommand.Common common;
        @Mixin
        Filters filters;
        @Option(names = "--status", defaultValue = "PARKED",
                description = "PARKED, REPLAYED, DISCARDED or ALL (default: ${DEFAULT-VALUE}).")
        String status;
        @Option(names = "--limit", defaultValue = "50", description = "Rows per page, 1 to 1000 (default: ${DEFAULT-VALUE}).")
        int limit;
        @Option(names = "--before", paramLabel = "ID", description = "The cursor the previous page printed.")
        Long before;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            DeadLetterFilter filter = filters.filter("ALL".equalsIgnoreCase(status) ? null : status);
            try (ServiceDatabase database = Cli.open(parent.root, common.service)) {
                DeadLetterPage page = database.deadLetters(filter, before, limit);
                if (common.json) {
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("service", common.service);
                    json.put("deadLetters", page.rows());
                    json.put("nextBefore", page.nextBefore());
                    Cli.json(out, json);
                } else {
                    Cli.table(out, List.of("ID", "CONSUMER", "STATUS", "TOPIC", "PARTITION", "OFFSET", "MESSAGE ID",
                                    "ATTEMPTS", "PARKED (UTC)", "ERROR"),
                            page.rows().stream().map((DeadLetterRow row) -> List.of(String.valueOf(row.id()),
                                    row.consumer(), row.status(), row.topic(), String.valueOf(row.partition()),
                                    String.valueOf(row.offset()), Cli.cell(row.messageId()), String.valueOf(row.attempts()),
                                    row.parkedAt().toString(), Cli.cell(row.errorClass() + ": " + row.errorMessage())))
                                    .toList());
                    if (page.nextBefore() != null) {
                        out.println("more: --before " + page.nextBefore());
                    }
                }
            }
            return Cli.OK;
        }
    }

    @Command(name = "show", description = "One dead letter: payload, headers, reason, stack, attempts and the actions on it.")
    static final class Show implements Callable<Integer> {
        @ParentCommand
        DeadLettersCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        SagasCommand.Common common;
        @Parameters(paramLabel = "ID")
        long id;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (ServiceDatabase database = Cli.open(parent.root, common.service)) {
                DeadLetterDetail detail = find(database, id);
                DeadLetterRow row = detail.row();
                if (common.json) {
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("deadLetter", row);
                    json.put("key", detail.keyText());
                    json.put("payload", detail.valueText());
                    json.put("headers", detail.headers());
                    json.put("errorStack", detail.errorStack());
                    json.put("resolutionNote", detail.resolutionNote());
                    json.put("actions", detail.actions());
                    Cli.json(out, json);
                    return Cli.OK;
                }
                out.printf("dead letter %d of consumer %s: %s%n", row.id(), row.consumer(), row.status());
                out.printf("record      %s-%d@%d, message id %s%n", row.topic(), row.partition(), row.offset(),
                        Cli.cell(row.messageId()));
                out.printf("parked      %s after %d attempt(s)%s%n", row.parkedAt(), row.attempts(),
                        row.resolvedAt() == null ? "" : "; resolved " + row.resolvedAt());
                if (detail.resolutionNote() != null) {
                    out.printf("note        %s%n", detail.resolutionNote());
                }
                out.printf("error       %s: %s%n", row.errorClass(), row.errorMessage());
                out.printf("key         %s%n", Cli.cell(detail.keyText()));
                out.println("headers");
                detail.headers().forEach(header -> out.printf("  %s: %s%n", header.key(), Cli.cell(header.text())));
                out.println("payload");
                out.println(detail.valueText() == null ? "-" : detail.valueText());
                if (detail.errorStack() != null) {
                    out.println("stack");
                    out.println(detail.errorStack());
                }
                SagasCommand.printActions(out, detail.actions());
            }
            return Cli.OK;
        }
    }

    @Command(name = "replay", description = "Run the consumer's handler once more on parked messages; their consumer carries it out.")
    static final class Replay implements Callable<Integer> {
        @ParentCommand
        DeadLettersCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        SagasCommand.Common common;
        @Mixin
        SagasCommand.Wait wait;
        @ArgGroup(multiplicity = "1")
        Targets targets;
        @Mixin
        Bulk bulk;
        @Option(names = "--note", description = "Why, for the audit trail.")
        String note;

        @Override
        public Integer call() {
            return act(parent.root, spec, common, wait.wait, targets, bulk, DeadLetterAction.REPLAY, note);
        }
    }

    @Command(name = "discard", description = "Mark parked messages DISCARDED with a note; they stay in the table.")
    static final class Discard implements Callable<Integer> {
        @ParentCommand
        DeadLettersCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        SagasCommand.Common common;
        @ArgGroup(multiplicity = "1")
        Targets targets;
        @Mixin
        Bulk bulk;
        @Option(names = "--note", required = true, description = "Why they are dropped (required).")
        String note;

        @Override
        public Integer call() {
            return act(parent.root, spec, common, Duration.ZERO, targets, bulk, DeadLetterAction.DISCARD, note);
        }
    }

    private static int act(Cli.Root root, CommandSpec spec, SagasCommand.Common common, Duration wait, Targets targets,
            Bulk bulk, DeadLetterAction action, String note) {
        PrintWriter out = spec.commandLine().getOut();
        String verb = action.name().toLowerCase(java.util.Locale.ROOT);
        if (!targets.allMatching && (bulk.dryRun || bulk.yes || bulk.filters.any())) {
            throw new IllegalArgumentException("--dry-run, --yes and the filters go with --all-matching, not with ids");
        }
        if (targets.allMatching && bulk.dryRun == bulk.yes) {
            throw new IllegalArgumentException("--all-matching needs --dry-run (to count first) or --yes (to " + verb + " them)");
        }
        try (ServiceDatabase database = Cli.open(root, common.service)) {
            if (targets.allMatching) {
                DeadLetterFilter filter = bulk.filters.filter("PARKED");
                BulkPreview preview = database.previewBulk(filter, action);
                if (bulk.dryRun) {
                    report(out, common.json, Map.of("action", action.name(), "dryRun", true, "count", preview.count(),
                            "maxId", preview.maxId()), "would " + verb + " " + preview.count() + " dead letter(s)"
                            + (preview.count() == 0 ? "" : ", ids up to " + preview.maxId()));
                    return Cli.OK;
                }
                int done = preview.count() == 0 ? 0 : action == DeadLetterAction.REPLAY
                        ? database.replayAll(filter, preview.maxId(), root.actor(), note)
                        : database.discardAll(filter, preview.maxId(), root.actor(), note);
                report(out, common.json, Map.of("action", action.name(), "dryRun", false, "count", done),
                        (action == DeadLetterAction.REPLAY ? "queued the replay of " : "discarded ") + done
                                + " dead letter(s)");
                return Cli.OK;
            }
            List<OperatorAction> actions = new ArrayList<>();
            for (long id : targets.ids) {
                find(database, id);
                actions.add(action == DeadLetterAction.REPLAY ? database.queueReplay(id, root.actor(), note)
                        : database.discard(id, root.actor(), note));
            }
            int worst = Cli.OK;
            for (OperatorAction queued : actions) {
                int code = Cli.reportAction(database, queued, wait, common.json, out,
                        common.service + "'s consumer " + queued.scope());
                worst = Math.max(worst, code == Cli.PENDING ? Cli.PENDING : code);
            }
            return worst;
        }
    }

    private static void report(PrintWriter out, boolean json, Map<String, Object> values, String text) {
        if (json) {
            Cli.json(out, values);
        } else {
            out.println(text);
        }
    }

    private static DeadLetterDetail find(ServiceDatabase database, long id) {
        return database.deadLetter(id).orElseThrow(() -> new Cli.NotFound("no dead letter " + id + " in service "
                + database.name()));
    }
}
