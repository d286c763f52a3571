package dev.outboxsaga.console.internal.cli;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.internal.RelayProcess;
import dev.outboxsaga.console.internal.RelayTables;
import dev.outboxsaga.console.internal.ServiceProbes;
import java.net.http.HttpClient;
import dev.outboxsaga.console.internal.ServiceDatabase;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code outbox-saga relays status}: leases, replication slots and parked rows of each service's relays. */
@Command(name = "relays", description = "The relays of each service.", subcommands = RelaysCommand.Status.class)
public final class RelaysCommand {

    @ParentCommand
    Cli.Root root;

    @Command(name = "status", description = "Lease holders, replication slots (active, WAL status, retained WAL) and parked rows. "
            + "Exit code 1 when a slot is lost or missing, a lease has expired, or a relay process is down or unreachable.")
    static final class Status implements Callable<Integer> {
        @ParentCommand
        RelaysCommand parent;
        @Spec
        CommandSpec spec;
        @Option(names = {"-s", "--service"}, paramLabel = "NAME", description = "Only this service (default: every configured one).")
        String service;
        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;
        @Option(names = "--parked", defaultValue = "10", description = "How many of the latest parked rows to show (default: ${DEFAULT-VALUE}).")
        int parked;

        @Override
        public Integer call() {
            ConsoleConfig config = parent.root.config();
            List<String> names = service == null ? List.copyOf(config.services().keySet()) : List.of(service);
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Object> all = new LinkedHashMap<>();
            boolean unhealthy = false;
            for (String name : names) {
                RelayTables tables;
                try (ServiceDatabase database = Cli.open(parent.root, name)) {
                    tables = database.relayTables(parked);
                }
                List<RelayProcess> processes;
                try (ServiceProbes probes = new ServiceProbes(config.service(name), HttpClient.newHttpClient())) {
                    processes = probes.relays();
                }
                unhealthy |= tables.slots().stream().anyMatch(RelayTables.Slot::lost)
                        || tables.leases().stream().anyMatch(RelayTables.Lease::expired)
                        || processes.stream().anyMatch(process -> !process.healthy());
                if (json) {
                    all.put(name, Map.of("tables", tables, "processes", processes));
                    continue;
                }
                out.println("service " + name);
                if (!processes.isEmpty()) {
                    Cli.table(out, List.of("PROCESS", "RELAY", "ROLE", "STATUS", "LAG (ms)", "RETAINED", "INSTANCE", "FAILURE"),
                            processes.stream().map(process -> List.of(process.url(), Cli.cell(process.relay()),
                                    Cli.cell(process.role()), process.httpStatus() == 0 ? "UNREACHABLE" : Cli.cell(process.status()),
                                    Cli.cell(process.lagMillis()), process.retainedWalBytes() == null
                                            || process.retainedWalBytes() < 0 ? "-" : bytes(process.retainedWalBytes()),
                                    Cli.cell(process.instanceId()), Cli.cell(process.failure()))).toList());
                }
                Cli.table(out, List.of("RELAY", "LEADER", "EPOCH", "SINCE (UTC)", "LEASE"), tables.leases().stream()
                        .map(lease -> List.of(lease.relay(), lease.instanceId(), String.valueOf(lease.epoch()),
                                lease.acquiredAt().toString(), lease.expired() ? "EXPIRED " + lease.expiresAt()
                                        : "until " + lease.expiresAt())).toList());
                Cli.table(out, List.of("SLOT", "RELAY", "STATE", "WAL STATUS", "RETAINED", "CONFIRMED"), tables.slots().stream()
                        .map(slot -> List.of(slot.slotName(), Cli.cell(slot.relay()),
                                !slot.exists() ? "MISSING" : slot.active() ? "active" : "inactive",
                                Cli.cell(slot.walStatus()), slot.retainedBytes() == null ? "-" : bytes(slot.retainedBytes()),
                                Cli.cell(slot.confirmedFlushLsn()))).toList());
                List<List<String>> parkedRows = new ArrayList<>();
                tables.recentParked().forEach(row -> parkedRows.add(List.of(row.id().toString(), row.relay(),
                        row.parkedAt().toString(), Cli.cell(row.reason()))));
                out.println("parked rows: " + tables.parkedByRelay());
                if (!parkedRows.isEmpty()) {
                    Cli.table(out, List.of("ROW ID", "RELAY", "PARKED (UTC)", "REASON"), parkedRows);
                }
                out.println();
            }
            if (json) {
                Cli.json(out, all);
            }
            return unhealthy ? Cli.FAILED : Cli.OK;
        }
    }

    static String bytes(long bytes) {
        if (bytes < 1024 * 1024) {
            return bytes / 1024 + " KiB";
        }
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }
}
