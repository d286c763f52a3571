package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanContext;
import org.junit.jupiter.api.Test;

class TracerSourceTest {

    @Test
    void readsAndWritesW3cTraceparents() {
        String value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        SpanContext context = TracerSource.parse(value);
        assertThat(context.isValid()).isTrue();
        assertThat(context.isRemote()).isTrue();
        assertThat(context.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(context.getSpanId()).isEqualTo("b7ad6b7169203331");
        assertThat(context.isSampled()).isTrue();
        assertThat(TracerSource.format(context)).isEqualTo(value);
        assertThat(TracerSource.parse(value + "-extra").isValid()).as("a later version's extra field").isTrue();
    }

    @Test
    void aMalformedTraceparentNamesNoContext() {
        for (String bad : new String[] {null, "", "00-ab-cd-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
                "00-00000000000000000000000000000000-b7ad6b7169203331-01", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x"}) {
            assertThat(TracerSource.parse(bad).isValid()).as(bad).isFalse();
        }
        assertThat(TracerSource.format(SpanContext.getInvalid())).isNull();
    }

    @Test
    void withoutAGivenOrGlobalOpenTelemetryThereIsNoTracerAndTheGlobalStaysSettable() {
        TracerSource source = TracerSource.of(null);
        assertThat(source.tracer()).isNull();
        assertThat(GlobalOpenTelemetry.isSet()).as("not pinned to a no-op by looking").isFalse();
        assertThat(TracerSource.of(OpenTelemetry.noop()).tracer()).as("a given one, even a no-op").isNotNull();
    }
}
