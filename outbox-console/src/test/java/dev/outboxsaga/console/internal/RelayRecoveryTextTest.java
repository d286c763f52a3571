package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The relays page's recovery tables are the relay README's, word for word: a change there shows here. */
class RelayRecoveryTextTest {

    @Test
    void everyCellOfTheRecoveryTablesIsInTheRelayReadme() throws Exception {
        String readme = plain(Files.readString(Path.of("../outbox-relay/README.md"))
                .replaceAll("\\[([^\\]]+)\\]\\(#[^)]*\\)", "$1").replace("`", "").replace("*", ""));
        List<String> cells = new ArrayList<>();
        Matcher cell = Pattern.compile("<t[dh][^>]*>(.*?)</t[dh]>").matcher(RelayPages.RECOVERY);
        while (cell.find()) {
            cells.add(plain(cell.group(1).replaceAll("<[^>]+>", "").replace("&lt;", "<").replace("&gt;", ">")
                    .replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")));
        }
        assertThat(cells).hasSizeGreaterThan(30);
        assertThat(cells).allSatisfy(text -> assertThat(readme).contains(text));
    }

    private static String plain(String text) {
        return text.replaceAll("\\s+", " ").trim();
    }
}
