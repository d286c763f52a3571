package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.junit.jupiter.api.Test;

class UuidsTest {

    @Test
    void idsAreVersion7AndStrictlyIncreasingWithinAProcess() {
        UUID previous = Uuids.timeOrdered();
        for (int i = 0; i < 100_000; i++) {
            UUID next = Uuids.timeOrdered();
            assertThat(next.version()).isEqualTo(7);
            assertThat(next.variant()).isEqualTo(2);
            // PostgreSQL orders uuid bytewise, which is the order of the text form.
            assertThat(next.toString()).isGreaterThan(previous.toString());
            previous = next;
        }
    }
}
