package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.JsonTextCodec;

/**
 * Turns application payloads into the JSON text stored in the outbox {@code payload} column, and
 * JSON back into application objects on the consuming side.
 *
 * <p>The default, {@link #jsonText()}, takes JSON that the application already has, as a
 * {@link CharSequence} or UTF-8 {@code byte[]}. {@link JacksonPayloadCodec} maps objects with
 * Jackson when {@code jackson-databind} is on the class path.
 */
public interface PayloadCodec {

    /**
     * @return the JSON text for {@code payload}
     * @throws IllegalArgumentException when the payload cannot be encoded
     */
    String encode(Object payload);

    /**
     * @return {@code json} as an instance of {@code type}
     * @throws IllegalArgumentException when the JSON does not fit the type
     */
    <T> T decode(String json, Class<T> type);

    /**
     * The default codec: payloads are JSON already, as a {@link CharSequence} or UTF-8 bytes, and
     * decode to {@link String} or {@code byte[]}. Validity is checked when a message is built.
     */
    static PayloadCodec jsonText() {
        return JsonTextCodec.INSTANCE;
    }
}
