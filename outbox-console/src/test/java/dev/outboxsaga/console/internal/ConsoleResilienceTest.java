package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.Passwords;
import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A service whose database, relay and Kafka cannot be reached shows that on its own card; the other services'
 * cards and the rest of the console work, and the page does not wait long for it.
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleResilienceTest {

    private ConsoleServer console;

    @BeforeAll
    void start(TestDatabase db) {
        OutboxSchema.migrate(db.dataSource());
        db.execute("INSERT INTO saga_instance (id, saga_type, saga_version, state, step_index, data) "
                + "VALUES (gen_random_uuid(), 'transfer', 1, 'PARKED', 0, '{}')");
        console = ConsoleServer.start(ConsoleConfig.builder()
                .service("orders", db.jdbcUrl(), db.username(), db.password())
                .service("down", "jdbc:postgresql://127.0.0.1:1/nowhere", "console", "")
                .set("service.down.relays", "http://127.0.0.1:1")
                .set("service.down.kafka.bootstrap.servers", "127.0.0.1:1")
                .set("service.down.consumers", "audit")
                .user("alice", Passwords.hash("pw", 1_000), ConsoleConfig.Role.VIEWER)
                .set(ConsoleConfig.PORT, 0)
                .build());
    }

    @AfterAll
    void stop() {
        console.close();
    }

    @Test
    void aServiceThatIsDownShowsOnItsOwnCard() {
        WebClient alice = new WebClient(console.url());
        assertThat(alice.login("alice", "pw").statusCode()).isEqualTo(303);
        long start = System.nanoTime();
        HttpResponse<String> overview = alice.get("/");
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertThat(overview.statusCode()).isEqualTo(200);
        assertThat(millis).as("the pool's timeout (3 s) and Kafka's (3 s), at once and beside the other card")
                .isLessThan(8_000);
        String down = card(overview.body(), "down");
        assertThat(down).contains("class=\"card failing\"", "sagas: ", "could not ask http://127.0.0.1:1/health",
                "could not read the lag from Kafka");
        String orders = card(overview.body(), "orders");
        assertThat(orders).doesNotContain("failing", "failures").contains("1 parked");

        HttpResponse<String> sagas = alice.get("/sagas?service=down");
        assertThat(sagas.statusCode()).isEqualTo(503);
        assertThat(sagas.body()).contains("the database did not answer");
        assertThat(alice.get("/sagas?service=orders").statusCode()).isEqualTo(200);
    }

    private static String card(String page, String service) {
        Matcher card = Pattern.compile("<section class=\"card[^\"]*\" aria-labelledby=\"svc-" + service
                + "\">.*?</section>", Pattern.DOTALL).matcher(page);
        assertThat(card.find()).as("card of " + service).isTrue();
        return card.group();
    }
}
