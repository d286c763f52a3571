package dev.outboxsaga.console.internal.cli;

import dev.outboxsaga.console.internal.OperatorAction;
import dev.outboxsaga.console.internal.SagaAction;
import dev.outboxsaga.console.internal.SagaCursor;
import dev.outboxsaga.console.internal.SagaDetail;
import dev.outboxsaga.console.internal.SagaFilter;
import dev.outboxsaga.console.internal.SagaHistoryEntry;
import dev.outboxsaga.console.internal.SagaPage;
import dev.outboxsaga.console.internal.SagaRow;
import dev.outboxsaga.console.internal.ServiceDatabase;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code outbox-saga sagas ...}: list and show sagas, and queue their repairs. */
@Command(name = "sagas", description = "List and show sagas; retry or mark a parked saga's compensation; cancel a running saga.",
        subcommands = {SagasCommand.ListSagas.class, SagasCommand.Show.class, SagasCommand.RetryCompensation.class,
                SagasCommand.MarkCompensated.class, SagasCommand.Cancel.class})
public final class SagasCommand {

    @ParentCommand
    Cli.Root root;

    /** Options every saga subcommand takes. */
    static final class Common {
        @Option(names = {"-s", "--service"}, required = true, paramLabel = "NAME", description = "The service, as the configuration names it.")
        String service;

        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;
    }

