package dev.outboxsaga.saga;

import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.InboxConsumer;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.core.internal.AfterCommit;
import dev.outboxsaga.saga.internal.ParticipantReplies;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * A service's side of sagas: receives commands on {@code outbox.event.saga-command.<name>}, runs the
 * {@link CommandHandler} for the command type in one transaction with the inbox record, the stored
 * reply and the reply message (through the outbox).
 *
 * <p>Effect once per saga step: the reply of each (saga, step, forward or compensation) is stored
 * with its effect, so a command sent again (the orchestrator retrying after a timeout) gets the
 * same reply without running the handler twice. A compensation for a step this participant never
 * carried out (it failed, or its command never arrived before the saga gave up) succeeds without
 * calling the handler. Retryable failures are not stored, so a retry runs the handler again.
 *
 * <p>No effect after the saga gave up: a forward command that arrives after its step's compensation
 * is refused, and so is one that arrives after the saga abandoned the step ({@link SagaMessages#ABANDON},
 * sent for a step without compensation): the abandon answers with the stored forward reply if the
 * command ran, and otherwise stores a refusal that answers the command whenever it comes. A handler's
 * failure reply rolls back what the handler did before the refusal is stored (see {@link CommandHandler}).
 *
 * <p>Answers later: a handler may accept a forward command and defer its answer ({@link Reply#deferred(String)}, e.g.
 * until a person approves). Its writes commit with the inbox record, nothing is sent, and the step is recorded as
 * pending here; {@link #pendingReplies()} (or {@link PendingReplies} in a process without a participant) lists such
 * commands and answers them, through the outbox, as the handler would have. While a command is pending, the same
 * command sent again (the orchestrator retrying after its timeout) does not run the handler and gets no answer yet;
 * the answer, when it comes, refers to that latest attempt. A compensation of a pending step runs the compensation
 * handler (the acceptance may have had effects) and closes the pending command, and an abandon closes it with a
 * refusal: a later answer is refused with the reason.
 *
 * <p>Typed messages: a handler reads the command with {@link MessageContext#payload(Class)} and may answer
 * with an object ({@link Reply#success(Object)}, {@link Reply#failure(String, Object)}), both through the
 * {@linkplain Builder#payloadCodec payload codec}. A command whose payload cannot be decoded is not retried:
 * by default it is refused with the reason ({@link UndecodableCommands}).
 *
 * <pre>{@code
 * SagaParticipant bank = SagaParticipant.builder()
 *         .name("bank-a").dataSource(dataSource).bootstrapServers(kafka)
 *         .handle("Debit", (command, context) -> debit(context.connection(), context.payload(Debit.class)))
 *         .handle("Refund", (command, context) -> refund(context.connection(), context.payload(Refund.class)))
 *         .build().start();
 * }</pre>
 */
public final class SagaParticipant implements AutoCloseable {

    private static final String FORWARD = SagaMessages.FORWARD;
    private static final String COMPENSATION = SagaMessages.COMPENSATION;

    /**
     * What becomes of a command whose payload the handler cannot decode through
     * {@link MessageContext#payload(Class)} (a sender on another version of the command's type, a bug): retrying
     * cannot help, so it is never retried.
     */
    public enum UndecodableCommands {
        /**
         * Answer with a business failure whose reason says why the payload could not be read, as a handler's
         * {@link Reply#failure(String)}: the handler's work is rolled back, the refusal stored, the saga
         * compensates the steps before. An undecodable compensation fails the same way, so the saga retries it
         * per its policy and then parks for an operator.
         */
        FAIL,
        /**
         * Park the command in the inbox's dead letters at once, without a reply: the saga waits at the step
         * until its timeout, and an operator can fix the handler and replay the command.
         */
        PARK
    }

    private final String name;
    private final Map<String, CommandHandler> handlers;
    private final PayloadCodec codec;
    private final UndecodableCommands undecodable;
    private final InboxConsumer consumer;
    private final PendingReplies pendingReplies;

    private SagaParticipant(Builder builder) {
        this.name = builder.name;
        this.handlers = Map.copyOf(builder.handlers);
        this.codec = builder.payloadCodec;
        this.undecodable = builder.undecodableCommands;
        this.pendingReplies = PendingReplies.builder().participant(name).outbox(builder.outbox)
                .payloadCodec(builder.payloadCodec).build();
        InboxConsumer.Builder commands = InboxConsumer.builder()
                .name(name + "-saga-commands")
                .dataSource(builder.dataSource)
                .bootstrapServers(builder.bootstrapServers)
                .kafkaProperties(builder.kafkaProperties)
                .topics(builder.topicPrefix + SagaMessages.commandChannel(name))
                .outbox(builder.outbox)
                .payloadCodec(builder.payloadCodec)
                .concurrency(builder.concurrency)
                .parallelism(builder.parallelism)
                .retryPolicy(builder.retry.retryingOnly(failure -> !(failure instanceof SagaException)
                        && builder.retry.retryable().test(failure)))
                .handler(this::onCommand);
        // The casts run only when set, so that without Micrometer or OpenTelemetry none of their classes is loaded.
        if (builder.meterRegistry != null) {
            commands.meterRegistry((MeterRegistry) builder.meterRegistry);
        }
        if (builder.openTelemetry != null) {
            commands.openTelemetry((OpenTelemetry) builder.openTelemetry);
        }
        this.consumer = commands.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public SagaParticipant start() {
        consumer.start();
        return this;
    }

    /** The inbox consumer underneath: its counts and dead letters (commands that could not be handled). */
    public InboxConsumer consumer() {
        return consumer;
    }

    public String name() {
        return name;
    }

    /**
     * The commands this participant's handlers accepted with a deferred answer ({@link Reply#deferred(String)}), and
     * the way to answer them; with this participant's name, outbox and payload codec. Needs no running consumer.
     */
    public PendingReplies pendingReplies() {
        return pendingReplies;
    }

    @Override
    public void close() {
        consumer.close();
    }

    private void onCommand(InboundMessage message, MessageContext context) throws Exception {
        String commandKind = SagaMessages.required(message, SagaMessages.COMMAND_KIND);
        SagaCommand command = read(message);
        Connection connection = context.connection();
        Reply reply = switch (commandKind) {
            case SagaMessages.ABANDON -> abandon(command, connection);
            case COMPENSATION -> compensate(command, context, connection);
            default -> forward(command, context, connection);
        };
        if (reply != null) {
            context.send(replyMessage(context.newMessage(), command.sagaId(), command.replyTo(), command.id(),
                    commandKind, command.stepIndex(), reply));
        }
    }

    /** The reply to a forward command; null when its answer is deferred, or still pending from an earlier attempt. */
    private Reply forward(SagaCommand command, MessageContext context, Connection connection) throws Exception {
        ParticipantReplies.Stored stored = ParticipantReplies.lock(connection, name, command.sagaId(),
                command.stepIndex(), FORWARD);
        if (stored != null && stored.pending()) {
            // Accepted before, not answered yet: the answer, when it comes, refers to this attempt, which is the one
            // the orchestrator awaits now. Nothing to send until then.
            ParticipantReplies.retried(connection, name, command);
            return null;
        }
        if (stored != null) {
            return stored.reply();
        }
        Reply reply;
        if (ParticipantReplies.find(connection, name, command.sagaId(), command.stepIndex(), COMPENSATION) != null) {
            reply = Reply.failure("step " + command.stepName() + " of saga " + command.sagaId()
                    + " was compensated already; not carried out");
        } else {
            reply = encoded(handle(command, context, connection), command);
        }
        if (reply.deferred()) {
            ParticipantReplies.savePending(connection, name, command, reply.reason());
            return null;
        }
        // A retryable failure is not stored, so that the retry runs the handler again.
        if (!reply.retryable()) {
            ParticipantReplies.save(connection, name, command, FORWARD, reply);
        }
        return reply;
    }

    private Reply compensate(SagaCommand command, MessageContext context, Connection connection) throws Exception {
        ParticipantReplies.Stored stored = ParticipantReplies.find(connection, name, command.sagaId(),
                command.stepIndex(), COMPENSATION);
        if (stored != null) {
            return stored.reply();
        }
        ParticipantReplies.Stored forward = ParticipantReplies.lock(connection, name, command.sagaId(),
                command.stepIndex(), FORWARD);
        Reply reply;
        if (forward == null || !(forward.pending() || forward.reply().succeeded())) {
            reply = new Reply(true, false, "nothing to compensate: step " + command.stepName() + " took no effect here",
                    "{}");
        } else {
            // A pending step may have had effects on its acceptance (money on hold): its compensation undoes them.
            reply = encoded(handle(command, context, connection), command);
            if (reply.deferred()) {
                throw new SagaException("the handler of compensation " + command.type() + " deferred its answer; "
                        + "only a forward command may be deferred (a compensation must answer)");
            }
        }
        // A failed compensation is retried by the orchestrator and by operators: store only its success.
        if (reply.succeeded()) {
            ParticipantReplies.save(connection, name, command, COMPENSATION, reply);
            if (forward != null && forward.pending()) {
                ParticipantReplies.close(connection, name, command.sagaId(), command.stepIndex(),
                        Reply.failure("step " + command.stepName() + " of saga " + command.sagaId()
                                + " was compensated before it was answered here; not carried out"),
                        ParticipantReplies.COMPENSATED);
            }
        }
        return reply;
    }

    /**
     * The saga gave up on the step: its forward reply becomes final. If the forward command has not run here, a
     * stored refusal answers it (and any redelivery or replay of it) without the handler; if it is pending, the
     * refusal closes it, so a later answer is refused.
     */
    private Reply abandon(SagaCommand command, Connection connection) throws SQLException {
        ParticipantReplies.Stored forward = ParticipantReplies.lock(connection, name, command.sagaId(),
                command.stepIndex(), FORWARD);
        if (forward == null) {
            Reply refusal = Reply.failure("step " + command.stepName() + " of saga " + command.sagaId()
                    + " was abandoned by the saga before it ran here; not carried out");
            ParticipantReplies.save(connection, name, command, FORWARD, refusal);
            return refusal;
        }
        if (forward.pending()) {
            Reply refusal = Reply.failure("step " + command.stepName() + " of saga " + command.sagaId()
                    + " was abandoned by the saga before it was answered here; not carried out");
            ParticipantReplies.close(connection, name, command.sagaId(), command.stepIndex(), refusal,
                    ParticipantReplies.ABANDONED);
            return refusal;
        }
        return forward.reply();
    }

    /** Runs the command's handler; a failure leaves nothing of its work behind. */
    private Reply handle(SagaCommand command, MessageContext context, Connection connection) throws Exception {
        CommandHandler handler = handlers.get(command.type());
        if (handler == null) {
            throw new SagaException("participant " + name + " has no handler for command type '" + command.type()
                    + "' (known: " + handlers.keySet() + ")");
        }
        // A refusal must leave nothing of the handler's work behind: roll back to before the handler, keep the
        // inbox record, and store and send the refusal.
        Savepoint beforeHandler = connection.setSavepoint();
        int counted = AfterCommit.mark(connection);
        Reply reply;
        try {
            reply = handler.handle(command, new DecodingContext(context, command));
        } catch (Exception | Error failure) {
            UndecodableCommand cause = undecodableCause(failure);
            if (cause == null) {
                throw failure;
            }
            if (undecodable == UndecodableCommands.PARK) {
                throw new SagaException(cause.getMessage() + "; parked (undecodable commands are parked, not retried)",
                        failure);
            }
            reply = Reply.failure(cause.getMessage());
        }
        if (reply == null) {
            throw new SagaException("the handler of " + command.type() + " returned no reply");
        }
        // A deferred answer keeps what the handler wrote, as a success does: the acceptance commits now.
        if (reply.succeeded() || reply.deferred()) {
            connection.releaseSavepoint(beforeHandler);
        } else {
            connection.rollback(beforeHandler);
            AfterCommit.rollbackTo(connection, counted);
        }
        return reply;
    }

    /** The reply message to {@code commandId}, sent now by the participant or later by {@link PendingReplies}. */
    static OutboxMessage replyMessage(OutboxMessage.Builder builder, UUID sagaId, String replyTo, UUID commandId,
            String commandKind, int stepIndex, Reply reply) {
        OutboxMessage.Builder answer = builder
                .aggregate(replyTo, sagaId.toString())
                .type(SagaMessages.REPLY_TYPE)
                .payload(reply.payload())
                .correlationId(sagaId.toString())
                .header(SagaMessages.IN_REPLY_TO, commandId.toString())
                .header(SagaMessages.OUTCOME, reply.succeeded() ? SagaMessages.SUCCESS : SagaMessages.FAILURE)
                .header(SagaMessages.RETRYABLE, Boolean.toString(reply.retryable()))
                .header(SagaMessages.COMMAND_KIND, commandKind)
                .header(SagaMessages.STEP, Integer.toString(stepIndex));
        if (reply.reason() != null) {
            answer.header(SagaMessages.REASON, reply.reason());
        }
        return answer.build();
    }

    private Reply encoded(Reply reply, SagaCommand command) {
        try {
            return reply.encodedWith(codec);
        } catch (RuntimeException e) {
            // Encoding the same object again cannot succeed: park the command at once rather than retry it.
            throw new SagaException("the reply of " + command.type() + " cannot be encoded: " + e.getMessage(), e);
        }
    }

    private static UndecodableCommand undecodableCause(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof UndecodableCommand undecodable) {
                return undecodable;
            }
        }
        return null;
    }

    /**
     * A command payload the codec could not decode to the type the handler asked for. An
     * {@link IllegalArgumentException}, as the codec's own failure is: a handler that catches it answers as it
     * chooses; one that lets it through is answered as {@link UndecodableCommands} says.
     */
    private static final class UndecodableCommand extends IllegalArgumentException {
        UndecodableCommand(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The handler's context: tells a payload that cannot be decoded from the handler's own failures. */
    private static final class DecodingContext implements MessageContext {
        private final MessageContext context;
        private final SagaCommand command;

        DecodingContext(MessageContext context, SagaCommand command) {
            this.context = context;
            this.command = command;
        }

        @Override
        public Connection connection() {
            return context.connection();
        }

        @Override
        public void send(OutboxMessage message) {
            context.send(message);
        }

        @Override
        public OutboxMessage.Builder newMessage() {
            return context.newMessage();
        }

        @Override
        public <T> T payload(Class<T> type) {
            try {
                return context.payload(type);
            } catch (RuntimeException e) {
                throw new UndecodableCommand("command " + command.type() + " (step " + command.stepName()
                        + ") cannot be decoded as " + type.getSimpleName() + ": " + e.getMessage(), e);
            }
        }

        @Override
        public int attempt() {
            return context.attempt();
        }
    }

    private static SagaCommand read(InboundMessage message) {
        String kind = SagaMessages.required(message, SagaMessages.COMMAND_KIND);
        if (!kind.equals(FORWARD) && !kind.equals(COMPENSATION) && !kind.equals(SagaMessages.ABANDON)) {
            throw new SagaException("command " + message.id() + " has kind '" + kind + "'");
        }
        if (message.type() == null) {
            throw new SagaException("command " + message.id() + " has no " + MessageHeaders.TYPE + " header");
        }
        UUID sagaId = SagaMessages.sagaId(message);
        return new SagaCommand(message.id(), sagaId, SagaMessages.required(message, SagaMessages.SAGA_TYPE),
                SagaMessages.requiredInt(message, SagaMessages.STEP), message.headers().get(SagaMessages.STEP_NAME),
                message.type(), kind.equals(COMPENSATION), SagaMessages.requiredInt(message, SagaMessages.ATTEMPT),
                message.payload(), SagaMessages.required(message, SagaMessages.REPLY_TO));
    }

    /** Configures a {@link SagaParticipant}. */
    public static final class Builder {
        private String name;
        private DataSource dataSource;
        private String bootstrapServers;
        private final Map<String, Object> kafkaProperties = new HashMap<>();
        private final Map<String, CommandHandler> handlers = new HashMap<>();
        private Outbox outbox = Outbox.builder().build();
        private PayloadCodec payloadCodec = JacksonPayloadCodec.create();
        private RetryPolicy retry = RetryPolicy.defaults();
        private int concurrency = 1;
        private int parallelism = 4;
        private String topicPrefix = SagaMessages.DEFAULT_TOPIC_PREFIX;
        private UndecodableCommands undecodableCommands = UndecodableCommands.FAIL;
        // Object, not their types: a field of theirs would fail reflection on this class without them.
        private Object meterRegistry;
        private Object openTelemetry;

        private Builder() {
        }

        /** Required: the participant's name, as sagas address it. */
        public Builder name(String name) {
            this.name = SagaMessages.requireName("participant", name);
            return this;
        }

        /** Required: the participant's own database. */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = dataSource;
            return this;
        }

        /** Required. */
        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /** Further Kafka consumer properties. */
        public Builder kafkaProperties(Map<String, ?> properties) {
            this.kafkaProperties.putAll(properties);
            return this;
        }

        /** The handler of one command type (forward or compensating). */
        public Builder handle(String commandType, CommandHandler handler) {
            Objects.requireNonNull(handler, "handler");
            if (handlers.putIfAbsent(commandType, handler) != null) {
                throw new IllegalArgumentException("command type " + commandType + " has a handler already");
            }
            return this;
        }

        /** The outbox replies go through; default {@code Outbox.builder().build()}. */
        public Builder outbox(Outbox outbox) {
            this.outbox = Objects.requireNonNull(outbox, "outbox");
            return this;
        }

        /**
         * Decodes payloads for {@link MessageContext#payload(Class)} and encodes the results of replies given as
         * objects ({@link Reply#success(Object)}, {@link Reply#failure(String, Object)}); default
         * {@link JacksonPayloadCodec#create()}.
         */
        public Builder payloadCodec(PayloadCodec payloadCodec) {
            this.payloadCodec = Objects.requireNonNull(payloadCodec, "payloadCodec");
            return this;
        }

        /**
         * What becomes of a command whose payload the handler cannot decode through
         * {@link MessageContext#payload(Class)}; default {@link UndecodableCommands#FAIL} (a business failure
         * whose reason says why). Either way it is not retried.
         */
        public Builder undecodableCommands(UndecodableCommands undecodableCommands) {
            this.undecodableCommands = Objects.requireNonNull(undecodableCommands, "undecodableCommands");
            return this;
        }

        /** How a handler that throws is retried before the command is parked; default {@link RetryPolicy#defaults()}. */
        public Builder retry(RetryPolicy retry) {
            this.retry = Objects.requireNonNull(retry, "retry");
            return this;
        }

        /** Kafka consumers of the command topic, each with its own polling thread; default 1. */
        public Builder concurrency(int concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        /**
         * Handler threads per consumer: commands of different sagas are applied at once, those of one
         * saga in order; default 4. See {@link InboxConsumer.Builder#parallelism(int)}.
         */
        public Builder parallelism(int parallelism) {
            this.parallelism = parallelism;
            return this;
        }

        /** Topic prefix the relay routes with; default {@value SagaMessages#DEFAULT_TOPIC_PREFIX}. */
        public Builder topicPrefix(String topicPrefix) {
            this.topicPrefix = Objects.requireNonNull(topicPrefix, "topicPrefix");
            return this;
        }

        /**
         * Where to register the command consumer's meters ({@code outbox.inbox.*}, see
         * {@link InboxConsumer.Builder#meterRegistry(MeterRegistry)}); default none. Needs
         * {@code io.micrometer:micrometer-core} on the class path (an optional dependency).
         */
        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
            return this;
        }

        /**
         * Traces the handling of each command with this OpenTelemetry (see
         * {@link InboxConsumer.Builder#openTelemetry(OpenTelemetry)}); the replies are traced by the
         * {@link #outbox(Outbox) outbox}'s own setting. Default: the global {@code OpenTelemetry} once the
         * application has set it, when the API is on the class path.
         */
        public Builder openTelemetry(OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        public SagaParticipant build() {
            if (name == null) {
                throw new IllegalArgumentException("name is required");
            }
            if (handlers.isEmpty()) {
                throw new IllegalArgumentException("participant " + name + " handles no command type");
            }
            return new SagaParticipant(this);
        }
    }
}
