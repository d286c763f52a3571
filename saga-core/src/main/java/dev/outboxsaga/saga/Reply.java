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
 * <p>{@link #deferred(String)} is no answer yet: the handler accepted the command and the answer comes later, from
 * {@link PendingReplies#complete}. It is neither a success nor a failure ({@code succeeded()} and
 * {@code retryable()} are false, {@code deferred()} true) and is never sent.
 *
 * @param succeeded whether the step took effect
 * @param retryable for a failure: whether trying again may succeed (a timeout, a busy downstream), as
 *                  opposed to a business "no" (insufficient funds), which compensates at once
 * @param reason    why it failed (for {@link #failure(String, Object)} its code), why a deferred answer waits, or null
 * @param payload   the result as JSON ({@code {}} when there is none); null while {@code value} is not encoded
 * @param value     the result as an object, not yet encoded, or null
 * @param deferred  whether this is {@link #deferred(String)}: the command accepted, the answer to come later
 */
public record Reply(boolean succeeded, boolean retryable, String reason, String payload, Object value,
        boolean deferred) {

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
        if (deferred && (succeeded || retryable || value != null || !"{}".equals(payload))) {
            throw new IllegalArgumentException("a deferred reply is neither a success nor a failure and carries no "
                    + "result: the answer given later through PendingReplies.complete does");
        }
    }

    /** A reply given now, whose result is JSON text or an object. */
    public Reply(boolean succeeded, boolean retryable, String reason, String payload, Object value) {
        this(succeeded, retryable, reason, payload, value, false);
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
     * No answer yet: the handler accepted the command and the step's answer comes later, from another transaction
     * or process ({@link PendingReplies#complete}), e.g. after a person approved it. What the handler wrote commits
     * with the inbox record, as a success's writes do; nothing is sent, and the participant records the step as
     * pending ({@link PendingReplies#list}). The step's timeout still runs at the orchestrator: an answer after it is
     * ignored there, and the saga's compensation of the step closes the pending command (its compensation handler
     * runs, so it must undo what the acceptance wrote; a step without compensation is abandoned instead, with nothing
     * to undo the acceptance, so write nothing on accepting there). Only a forward command may be deferred.
     *
     * @param reason why the answer waits, e.g. {@code "awaiting a manager's approval"}, shown with the pending
     *               command ({@link PendingCommand#reason()}); may be null
     */
    public static Reply deferred(String reason) {
        return new Reply(false, false, reason, "{}", null, true);
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
        return new Reply(succeeded, retryable, reason, codec.encode(value), null, deferred);
    }
}
