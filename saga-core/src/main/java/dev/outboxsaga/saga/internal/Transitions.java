package dev.outboxsaga.saga.internal;

import dev.outboxsaga.core.Outbox;
import dev.outboxsaga.core.OutboxMessage;
import dev.outboxsaga.saga.SagaMessages;
import java.sql.Connection;
import java.sql.SQLException;

/** Persists a transition: the instance, its history and its commands, in the caller's transaction. */
public final class Transitions {

    private Transitions() {
    }

    public static void persist(Connection connection, Outbox outbox, String replyChannel, SagaEngine.Transition transition,
            boolean isNew, String traceparent) throws SQLException {
        SagaEngine.State state = transition.state();
        if (isNew) {
            SagaStore.insert(connection, state);
        } else {
            SagaStore.update(connection, state);
        }
        recordAndSend(connection, outbox, replyChannel, transition, traceparent);
    }

    /**
     * Persists a new saga begun with a business key; false, writing nothing, when a saga of its type has that
     * key already.
     */
    public static boolean persistKeyed(Connection connection, Outbox outbox, String replyChannel,
            SagaEngine.Transition transition, String key) throws SQLException {
        if (!SagaStore.insertKeyed(connection, transition.state(), key)) {
            return false;
        }
        recordAndSend(connection, outbox, replyChannel, transition, null);
        return true;
    }

    private static void recordAndSend(Connection connection, Outbox outbox, String replyChannel,
            SagaEngine.Transition transition, String traceparent) throws SQLException {
        SagaEngine.State state = transition.state();
        SagaStore.record(connection, state.id(), transition.history());
        for (SagaEngine.Command command : transition.commands()) {
            outbox.append(connection, OutboxMessage.builder()
                    .id(command.id())
                    .aggregate(SagaMessages.commandChannel(command.participant()), state.id().toString())
                    .type(command.commandType())
                    .payload(command.payload())
                    .correlationId(state.id().toString())
                    .traceparent(traceparent)
                    .header(SagaMessages.SAGA_TYPE, state.type())
                    .header(SagaMessages.STEP, Integer.toString(command.stepIndex()))
                    .header(SagaMessages.STEP_NAME, command.stepName())
                    .header(SagaMessages.COMMAND_KIND, command.kind())
                    .header(SagaMessages.ATTEMPT, Integer.toString(command.attempt()))
                    .header(SagaMessages.REPLY_TO, replyChannel)
                    .build());
        }
    }
}
