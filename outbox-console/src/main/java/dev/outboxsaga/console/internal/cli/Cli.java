package dev.outboxsaga.console.internal.cli;

import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.internal.OperatorAction;
import dev.outboxsaga.console.internal.ServiceDatabase;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** What the CLI's commands share: the root's options, exit codes for failures, time parsing and output. */
public final class Cli {

    /** The root command's options, seen from the subcommands. */
    public interface Root {
        /** The configuration, loaded and validated. */
        ConsoleConfig config();

        /** The audit trail's name for whoever runs the command. */
        String actor();
    }

    /** No saga or dead letter with the id given. */
    static final class NotFound extends RuntimeException {
        NotFound(String message) {
            super(message);
        }
    }

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int PENDING = 3;
    static final int NOT_FOUND = 4;
    static final int UNREACHABLE = 5;

    private static final ObjectMapper JSON = new ObjectMapper(new JsonFactoryBuilder()
            .characterEscapes(new ControlEscapes()).build())
            .registerModule(new SimpleModule().addSerializer(Instant.class, ToStringSerializer.instance))
            .enable(SerializationFeature.INDENT_OUTPUT);

    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Cli() {
    }

    /**
     * JSON's own escapes, and DEL and the C1 controls (U+0080 to U+009F) escaped as well: JSON allows them raw, and a
     * terminal obeys them. So JSON output holds no control character but the line breaks of its indentation, and its
     * strings read back exactly.
     */
    private static final class ControlEscapes extends CharacterEscapes {
        private final int[] ascii = standardAsciiEscapesForJSON();

        ControlEscapes() {
            ascii[0x7f] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return ascii;
        }

        @Override
        public SerializableString getEscapeSequence(int c) {
            return c >= 0x80 && c <= 0x9f ? new SerializedString(String.format(Locale.ROOT, "\\u%04X", c)) : null;
        }
    }

    /**
     * What a command writes to the operator's terminal: {@code out} with every terminal control character replaced
     * ({@link TerminalSafeWriter}).
     */
    public static PrintWriter terminalSafe(PrintWriter out) {
        return new PrintWriter(new TerminalSafeWriter(out), true);
    }

    /** Turns a command's failure into a message on stderr (never a stack trace for an expected one) and an exit code. */
    public static int handle(Exception failure, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        int code;
        if (failure instanceof NotFound) {
            code = NOT_FOUND;
        } else if (failure instanceof IllegalArgumentException) {
            code = USAGE;
        } else if (unreachable(failure)) {
            code = UNREACHABLE;
        } else {
            code = FAILED;
        }
        err.println("outbox-saga: " + (code == UNREACHABLE ? "cannot reach the database: " : "") + message(failure));
        if (code == FAILED && !(failure instanceof IllegalStateException)) {
            failure.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    private static String message(Throwable failure) {
        String message = failure.getMessage();
        return message == null ? failure.getClass().getSimpleName() : message;
    }

    private static boolean unreachable(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLTransientConnectionException || cause instanceof java.net.ConnectException) {
                return true;
            }
            if (cause instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("08")) {
                return true;
            }
        }
        return false;
    }

    /** Reads a duration as ISO-8601 ({@code PT15M}) or short ({@code 90s}, {@code 15m}, {@code 2h}, {@code 7d}). */
    public static Duration duration(String text) {
        Matcher matcher = SHORT_DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (matcher.matches()) {
            long amount = Long.parseLong(matcher.group(1));
            return switch (matcher.group(2)) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        }
        try {
            return Duration.parse(text.trim());
        } catch (DateTimeParseException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not a duration: write 90s, 15m, 2h, 7d or PT15M");
        }
    }

    /** Reads an instant as ISO-8601 UTC ({@code 2026-11-30T08:00:00Z}) or a date ({@code 2026-11-30}, its UTC start). */
    public static Instant instant(String text) {
        String trimmed = text.trim();
        try {
            return trimmed.length() == 10 ? java.time.LocalDate.parse(trimmed).atStartOfDay(java.time.ZoneOffset.UTC).toInstant()
                    : Instant.parse(trimmed);
        } catch (DateTimeParseException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not a time: write 2026-11-30T08:00:00Z or 2026-11-30");
        }
    }

    static UUID sagaId(String text) {
        try {
            return UUID.fromString(text.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not a saga id (a UUID)");
        }
    }

    /** Opens the named service's database; the caller closes it. */
    static ServiceDatabase open(Root root, String service) {
        ConsoleConfig config = root.config();
        if (!config.services().containsKey(service)) {
            throw new IllegalArgumentException("no service '" + service + "' in the configuration; configured: "
                    + config.services().keySet());
        }
        return ServiceDatabase.open(config.service(service));
    }

    static void json(PrintWriter out, Object value) {
        try {
            out.println(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Prints rows under a header, each column as wide as its widest cell. */
    static void table(PrintWriter out, List<String> header, List<List<String>> rows) {
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        int[] widths = new int[header.size()];
        for (List<String> row : all) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], cell(row.get(i)).length());
            }
        }
        for (List<String> row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                String cell = cell(row.get(i));
                line.append(cell);
                if (i < row.size() - 1) {
                    line.append(" ".repeat(widths[i] - cell.length() + 2));
                }
            }
            out.println(line.toString().stripTrailing());
        }
    }

    static String cell(Object value) {
        if (value == null) {
            return "-";
        }
        String text = value.toString().replace('\n', ' ').replace('\r', ' ');
        return text.length() > 80 ? text.substring(0, 77) + "..." : text;
    }

    /**
     * Waits up to {@code wait} for a queued action to leave PENDING, prints where it stands, and returns the exit code:
     * done, failed, or still pending.
     */
    static int reportAction(ServiceDatabase database, OperatorAction queued, Duration wait, boolean asJson, PrintWriter out,
            String carriedOutBy) {
        OperatorAction action = queued.pending() && !wait.isZero() ? database.awaitOutcome(queued.id(), wait) : queued;
        if (asJson) {
            json(out, action);
        } else if (action.pending()) {
            out.printf("%s %s queued as action %d; waiting for %s to carry it out (%s)%n", action.action(),
                    action.targetId(), action.id(), carriedOutBy, "check with: show " + action.targetId());
        } else {
            out.printf("%s %s %s (action %d): %s%n", action.action(), action.targetId(), action.status(), action.id(),
                    action.outcome() == null ? "" : action.outcome());
        }
        return action.pending() ? PENDING : "DONE".equals(action.status()) ? OK : FAILED;
    }
}
