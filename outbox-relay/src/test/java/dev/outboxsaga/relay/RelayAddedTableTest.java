package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * A table added to {@code outbox.tables} after the relay has been streaming: the rows it already
 * holds were committed before the table was published, so no slot has them. They are published once,
 * like the rows written to it later.
 */
class RelayAddedTableTest extends RelayTestBase {

    @Test
    void theRowsOfATableAddedLaterArePublishedOnce() throws Exception {
        try (Connection connection = fixture.db.dataSource().getConnection();
             Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE outbox_extra (LIKE outbox_event INCLUDING ALL)");
        }
        Outbox extra = Outbox.builder().table("outbox_extra").build();

        OutboxRelay first = fixture.start(fixture.config().build());
        List<OutboxMessage> before = List.of(fixture.message("a", 1), fixture.message("a", 2));
        write(fixture.outbox, before);
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= before.size());
        // Written while the relay streams, to a table it does not read yet.
        List<OutboxMessage> waiting = List.of(fixture.message("b", 1), fixture.message("b", 2), fixture.message("b", 3));
        write(extra, waiting);
        first.close();
        await().atMost(Duration.ofSeconds(30)).until(() -> first.status().role() == RelayStatus.Role.STOPPED);

        fixture.start(fixture.config().set(RelayConfig.OUTBOX_TABLES, "public.outbox_event,public.outbox_extra").build());
        List<OutboxMessage> later = List.of(fixture.message("b", 4), fixture.message("a", 3));
        write(extra, later.subList(0, 1));
        write(fixture.outbox, later.subList(1, 2));

        List<UUID> expected = new ArrayList<>();
        for (List<OutboxMessage> messages : List.of(before, waiting, later)) {
            messages.forEach(message -> expected.add(message.id()));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> fixture.readAll(received).size() >= expected.size());
        fixture.drain(received);
        List<UUID> ids = received.stream().map(RelayFixture::id).toList();
        assertThat(new LinkedHashSet<>(ids)).hasSameSizeAs(ids).containsExactlyInAnyOrderElementsOf(expected);
        List<UUID> keyB = received.stream().filter(record -> new String(record.key()).equals("b"))
                .map(RelayFixture::id).toList();
        assertThat(keyB).as("the moved rows keep their order, before the rows written later")
                .containsExactly(waiting.get(0).id(), waiting.get(1).id(), waiting.get(2).id(), later.get(0).id());
    }

    private void write(Outbox outbox, List<OutboxMessage> messages) throws Exception {
        for (OutboxMessage message : messages) {
            outbox.inTransaction(fixture.db.dataSource(), tx -> {
                tx.append(message);
                return null;
            });
        }
    }
}
