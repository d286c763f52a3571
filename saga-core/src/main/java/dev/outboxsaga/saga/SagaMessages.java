package dev.outboxsaga.saga;

import dev.outboxsaga.core.InboundMessage;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * How saga commands and replies travel: as outbox messages whose aggregate type names the
 * receiver, so the relay's default routing ({@code outbox.event.<aggregatetype>}) gives each
 * participant a command topic and each orchestrating service a reply topic, keyed by saga id (a
 * saga's messages stay in order). The saga id is the correlation id; these headers carry the rest.
 */
public final class SagaMessages {

    /** The saga's type. */
    public static final String SAGA_TYPE = "sagaType";
    /** The step index, from 0. */
    public static final String STEP = "sagaStep";
    /** The step's name. */
    public static final String STEP_NAME = "sagaStepName";
    /** {@code FORWARD}, {@code COMPENSATION} or {@code ABANDON}; replies carry their command's kind too. */
    public static final String COMMAND_KIND = "sagaCommandKind";
    /** The attempt at the step, from 1. */
    public static final String ATTEMPT = "sagaAttempt";
    /** The aggregate type to reply to (the orchestrator's reply channel). */
    public static final String REPLY_TO = "replyTo";
    /** On a reply: the id of the command it answers. */
    public static final String IN_REPLY_TO = "inReplyTo";
    /** On a reply: {@code SUCCESS} or {@code FAILURE}. */
    public static final String OUTCOME = "sagaOutcome";
    /** On a failed reply: {@code true} when trying again may succeed. */
    public static final String RETRYABLE = "retryable";
    /** On a failed reply: why. */
    public static final String REASON = "reason";
    /** {@link #COMMAND_KIND} of a command that carries a step out. */
    public static final String FORWARD = "FORWARD";
    /** {@link #COMMAND_KIND} of a command that undoes a step. */
    public static final String COMPENSATION = "COMPENSATION";
    /**
     * {@link #COMMAND_KIND} of a command that settles a step without compensation that the saga gave up on (no
     * reply in time, or retries used up): the participant answers with the step's final forward reply, first
     * recording a refusal when the forward command has not run there, so that it never runs. Its
     * {@code eventType} is the forward command's type; no handler is called.
     */
    public static final String ABANDON = "ABANDON";
    /** {@link #OUTCOME} of a reply whose step took effect. */
    public static final String SUCCESS = "SUCCESS";
    /** {@link #OUTCOME} of a reply whose step did not. */
    public static final String FAILURE = "FAILURE";

    /** The message type of replies. */
    public static final String REPLY_TYPE = "SagaReply";

    /** Default prefix of topics, as the relay routes by default. */
    public static final String DEFAULT_TOPIC_PREFIX = "outbox.event.";

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");

    private SagaMessages() {
    }

    /** The aggregate type of commands to {@code participant}. */
    public static String commandChannel(String participant) {
        return "saga-command." + requireName("participant", participant);
    }

    /** The aggregate type of replies to the orchestrating {@code service}. */
    public static String replyChannel(String service) {
        return "saga-reply." + requireName("service", service);
    }

    /** Validates a participant or service name: lower-case letters, digits, '.', '_', '-'. */
    public static String requireName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " name must match " + NAME.pattern() + ", but was '" + name + "'");
        }
        return name;
    }

    /** The saga id of a command or reply. */
    static UUID sagaId(InboundMessage message) {
        String correlation = message.correlationId();
        if (correlation == null) {
            throw new SagaException("message " + message.id() + " has no correlation id (saga id)");
        }
        try {
            return UUID.fromString(correlation);
        } catch (IllegalArgumentException e) {
            throw new SagaException("message " + message.id() + " has a correlation id that is not a saga id: '"
                    + correlation + "'");
        }
    }

    static String required(InboundMessage message, String header) {
        String value = message.headers().get(header);
        if (value == null || value.isBlank()) {
            throw new SagaException("message " + message.id() + " (" + message.type() + ") lacks header " + header);
        }
        return value;
    }

    static int requiredInt(InboundMessage message, String header) {
        String value = required(message, header);
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new SagaException("message " + message.id() + " has header " + header + "='" + value
                    + "', not a number");
        }
    }
}
