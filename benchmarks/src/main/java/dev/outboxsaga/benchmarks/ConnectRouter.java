package dev.outboxsaga.benchmarks;

import dev.outboxsaga.testkit.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.cli.ConnectDistributed;
import org.apache.kafka.connect.runtime.Connect;
import org.apache.kafka.connect.runtime.distributed.DistributedHerder;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfos;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;

/**
 * The setup a user would pick instead of the relay: a Kafka Connect distributed worker (inside this
 * JVM, plugins from the class path) running Debezium's PostgreSQL connector with the outbox
 * EventRouter SMT, exactly-once source support enabled or disabled. Converters are
 * {@code StringConverter}s, so Kafka gets the same bytes as from the relay; the extra header fields
 * match {@link StockDebezium}. Offsets, configs and status live in Kafka topics unique to this run.
 *
 * <p>The slot and the publication are created by the constructor, so that rows written before
 * {@link #start()} are streamed too (the drain measurement loads a backlog first).
 */
final class ConnectRouter implements AutoCloseable {

    static final String SLOT = "connect_slot";
    private static final String PUBLICATION = "connect_pub";
    private static final Duration START_TIMEOUT = Duration.ofMinutes(2);

    private final TestDatabase db;
    private final String bootstrapServers;
    private final boolean exactlyOnce;
    private final String id = UUID.randomUUID().toString().substring(0, 8);
    private Connect<DistributedHerder> connect;

    ConnectRouter(TestDatabase db, String bootstrapServers, boolean exactlyOnce) {
        this.db = db;
        this.bootstrapServers = bootstrapServers;
        this.exactlyOnce = exactlyOnce;
        db.execute("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE public.outbox_event WITH (publish = 'insert')");
        db.execute("SELECT pg_create_logical_replication_slot('" + SLOT + "', 'pgoutput')");
    }

    /** Starts the worker, registers the connector and waits until its task is RUNNING. */
    void start() throws Exception {
        Map<String, String> worker = new HashMap<>();
        worker.put("bootstrap.servers", bootstrapServers);
        worker.put("group.id", "bench-connect-" + id);
        worker.put("config.storage.topic", "bench-connect-configs-" + id);
        worker.put("offset.storage.topic", "bench-connect-offsets-" + id);
        worker.put("status.storage.topic", "bench-connect-status-" + id);
        worker.put("config.storage.replication.factor", "1");
        worker.put("offset.storage.replication.factor", "1");
        worker.put("status.storage.replication.factor", "1");
        worker.put("offset.storage.partitions", "1");
        worker.put("status.storage.partitions", "1");
        worker.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        worker.put("value.converter", "org.apache.kafka.connect.storage.StringConverter");
        // Plugins come from the class path through their ServiceLoader manifests: no plugin.path here.
        worker.put("plugin.discovery", "service_load");
        worker.put("listeners", "http://127.0.0.1:0");
        worker.put("exactly.once.source.support", exactlyOnce ? "enabled" : "disabled");
        connect = new ConnectDistributed().startConnect(worker);

        String name = "bench-router-" + id;
        // The same connector settings as the stock baseline; offsets live in the worker's topic instead of a file.
        Map<String, String> connector = new HashMap<>();
        Infrastructure.engineProperties(db, name, SLOT, PUBLICATION).forEach((key, value) ->
                connector.put((String) key, (String) value));
        connector.remove("offset.storage");
        connector.remove("offset.storage.file.filename");
        connector.put("tasks.max", "1");
        connector.put("publication.autocreate.mode", "filtered");
        connector.put("tombstones.on.delete", "false");
        connector.put("transforms", "outbox");
        connector.put("transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
        connector.put("transforms.outbox.route.topic.replacement", "outbox.event.${routedByValue}");
        connector.put("transforms.outbox.table.fields.additional.placement",
                "type:header:eventType,correlationid:header:correlationId");
        validate(connector);
        CompletableFuture<Object> created = new CompletableFuture<>();
        connect.herder().putConnectorConfig(name, connector, false, (error, result) -> {
            if (error != null) {
                created.completeExceptionally(error);
            } else {
                created.complete(result);
            }
        });
        created.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            String state = taskState(name);
            if ("RUNNING".equals(state)) {
                return;
            }
            if ("FAILED".equals(state) || System.nanoTime() > deadline) {
                throw new IllegalStateException("connector task " + name + " is " + state + ": "
                        + connect.herder().connectorStatus(name).tasks());
            }
            Thread.sleep(20); // polling the herder's status: it offers no callback for task state
        }
    }

    /**
     * Validates the connector config first: the herder's own error report on a put fails with a
     * NullPointerException on some invalid configs (an entry without a value), which hides the error.
     */
    private void validate(Map<String, String> connector) throws Exception {
        CompletableFuture<ConfigInfos> validated = new CompletableFuture<>();
        connect.herder().validateConnectorConfig(connector, (error, result) -> {
            if (error != null) {
                validated.completeExceptionally(error);
            } else {
                validated.complete(result);
            }
        });
        ConfigInfos infos = validated.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (infos.errorCount() > 0) {
            List<String> errors = new ArrayList<>();
            for (ConfigInfo info : infos.configs()) {
                if (info.configValue() != null && !info.configValue().errors().isEmpty()) {
                    errors.add(info.configValue().name() + ": " + info.configValue().errors());
                }
            }
            throw new IllegalStateException("invalid connector config (" + infos.errorCount() + " errors): " + errors);
        }
    }

    private String taskState(String name) {
        try {
            ConnectorStateInfo status = connect.herder().connectorStatus(name);
            return status.tasks().isEmpty() ? "NO TASK" : status.tasks().get(0).state();
        } catch (RuntimeException notYetKnown) {
            return "UNKNOWN";
        }
    }

    @Override
    public void close() {
        if (connect != null) {
            connect.stop();
            connect.awaitStop();
        }
    }
}
