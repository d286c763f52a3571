package dev.outboxsaga.console;

import dev.outboxsaga.console.internal.cli.AuditCommand;
import dev.outboxsaga.console.internal.cli.Cli;
import dev.outboxsaga.console.internal.cli.ConsoleCommand;
import dev.outboxsaga.console.internal.cli.DeadLettersCommand;
import dev.outboxsaga.console.internal.cli.HashPasswordCommand;
import dev.outboxsaga.console.internal.cli.RelaysCommand;
import dev.outboxsaga.console.internal.cli.SagasCommand;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code outbox-saga} command line: sagas, dead letters, relays and the reconciliation audit of the services
 * a {@link ConsoleConfig} file names, and the web console. Run {@code java -jar outbox-saga.jar --help}.
 *
 * <p>Exit codes: {@value #OK} done (the audit: PROVEN); {@value #FAILED} the action failed, the audit found exceptions
 * (VIOLATED) or {@code relays status} found a problem;
 * {@value #USAGE} bad arguments or configuration; {@value #PENDING} the action is queued and its service has not
 * carried it out within {@code --wait}, or the audit is INCOMPLETE; {@value #NOT_FOUND} no such saga or dead letter; {@value #UNREACHABLE} the
 * service's database could not be reached.
 */
@Command(name = "outbox-saga", mixinStandardHelpOptions = true, versionProvider = OutboxSagaCli.Version.class,
        description = "Operate the sagas, dead letters and relays of outbox-saga services.",
        subcommands = {ConsoleCommand.class, SagasCommand.class, DeadLettersCommand.class, RelaysCommand.class, AuditCommand.class, HashPasswordCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:done",
                "1:the action failed, the audit found exceptions, or relays status found a problem",
                "2:bad arguments or configuration",
                "3:queued, and the service has not carried it out within --wait; or the audit is INCOMPLETE",
                "4:no such saga or dead letter",
                "5:the service's database could not be reached"})
public final class OutboxSagaCli implements Cli.Root {

    /** Done. */
    public static final int OK = 0;
    /** The action failed, the audit found exceptions, or {@code relays status} found a problem. */
    public static final int FAILED = 1;
    /** Bad arguments or configuration. */
    public static final int USAGE = 2;
    /** Queued, and not carried out within {@code --wait}; or the audit is INCOMPLETE. */
    public static final int PENDING = 3;
    /** No such saga or dead letter. */
    public static final int NOT_FOUND = 4;
    /** The service's database could not be reached. */
    public static final int UNREACHABLE = 5;

    /** The environment variable naming the configuration file when {@code --config} is not given. */
    public static final String CONFIG_VARIABLE = "OUTBOX_SAGA_CONFIG";
    /** The environment variable naming the operator when {@code --as} is not given. */
    public static final String OPERATOR_VARIABLE = "OUTBOX_SAGA_OPERATOR";

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "The console configuration (services, users). Default: $" + CONFIG_VARIABLE
                    + ", else ./console.properties. Environment overrides as the console's (OUTBOX_CONSOLE_<KEY>).")
    private Path config;

    @Option(names = "--as", paramLabel = "NAME",
            description = "Who acts, for the audit trail (recorded as cli:NAME). Default: $" + OPERATOR_VARIABLE
                    + ", else the OS user.")
    private String operator;

    private final Map<String, String> environment;

    private OutboxSagaCli(Map<String, String> environment) {
        this.environment = environment;
    }

    public static void main(String[] args) {
        System.exit(execute(System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs one command line with the given environment and output streams; returns its exit code. */
    static int execute(Map<String, String> environment, PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new OutboxSagaCli(environment));
        // Nothing a command prints can drive the terminal; so the help is without colours, which are control codes too.
        commandLine.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        commandLine.setOut(Cli.terminalSafe(out));
        commandLine.setErr(Cli.terminalSafe(err));
        commandLine.setExecutionExceptionHandler(Cli::handle);
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.registerConverter(java.time.Duration.class, Cli::duration);
        commandLine.registerConverter(java.time.Instant.class, Cli::instant);
        int code = commandLine.execute(args);
        commandLine.getOut().flush();
        commandLine.getErr().flush();
        return code;
    }

    /** Read once per command line: a command that opens several services asks for it for each. */
    private ConsoleConfig loaded;

    @Override
    public ConsoleConfig config() {
        if (loaded == null) {
            loaded = load();
        }
        return loaded;
    }

    private ConsoleConfig load() {
        Path file = config != null ? config
                : environment.get(CONFIG_VARIABLE) != null ? Path.of(environment.get(CONFIG_VARIABLE))
                : Path.of("console.properties");
        return ConsoleConfig.load(file, environment);
    }

    @Override
    public String actor() {
        String name = operator != null ? operator
                : environment.getOrDefault(OPERATOR_VARIABLE, System.getProperty("user.name", "unknown"));
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("--as must not be blank");
        }
        return "cli:" + name.strip();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = OutboxSagaCli.class.getPackage().getImplementationVersion();
            return new String[] {"outbox-saga " + (version == null ? "(development build)" : version)};
        }
    }
}
