package dev.outboxsaga.saga;

import dev.outboxsaga.core.internal.Json;

/**
 * A participant's answer to a saga command.
 *
 * @param succeeded whether the step took effect
 * @param retryable for a failure: whether trying again may succeed (a timeout, a busy downstream), as
 *                  opposed to a business "no" (insufficient funds), which compensates at once
 * @param reason    why it failed, or null
 * @param payload   a JSON result for the orchestrator's data ({@code {}} when there is none)
 */
public record Reply(boolean succeeded, boolean retryable, String reason, String payload) {

    public Reply {
        payload = payload == null ? "{}" : payload;
        String error = Json.syntaxError(payload);
        if (error != null) {
            throw new IllegalArgumentException("reply payload is not valid JSON: " + error);
        }
        if (succeeded && retryable) {
            throw new IllegalArgumentException("a successful reply cannot be retryable");
        }
    }

    /** The step succeeded, with no result. */
    public static Reply success() {
        return new Reply(true, false, null, "{}");
    }

    /** The step succeeded, with a JSON result. */
    public static Reply success(String payload) {
        return new Reply(true, false, null, payload);
    }

    /** A business refusal: no retry, the saga compensates at once. */
    public static Reply failure(String reason) {
        return new Reply(false, false, reason, "{}");
    }

    /** A transient failure: the orchestrator retries the step per its policy before compensating. */
    public static Reply retryableFailure(String reason) {
        return new Reply(false, true, reason, "{}");
    }
}
