package dev.outboxsaga.testkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class TestInfrastructureSettingsTest {

    @Test
    void externalModeNamesTheMissingVariable() {
        assumeTrue(System.getenv("OUTBOX_SAGA_TEST_PG_URL") == null);
        assertThatThrownBy(TestInfrastructure::external)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("OUTBOX_SAGA_TEST_PG_URL");
    }

    @Test
    void unknownModeIsRejected() {
        String old = System.setProperty("OUTBOX_SAGA_TEST_INFRA", "docker-compose");
        try {
            assertThatThrownBy(TestInfrastructure::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("OUTBOX_SAGA_TEST_INFRA");
        } finally {
            if (old == null) {
                System.clearProperty("OUTBOX_SAGA_TEST_INFRA");
            } else {
                System.setProperty("OUTBOX_SAGA_TEST_INFRA", old);
            }
        }
    }
}