    /** Options of the subcommands that queue an action. */
    static final class Wait {
        @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "10s",
                description = "How long to wait for the service to carry the action out (default: ${DEFAULT-VALUE}; 0s: do not wait).")
        Duration wait;
    }

    @Command(name = "list", description = "Sagas newest first, a page at a time.")
    static final class ListSagas implements Callable<Integer> {
        @ParentCommand
        SagasCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        Common common;
        @Option(names = "--state", description = "RUNNING, COMPENSATING, COMPLETED, COMPENSATED, FAILED or PARKED.")
        String state;
        @Option(names = "--type", description = "Saga type.")
        String type;
        @Option(names = "--version", description = "Saga definition version (with --type).")
        Integer version;
        @Option(names = "--older-than", paramLabel = "DURATION", description = "Created at least this long ago (90s, 15m, 2h, 7d).")
        Duration olderThan;
        @Option(names = "--stuck-for", paramLabel = "DURATION", description = "Not ended, and unchanged for at least this long.")
        Duration stuckFor;
        @Option(names = "--search", paramLabel = "ID_OR_KEY", description = "A saga id, or a business key (saga key).")
        String search;
        @Option(names = "--limit", defaultValue = "50", description = "Rows per page, 1 to 1000 (default: ${DEFAULT-VALUE}).")
        int limit;
        @Option(names = "--after", paramLabel = "CURSOR", description = "The cursor the previous page printed.")
        String after;

        @Override
        public Integer call() {
            SagaFilter filter = new SagaFilter(type, version, state, olderThan, stuckFor, search);
            SagaCursor cursor = after == null ? null : SagaCursor.parse(after);
            PrintWriter out = spec.commandLine().getOut();
            try (ServiceDatabase database = Cli.open(parent.root, common.service)) {
                SagaPage page = database.sagas(filter, cursor, limit);
                if (common.json) {
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("service", common.service);
                    json.put("sagas", page.rows());
                    json.put("next", page.next() == null ? null : page.next().encode());
                    Cli.json(out, json);
                } else {
                    Cli.table(out, List.of("ID", "TYPE", "V", "STATE", "STEP", "ATTEMPT", "KEY", "CREATED (UTC)", "UPDATED (UTC)"),
                            page.rows().stream().map(row -> List.of(row.id().toString(), row.type(),
                                    String.valueOf(row.version()), row.state(), String.valueOf(row.stepIndex()),
                                    String.valueOf(row.attempt()), Cli.cell(row.key()), row.createdAt().toString(),
                                    row.updatedAt().toString())).toList());
                    if (page.next() != null) {
                        out.println("more: --after " + page.next().encode());
                    }
                }
            }
            return Cli.OK;
        }
    }

    @Command(name = "show", description = "One saga: its data, its step timeline and the operator actions on it.")
    static final class Show implements Callable<Integer> {
        @ParentCommand
        SagasCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        Common common;
        @Parameters(paramLabel = "SAGA_ID")
        String id;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (ServiceDatabase database = Cli.open(parent.root, common.service)) {
                SagaDetail detail = find(database, Cli.sagaId(id));
                if (common.json) {
                    Cli.json(out, detail);
                    return Cli.OK;
                }
                SagaRow saga = detail.saga();
                out.printf("saga      %s%n", saga.id());
                out.printf("type      %s v%d%n", saga.type(), saga.version());
                out.printf("state     %s at step %d%s, attempt %d%n", saga.state(), saga.stepIndex(),
                        detail.stepName() == null ? "" : " (" + detail.stepName() + ")", saga.attempt());
                out.printf("key       %s%n", Cli.cell(saga.key()));
                out.printf("created   %s   updated %s   ended %s%n", saga.createdAt(), saga.updatedAt(), Cli.cell(saga.endedAt()));
                if (detail.deadline() != null) {
                    out.printf("deadline  %s%n", detail.deadline());
                }
                if (saga.lastError() != null) {
                    out.printf("error     %s%n", saga.lastError());
                }
                out.printf("data      %s%n", detail.data());
                out.printf("actions allowed: %s%n", saga.allowedActions().isEmpty() ? "none"
                        : String.join(", ", saga.allowedActions().stream().map(SagasCommand::commandName).toList()));
                if (!detail.branches().isEmpty()) {
                    out.println();
                    out.println("Parallel group in hand:");
                    Cli.table(out, List.of("STEP", "NAME", "STATE", "ATTEMPT", "AWAITING", "DUE"), detail.branches()
                            .stream().map(branch -> List.of(String.valueOf(branch.stepIndex()), Cli.cell(branch.stepName()),
                                    branch.status(), String.valueOf(branch.attempt()), Cli.cell(branch.command()),
                                    Cli.cell(branch.due()))).toList());
                }
                out.println();
                out.println("Timeline:");
                Cli.table(out, List.of("AT (UTC)", "STEP", "NAME", "EVENT", "DETAIL"), detail.history().stream()
                        .map((SagaHistoryEntry entry) -> List.of(entry.at().toString(), String.valueOf(entry.stepIndex()),
                                Cli.cell(entry.stepName()), entry.event(), Cli.cell(entry.detail()))).toList());
                printActions(out, detail.actions());
            }
            return Cli.OK;
        }
    }

    /** What the subcommands that queue an action on a saga share. */
    abstract static class QueuedAction implements Callable<Integer> {
        @ParentCommand
        SagasCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        Common common;
        @Mixin
        Wait wait;
        @Parameters(paramLabel = "SAGA_ID")
        String id;

        abstract SagaAction action();

        /** The operator's note, or the reason of a cancel. */
        abstract String note();

        @Override
        public Integer call() {
            return queue(parent.root, spec, common, wait, id, action(), note());
        }
    }

    @Command(name = "retry-compensation", description = "Send a parked saga's compensation again, with fresh attempts.")
    static final class RetryCompensation extends QueuedAction {
        @Option(names = "--note", description = "Why, for the audit trail.")
        String note;

        @Override
        SagaAction action() {
            return SagaAction.RETRY_COMPENSATION;
        }

        @Override
        String note() {
            return note;
        }
    }

    @Command(name = "mark-compensated", description = "Record that a parked compensation was done by hand, and go on compensating.")
    static final class MarkCompensated extends QueuedAction {
        @Option(names = "--note", required = true, description = "What was done by hand (required).")
        String note;

        @Override
        SagaAction action() {
            return SagaAction.MARK_COMPENSATED;
        }

        @Override
        String note() {
            return note;
        }
    }

    @Command(name = "cancel", description = "Stop a running saga and compensate what ran, in reverse.")
    static final class Cancel extends QueuedAction {
        @Option(names = "--reason", required = true, description = "Why (required).")
        String reason;

        @Override
        SagaAction action() {
            return SagaAction.CANCEL;
        }

        @Override
        String note() {
            return reason;
        }
    }

    private static int queue(Cli.Root root, CommandSpec spec, Common common, Wait wait, String id, SagaAction action,
            String note) {
        UUID sagaId = Cli.sagaId(id);
        try (ServiceDatabase database = Cli.open(root, common.service)) {
            find(database, sagaId);
            OperatorAction queued = database.queueSagaAction(sagaId, action, root.actor(), note);
            return Cli.reportAction(database, queued, wait.wait, common.json, spec.commandLine().getOut(),
                    common.service + "'s orchestrator of " + queued.scope());
        }
    }

    private static SagaDetail find(ServiceDatabase database, UUID id) {
        return database.saga(id).orElseThrow(() -> new Cli.NotFound("no saga " + id + " in service " + database.name()));
    }

    static String commandName(SagaAction action) {
        return action.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    static void printActions(PrintWriter out, List<OperatorAction> actions) {
        out.println();
        out.println("Operator actions:");
        if (actions.isEmpty()) {
            out.println("none");
            return;
        }
        Cli.table(out, List.of("ID", "REQUESTED (UTC)", "BY", "ACTION", "STATUS", "NOTE", "OUTCOME"), actions.stream()
                .map(action -> List.of(String.valueOf(action.id()), action.requestedAt().toString(), action.actor(),
                        action.action(), action.status(), Cli.cell(action.note()), Cli.cell(action.outcome()))).toList());
    }
}
