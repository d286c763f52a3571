package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class InboxWorkerTest {

    @Test
    void onlyErrorsThatLeaveTheJvmUnfitAreFatal() {
        assertThat(InboxWorker.fatal(new OutOfMemoryError())).isTrue();
        assertThat(InboxWorker.fatal(new InternalError())).isTrue();
        assertThat(InboxWorker.fatal(new StackOverflowError())).as("a handler's recursion bug").isFalse();
        assertThat(InboxWorker.fatal(new AssertionError())).isFalse();
        assertThat(InboxWorker.fatal(new NoClassDefFoundError("x"))).isFalse();
        assertThat(InboxWorker.fatal(new IllegalStateException())).isFalse();
    }

    @Test
    void pollBackoffDoublesFrom100MillisUpTo30Seconds() {
        assertThat(InboxWorker.pollBackoff(1)).isEqualTo(Duration.ofMillis(100));
        assertThat(InboxWorker.pollBackoff(2)).isEqualTo(Duration.ofMillis(200));
        assertThat(InboxWorker.pollBackoff(9)).isEqualTo(Duration.ofMillis(25_600));
        assertThat(InboxWorker.pollBackoff(10)).isEqualTo(Duration.ofSeconds(30));
        assertThat(InboxWorker.pollBackoff(1_000)).isEqualTo(Duration.ofSeconds(30));
    }
}
