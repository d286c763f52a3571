package dev.outboxsaga.console.internal.cli;

import dev.outboxsaga.console.AuditReport;
import dev.outboxsaga.console.ReconciliationAudit;
import dev.outboxsaga.console.internal.ServiceDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code outbox-saga audit}: the reconciliation audit of one service's outbox over a time window. */
@Command(name = "audit", description = {
        "Prove for a time window that every committed outbox row of a service reached Kafka exactly once (read_committed, "
                + "bounded by the relay's committed position) and, with --consumer, that each is in that consumer's "
                + "inbox exactly once or parked; list each exception with its ids.",
        "Exit code 0: PROVEN; 1: VIOLATED (missing, duplicated or inconsistent); 3: INCOMPLETE (in flight, or evidence "
                + "purged or past retention: run again later or narrow the window)."})
public final class AuditCommand implements Callable<Integer> {

    @ParentCommand
    Cli.Root root;

    @Spec
    CommandSpec spec;

    @Option(names = {"-s", "--service"}, required = true, paramLabel = "NAME",
            description = "The service whose outbox is audited; its kafka.bootstrap.servers (and kafka.*) are read.")
    String service;

    @Option(names = "--from", required = true, paramLabel = "TIME", description = "Window start, inclusive (outbox created_at).")
    Instant from;

    @Option(names = "--to", required = true, paramLabel = "TIME", description = "Window end, exclusive.")
    Instant to;

    @Option(names = "--relay", paramLabel = "NAME", description = "A relay by its relay.name, with the relay's defaults "
            + "(table public.outbox_event, its positions topic, topics by aggregatetype). Repeatable.")
    List<String> relays = List.of();

    @Option(names = "--relay-config", paramLabel = "FILE", description = "A relay's own properties file (its relay.name, "
            + "outbox.tables, positions.topic, topic.pattern, topic.column are read). Repeatable.")
    List<Path> relayConfigs = List.of();

    @Option(names = "--consumer", paramLabel = "NAME", description = "Also check this inbox consumer, in the same database.")
    String consumer;

    @Option(names = "--consumer-group", paramLabel = "ID", description = "Its Kafka group id (default: the consumer name).")
    String consumerGroup;

    @Option(names = "--patience", paramLabel = "DURATION", defaultValue = "30s",
            description = "How long to wait for the relay to pass the audit's snapshot (default: ${DEFAULT-VALUE}).")
    Duration patience;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() {
        if (relays.isEmpty() && relayConfigs.isEmpty()) {
            throw new IllegalArgumentException("name the service's relay: --relay NAME or --relay-config FILE");
        }
        Map<String, Object> kafka = root.config().service(service).kafkaClientProperties();
        AuditReport report;
        try (ServiceDatabase database = Cli.open(root, service)) {
            ReconciliationAudit.Builder audit = ReconciliationAudit.builder().dataSource(database.dataSource())
                    .kafkaProperties(kafka).patience(patience);
            relays.forEach(audit::relay);
            relayConfigs.forEach(file -> audit.relay(ReconciliationAudit.Relay.fromProperties(properties(file))));
            if (consumer != null) {
                audit.consumer(consumer);
                if (consumerGroup != null) {
                    audit.consumerGroup(consumerGroup);
                }
            }
            report = audit.build().run(from, to);
        }
        spec.commandLine().getOut().println(json ? report.toJson() : report.toText());
        return switch (report.verdict()) {
            case PROVEN -> Cli.OK;
            case VIOLATED -> Cli.FAILED;
            case INCOMPLETE -> Cli.PENDING;
        };
    }

    private static Properties properties(Path file) {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("relay configuration file " + file + " does not exist");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return properties;
    }
}
