package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.MessageHeaders;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * The span of one attempt at handling a record (kind CONSUMER, named {@code process <topic>}), child of
 * the record's {@code traceparent}. It is the current span while the handler runs, so what the handler
 * appends to the outbox continues the trace, and ends when the attempt's transaction has committed or
 * rolled back, with the outcome. Only created when the OpenTelemetry API is on the class path.
 */
public final class InboxTracing {

    private final TracerSource tracers;
    private final String consumer;
    private final String group;

    private InboxTracing(TracerSource tracers, String consumer, String group) {
        this.tracers = tracers;
        this.consumer = consumer;
        this.group = group;
    }

    /** @param openTelemetry an {@code OpenTelemetry}, or null for the global one once set */
    public static InboxTracing create(Object openTelemetry, String consumer, String group) {
        return new InboxTracing(TracerSource.of(openTelemetry), consumer, group);
    }

    /** One attempt at a record. */
    public static final class Handling {
        private final Span span;
        private Scope scope;

        Handling(Span span) {
            this.span = span;
        }

        /** Makes the span current on this thread, until {@link #exit()}. */
        public void enter() {
            scope = span.makeCurrent();
        }

        public void exit() {
            if (scope != null) {
                scope.close();
                scope = null;
            }
        }

        /** Ends the span with what became of the record; an error status when {@code failure} is given. */
        public void end(String outcome, Throwable failure) {
            span.setAttribute("outbox.inbox.outcome", outcome);
            if (failure != null) {
                span.recordException(failure);
                span.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
            }
            span.end();
        }
    }

    /** Starts the span of an attempt at {@code record}; null while there is no tracer. */
    public Handling start(ConsumerRecord<byte[], byte[]> record, int attempt) {
        Tracer tracer = tracers.tracer();
        if (tracer == null) {
            return null;
        }
        SpanContext carried = TracerSource.parse(text(record.headers().lastHeader(MessageHeaders.TRACEPARENT)));
        Span span = tracer.spanBuilder("process " + record.topic())
                .setParent(carried.isValid() ? Context.root().with(Span.wrap(carried)) : Context.root())
                .setSpanKind(SpanKind.CONSUMER)
                .setAttribute("messaging.system", "kafka")
                .setAttribute("messaging.operation.type", "process")
                .setAttribute("messaging.destination.name", record.topic())
                .setAttribute("messaging.destination.partition.id", Integer.toString(record.partition()))
                .setAttribute("messaging.kafka.offset", record.offset())
                .setAttribute("messaging.consumer.group.name", group)
                .setAttribute("outbox.inbox.consumer", consumer)
                .setAttribute("outbox.inbox.attempt", attempt)
                .startSpan();
        String id = text(record.headers().lastHeader(MessageHeaders.ID));
        if (id != null) {
            span.setAttribute("messaging.message.id", id);
        }
        return new Handling(span);
    }

    private static String text(Header header) {
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
