package dev.outboxsaga.relay;

import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import dev.outboxsaga.testkit.TestKafka;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/** Relay tests: a fresh migrated database and Kafka per test, and nothing left running afterwards. */
@ExtendWith(OutboxSagaExtension.class)
abstract class RelayTestBase {

    protected RelayFixture fixture;

    @BeforeEach
    void createFixture(TestDatabase db, TestKafka kafka) {
        fixture = new RelayFixture(db, kafka);
    }

    @AfterEach
    void closeFixture() throws Exception {
        try {
            if (fixture != null) {
                fixture.close();
            }
        } finally {
            RelayProcess.killAll();
        }
    }
}
