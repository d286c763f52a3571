package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.OutboxMessage;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;

/**
 * The span of an outbox append (kind PRODUCER, named {@code append <aggregatetype>}). Its parent is the
 * current span (an inbox handler's, so that what a handler sends continues the trace it received), else
 * the message's own {@code traceparent}; its context becomes the row's {@code traceparent}, which the relay
 * and the consumers continue. Only created when the OpenTelemetry API is on the class path.
 */
public final class OutboxTracing {

    private final TracerSource tracers;

    private OutboxTracing(TracerSource tracers) {
        this.tracers = tracers;
    }

    /** @param openTelemetry an {@code OpenTelemetry}, or null for the global one once set */
    public static OutboxTracing create(Object openTelemetry) {
        return new OutboxTracing(TracerSource.of(openTelemetry));
    }

    /** One append in progress. */
    public static final class Append {
        private final Span span;
        private final String traceparent;

        Append(Span span, String traceparent) {
            this.span = span;
            this.traceparent = traceparent;
        }

        /** The row's {@code traceparent}: the span's context, or the message's own when the span has none. */
        public String traceparent() {
            return traceparent;
        }

        public void failed(Throwable failure) {
            span.recordException(failure);
            span.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
        }

        public void end() {
            span.end();
        }
    }

    /** Starts the span of appending {@code message} to {@code table}; null while there is no tracer. */
    public Append start(OutboxMessage message, String table) {
        Tracer tracer = tracers.tracer();
        if (tracer == null) {
            return null;
        }
        Context parent = Context.current();
        if (!Span.fromContext(parent).getSpanContext().isValid()) {
            SpanContext carried = TracerSource.parse(message.traceparent());
            parent = carried.isValid() ? Context.root().with(Span.wrap(carried)) : Context.root();
        }
        Span span = tracer.spanBuilder("append " + message.aggregateType())
                .setParent(parent)
                .setSpanKind(SpanKind.PRODUCER)
                .setAttribute("messaging.operation.type", "create")
                .setAttribute("messaging.message.id", message.id().toString())
                .setAttribute("outbox.table", table)
                .setAttribute("outbox.aggregate.type", message.aggregateType())
                .setAttribute("outbox.aggregate.id", message.aggregateId())
                .setAttribute("outbox.message.type", message.type())
                .startSpan();
        if (message.correlationId() != null) {
            span.setAttribute("messaging.message.conversation_id", message.correlationId());
        }
        String own = TracerSource.format(span.getSpanContext());
        return new Append(span, own != null ? own : message.traceparent());
    }
}
