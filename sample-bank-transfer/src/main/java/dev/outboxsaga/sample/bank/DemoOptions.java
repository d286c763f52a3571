package dev.outboxsaga.sample.bank;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What one demo run does; {@link #validate()} refuses bad input before anything starts.
 *
 * @param transfers    how many transfers, at least 1 (default 1,000)
 * @param concurrency  how many transfers are in flight at once, 1 to 256 (default 16)
 * @param faults       the fault mix
 * @param stepTimeout  how long a bank may take to reply before the saga retries (default 2 s)
 * @param accounts     accounts per bank, at least 2 (default 50)
 * @param seed         seeds every random choice, so a run can be repeated
 * @param postgresUrl  admin JDBC URL of an external PostgreSQL (wal_level=logical), or null for embedded
 * @param postgresUser its user
 * @param postgresPassword its password
 * @param kafka        bootstrap servers of an external Kafka, or null for embedded
 * @param report       where the HTML report goes
 * @param maxWait      how long to wait without progress before calling the rest stuck (default 60 s)
 * @param cancelPercent percent of the transfers cancelled while in flight, 0 to 100 (default
 *                     {@value #DEFAULT_CANCEL_PERCENT}): each through {@code SagaAdmin.cancel}, at a random moment
 *                     up to {@value DemoRun#CANCEL_WITHIN_MILLIS} ms after its saga began
 * @param dailyLimit   how much an account may send per day, in cents, 0 for no limit (default
 *                     {@value Bank#DEFAULT_DAILY_LIMIT}: a few of the default run's transfers reach it)
 */
public record DemoOptions(
        int transfers,
        int concurrency,
        Faults faults,
        Duration stepTimeout,
        int accounts,
        long seed,
        String postgresUrl,
        String postgresUser,
        String postgresPassword,
        String kafka,
        Path report,
        Duration maxWait,
        int cancelPercent,
        long dailyLimit) {

    /** The default of {@code --cancel-percent}: a few cancels, so that the default run shows them. */
    public static final int DEFAULT_CANCEL_PERCENT = 2;

    /** As the canonical constructor, without cancels and without a daily limit: every transfer that can complete does. */
    public DemoOptions(int transfers, int concurrency, Faults faults, Duration stepTimeout, int accounts, long seed,
            String postgresUrl, String postgresUser, String postgresPassword, String kafka, Path report,
            Duration maxWait) {
        this(transfers, concurrency, faults, stepTimeout, accounts, seed, postgresUrl, postgresUser, postgresPassword,
                kafka, report, maxWait, 0, 0);
    }

    /**
     * @throws IllegalArgumentException naming the first bad option
     */
    public DemoOptions validate() {
        if (transfers < 1) {
            throw new IllegalArgumentException("--transfers must be at least 1, but was " + transfers);
        }
        if (concurrency < 1 || concurrency > 256) {
            throw new IllegalArgumentException("--concurrency must be 1 to 256, but was " + concurrency);
        }
        if (accounts < 2) {
            throw new IllegalArgumentException("--accounts must be at least 2, but was " + accounts);
        }
        if (stepTimeout.toMillis() < 100) {
            throw new IllegalArgumentException("--step-timeout-ms must be at least 100, but was " + stepTimeout.toMillis());
        }
        if (maxWait.toSeconds() < 1) {
            throw new IllegalArgumentException("--max-wait-s must be at least 1, but was " + maxWait.toSeconds());
        }
        if (cancelPercent < 0 || cancelPercent > 100) {
            throw new IllegalArgumentException("--cancel-percent must be 0 to 100, but was " + cancelPercent);
        }
        if (dailyLimit < 0) {
            throw new IllegalArgumentException("--daily-limit must be 0 (none) or positive, but was " + dailyLimit);
        }
        if (postgresUrl != null && !postgresUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("--postgres-url must be a jdbc:postgresql: URL, but was '" + postgresUrl + "'");
        }
        if (postgresUrl != null && postgresUser == null) {
            throw new IllegalArgumentException("--postgres-user is required with --postgres-url");
        }
        return this;
    }
}
