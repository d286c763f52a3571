package dev.outboxsaga.console.internal;

import dev.outboxsaga.console.AuditReport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the console's reconciliation audits one at a time, on a thread of their own, never on a request thread: an
 * operator's POST starts one and is answered at once, and the page of its report shows it running until it ends.
 * A second audit while one runs is refused (one permit), so no number of requests can run more than one audit's
 * reads at once. The last {@value #KEPT} audits are kept, in memory, for everyone to read.
 */
final class AuditRunner implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AuditRunner.class);
    static final int KEPT = 20;

    /** One audit: what was asked, by whom, and how it ended (a report, or why it did not run). */
    static final class Job {
        final int id;
        final AuditPages.Form form;
        final String actor;
        final Instant startedAt;
        private volatile Instant endedAt;
        private volatile AuditReport report;
        private volatile String failure;

        Job(int id, AuditPages.Form form, String actor, Instant startedAt) {
            this.id = id;
            this.form = form;
            this.actor = actor;
            this.startedAt = startedAt;
        }

        boolean running() {
            return endedAt == null;
        }

        Instant endedAt() {
            return endedAt;
        }

        AuditReport report() {
            return report;
        }

        String failure() {
            return failure;
        }
    }

    private final Duration maxWindow;
    private final Clock clock;
    private final Semaphore permit = new Semaphore(1);
    private final ExecutorService executor = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "outbox-console-audit");
        thread.setDaemon(true);
        return thread;
    });
    private final AtomicInteger ids = new AtomicInteger();
    private final Deque<Job> jobs = new ArrayDeque<>();

    AuditRunner(Duration maxWindow, Clock clock) {
        this.maxWindow = maxWindow;
        this.clock = clock;
    }

    /**
     * Starts an audit of the window {@code [from, to)} that {@code run} carries out.
     *
     * @throws IllegalArgumentException when the window is empty or longer than the maximum
     * @throws IllegalStateException    when an audit is running already
     */
    Job start(AuditPages.Form form, Instant from, Instant to, String actor, Supplier<AuditReport> run) {
        if (!to.isAfter(from)) {
            throw new IllegalArgumentException("the window's end (" + to + ") must come after its start (" + from + ")");
        }
        if (Duration.between(from, to).compareTo(maxWindow) > 0) {
            throw new IllegalArgumentException("the window is " + Duration.between(from, to) + " long; the console "
                    + "audits at most " + maxWindow + " at once (console.audit-max-window); audit longer ones in parts "
                    + "or with the CLI");
        }
        if (!permit.tryAcquire()) {
            Job running = latest().filter(Job::running).orElse(null);
            throw new IllegalStateException("an audit is running already" + (running == null ? ""
                    : " (audit " + running.id + ", started by " + running.actor + " at " + running.startedAt + ")")
                    + "; wait for it to end");
        }
        Job job = new Job(ids.incrementAndGet(), form, actor, clock.instant());
        synchronized (jobs) {
            jobs.addFirst(job);
            while (jobs.size() > KEPT) {
                jobs.removeLast();
            }
        }
        try {
            executor.execute(() -> {
                try {
                    job.report = run.get();
                    LOG.info("{} ran audit {} of {} (relay {}, consumer {}) from {} to {}: {}", LogText.of(actor), job.id,
                            form.service(), LogText.of(form.relay()), LogText.of(form.consumer()), from, to,
                            job.report.verdict());
                } catch (IllegalArgumentException | IllegalStateException refused) {
                    job.failure = "The audit did not run: " + refused.getMessage();
                    LOG.info("audit {} by {} did not run: {}", job.id, LogText.of(actor), LogText.of(job.failure));
                } catch (RuntimeException e) {
                    job.failure = "The audit did not run: " + ServiceProbes.rootMessage(e);
                    LOG.info("audit {} by {} did not run: {}", job.id, LogText.of(actor), LogText.of(job.failure));
                } finally {
                    job.endedAt = clock.instant();
                    permit.release();
                }
            });
        } catch (RuntimeException rejected) {
            permit.release();
            throw new IllegalStateException("the console is shutting down");
        }
        return job;
    }

    /** The audit of this number, while it is kept. */
    Optional<Job> job(int id) {
        synchronized (jobs) {
            return jobs.stream().filter(job -> job.id == id).findFirst();
        }
    }

    /** The kept audits, newest first. */
    List<Job> jobs() {
        synchronized (jobs) {
            return List.copyOf(jobs);
        }
    }

    private Optional<Job> latest() {
        synchronized (jobs) {
            return Optional.ofNullable(jobs.peekFirst());
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
