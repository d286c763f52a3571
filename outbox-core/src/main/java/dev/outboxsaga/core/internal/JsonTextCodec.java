package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.PayloadCodec;
import java.nio.charset.StandardCharsets;

/** The default codec; see {@link PayloadCodec#jsonText()}. */
public enum JsonTextCodec implements PayloadCodec {
    INSTANCE;

    @Override
    public String encode(Object payload) {
        if (payload instanceof CharSequence text) {
            return text.toString();
        }
        if (payload instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        throw new IllegalArgumentException("the jsonText codec takes JSON as a String or UTF-8 byte[], not "
                + (payload == null ? "null" : payload.getClass().getName())
                + "; configure JacksonPayloadCodec (or your own PayloadCodec) to send objects");
    }

    @Override
    public <T> T decode(String json, Class<T> type) {
        if (type == String.class || type == CharSequence.class || type == Object.class) {
            return type.cast(json);
        }
        if (type == byte[].class) {
            return type.cast(json.getBytes(StandardCharsets.UTF_8));
        }
        throw new IllegalArgumentException("the jsonText codec decodes to String or byte[], not " + type.getName()
                + "; configure JacksonPayloadCodec (or your own PayloadCodec) to read objects");
    }
}
