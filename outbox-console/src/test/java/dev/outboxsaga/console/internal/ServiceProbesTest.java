package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading the relay's /health bodies, as outbox-relay's HttpEndpoint writes them. */
class ServiceProbesTest {

    @Test
    void readsASingleRelaysBody() {
        List<RelayProcess> processes = ServiceProbes.parseHealth("http://r:9404/health", 200,
                "{\"status\":\"UP\",\"role\":\"LEADER\",\"keepingUp\":true,\"lagMillis\":12,\"maxLagMillis\":30000,"
                        + "\"retainedWalBytes\":123456,\"leaseEpoch\":3,\"recordsPublished\":1042,"
                        + "\"transactionsCommitted\":17,\"recordsParked\":0,\"instanceId\":\"relay-7f9c\"}");
        assertThat(processes).containsExactly(new RelayProcess("http://r:9404/health", null, 200, "UP", "LEADER", 12L,
                123456L, 3L, 0L, "relay-7f9c", null));
        assertThat(processes.get(0).healthy()).isTrue();
    }

    @Test
    void readsAProcessRunningSeveralRelaysAndAFailedOne() {
        List<RelayProcess> processes = ServiceProbes.parseHealth("u", 503, "{\"status\":\"DOWN\",\"relays\":{"
                + "\"orders-0\":{\"status\":\"UP\",\"role\":\"STANDBY\",\"lagMillis\":0,\"retainedWalBytes\":-1,"
                + "\"leaseEpoch\":0,\"recordsParked\":0,\"instanceId\":\"a\"},"
                + "\"orders-1\":{\"status\":\"DOWN\",\"failure\":\"status unavailable: boom\"}}}");
        assertThat(processes).extracting(RelayProcess::relay).containsExactly("orders-0", "orders-1");
        assertThat(processes.get(0).role()).isEqualTo("STANDBY");
        assertThat(processes.get(1).healthy()).isFalse();
        assertThat(processes.get(1).failure()).isEqualTo("status unavailable: boom");
    }

    @Test
    void aBodyThatIsNotHealthJsonIsAFailureNotAnError() {
        assertThat(ServiceProbes.parseHealth("u", 404, "not found; try /metrics or /health\n")).singleElement()
                .satisfies(process -> assertThat(process.failure()).contains("HTTP 404", "not /health's JSON"));
        assertThat(ServiceProbes.parseHealth("u", 200, "[1, 2]")).singleElement()
                .satisfies(process -> assertThat(process.healthy()).isFalse());
    }
}
