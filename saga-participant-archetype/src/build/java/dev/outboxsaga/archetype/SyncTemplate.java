package dev.outboxsaga.archetype;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The build step that makes the archetype's {@code archetype-resources} from saga-participant-template, so
 * that the archetype generates whatever the template holds at build time. Run at generate-resources as
 * {@code java SyncTemplate.java TEMPLATE_DIR OUTPUT_DIR} (the JDK's source launcher; no compile step).
 *
 * <p>It copies {@code src/main/java} and {@code src/test/java} without the folders of the package
 * {@value #TEMPLATE_PACKAGE} (the archetype's packaged file sets put them under the user's package), the
 * resources of {@code src/main} and {@code src/test} where they are, and {@code README.md}. Each file
 * becomes a Velocity template (see {@link #toVelocity}). The output folder is emptied first, so a file
 * removed from the template leaves the archetype too. The template's {@code pom.xml} is not copied: the
 * generated project's standalone pom is {@code archetype-resources/pom.xml} in this module.
 *
 * <p>A file the archetype would not carry correctly stops the build with its name: a source outside
 * the template's package, a file that is not UTF-8 text, or any other file under {@code src} (add it here
 * and to {@code archetype-metadata.xml}). Other top-level files (the pom, an IDE's) stay behind.
 */
public final class SyncTemplate {

    /** The template's package, replaced by the archetype's {@code package} property. */
    public static final String TEMPLATE_PACKAGE = "dev.outboxsaga.template";

    private static final String TEMPLATE_PACKAGE_PATH = TEMPLATE_PACKAGE.replace('.', '/');
    private static final List<String> SOURCE_ROOTS = List.of("src/main/java", "src/test/java");
    private static final List<String> RESOURCE_ROOTS = List.of("src/main/resources", "src/test/resources");
    private static final String README = "README.md";

    /**
     * Declares the three escapes. The create-from-project goal of the archetype plugin writes the same
     * lines; Velocity consumes them whole, so they leave no trace in the generated file.
     */
    static final String VELOCITY_HEADER = "#set( $symbol_pound = '#' )\n"
            + "#set( $symbol_dollar = '$' )\n"
            + "#set( $symbol_escape = '\\' )\n";

    /** A backslash that Velocity would read as an escape: any in a run of them just before a reference. */
    private static final Pattern ESCAPING_BACKSLASH = Pattern.compile("\\\\(?=\\\\*\\$\\{)");

    private SyncTemplate() {}

    /** {@code TEMPLATE_DIR OUTPUT_DIR}. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java SyncTemplate.java TEMPLATE_DIR OUTPUT_DIR");
            System.exit(2);
        }
        sync(Path.of(args[0]).toAbsolutePath().normalize(), Path.of(args[1]).toAbsolutePath().normalize());
    }

    /** Replaces {@code output} with the archetype resources made from {@code template}; returns the file count. */
    static int sync(Path template, Path output) throws IOException {
        if (!Files.isRegularFile(template.resolve("pom.xml"))) {
            throw new IllegalArgumentException("not the participant template (no pom.xml): " + template);
        }
        deleteRecursively(output);
        List<String> problems = new ArrayList<>();
        int files = 0;
        for (Path file : templateFiles(template)) {
            String relative = template.relativize(file).toString().replace('\\', '/');
            String target = targetPath(relative, problems);
            if (target == null) {
                continue;
            }
            String text = utf8(file, relative, problems);
            if (text == null) {
                continue;
            }
            Path destination = output.resolve(target);
            Files.createDirectories(destination.getParent());
            Files.writeString(destination, toVelocity(text), StandardCharsets.UTF_8);
            files++;
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("saga-participant-template holds files the archetype cannot carry:\n  "
                    + String.join("\n  ", problems));
        }
        return files;
    }

    /** Where a template file goes in archetype-resources, or null (with a problem noted) if nowhere. */
    private static String targetPath(String relative, List<String> problems) {
        for (String root : SOURCE_ROOTS) {
            if (relative.startsWith(root + "/")) {
                String inRoot = relative.substring(root.length() + 1);
                if (!inRoot.startsWith(TEMPLATE_PACKAGE_PATH + "/")) {
                    problems.add(relative + ": outside the package " + TEMPLATE_PACKAGE
                            + " (the archetype moves only that package)");
                    return null;
                }
                return root + "/" + inRoot.substring(TEMPLATE_PACKAGE_PATH.length() + 1);
            }
        }
        for (String root : RESOURCE_ROOTS) {
            if (relative.startsWith(root + "/")) {
                return relative;
            }
        }
        if (relative.equals(README)) {
            return relative;
        }
        problems.add(relative + ": not carried into the archetype (add it to SyncTemplate and archetype-metadata.xml)");
        return null;
    }

    private static String utf8(Path file, String relative, List<String> problems) throws IOException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file)))
                    .toString();
        } catch (CharacterCodingException e) {
            problems.add(relative + ": not UTF-8 text (the archetype filters every file through Velocity)");
            return null;
        }
    }

    /**
     * The Velocity template that renders {@code text} with the template's package (dotted, and as a path)
     * replaced by {@code ${package}} ({@code ${packageInPathFormat}}), and every other character as it
     * was: each {@code $} and {@code #} becomes a reference to itself, and each backslash that Velocity
     * would take as an escape before such a reference becomes one too.
     */
    public static String toVelocity(String text) {
        String escaped = text.replace("$", "${symbol_dollar}")
                .replace("#", "${symbol_pound}")
                .replace(TEMPLATE_PACKAGE, "${package}")
                .replace(TEMPLATE_PACKAGE_PATH, "${packageInPathFormat}");
        escaped = ESCAPING_BACKSLASH.matcher(escaped).replaceAll(Matcher.quoteReplacement("${symbol_escape}"));
        return VELOCITY_HEADER + escaped;
    }

    /** README.md and everything under src/; other top-level files (the pom, target/, an IDE's) stay behind. */
    private static List<Path> templateFiles(Path template) throws IOException {
        List<Path> files = new ArrayList<>();
        if (Files.isRegularFile(template.resolve(README))) {
            files.add(template.resolve(README));
        }
        try (Stream<Path> paths = Files.walk(template.resolve("src"))) {
            paths.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
        return files;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
