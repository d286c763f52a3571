package dev.outboxsaga.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.relay.RelayConfig;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

class RecordMapperTest {

    private static RelayConfig.Builder config() {
        return RelayConfig.builder()
                .set(RelayConfig.NAME, "r")
                .set(RelayConfig.DATABASE_URL, "jdbc:postgresql://localhost/db")
                .set(RelayConfig.DATABASE_USER, "u")
                .set(RelayConfig.KAFKA_BOOTSTRAP_SERVERS, "localhost:9092");
    }

    private static OutboxRow row(String aggregateType, String payload, String headers) {
        Map<String, String> columns = new LinkedHashMap<>();
        columns.put("id", "01a2171a-d5e7-7107-ac36-0f0e6e3bb8dd");
        columns.put("aggregatetype", aggregateType);
        columns.put("aggregateid", "acc-1");
        columns.put("type", "Debited");
        columns.put("payload", payload);
        columns.put("headers", headers);
        columns.put("correlationid", null);
        columns.put("route", "custom.topic");
        return new OutboxRow("public.outbox_event", columns, 1_700_000_000_000L);
    }

    private static String header(ProducerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    @Test
    void mapsARowLikeTheOutboxEventRouter() throws Exception {
        ProducerRecord<byte[], byte[]> record = new RecordMapper(config().build(), 1 << 20)
                .toRecord(row("account", "{\"amount\": 5}", "{\"traceparent\": \"00-ab-cd-01\", \"tenant\": \"acme\"}"));
        assertThat(record.topic()).isEqualTo("outbox.event.account");
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("acc-1");
        assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo("{\"amount\": 5}");
        assertThat(record.timestamp()).isEqualTo(1_700_000_000_000L);
        assertThat(header(record, "id")).isEqualTo("01a2171a-d5e7-7107-ac36-0f0e6e3bb8dd");
        assertThat(header(record, "eventType")).isEqualTo("Debited");
        assertThat(record.headers().lastHeader("correlationId")).isNotNull();
        assertThat(header(record, "correlationId")).isNull();
        assertThat(header(record, "traceparent")).isEqualTo("00-ab-cd-01");
        assertThat(header(record, "tenant")).isEqualTo("acme");
    }

    @Test
    void routesByPatternOrByAPerRowColumn() throws Exception {
        RecordMapper patterned = new RecordMapper(config().set(RelayConfig.TOPIC_PATTERN, "events.${aggregatetype}.v1").build(), 1 << 20);
        assertThat(patterned.toRecord(row("order", "{}", "{}")).topic()).isEqualTo("events.order.v1");
        RecordMapper perRow = new RecordMapper(config().set(RelayConfig.TOPIC_COLUMN, "route").build(), 1 << 20);
        assertThat(perRow.toRecord(row("order", "{}", "{}")).topic()).isEqualTo("custom.topic");
    }

    @Test
    void refusesRowsThatCannotBecomeRecordsWithTheReason() {
        RecordMapper mapper = new RecordMapper(config().build(), 600);
        assertThatThrownBy(() -> mapper.toRecord(row(" ", "{}", "{}")))
                .hasMessageContaining("routing column aggregatetype is empty");
        assertThatThrownBy(() -> mapper.toRecord(row("a/b", "{}", "{}")))
                .hasMessageContaining("'outbox.event.a/b' is not a valid Kafka topic name");
        assertThatThrownBy(() -> mapper.toRecord(row("a", "\"" + "x".repeat(200) + "\"", "{}")))
                .hasMessageContaining("more than the producer's max.request.size of 600 bytes");
        assertThatThrownBy(() -> mapper.toRecord(row("a", "{}", "[1]")))
                .hasMessageContaining("column headers is not a JSON object");
    }

    @Test
    void aTracedRecordCarriesItsPublishSpanWhichContinuesTheRowsTraceAndEndsWhenTold() {
        InMemorySpanExporter exported = InMemorySpanExporter.create();
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(exported)).build()).build()) {
            RecordMapper mapper = new RecordMapper(config().build(), 1 << 20, RelayTracing.create(sdk, "r"));
            String rowTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
            BatchPublisher.Entry entry = mapper.entry(row("account", "{}", "{\"traceparent\": \"" + rowTrace + "\"}"),
                    Position.START);
            assertThat(exported.getFinishedSpanItems()).as("open until the batch commits").isEmpty();
            entry.span().end();

            SpanData publish = exported.getFinishedSpanItems().get(0);
            assertThat(publish.getName()).isEqualTo("publish outbox.event.account");
            assertThat(publish.getKind()).isEqualTo(SpanKind.PRODUCER);
            assertThat(publish.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
            assertThat(publish.getParentSpanId()).isEqualTo("b7ad6b7169203331");
            assertThat(header(entry.record(), "traceparent"))
                    .isEqualTo("00-0af7651916cd43dd8448eb211c80319c-" + publish.getSpanId() + "-01");
            assertThat(entry.record().headers().headers("traceparent")).hasSize(1);

            BatchPublisher.Entry unpublishable = mapper.entry(row(" ", "{}", "{}"), Position.START);
            assertThat(unpublishable.record()).isNull();
            assertThat(unpublishable.span()).as("no record, no publish span").isNull();
        }
    }
}
