package dev.outboxsaga.core.internal;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Work to do once a transaction that outbox-saga runs ({@link Transactions#inTransaction}) has committed,
 * and to forget when it rolls back: what meters count must have happened. Registered on the thread that
 * runs the transaction, for its connection. A transaction the caller runs on a connection of their own
 * has no scope here: {@link #register} says so, and the caller decides.
 *
 * <p>A savepoint rolled back must drop what was registered after it: take a {@link #mark} before the
 * savepoint, {@link #rollbackTo} it with the savepoint.
 *
 * <p>One small frame stack per thread, reused: no allocation per transaction once a thread has run one.
 */
public final class AfterCommit {

    private static final Logger LOG = LoggerFactory.getLogger(AfterCommit.class);
    private static final ThreadLocal<Frames> FRAMES = ThreadLocal.withInitial(Frames::new);

    private AfterCommit() {
    }

    /** The open transactions of one thread, innermost last (a handler may open one of its own). */
    private static final class Frames {
        Connection[] connections = new Connection[4];
        List<List<Runnable>> actions = new ArrayList<>();
        int depth;

        int find(Connection connection) {
            for (int i = depth - 1; i >= 0; i--) {
                if (connections[i] == connection) {
                    return i;
                }
            }
            return -1;
        }

        List<Runnable> actionsAt(int level) {
            while (actions.size() <= level) {
                actions.add(new ArrayList<>());
            }
            return actions.get(level);
        }
    }

    /** Opens the scope of a transaction on {@code connection}; {@link #close(boolean)} it in a finally. */
    static void open(Connection connection) {
        Frames frames = FRAMES.get();
        if (frames.depth == frames.connections.length) {
            frames.connections = java.util.Arrays.copyOf(frames.connections, frames.depth * 2);
        }
        frames.connections[frames.depth++] = connection;
    }

    /** Closes the innermost scope; runs its work when {@code committed}, forgets it otherwise. */
    static void close(boolean committed) {
        Frames frames = FRAMES.get();
        int level = --frames.depth;
        frames.connections[level] = null;
        if (frames.actions.size() <= level) {
            return;
        }
        List<Runnable> actions = frames.actions.get(level);
        if (actions.isEmpty()) {
            return;
        }
        List<Runnable> due = committed ? List.copyOf(actions) : List.of();
        actions.clear();
        for (Runnable action : due) {
            try {
                action.run();
            } catch (RuntimeException failure) {
                // Counting what happened must never fail what happened.
                LOG.warn("work after a commit failed: {}", failure.toString());
            }
        }
    }

    /**
     * Runs {@code action} after the transaction on {@code connection} commits, on this thread.
     *
     * @return false, registering nothing, when no transaction of outbox-saga's own is open on that connection here
     */
    public static boolean register(Connection connection, Runnable action) {
        Frames frames = FRAMES.get();
        int level = frames.find(connection);
        if (level < 0) {
            return false;
        }
        frames.actionsAt(level).add(action);
        return true;
    }

    /** Where the work registered for {@code connection} stands, for {@link #rollbackTo}; -1 without a scope. */
    public static int mark(Connection connection) {
        Frames frames = FRAMES.get();
        int level = frames.find(connection);
        return level < 0 ? -1 : frames.actionsAt(level).size();
    }

    /** Forgets the work registered for {@code connection} since {@code mark}: a savepoint was rolled back. */
    public static void rollbackTo(Connection connection, int mark) {
        if (mark < 0) {
            return;
        }
        Frames frames = FRAMES.get();
        int level = frames.find(connection);
        if (level < 0) {
            return;
        }
        List<Runnable> actions = frames.actionsAt(level);
        if (actions.size() > mark) {
            actions.subList(mark, actions.size()).clear();
        }
    }
}
