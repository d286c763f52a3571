package dev.outboxsaga.core.internal;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tracer of one component: that of the {@link OpenTelemetry} it was given, or else the global one,
 * once the application (or the Java agent) has set it. Read with {@link GlobalOpenTelemetry#getOrNoop()}, as
 * OpenTelemetry advises libraries: {@link GlobalOpenTelemetry#get()} would install a no-op for good when nothing
 * is set yet, and the application's own {@code GlobalOpenTelemetry.set} would then fail. Until a global one is
 * set (looked for again once a second) there is no tracer, and nothing is traced.
 *
 * <p>Also reads and writes W3C {@code traceparent} values, the outbox's wire form of a span context.
 */
public final class TracerSource {

    /** The instrumentation scope of every span outbox-saga makes. */
    public static final String SCOPE = "dev.outboxsaga";
    private static final long LOOK_AGAIN_NANOS = 1_000_000_000L;
    private static final Logger LOG = LoggerFactory.getLogger(TracerSource.class);

    private final OpenTelemetry given;
    private volatile Tracer tracer;
    private volatile long nextLookNanos = System.nanoTime();
    private static volatile boolean olderApiReported;

    private TracerSource(OpenTelemetry given) {
        this.given = given;
        this.tracer = given == null ? null : given.getTracer(SCOPE);
    }

    /** @param openTelemetry an {@link OpenTelemetry}, or null for the global one once set */
    public static TracerSource of(Object openTelemetry) {
        return new TracerSource((OpenTelemetry) openTelemetry);
    }

    /** The tracer, or null while no OpenTelemetry was given and the application has set no global one. */
    public Tracer tracer() {
        Tracer known = tracer;
        if (known != null || given != null) {
            return known;
        }
        long now = System.nanoTime();
        if (now - nextLookNanos < 0) {
            return null;
        }
        nextLookNanos = now + LOOK_AGAIN_NANOS;
        OpenTelemetry global;
        try {
            global = GlobalOpenTelemetry.getOrNoop();
        } catch (NoSuchMethodError olderApi) {
            // An API from before getOrNoop: never look again (get() would pin the no-op), say so once.
            nextLookNanos = now + Long.MAX_VALUE / 2;
            if (!olderApiReported) {
                olderApiReported = true;
                LOG.info("the OpenTelemetry API on the class path has no GlobalOpenTelemetry.getOrNoop; outbox-saga "
                        + "traces only with an OpenTelemetry given to its builders");
            }
            return null;
        }
        if (global == OpenTelemetry.noop()) {
            return null;
        }
        Tracer found = global.getTracer(SCOPE);
        tracer = found;
        return found;
    }

    /** The span context a {@code traceparent} value names, or the invalid context when it names none. */
    public static SpanContext parse(String traceparent) {
        // version-traceid-spanid-flags: 00-<32 hex>-<16 hex>-<2 hex>; later versions may append fields.
        if (traceparent == null || traceparent.length() < 55 || traceparent.charAt(2) != '-'
                || traceparent.charAt(35) != '-' || traceparent.charAt(52) != '-'
                || (traceparent.length() > 55 && traceparent.charAt(55) != '-') || traceparent.startsWith("ff")) {
            return SpanContext.getInvalid();
        }
        try {
            return SpanContext.createFromRemoteParent(traceparent.substring(3, 35), traceparent.substring(36, 52),
                    TraceFlags.fromHex(traceparent, 53), TraceState.getDefault());
        } catch (RuntimeException malformed) {
            return SpanContext.getInvalid();
        }
    }

    /** The {@code traceparent} value of {@code context}, or null when it is invalid. */
    public static String format(SpanContext context) {
        if (!context.isValid()) {
            return null;
        }
        return "00-" + context.getTraceId() + "-" + context.getSpanId() + "-" + context.getTraceFlags().asHex();
    }
}
