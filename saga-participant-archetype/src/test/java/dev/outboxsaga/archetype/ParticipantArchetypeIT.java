package dev.outboxsaga.archetype;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The archetype as a user meets it: {@code mvn archetype:generate} of this build's archetype into a fresh
 * folder with another groupId, artifactId and package, then the generated project's own tests
 * ({@code mvn test}) on the test kit's embedded PostgreSQL and in-JVM Kafka.
 *
 * <p>Maven runs in child processes, offline, on a local repository under {@code target/} that holds this
 * build's modules (installed there by maven-invoker-plugin's {@code install} goal, never into
 * {@code ~/.m2}); third-party artifacts come from the user's local repository through a {@code file:}
 * mirror, which never serves snapshots, so a stale outbox-saga snapshot in {@code ~/.m2} plays no part.
 *
 * <p>Which generated test classes run is {@code archetype-it.tests} in the pom (see there why).
 */
class ParticipantArchetypeIT {

    private static final String GROUP_ID = "com.example";
    private static final String ARTIFACT_ID = "payment-service";
    private static final String VERSION = "1.0.0-SNAPSHOT";
    private static final String PACKAGE = "com.example.payment";
    private static final String TEMPLATE_PACKAGE = SyncTemplate.TEMPLATE_PACKAGE;
    private static final Duration CHILD_BUILD_TIMEOUT = Duration.ofMinutes(5);

    private static Path work;
    private static Path settings;
    private static Path project;
    private static Path template;

    @BeforeAll
    static void generateTheProject() throws Exception {
        work = Path.of(property("work.dir"));
        deleteRecursively(work);
        Files.createDirectories(work);
        template = Path.of(property("template.dir")).toRealPath();
        settings = work.resolve("settings.xml");
        // Every repository, central and those that third-party POMs declare, served from the user's
        // repository; releases only, as the super POM's central and our dependencies' repositories say.
        Files.writeString(settings, """
                <settings>
                  <mirrors>
                    <mirror><id>user-repository</id><mirrorOf>*</mirrorOf><url>%s</url></mirror>
                  </mirrors>
                </settings>
                """.formatted(Path.of(property("user.repository")).toUri()));

        runMaven(work, work.resolve("generate.log"),
                "org.apache.maven.plugins:maven-archetype-plugin:" + property("maven-archetype.version") + ":generate",
                "-DinteractiveMode=false",
                "-DarchetypeGroupId=" + property("archetype.groupId"),
                "-DarchetypeArtifactId=" + property("archetype.artifactId"),
                "-DarchetypeVersion=" + property("archetype.version"),
                "-DgroupId=" + GROUP_ID,
                "-DartifactId=" + ARTIFACT_ID,
                "-Dversion=" + VERSION,
                "-Dpackage=" + PACKAGE);
        project = work.resolve(ARTIFACT_ID);
    }

    @Test
    void generatedFilesAreTheTemplatesInTheNewPackage() throws IOException {
        TreeMap<String, String> expected = new TreeMap<>();
        for (String file : filesUnder(template, "README.md", "src")) {
            String generated = file.replace("/" + TEMPLATE_PACKAGE.replace('.', '/') + "/",
                    "/" + PACKAGE.replace('.', '/') + "/");
            expected.put(generated, withNewPackage(Files.readString(template.resolve(file))));
        }
        assertThat(expected).containsKey("src/main/java/com/example/payment/ParticipantApp.java");

        assertThat(new TreeSet<>(filesUnder(project, "README.md", "src", "pom.xml")))
                .isEqualTo(union(expected.keySet(), Set.of("pom.xml")));
        for (var entry : expected.entrySet()) {
            assertThat(Files.readString(project.resolve(entry.getKey())))
                    .as(entry.getKey())
                    .isEqualTo(entry.getValue());
        }
        for (String file : filesUnder(project, "README.md", "src", "pom.xml")) {
            assertThat(Files.readString(project.resolve(file)))
                    .as(file)
                    .doesNotContain(TEMPLATE_PACKAGE)
                    .doesNotContain(TEMPLATE_PACKAGE.replace('.', '/'));
        }
    }

    @Test
    void generatedPomStandsAloneOnTheBomWithTheTemplatesDependencies() throws Exception {
        Element pom = xml(project.resolve("pom.xml"));
        Element templatePom = xml(template.resolve("pom.xml"));

        assertThat(children(pom, "parent")).as("no parent: a user does not have ours").isEmpty();
        assertThat(text(pom, "groupId")).isEqualTo(GROUP_ID);
        assertThat(text(pom, "artifactId")).isEqualTo(ARTIFACT_ID);
        assertThat(text(pom, "version")).isEqualTo(VERSION);
        assertThat(text(pom, "properties", "outboxsaga.version")).isEqualTo(property("archetype.version"));
        assertThat(dependencies(child(pom, "dependencyManagement")))
                .contains("dev.outboxsaga:outbox-saga-bom:import");
        assertThat(dependencies(pom)).isEqualTo(dependencies(templatePom));
        assertThat(Files.readString(project.resolve("pom.xml")))
                .contains("<mainClass>" + PACKAGE + ".ParticipantApp</mainClass>")
                .doesNotContain("@");
    }

