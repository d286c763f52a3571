package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RelayMainTest {

    private static final String VALID = String.join("\n",
            "relay.name=orders",
            "database.url=jdbc:postgresql://db:5432/orders",
            "database.user=relay",
            "database.password=s3cret-pw",
            "kafka.bootstrap.servers=kafka:9092",
            "kafka.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                    + "username=\"u\" password=\"kafka-pw\";",
            "metrics.port=-1",
            "");

    @TempDir
    Path dir;

    /** The outcome of one command line. */
    private record Result(int exitCode, String out, String err) {
    }

    private static Result execute(Map<String, String> environment, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(new RelayMain(environment));
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Result(exitCode, out.toString(), err.toString());
    }

    private static Result execute(String... args) {
        return execute(Map.of(), args);
    }

    private Path file(String content) throws IOException {
        return Files.writeString(dir.resolve("relay.properties"), content, StandardCharsets.UTF_8);
    }

    @Test
    void checkPrintsTheMaskedConfiguration() throws IOException {
        Result result = execute("check", "--config", file(VALID).toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.OK);
        assertThat(result.out()).startsWith("configuration OK: RelayConfig{")
                .contains("relay.name=orders", "jdbc:postgresql://db:5432/orders", "****");
        assertThat(result.out() + result.err()).doesNotContain("s3cret-pw", "kafka-pw");
    }

    @Test
    void configOptionMayPrecedeTheCommand() throws IOException {
        Result result = execute("-c", file(VALID).toString(), "check");

        assertThat(result.exitCode()).isEqualTo(RelayMain.OK);
        assertThat(result.out()).startsWith("configuration OK:");
    }

    @Test
    void environmentOverridesTheFile() throws IOException {
        Result result = execute(Map.of("OUTBOX_RELAY_RELAY_NAME", "payments"),
                "check", "--config", file(VALID).toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.OK);
        assertThat(result.out()).contains("relay.name=payments");
    }

    @Test
    void missingFileIsNamed() {
        Path missing = dir.resolve("nowhere/relay.properties");

        Result result = execute("check", "--config", missing.toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("configuration file not found", missing.toAbsolutePath().toString())
                .doesNotContain("Exception", "\tat ");
        assertThat(result.out()).isEmpty();
    }

    @Test
    void unknownKeyIsNamed() throws IOException {
        Result result = execute("check", "--config", file(VALID + "outbox.tabels=public.outbox_event\n").toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("unknown setting outbox.tabels").doesNotContain("\tat ");
        assertThat(result.out() + result.err()).doesNotContain("s3cret-pw");
    }

    @Test
    void missingRequiredKeyIsNamedWithItsEnvironmentVariable() throws IOException {
        Result result = execute("check", "--config",
                file(VALID.replace("kafka.bootstrap.servers=kafka:9092\n", "")).toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("kafka.bootstrap.servers", "OUTBOX_RELAY_KAFKA_BOOTSTRAP_SERVERS");
    }

    @Test
    void unknownEnvironmentOverrideIsNamed() throws IOException {
        Result result = execute(Map.of("OUTBOX_RELAY_FOO", "1"), "check", "--config", file(VALID).toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("OUTBOX_RELAY_FOO");
    }

    @Test
    void everyCommandNeedsAConfigFile() {
        for (String command : new String[] {"run", "check", "init", "status"}) {
            Result result = execute(command);

            assertThat(result.exitCode()).as(command).isEqualTo(RelayMain.CONFIG_ERROR);
            assertThat(result.err()).as(command).contains("--config");
        }
    }

    @Test
    void runRefusesAnInvalidConfigurationBeforeStarting() throws IOException {
        Result result = execute("run", "--config", file(VALID + "lease.ttl.ms=soon\n").toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("lease.ttl.ms");
    }

    @Test
    void runRefusesTwoConfigsThatWouldShareARelayOrATable() throws IOException {
        Path first = Files.writeString(dir.resolve("a.properties"), VALID + "outbox.tables=public.outbox_event\n");
        Path sameName = Files.writeString(dir.resolve("b.properties"), VALID + "outbox.tables=public.outbox_event_1\n");
        Path sameTable = Files.writeString(dir.resolve("c.properties"),
                VALID.replace("relay.name=orders", "relay.name=orders-1") + "outbox.tables=public.outbox_event\n");

        Result names = execute("run", "--config", first.toString(), "--config", sameName.toString());
        assertThat(names.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(names.err()).contains("a.properties and ", "b.properties both have relay.name orders");

        Result tables = execute("run", "--config", first.toString(), "--config", sameTable.toString());
        assertThat(tables.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(tables.err()).contains("c.properties both have outbox table public.outbox_event");
    }

    @Test
    void onlyRunTakesSeveralConfigs() throws IOException {
        Path first = Files.writeString(dir.resolve("a.properties"), VALID);
        Path second = Files.writeString(dir.resolve("b.properties"), VALID.replace("relay.name=orders", "relay.name=x"));

        Result result = execute("check", "--config", first.toString(), "--config", second.toString());
        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("only run takes more than one --config");
    }

    @Test
    void bareConfigMeansRun() {
        Path missing = dir.resolve("absent.properties");

        Result result = execute("--config", missing.toString());

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("configuration file not found", missing.toAbsolutePath().toString());
    }

    @Test
    void noArgumentsPrintsUsage() {
        Result result = execute();

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
        assertThat(result.err()).contains("Usage: outbox-relay", "run", "check", "init", "status");
    }

    @Test
    void helpListsTheCommandsAndExitCodes() {
        Result result = execute("--help");

        assertThat(result.exitCode()).isEqualTo(RelayMain.OK);
        assertThat(result.out()).contains("run", "check", "init", "status", "Exit codes");
    }

    @Test
    void unknownCommandIsAUsageError() {
        Result result = execute("start", "--config", "relay.properties");

        assertThat(result.exitCode()).isEqualTo(RelayMain.CONFIG_ERROR);
    }

    @Test
    void statusLinesAreReadable() {
        StringWriter text = new StringWriter();
        SlotReport report = new SlotReport("outbox_orders", true, true, 4242, "reserved", "0/16B3748", "0/16B3780",
                5L * 1024 * 1024 + 512 * 1024, "{\"lsn\":23803776}");

        RelayMain.Status.print(report, new PrintWriter(text, true));

        assertThat(text.toString()).contains(
                "slot:              outbox_orders",
                "active:            true (pid 4242)",
                "wal_status:        reserved",
                "restart_lsn:       0/16B3748",
                "confirmed_flush:   0/16B3780",
                "retained_wal:      5.5 MB",
                "published_offset:  {\"lsn\":23803776}");
    }
}
