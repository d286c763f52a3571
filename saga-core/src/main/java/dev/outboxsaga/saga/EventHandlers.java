package dev.outboxsaga.saga;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outboxsaga.core.InboundMessage;
import dev.outboxsaga.core.InboxConsumer;
import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.MessageHeaders;
import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.sql.Connection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Choreography: a service's typed reactions to other services' events, each of which may emit the service's own
 * events through its outbox. The other style of saga, beside {@link SagaOrchestrator}: no coordinator, each
 * service reacts to what the one before it announced.
 *
 * <pre>{@code
 * EventHandlers notifications = EventHandlers.builder()
 *         .name("notifications").dataSource(dataSource).bootstrapServers(kafka)
 *         .on("transfer", "TransferCompleted", TransferCompleted.class, (event, context) -> {
 *             insertNotification(context.connection(), event.transferId());
 *             context.emit("notification", event.transferId(), "CustomerNotified", new CustomerNotified(event.transferId()));
 *         })
 *         .build().start();
 * }</pre>
 *
 * <p>Built on an {@link InboxConsumer} (named {@link Builder#name}) reading {@code outbox.event.<aggregateType>}
 * for each aggregate type declared with {@link Builder#on}, as the relay routes an outbox row, and choosing the
 * handler by the event type (the {@value MessageHeaders#TYPE} header, the outbox {@code type} column). So
 * everything the inbox consumer guarantees holds: each event takes effect once in the service's database (the
 * inbox record, the handler's writes and the events it emits commit in one transaction), events of one
 * aggregate id in order and different ones at once, a failing handler retried and then parked as a dead letter
 * ({@link #consumer()}{@code .deadLetters()}, replayed through the same handler), and later events go on.
 *
 * <p>Two cases are never retried, since the same bytes would fail the same way again:
 * <ul>
 *   <li>a payload that the {@linkplain Builder#payloadCodec codec} cannot decode into the declared type (or that
 *       decodes to null) is parked at once with the reason, the handler not called;</li>
 *   <li>an event type with no handler on a subscribed topic is, by default, ignored (its inbox record is
 *       written, nothing else), or parked with the reason: see {@link UnhandledEvents}.</li>
 * </ul>
 */
public final class EventHandlers implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventHandlers.class);

    /** What becomes of an event whose type has no handler, on a topic read for other event types. */
    public enum UnhandledEvents {
        /**
         * Skip it: a topic carries every event type of its aggregate, and a service reacts to those it cares
         * about; another service's new event type must not fill the dead letters. The default. It is recorded
         * in the inbox like any handled event, and logged at DEBUG.
         */
        IGNORE,
        /**
         * Park it at once as a dead letter naming the type and the types handled, for services that must not
         * miss an event (a type renamed by its producer, say); an operator replays it once a handler exists.
         */
        PARK
    }

    private final String name;
    private final Map<String, Map<String, Registration<?>>> handlersByTopic;
    private final PayloadCodec codec;
    private final UnhandledEvents unhandled;
    private final InboxConsumer consumer;

    private EventHandlers(Builder builder) {
        this.name = builder.name;
        Map<String, Map<String, Registration<?>>> byTopic = new TreeMap<>();
        builder.handlers.forEach((topic, byType) -> byTopic.put(topic, Map.copyOf(byType)));
        this.handlersByTopic = Map.copyOf(byTopic);
        this.codec = builder.payloadCodec;
        this.unhandled = builder.unhandledEvents;
        InboxConsumer.Builder events = InboxConsumer.builder()
                .name(name)
                .dataSource(builder.dataSource)
                .bootstrapServers(builder.bootstrapServers)
                .kafkaProperties(builder.kafkaProperties)
                .topics(List.copyOf(byTopic.keySet()))
                .outbox(builder.outbox)
                .payloadCodec(builder.payloadCodec)
                .concurrency(builder.concurrency)
                .parallelism(builder.parallelism)
                .retryPolicy(builder.retry.retryingOnly(failure -> !(failure instanceof SagaException)
                        && builder.retry.retryable().test(failure)))
                .handler(this::onEvent);
        // The casts run only when set, so that without Micrometer or OpenTelemetry none of their classes is loaded.
        if (builder.meterRegistry != null) {
            events.meterRegistry((MeterRegistry) builder.meterRegistry);
        }
        if (builder.openTelemetry != null) {
            events.openTelemetry((OpenTelemetry) builder.openTelemetry);
        }
        this.consumer = events.build();
    }

    /** A builder; {@code name}, {@code dataSource}, {@code bootstrapServers} and at least one {@code on} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts consuming and returns.
     *
     * @throws IllegalStateException when started before, or closed
     */
    public EventHandlers start() {
        consumer.start();
        return this;
    }

    /** The inbox consumer underneath: its status and counts, and the dead letters (events that could not be handled). */
    public InboxConsumer consumer() {
        return consumer;
    }

    /** The name: the inbox consumer's name (its key in the inbox table) and default Kafka group id. */
    public String name() {
        return name;
    }

    /** The topics read, one per aggregate type declared, sorted. */
    public List<String> topics() {
        return List.copyOf(new TreeMap<>(handlersByTopic).keySet());
    }

    /** Stops consuming; see {@link InboxConsumer#close()}. Idempotent. */
    @Override
    public void close() {
        consumer.close();
    }

    private void onEvent(InboundMessage message, MessageContext context) throws Exception {
        Map<String, Registration<?>> byType = handlersByTopic.getOrDefault(message.topic(), Map.of());
        Registration<?> registration = message.type() == null ? null : byType.get(message.type());
        if (registration == null) {
            String what = message.type() == null ? "event " + message.id() + " has no " + MessageHeaders.TYPE + " header"
                    : "no handler for event type '" + message.type() + "'";
            String detail = what + " on topic " + message.topic() + " (handled there: " + new TreeMap<>(byType).keySet()
                    + ")";
            if (unhandled == UnhandledEvents.PARK) {
                throw new SagaException(detail + "; parked (unhandled events are parked, not retried)");
            }
            LOG.debug("event handlers {} ignore message {}: {}", name, message.id(), detail);
            return;
        }
        registration.dispatch(message, new Context(context, message), codec);
    }

    /** One declared handler: its event type and payload type. */
    private record Registration<T>(String eventType, Class<T> type, EventHandler<? super T> handler) {

        void dispatch(InboundMessage message, EventContext context, PayloadCodec codec) throws Exception {
            handler.handle(decode(message, codec), context);
        }

        private T decode(InboundMessage message, PayloadCodec codec) {
            String event = "event " + eventType + " (message " + message.id() + " on " + message.topic() + ")";
            if (message.payload() == null) {
                throw new SagaException(event + " has no payload; parked, not retried");
            }
            T decoded;
            try {
                decoded = codec.decode(message.payload(), type);
            } catch (RuntimeException e) {
                throw new SagaException(event + " cannot be decoded as " + type.getName() + ": " + e.getMessage()
                        + "; parked (undecodable events are parked, not retried)", e);
            }
            if (decoded == null) {
                throw new SagaException(event + " decodes to null as " + type.getName() + "; parked, not retried");
            }
            return decoded;
        }
    }

    /** The handler's context: the consumer's, with the received message and {@link #emit}. */
    private static final class Context implements EventContext {
        private final MessageContext context;
        private final InboundMessage message;

        Context(MessageContext context, InboundMessage message) {
            this.context = context;
            this.message = message;
        }

        @Override
        public InboundMessage message() {
            return message;
        }

        @Override
        public UUID emit(String aggregateType, String aggregateId, String eventType, Object payload) {
            OutboxMessage event = context.newMessage()
                    .aggregate(aggregateType, aggregateId)
                    .type(eventType)
                    .payload(payload)
                    .build();
            context.send(event);
            return event.id();
        }

        @Override
        public Connection connection() {
            return context.connection();
        }

        @Override
        public void send(OutboxMessage outgoing) {
            context.send(outgoing);
        }

        @Override
        public OutboxMessage.Builder newMessage() {
            return context.newMessage();
        }

        @Override
        public <T> T payload(Class<T> type) {
            return context.payload(type);
        }

        @Override
        public int attempt() {
            return context.attempt();
        }
    }

    /** Configures {@link EventHandlers}; {@link #build()} validates and names any bad setting. */
    public static final class Builder {
        private String name;
        private DataSource dataSource;
        private String bootstrapServers;
        private final Map<String, Object> kafkaProperties = new HashMap<>();
        // topic -> event type -> handler, in declaration order
        private final Map<String, Map<String, Registration<?>>> handlers = new LinkedHashMap<>();
        private Outbox outbox = Outbox.builder().build();
        private PayloadCodec payloadCodec = tolerantJackson();
        private RetryPolicy retry = RetryPolicy.defaults();
        private UnhandledEvents unhandledEvents = UnhandledEvents.IGNORE;
        private int concurrency = 1;
        private int parallelism = 4;
        private String topicPrefix = SagaMessages.DEFAULT_TOPIC_PREFIX;
        // Object, not their types: a field of theirs would fail reflection on this class without them.
        private Object meterRegistry;
        private Object openTelemetry;

        private Builder() {
        }

        /**
         * Required: the name of the inbox consumer underneath, 1 to 255 characters: its key in the inbox table
         * (keep it stable: a new name handles every retained event again) and its Kafka consumer group.
         */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** Required: the service's own database (inbox, dead letters, outbox and its business tables). */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = dataSource;
            return this;
        }

        /** Required (here or as {@code bootstrap.servers} in {@link #kafkaProperties}). */
        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /** Further Kafka consumer properties; see {@link InboxConsumer.Builder#kafkaProperties(Map)}. */
        public Builder kafkaProperties(Map<String, ?> properties) {
            this.kafkaProperties.putAll(properties);
            return this;
        }

        /**
         * Declares the handler of events of type {@code eventType} about aggregates of type {@code aggregateType}
         * (the outbox columns {@code type} and {@code aggregatetype} of the service that emits them), read from
         * the topic {@code <topicPrefix><aggregateType>}, their payload decoded as {@code payloadType}.
         * {@code String.class} hands the handler the JSON text as it is.
         *
         * @throws IllegalArgumentException naming the argument that is null or blank, or naming the event type
         *                                  when that aggregate type and event type have a handler already
         */
        public <T> Builder on(String aggregateType, String eventType, Class<T> payloadType,
                EventHandler<? super T> handler) {
            requireText("aggregateType", aggregateType);
            requireText("eventType", eventType);
            if (payloadType == null) {
                throw new IllegalArgumentException("payloadType of event type " + eventType + " must not be null");
            }
            if (handler == null) {
                throw new IllegalArgumentException("handler of event type " + eventType + " must not be null");
            }
            Map<String, Registration<?>> byType = handlers.computeIfAbsent(topicPrefix + aggregateType,
                    topic -> new LinkedHashMap<>());
            if (byType.putIfAbsent(eventType, new Registration<>(eventType, payloadType, handler)) != null) {
                throw new IllegalArgumentException("event type " + eventType + " of aggregate type " + aggregateType
                        + " has a handler already");
            }
            return this;
        }

        /** What becomes of an event type with no handler on a topic read; default {@link UnhandledEvents#IGNORE}. */
        public Builder unhandledEvents(UnhandledEvents unhandledEvents) {
            this.unhandledEvents = Objects.requireNonNull(unhandledEvents, "unhandledEvents");
            return this;
        }

        /**
         * Decodes each event's payload into the type declared with {@link #on} and encodes what
         * {@link EventContext#emit} is given; default a {@link JacksonPayloadCodec} whose mapper ignores
         * properties the payload type does not have, so that a producer may add fields to its events without
         * its consumers parking them (otherwise as {@link JacksonPayloadCodec#create()}).
         */
        public Builder payloadCodec(PayloadCodec payloadCodec) {
            this.payloadCodec = Objects.requireNonNull(payloadCodec, "payloadCodec");
            return this;
        }

        /** The outbox emitted events go to; default {@code Outbox.builder().build()} (table {@code outbox_event}). */
        public Builder outbox(Outbox outbox) {
            this.outbox = Objects.requireNonNull(outbox, "outbox");
            return this;
        }

        /**
         * How a handler that throws is retried before the event is parked; default {@link RetryPolicy#defaults()}
         * (5 attempts over about 3 s). Undecodable and parked unhandled events are never retried, whatever it says.
         */
        public Builder retry(RetryPolicy retry) {
            this.retry = Objects.requireNonNull(retry, "retry");
            return this;
        }

        /** Kafka consumers in the group, each with its own polling thread; default 1. */
        public Builder concurrency(int concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        /**
         * Handler threads per consumer: events of different aggregate ids are handled at once, those of one in
         * order; default 4. See {@link InboxConsumer.Builder#parallelism(int)}.
         */
        public Builder parallelism(int parallelism) {
            this.parallelism = parallelism;
            return this;
        }

        /**
         * The prefix of the topics read, before the aggregate type, as the producing service's relay routes;
         * default {@value SagaMessages#DEFAULT_TOPIC_PREFIX}. Applies to the {@link #on} calls after it.
         */
        public Builder topicPrefix(String topicPrefix) {
            this.topicPrefix = Objects.requireNonNull(topicPrefix, "topicPrefix");
            return this;
        }

        /**
         * Where to register the consumer's meters ({@code outbox.inbox.*}, see
         * {@link InboxConsumer.Builder#meterRegistry(MeterRegistry)}); default none. Needs
         * {@code io.micrometer:micrometer-core} on the class path (an optional dependency).
         */
        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
            return this;
        }

        /**
         * Traces the handling of each event with this OpenTelemetry (see
         * {@link InboxConsumer.Builder#openTelemetry(OpenTelemetry)}); default: the global {@code OpenTelemetry}
         * once the application has set it, when the API is on the class path.
         */
        public Builder openTelemetry(OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first missing or invalid setting
         */
        public EventHandlers build() {
            requireText("name", name);
            if (handlers.isEmpty()) {
                throw new IllegalArgumentException("event handlers " + name + " handle no event: declare one with on(..)");
            }
            return new EventHandlers(this);
        }

        private static PayloadCodec tolerantJackson() {
            return JacksonPayloadCodec.create(new ObjectMapper().findAndRegisterModules()
                    .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES));
        }

        private static void requireText(String what, String value) {
            if (value == null || value.isBlank()) {
                throw new IllegalArgumentException(what + " must not be " + (value == null ? "null" : "blank"));
            }
        }
    }
}
