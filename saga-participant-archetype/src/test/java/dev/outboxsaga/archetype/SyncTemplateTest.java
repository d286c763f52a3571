package dev.outboxsaga.archetype;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The build step behind the archetype: what it copies where, what it refuses, and that its Velocity
 * templates render the original text with only the package changed, whatever Velocity syntax the text
 * happens to contain (the engine is the one maven-archetype-plugin uses).
 */
class SyncTemplateTest {

    private static final VelocityEngine VELOCITY = new VelocityEngine();

    static {
        VELOCITY.init();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "package dev.outboxsaga.template;\n\nclass A {}\n",
            "/** {@link #start(Config)} and {@value #RESERVE}, {@link Reply#failure(String)} */",
            "#set( $x = 1 )\n#if($x)yes#else no#end\n#foreach($i in [1..3])$i#end",
            "## not a comment\n#* not a block *#\n#[[ not unparsed ]]#\n#{else}#{end}",
            "$x ${x} $!x $!{x} ${package} ${symbol_dollar} $ $$ 10$ a$b #",
            "\\$x \\\\$x \\\\\\${x} \\#end \\\\#if(true) trailing \\",
            "String s = \"\\\"quoted\\\" \\n \\t \\\\ \\u0041\";",
            "SELECT $$ body $$; -- $1 #2",
            "dev/outboxsaga/template/x.sql and dev.outboxsaga.template.Inner.CONSTANT",
            "",
    })
    void velocityRendersTheTextWithOnlyThePackageReplaced(String text) {
        VelocityContext context = new VelocityContext();
        context.put("package", "com.example.payment");
        context.put("packageInPathFormat", "com/example/payment");
        StringWriter out = new StringWriter();

        VELOCITY.evaluate(context, out, "test", SyncTemplate.toVelocity(text));

        assertThat(out.toString()).isEqualTo(text
                .replace("dev.outboxsaga.template", "com.example.payment")
                .replace("dev/outboxsaga/template", "com/example/payment"));
    }

    @Test
    void copiesSourcesOutOfThePackageFoldersAndResourcesAndReadmeAsTheyAre(@TempDir Path dir) throws IOException {
        Path template = dir.resolve("template");
        write(template, "pom.xml", "<project/>");
        write(template, "README.md", "# dev.outboxsaga.template");
        write(template, "src/main/java/dev/outboxsaga/template/App.java", "package dev.outboxsaga.template;");
        write(template, "src/main/java/dev/outboxsaga/template/sub/Part.java", "package dev.outboxsaga.template.sub;");
        write(template, "src/test/java/dev/outboxsaga/template/AppTest.java", "class AppTest {}");
        write(template, "src/main/resources/db/participant/V1__x.sql", "-- sql");
        write(template, "src/test/resources/simplelogger.properties", "a=b");
        write(template, "target/classes/App.class", "binary output, not carried");
        write(template, "template.iml", "an IDE's, not carried");
        Path output = dir.resolve("out");
        write(output, "src/main/java/Removed.java", "a file the template no longer has");

        int files = SyncTemplate.sync(template, output);

        assertThat(files).isEqualTo(6);
        assertThat(filesUnder(output)).containsExactlyInAnyOrder(
                "README.md",
                "src/main/java/App.java",
                "src/main/java/sub/Part.java",
                "src/test/java/AppTest.java",
                "src/main/resources/db/participant/V1__x.sql",
                "src/test/resources/simplelogger.properties");
        assertThat(Files.readString(output.resolve("src/main/java/sub/Part.java")))
                .isEqualTo(SyncTemplate.toVelocity("package dev.outboxsaga.template.sub;"))
                .endsWith("package ${package}.sub;");
    }

    @Test
    void refusesWhatTheArchetypeCannotCarryNamingEachFile(@TempDir Path dir) throws IOException {
        Path template = dir.resolve("template");
        write(template, "pom.xml", "<project/>");
        write(template, "src/main/java/dev/outboxsaga/other/Stray.java", "package dev.outboxsaga.other;");
        write(template, "src/main/docker/Dockerfile", "FROM scratch");
        Files.createDirectories(template.resolve("src/main/resources"));
        Files.write(template.resolve("src/main/resources/logo.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', (byte) 0xff});

        assertThatThrownBy(() -> SyncTemplate.sync(template, dir.resolve("out")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("src/main/java/dev/outboxsaga/other/Stray.java: outside the package dev.outboxsaga.template")
                .hasMessageContaining("src/main/docker/Dockerfile: not carried into the archetype")
                .hasMessageContaining("src/main/resources/logo.png: not UTF-8 text");
    }

    @Test
    void refusesAFolderThatIsNotTheTemplate(@TempDir Path dir) {
        assertThatThrownBy(() -> SyncTemplate.sync(dir, dir.resolve("out")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not the participant template (no pom.xml): " + dir);
    }

    private static void write(Path root, String relative, String text) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    private static List<String> filesUnder(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            return paths.filter(Files::isRegularFile)
                    .map(path -> root.relativize(path).toString().replace('\\', '/'))
                    .toList();
        }
    }
}
