package dev.outboxsaga.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A {@link PayloadCodec} backed by a Jackson {@link ObjectMapper}. Needs {@code jackson-databind}
 * on the class path; outbox-core declares it optional, so add it to your own build to use this.
 * Strings are taken as JSON text already, as with {@link PayloadCodec#jsonText()}.
 */
public final class JacksonPayloadCodec implements PayloadCodec {

    private final ObjectMapper mapper;

    private JacksonPayloadCodec(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** A codec over the given mapper, which the caller configures (modules, naming, dates). */
    public static JacksonPayloadCodec create(ObjectMapper mapper) {
        if (mapper == null) {
            throw new IllegalArgumentException("mapper must not be null");
        }
        return new JacksonPayloadCodec(mapper);
    }

    /** A codec over a plain {@code new ObjectMapper()} with modules found on the class path. */
    public static JacksonPayloadCodec create() {
        return new JacksonPayloadCodec(new ObjectMapper().findAndRegisterModules());
    }

    @Override
    public String encode(Object payload) {
        if (payload instanceof CharSequence text) {
            return text.toString();
        }
        try {
            return mapper.writeValueAsString(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("payload of type " + payload.getClass().getName()
                    + " cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public <T> T decode(String json, Class<T> type) {
        if (type == String.class) {
            return type.cast(json);
        }
        try {
            return mapper.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("payload cannot be read as " + type.getName() + ": "
                    + e.getOriginalMessage(), e);
        }
    }
}
