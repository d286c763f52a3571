package dev.outboxsaga.saga.internal;

import dev.outboxsaga.core.internal.AfterCommit;
import dev.outboxsaga.core.internal.Transactions;
import dev.outboxsaga.saga.SagaChange;
import dev.outboxsaga.saga.SagaListener;
import dev.outboxsaga.saga.SagaState;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells listeners and waiters of one orchestrator what its committed transitions did, and finds the ends of
 * awaited sagas that another process persisted: one thread, one query per interval for every awaited saga, and
 * only while someone waits.
 */
public final class SagaNotices implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SagaNotices.class);
    private static final Set<String> STEP_FAILURES = Set.of("FAILED", "TIMED_OUT", "COMPENSATION_FAILED");

    private final String service;
    private final DataSource dataSource;
    private final Definitions definitions;
    private final List<SagaListener> listeners;
    private final Duration checkInterval;
    private final Map<UUID, Set<CompletableFuture<Void>>> waiting = new ConcurrentHashMap<>();
    private final AtomicLong checks = new AtomicLong();
    private Thread checker;
    private boolean closed;

    public SagaNotices(String service, DataSource dataSource, Definitions definitions, List<SagaListener> listeners,
            Duration checkInterval) {
        this.service = service;
        this.dataSource = dataSource;
        this.definitions = definitions;
        this.listeners = List.copyOf(listeners);
        this.checkInterval = checkInterval;
    }

    /**
     * Tells, once the transaction on {@code connection} commits, what {@code transition} did. Outside a transaction
     * of outbox-saga's own (a begin in the caller's hand-run transaction) nothing is told: its commit is not seen,
     * and waiters find the end by their own check.
     */
    public void persisted(Connection connection, SagaEngine.State before, SagaEngine.Transition transition) {
        SagaEngine.State after = transition.state();
        SagaState was = before == null ? null : before.state();
        boolean ended = after.state().terminal() && (was == null || !was.terminal());
        boolean parked = after.state() == SagaState.PARKED && was != SagaState.PARKED;
        List<SagaChange> failedSteps = new ArrayList<>();
        if (!listeners.isEmpty()) {
            for (SagaEngine.Entry entry : transition.history()) {
                if (STEP_FAILURES.contains(entry.event())) {
                    failedSteps.add(change(after, entry.stepIndex(), entry.stepName(), entry.event(), entry.detail()));
                }
            }
        }
        if (!ended && !parked && failedSteps.isEmpty()) {
            return;
        }
        SagaChange settled = ended || parked ? change(after, after.stepIndex(),
                definitions.stepName(after.type(), after.version(), after.stepIndex()),
                ended ? after.state().name() : "PARKED", after.lastError()) : null;
        AfterCommit.register(connection, () -> {
            for (SagaChange failed : failedSteps) {
                tell(failed, SagaListener::stepFailed);
            }
            if (settled != null) {
                tell(settled, ended ? SagaListener::sagaEnded : SagaListener::sagaParked);
                settled(after.id());
            }
        });
    }

    private static SagaChange change(SagaEngine.State state, int stepIndex, String stepName, String event,
            String detail) {
        return new SagaChange(state.id(), state.type(), state.state(), stepIndex, stepName, event, detail,
                state.data());
    }

    private void tell(SagaChange change, java.util.function.BiConsumer<SagaListener, SagaChange> call) {
        for (SagaListener listener : listeners) {
            try {
                call.accept(listener, change);
            } catch (RuntimeException failure) {
                LOG.warn("saga listener {} of {} failed on {} of saga {}: {}", listener, service, change.event(),
                        change.sagaId(), failure.toString());
            }
        }
    }

    /** Completes when the saga has ended or parked; {@link #forget} it when no longer waited for. */
    public CompletableFuture<Void> watch(UUID sagaId) {
        CompletableFuture<Void> settled = new CompletableFuture<>();
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("saga orchestrator " + service + " is closed");
            }
            waiting.computeIfAbsent(sagaId, id -> ConcurrentHashMap.newKeySet()).add(settled);
            if (checker == null) {
                checker = new Thread(this::runChecker, "saga-ends-" + service);
                checker.setDaemon(true);
                checker.start();
            }
            notifyAll();
        }
        return settled;
    }

    public void forget(UUID sagaId, CompletableFuture<Void> settled) {
        waiting.computeIfPresent(sagaId, (id, futures) -> {
            futures.remove(settled);
            return futures.isEmpty() ? null : futures;
        });
    }

    /** How many checks for ends persisted elsewhere ran, for tests. */
    public long checks() {
        return checks.get();
    }

    private void settled(UUID sagaId) {
        Set<CompletableFuture<Void>> futures = waiting.remove(sagaId);
        if (futures != null) {
            futures.forEach(future -> future.complete(null));
        }
    }

    private void runChecker() {
        while (true) {
            synchronized (this) {
                try {
                    while (waiting.isEmpty() && !closed) {
                        wait();
                    }
                    if (closed) {
                        return;
                    }
                    wait(checkInterval.toMillis());
                    if (closed) {
                        return;
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
            UUID[] awaited = waiting.keySet().toArray(UUID[]::new);
            if (awaited.length == 0) {
                continue;
            }
            try {
                checks.incrementAndGet();
                Transactions.inTransaction(dataSource, connection -> SagaStore.settled(connection, awaited))
                        .forEach(this::settled);
            } catch (RuntimeException e) {
                // The database may be restarting: the waiters keep waiting, and the next round looks again.
                LOG.warn("checking which awaited sagas of {} ended failed; trying again: {}", service, e.toString());
            }
        }
    }

    @Override
    public void close() {
        Thread running;
        synchronized (this) {
            closed = true;
            running = checker;
            notifyAll();
            IllegalStateException closing = new IllegalStateException("saga orchestrator " + service + " was closed");
            waiting.values().forEach(futures -> futures.forEach(future -> future.completeExceptionally(closing)));
            waiting.clear();
        }
        if (running != null) {
            try {
                running.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
