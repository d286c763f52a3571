package dev.outboxsaga.console.internal.cli;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.OperatorConsole;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code outbox-saga console}: runs the web console until the process is stopped. */
@Command(name = "console", description = "Run the web console on the configured services until stopped (Ctrl-C, SIGTERM).")
public final class ConsoleCommand implements Callable<Integer> {

    @ParentCommand
    Cli.Root root;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        ConsoleConfig config = root.config();
        OperatorConsole console = OperatorConsole.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            console.close();
            stopped.countDown();
        }, "outbox-console-shutdown"));
        spec.commandLine().getOut().printf("outbox-saga console on %s, watching %s%n", console.url(),
                config.services().keySet());
        spec.commandLine().getOut().flush();
        stopped.await();
        return Cli.OK;
    }
}
