package dev.outboxsaga.console.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.console.ConsoleConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * What a service's database cannot say: its relay processes' {@code /health} and its inbox consumers' lag in Kafka.
 * Each answer carries its own failure instead of throwing, so one unreachable relay or broker shows on its service
 * and breaks nothing else. Every call is bounded by a few seconds.
 */
public final class ServiceProbes implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ConsoleConfig.Service service;
    private final HttpClient http;
    private Admin admin;

    public ServiceProbes(ConsoleConfig.Service service, HttpClient http) {
        this.service = service;
        this.http = http;
    }

    /** Every configured relay process, asked at once. */
    public List<RelayProcess> relays() {
        List<CompletableFuture<List<RelayProcess>>> answers = new ArrayList<>();
        for (URI url : service.relays()) {
            String shown = ConsoleConfig.Service.displayUrl(url);
            HttpRequest request = HttpRequest.newBuilder(url).timeout(TIMEOUT).GET().build();
            answers.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                    .thenApply(response -> parseHealth(shown, response.statusCode(), response.body()))
                    .exceptionally(failure -> List.of(unreachable(shown, "could not ask " + shown + ": "
                            + rootMessage(failure)))));
        }
        List<RelayProcess> processes = new ArrayList<>();
        for (CompletableFuture<List<RelayProcess>> answer : answers) {
            processes.addAll(answer.join());
        }
        return processes;
    }

    /** The lag of every configured consumer group; empty without a Kafka cluster. */
    public List<ConsumerLag> consumerLags() {
        List<ConsumerLag> lags = new ArrayList<>();
        for (String group : service.consumers()) {
            try {
                lags.add(lag(group));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                lags.add(new ConsumerLag(group, -1, 0, "interrupted"));
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                lags.add(new ConsumerLag(group, -1, 0, "could not read the lag from Kafka: " + rootMessage(e)));
            }
        }
        return lags;
    }

    private ConsumerLag lag(String group) throws InterruptedException, ExecutionException, TimeoutException {
        Admin client = admin();
        Map<TopicPartition, OffsetAndMetadata> committed = client.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
        committed.forEach((partition, offset) -> {
            if (offset != null) {
                ends.put(partition, OffsetSpec.latest());
            }
        });
        if (ends.isEmpty()) {
            return new ConsumerLag(group, 0, 0, committed.isEmpty() ? "no committed offsets (group unknown or not started)" : null);
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> latest = client
                .listOffsets(ends, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        long lag = 0;
        for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end : latest.entrySet()) {
            lag += Math.max(0, end.getValue().offset() - committed.get(end.getKey()).offset());
        }
        return new ConsumerLag(group, lag, ends.size(), null);
    }

    private synchronized Admin admin() {
        if (admin == null) {
            Properties properties = new Properties();
            properties.putAll(service.kafkaClientProperties());
            properties.put(AdminClientConfig.CLIENT_ID_CONFIG, "outbox-console-" + service.name());
            properties.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
            properties.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
            admin = Admin.create(properties);
        }
        return admin;
    }

    @Override
    public synchronized void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
    }

    /** The single-relay body, or {@code {"status": ..., "relays": {name: body, ...}}} of a process running several. */
    static List<RelayProcess> parseHealth(String url, int httpStatus, String body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (Exception e) {
            return List.of(new RelayProcess(url, null, httpStatus, null, null, null, null, null, null, null,
                    "answered HTTP " + httpStatus + " with a body that is not /health's JSON"));
        }
        if (root == null || !root.isObject()) {
            return List.of(new RelayProcess(url, null, httpStatus, null, null, null, null, null, null, null,
                    "answered HTTP " + httpStatus + " with a body that is not /health's JSON"));
        }
        List<RelayProcess> processes = new ArrayList<>();
        if (root.has("relays") && root.get("relays").isObject()) {
            root.get("relays").properties().forEach(entry ->
                    processes.add(process(url, entry.getKey(), httpStatus, entry.getValue())));
        } else {
            processes.add(process(url, null, httpStatus, root));
        }
        return processes;
    }

    private static RelayProcess process(String url, String relay, int httpStatus, JsonNode node) {
        return new RelayProcess(url, relay, httpStatus, text(node, "status"), text(node, "role"), number(node, "lagMillis"),
                number(node, "retainedWalBytes"), number(node, "leaseEpoch"), number(node, "recordsParked"),
                text(node, "instanceId"), text(node, "failure"));
    }

    private static RelayProcess unreachable(String url, String why) {
        return new RelayProcess(url, null, 0, null, null, null, null, null, null, null, why);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static Long number(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || !value.isNumber() ? null : value.asLong();
    }

    static String rootMessage(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
