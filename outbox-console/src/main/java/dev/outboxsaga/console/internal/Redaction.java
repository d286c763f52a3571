package dev.outboxsaga.console.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which record headers hold secrets: a header whose name matches one of the patterns has its value shown as
 * {@value #MASK}, its name kept, so the operator sees that it is there. A pattern is a header name, matched without
 * regard to case, in which {@code *} stands for any run of characters ({@code *token*} takes {@code X-Api-Token}).
 *
 * <p>Dead letters leave {@link ServiceDatabase#deadLetter(long)} with their headers masked, so the console's pages
 * and the CLI (text and JSON) show the same, and neither can forget it. Payloads are not masked: they are the
 * business data the operator has to read.
 */
public final class Redaction {

    /** What a secret header's value shows as. */
    public static final String MASK = "****";

    /** The patterns of {@code console.redact-headers} when it is not set. */
    public static final List<String> DEFAULT_PATTERNS = List.of("authorization", "proxy-authorization", "cookie",
            "set-cookie", "*token*", "*secret*", "*password*", "*api-key*", "*apikey*", "*api_key*");

    /** The default patterns. */
    public static final Redaction DEFAULT = of(DEFAULT_PATTERNS);

    private final List<String> patterns;
    private final Pattern secretNames;

    private Redaction(List<String> patterns, Pattern secretNames) {
        this.patterns = patterns;
        this.secretNames = secretNames;
    }

    /**
     * Masks the headers whose names match any of {@code patterns}.
     *
     * @throws IllegalArgumentException when there is no pattern, or one is blank or holds white space or a control
     *                                  character (the message says which)
     */
    public static Redaction of(List<String> patterns) {
        if (patterns.isEmpty()) {
            throw new IllegalArgumentException("must list at least one header name pattern, e.g. "
                    + String.join(",", DEFAULT_PATTERNS));
        }
        List<String> regexes = new ArrayList<>();
        for (String pattern : patterns) {
            if (pattern.isEmpty() || pattern.codePoints().anyMatch(c -> Character.isWhitespace(c)
                    || Character.isISOControl(c))) {
                throw new IllegalArgumentException("must list header names, * for any characters, separated by commas, "
                        + "but has '" + pattern + "'");
            }
            List<String> literals = new ArrayList<>();
            for (String literal : pattern.split("\\*", -1)) {
                literals.add(literal.isEmpty() ? "" : Pattern.quote(literal));
            }
            regexes.add("(?:" + String.join(".*", literals) + ")");
        }
        return new Redaction(List.copyOf(patterns),
                Pattern.compile(String.join("|", regexes), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.DOTALL));
    }

    /** The patterns, as configured. */
    public List<String> patterns() {
        return patterns;
    }

    /** Whether a header of this name holds a secret. Surrounding white space does not hide a name. */
    public boolean secret(String headerName) {
        return headerName != null && secretNames.matcher(headerName.strip()).matches();
    }

    /** The headers in order, each secret one with its value masked (a header without a value stays without). */
    public List<DeadLetterDetail.Header> apply(List<DeadLetterDetail.Header> headers) {
        return headers.stream().map(header -> header.text() != null && secret(header.key())
                ? new DeadLetterDetail.Header(header.key(), MASK, true) : header).collect(Collectors.toList());
    }

    @Override
    public String toString() {
        return String.join(",", patterns);
    }
}
