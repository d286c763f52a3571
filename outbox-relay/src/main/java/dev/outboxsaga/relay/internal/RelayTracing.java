package dev.outboxsaga.relay.internal;

import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.core.internal.TracerSource;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;

/**
 * A span per published record (kind PRODUCER, named {@code publish <topic>}), child of the outbox row's
 * {@code traceparent}; the record carries the span's own context as its {@code traceparent}, so the consumer's
 * span is its child. It starts when the row becomes a record and ends when the Kafka transaction holding it has
 * committed (retries included), or the row is parked. Per record rather than per batch: a batch span could only
 * link the rows' traces, and a consumer continuing it would leave the saga's trace. Only created when the
 * OpenTelemetry API is on the class path.
 */
public final class RelayTracing {

    private final TracerSource tracers;
    private final String relayName;

    private RelayTracing(TracerSource tracers, String relayName) {
        this.tracers = tracers;
        this.relayName = relayName;
    }

    /** @param openTelemetry an {@code OpenTelemetry}, or null for the global one once set */
    public static RelayTracing create(Object openTelemetry, String relayName) {
        return new RelayTracing(TracerSource.of(openTelemetry), relayName);
    }

    /** The span of one record on its way to Kafka. */
    public static final class Publish {
        private final Span span;
        private boolean ended;

        Publish(Span span) {
            this.span = span;
        }

        /** The row was parked in outbox_relay_dead_letter instead of published. */
        public void parked(String reason) {
            span.setAttribute("outbox.relay.parked", true);
            span.setStatus(StatusCode.ERROR, reason);
        }

        public void end() {
            if (!ended) {
                ended = true;
                span.end();
            }
        }
    }

    /**
     * Starts the span of publishing {@code record} (before its first send: the headers are still writable) and
     * makes its context the record's {@code traceparent}; null while there is no tracer.
     */
    public Publish start(ProducerRecord<byte[], byte[]> record, String messageId) {
        Tracer tracer = tracers.tracer();
        if (tracer == null) {
            return null;
        }
        SpanContext carried = TracerSource.parse(text(record.headers().lastHeader(MessageHeaders.TRACEPARENT)));
        Span span = tracer.spanBuilder("publish " + record.topic())
                .setParent(carried.isValid() ? Context.root().with(Span.wrap(carried)) : Context.root())
                .setSpanKind(SpanKind.PRODUCER)
                .setAttribute("messaging.system", "kafka")
                .setAttribute("messaging.operation.type", "send")
                .setAttribute("messaging.destination.name", record.topic())
                .setAttribute("messaging.message.id", messageId)
                .setAttribute("outbox.relay.name", relayName)
                .startSpan();
        String own = TracerSource.format(span.getSpanContext());
        if (own != null) {
            record.headers().remove(MessageHeaders.TRACEPARENT);
            record.headers().add(MessageHeaders.TRACEPARENT, own.getBytes(StandardCharsets.UTF_8));
        }
        return new Publish(span);
    }

    private static String text(Header header) {
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
