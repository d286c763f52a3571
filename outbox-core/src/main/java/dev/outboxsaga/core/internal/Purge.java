package dev.outboxsaga.core.internal;

import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;

/** Deletes old rows in bounded batches, each in its own transaction, so a backlog never holds long locks. */
public final class Purge {

    private Purge() {
    }

    /**
     * Runs {@code deleteBatch} until it deletes fewer than {@code batchSize} rows. The statement takes
     * {@code leadingParameters}, then the cutoff timestamp ({@code now - olderThan}), then the batch size.
     *
     * @return the number of rows deleted
     */
    public static long inBatches(DataSource dataSource, String deleteBatch, List<Object> leadingParameters,
            Duration olderThan, int batchSize) {
        if (olderThan == null || olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must be zero or positive, but was " + olderThan);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, but was " + batchSize);
        }
        Timestamp cutoff = Timestamp.from(Instant.now().minus(olderThan));
        long total = 0;
        while (true) {
            int deleted = Transactions.inTransaction(dataSource, connection -> {
                try (PreparedStatement delete = connection.prepareStatement(deleteBatch)) {
                    int index = 1;
                    for (Object parameter : leadingParameters) {
                        delete.setObject(index++, parameter);
                    }
                    delete.setTimestamp(index++, cutoff);
                    delete.setInt(index, batchSize);
                    return delete.executeUpdate();
                }
            });
            total += deleted;
            if (deleted < batchSize) {
                return total;
            }
        }
    }
}
