package dev.outboxsaga.core;

import dev.outboxsaga.core.internal.OperatorActions;
import java.sql.Connection;
import java.sql.SQLException;

/** Carries out the dead-letter actions queued for one consumer: {@code REPLAY}, through its {@link DeadLetterQueue}. */
final class DeadLetterActions implements OperatorActions.Executor {

    static final String REPLAY = "REPLAY";

    private final DeadLetterQueue deadLetters;

    DeadLetterActions(DeadLetterQueue deadLetters) {
        this.deadLetters = deadLetters;
    }

    @Override
    public String execute(Connection connection, OperatorActions.Action action) throws Exception {
        if (!REPLAY.equals(action.action())) {
            // DISCARD needs no handler: the console does it at once and never leaves it pending.
            throw new IllegalArgumentException("unknown action '" + action.action() + "' for a dead letter: a consumer "
                    + "carries out " + REPLAY + " only");
        }
        return deadLetters.replay(connection, deadLetterId(action));
    }

    /**
     * A replay that failed is recorded on the dead letter, as {@link DeadLetterQueue#replay(long)} does: not one that
     * was refused (not parked, no message id: {@link IllegalStateException}) nor a target that is no id.
     */
    @Override
    public void failed(Connection connection, OperatorActions.Action action, Throwable failure) throws SQLException {
        if (failure instanceof DeadLetterQueue.ReplayFailed handlerFailure) {
            deadLetters.recordReplayFailure(connection, deadLetterId(action), handlerFailure.getCause());
        } else if (REPLAY.equals(action.action()) && failure instanceof Exception
                && !(failure instanceof IllegalStateException) && !(failure instanceof IllegalArgumentException)) {
            deadLetters.recordReplayFailure(connection, deadLetterId(action), failure);
        }
    }

    private static long deadLetterId(OperatorActions.Action action) {
        try {
            return Long.parseLong(action.targetId());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("target_id '" + action.targetId() + "' is not a dead letter id");
        }
    }
}
