package dev.outboxsaga.console.internal.cli;

import dev.outboxsaga.console.Passwords;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code outbox-saga hash-password}: the value of a console user's {@code password-hash}. */
@Command(name = "hash-password", description = "Read a password (from the terminal, without echo, or one line of stdin) "
        + "and print its hash for user.<name>.password-hash.")
public final class HashPasswordCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        String password;
        Console console = System.console();
        if (console != null) {
            char[] typed = console.readPassword("password: ");
            char[] again = console.readPassword("again: ");
            if (typed == null || again == null || !java.util.Arrays.equals(typed, again)) {
                throw new IllegalArgumentException("the two passwords differ");
            }
            password = new String(typed);
        } else {
            try {
                password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("no password given");
        }
        spec.commandLine().getOut().println(Passwords.hash(password));
        return Cli.OK;
    }
}
