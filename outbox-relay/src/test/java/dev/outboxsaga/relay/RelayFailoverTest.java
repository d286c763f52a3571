package dev.outboxsaga.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two relay processes of one relay name (lease TTL 3 s, renewed every 500 ms): the standby takes
 * over when the leader dies, and fences a leader that was only frozen.
 */
class RelayFailoverTest extends RelayTestBase {

    private static final Duration WITHIN = Duration.ofSeconds(60);

    private OutboxTraffic traffic;
    private RelayProcess leader;
    private RelayProcess standby;

    @BeforeEach
    void startTraffic() {
        traffic = new OutboxTraffic(fixture, Duration.ofMillis(20));
    }

    @AfterEach
    void stopTraffic() throws Exception {
        if (traffic != null) {
            traffic.close();
        }
    }

    @Test
    void standbyTakesOverWithinTenSecondsWhenTheLeaderDies() throws Exception {
        traffic.startWriters(2);
        startLeaderAndStandby();

        leader.kill();
        long killedAt = System.nanoTime();
        long issuedAtKill = traffic.issued();
        await("rows committed after the kill, published by " + standby).atMost(WITHIN).pollInterval(Duration.ZERO)
                .until(() -> traffic.receivedBeyond(issuedAtKill));
        long takeoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        System.out.printf("standbyTakesOver: rows written after the kill of %s in Kafka %d ms after it%n",
                leader, takeoverMillis);

        assertThat(takeoverMillis).as("failover time; see %s", standby.logFile()).isLessThan(10_000);
        assertThat(fixture.leaseHolder()).isEqualTo(standby.instanceId());
        traffic.pollFor(Duration.ofSeconds(1));
        finishAndAssertExactlyOnceInOrder();
        assertThat(standby.isAlive()).isTrue();
    }

    @Test
    void aPausedLeaderIsFencedAndWritesNothingAfterTheTakeover() throws Exception {
        traffic.startWriters(2);
        startLeaderAndStandby();

        leader.pause();
        long pausedAt = System.nanoTime();
        long issuedAtPause = traffic.issued();
        await("lease and rows committed after the pause taken over by " + standby).atMost(WITHIN)
                .pollInterval(Duration.ZERO)
                .until(() -> traffic.receivedBeyond(issuedAtPause) && standby.instanceId().equals(fixture.leaseHolder()));
        System.out.printf("aPausedLeaderIsFenced: %s took over %d ms after SIGSTOP of %s%n", standby,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pausedAt), leader);

        leader.resume();
        traffic.pollFor(Duration.ofSeconds(4));
        assertThat(fixture.leaseHolder()).isEqualTo(standby.instanceId());
        finishAndAssertExactlyOnceInOrder();
        assertThat(fixture.leaseHolder()).isEqualTo(standby.instanceId());
        assertThat(leader.isAlive()).as("the old leader waits as a standby again; see %s", leader.logFile()).isTrue();
        assertThat(leader.log()).as("log of the old leader %s", leader.logFile())
                .containsPattern(Pattern.compile("stepped down|fenced|lost its lease", Pattern.CASE_INSENSITIVE));
    }

    /** Starts two processes, waits until one publishes and the other is waiting, and tells them apart. */
    private void startLeaderAndStandby() throws Exception {
        long issuedBeforeStart = traffic.issued();
        RelayProcess a = fixture.startProcess("relay-a");
        RelayProcess b = fixture.startProcess("relay-b");
        await("one of the relays publishing").atMost(WITHIN).pollInterval(Duration.ZERO)
                .until(() -> traffic.receivedBeyond(issuedBeforeStart));
        String holder = fixture.leaseHolder();
        assertThat(holder).isIn(a.instanceId(), b.instanceId());
        leader = holder.equals(a.instanceId()) ? a : b;
        standby = leader == a ? b : a;
        await(standby + " waiting as standby").atMost(WITHIN).pollInterval(Duration.ofMillis(100))
                .until(() -> standby.log().contains("(" + standby.instanceId() + ") starting as standby"));
        traffic.pollFor(Duration.ofSeconds(1));
        assertThat(fixture.leaseHolder()).isEqualTo(leader.instanceId());
        assertThat(a.isAlive() && b.isAlive()).as("both relay processes running").isTrue();
    }

    private void finishAndAssertExactlyOnceInOrder() throws InterruptedException {
        traffic.stopWriters();
        await("every committed row in Kafka").atMost(WITHIN).pollInterval(Duration.ZERO)
                .until(traffic::receivedAllWritten);
        traffic.drain(Duration.ofSeconds(1));
        traffic.assertExactlyOnceInOrder();
    }
}