    @Test
    void generatedProjectsOwnTestsPassOnTheTestKit() throws Exception {
        List<String> goals = new ArrayList<>(List.of("test"));
        String tests = System.getProperty("archetype-it.tests", "").trim();
        if (!tests.isEmpty() && !tests.equals("*")) {
            goals.add("-Dtest=" + tests);
        }

        runMaven(project, work.resolve("test.log"), goals.toArray(String[]::new));

        assertThat(project.resolve("target/classes/com/example/payment/ParticipantApp.class")).isRegularFile();
        Path reports = project.resolve("target/surefire-reports");
        List<Element> suites = new ArrayList<>();
        try (Stream<Path> files = Files.list(reports)) {
            for (Path report : files.filter(f -> f.getFileName().toString().matches("TEST-.*\\.xml")).toList()) {
                suites.add(xml(report));
            }
        }
        assertThat(suites).as("surefire reports in " + reports).isNotEmpty();
        for (Element suite : suites) {
            assertThat(suite.getAttribute("name")).startsWith(PACKAGE + ".");
            assertThat(Integer.parseInt(suite.getAttribute("failures")) + Integer.parseInt(suite.getAttribute("errors")))
                    .as(suite.getAttribute("name") + ": failures and errors")
                    .isZero();
        }
        assertThat(suites.stream().mapToInt(suite -> Integer.parseInt(suite.getAttribute("tests"))).sum()).isPositive();
        if (!tests.isEmpty() && !tests.equals("*")) {
            assertThat(suites.stream().map(suite -> suite.getAttribute("name")).collect(Collectors.toSet()))
                    .isEqualTo(Arrays.stream(tests.split(",")).map(name -> PACKAGE + "." + name.trim())
                            .collect(Collectors.toSet()));
        }
    }

    /** Runs Maven in {@code dir}, offline on the test's repository and settings; fails with the log's tail. */
    private static void runMaven(Path dir, Path log, String... goals) throws Exception {
        String mavenHome = property("maven.home");
        List<String> command = new ArrayList<>(List.of(
                Path.of(mavenHome, "bin", "mvn").toString(), "-B", "-ntp", "-o",
                "-s", settings.toString(),
                "-Dmaven.repo.local=" + property("it.repository"),
                // Offline, yet the file: mirror is read: that is all the network this build gets.
                "-Daether.offline.protocols=file"));
        command.addAll(List.of(goals));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        long started = System.nanoTime();
        Process process = builder.start();
        try {
            if (!process.waitFor(CHILD_BUILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                fail("mvn " + String.join(" ", goals) + " still running after " + CHILD_BUILD_TIMEOUT + "; log "
                        + log + ":\n" + tail(log));
            }
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        System.out.printf("mvn %s: exit %d in %d s%n", String.join(" ", goals), process.exitValue(),
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
        if (process.exitValue() != 0) {
            fail("mvn " + String.join(" ", goals) + " exited " + process.exitValue() + "; log " + log + ":\n" + tail(log));
        }
    }

    private static String withNewPackage(String text) {
        return text.replace(TEMPLATE_PACKAGE, PACKAGE)
                .replace(TEMPLATE_PACKAGE.replace('.', '/'), PACKAGE.replace('.', '/'));
    }

    /** The dependencies of a pom element's {@code dependencies} child as groupId:artifactId:scope (type pom: its scope). */
    private static Set<String> dependencies(Element owner) {
        Set<String> result = new TreeSet<>();
        for (Element dependencies : children(owner, "dependencies")) {
            for (Element dependency : children(dependencies, "dependency")) {
                String scope = text(dependency, "scope");
                result.add(text(dependency, "groupId") + ":" + text(dependency, "artifactId") + ":"
                        + (scope.isEmpty() ? "compile" : scope));
            }
        }
        return result;
    }

    private static Element xml(Path file) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        Document document = factory.newDocumentBuilder().parse(file.toFile());
        return document.getDocumentElement();
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> result = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i).getNodeType() == Node.ELEMENT_NODE && nodes.item(i).getNodeName().equals(name)) {
                result.add((Element) nodes.item(i));
            }
        }
        return result;
    }

    private static Element child(Element parent, String name) {
        List<Element> found = children(parent, name);
        assertThat(found).as("<" + name + "> in <" + parent.getNodeName() + ">").hasSize(1);
        return found.get(0);
    }

    /** The text of the element at {@code path} below {@code parent}, or "" when there is none. */
    private static String text(Element parent, String... path) {
        Element current = parent;
        for (String name : path) {
            List<Element> found = children(current, name);
            if (found.isEmpty()) {
                return "";
            }
            current = found.get(0);
        }
        return current.getTextContent().trim();
    }

    /** Files (relative, with /) under {@code root}'s {@code entries}, files or folders; target/ is not among them. */
    private static List<String> filesUnder(Path root, String... entries) throws IOException {
        List<String> result = new ArrayList<>();
        for (String entry : entries) {
            Path start = root.resolve(entry);
            if (!Files.exists(start)) {
                continue;
            }
            try (Stream<Path> paths = Files.walk(start)) {
                paths.filter(Files::isRegularFile)
                        .map(path -> root.relativize(path).toString().replace('\\', '/'))
                        .forEach(result::add);
            }
        }
        return result;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> result = new TreeSet<>(a);
        result.addAll(b);
        return result;
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set: run this test through"
                    + " Maven (mvn verify), whose failsafe configuration sets it");
        }
        return value;
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
