package dev.outboxsaga.saga;

import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.internal.Json;

/**
 * A participant's answer to a saga command.
 *
 * <p>The result travels as JSON. Give it as JSON text ({@link #success(String)}) or as an object
 * ({@link #success(Object)}, {@link #failure(String, Object)}), which the participant encodes with its
 * {@linkplain SagaParticipant.Builder#payloadCodec payload codec} before the reply is stored and sent; the
 * orchestrator reads it back typed with {@link SagaDefinition.StepBuilder#onReply}. Both forms give the
 * same message on the wire.
 *
 * @param succeeded whether the step took effect
 * @param retryable for a failure: whether trying again may succeed (a timeout, a busy downstream), as
 *                  opposed to a business "no" (insufficient funds), which compensates at once
 * @param reason    why it failed (for {@link #failure(String, Object)} its code), or null
 * @param payload   the result as JSON ({@code {}} when there is none); null while {@code value} is not encoded
 * @param value     the result as an object, not yet encoded, or null
 */
public record Reply(boolean succeeded, boolean retryable, String reason, String payload, Object value) {

    public Reply {
        if (value != null && payload != null) {
            throw new IllegalArgumentException("a reply carries its result as JSON text or as an object, not both");
        }
        if (value == null) {
            payload = payload == null ? "{}" : payload;
            String error = Json.syntaxError(payload);
            if (error != null) {
                throw new IllegalArgumentException("reply payload is not valid JSON: " + error);
            }
        }
        if (succeeded && retryable) {
            throw new IllegalArgumentException("a successful reply cannot be retryable");
        }
    }

    /** A reply whose result is JSON text ({@code {}} when null). */
    public Reply(boolean succeeded, boolean retryable, String reason, String payload) {
        this(succeeded, retryable, reason, payload == null ? "{}" : payload, null);
    }

    /** The step succeeded, with no result. */
    public static Reply success() {
        return new Reply(true, false, null, "{}");
    }

    /** The step succeeded, with a JSON result. */
    public static Reply success(String payload) {
        return new Reply(true, false, null, payload);
    }

    /**
     * The step succeeded, with a result the participant encodes with its payload codec (with the default
     * Jackson codec: a record or bean; a {@link CharSequence} is taken as JSON text).
     *
     * @throws IllegalArgumentException when {@code result} is null
     */
    public static Reply success(Object result) {
        if (result == null) {
            throw new IllegalArgumentException("result must not be null; use Reply.success() for none");
        }
        return new Reply(true, false, null, null, result);
    }

    /** A business refusal: no retry, the saga compensates at once. */
    public static Reply failure(String reason) {
        return new Reply(false, false, reason, "{}");
    }

    /**
     * A business refusal with a machine-readable {@code code} (the reply's reason, e.g.
     * {@code insufficient-funds}) and {@code details} the participant encodes with its payload codec.
     *
     * @throws IllegalArgumentException when {@code code} is blank or {@code details} null
     */
    public static Reply failure(String code, Object details) {
        if (code == null || code.isBlank()) {
            throw new IllegalArgumentException("failure code must not be blank, but was "
                    + (code == null ? "null" : "'" + code + "'"));
        }
        if (details == null) {
            throw new IllegalArgumentException("failure details must not be null; use Reply.failure(code) for none");
        }
        return new Reply(false, false, code, null, details);
    }

    /** A transient failure: the orchestrator retries the step per its policy before compensating. */
    public static Reply retryableFailure(String reason) {
        return new Reply(false, true, reason, "{}");
    }

    /**
     * This reply with its {@link #value()} encoded by {@code codec} into {@link #payload()}; this reply itself
     * when it has no value. The participant does this before storing and sending a reply.
     *
     * @throws IllegalArgumentException when the codec cannot encode the value, or encodes it to invalid JSON
     */
    public Reply encodedWith(PayloadCodec codec) {
        if (value == null) {
            return this;
        }
        return new Reply(succeeded, retryable, reason, codec.encode(value), null);
    }
}
