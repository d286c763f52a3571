package dev.outboxsaga.sample.bank;

import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.RetryPolicy;
import dev.outboxsaga.core.DatabaseTransactions;
import dev.outboxsaga.saga.Reply;
import dev.outboxsaga.saga.SagaCommand;
import dev.outboxsaga.saga.SagaParticipant;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import javax.sql.DataSource;

/**
 * A bank: accounts and a ledger in its own database, and a saga participant that debits, refunds,
 * credits and reverses credits. Business rules refuse unknown and frozen accounts, insufficient funds
 * and amounts over the limit. Injected faults crash the handler mid-way or make it reply too late.
 */
final class Bank implements AutoCloseable {

    /** The most a single transfer may move, in cents. */
    static final long TRANSFER_LIMIT = 500_000;

    private final String name;
    private final DataSource dataSource;
    private final Faults faults;
    private final Duration lateBy;
    private final Random random;
    private final SagaParticipant participant;

    Bank(String name, DataSource dataSource, String bootstrapServers, Faults faults, Duration lateBy, long seed) {
        this(name, dataSource, bootstrapServers, faults, lateBy, seed, Map.of());
    }

    /** As above, with further Kafka consumer properties for the participant. */
    Bank(String name, DataSource dataSource, String bootstrapServers, Faults faults, Duration lateBy, long seed,
            Map<String, ?> kafkaProperties) {
        this(name, dataSource, bootstrapServers, faults, lateBy, seed, kafkaProperties, 3);
    }

    /** As above, with {@code concurrency} consumer threads (default 3). */
    Bank(String name, DataSource dataSource, String bootstrapServers, Faults faults, Duration lateBy, long seed,
            Map<String, ?> kafkaProperties, int concurrency) {
        this.name = name;
        this.dataSource = dataSource;
        this.faults = faults;
        this.lateBy = lateBy;
        this.random = new Random(seed);
        Schema.migrate(dataSource, "V1__bank.sql");
        this.participant = SagaParticipant.builder()
                .name(name)
                .dataSource(dataSource)
                .bootstrapServers(bootstrapServers)
                .kafkaProperties(kafkaProperties)
                .retry(RetryPolicy.exponential(6, Duration.ofMillis(20), Duration.ofMillis(500)))
                .concurrency(concurrency)
                .handle("Debit", this::debit)
                .handle("Refund", this::refund)
                .handle("Credit", this::credit)
                .handle("ReverseCredit", this::reverseCredit)
                .build();
    }

    String name() {
        return name;
    }

    DataSource dataSource() {
        return dataSource;
    }

    SagaParticipant participant() {
        return participant;
    }

    void start() {
        participant.start();
    }

    /** Opens {@code count} accounts {@code <prefix>0..} with {@code balance} cents each; the last one frozen. */
    void openAccounts(String prefix, int count, long balance) {
        DatabaseTransactions.inTransaction(dataSource, connection -> {
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO account (id, balance, frozen) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
                for (int i = 0; i < count; i++) {
                    insert.setString(1, prefix + i);
                    insert.setLong(2, balance);
                    insert.setBoolean(3, i == count - 1);
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            return null;
        });
    }

    private Reply debit(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "DEBIT");
        Connection connection = context.connection();
        Account account = lock(connection, movement.account());
        if (account == null) {
            return Reply.failure("unknown account " + movement.account() + " at " + name);
        }
        if (account.frozen()) {
            return Reply.failure("account " + movement.account() + " at " + name + " is frozen");
        }
        if (movement.amount() > TRANSFER_LIMIT) {
            return Reply.failure("amount " + movement.amount() + " exceeds the limit of " + TRANSFER_LIMIT);
        }
        if (account.balance() < movement.amount()) {
            return Reply.failure("insufficient funds in " + movement.account() + " at " + name);
        }
        move(connection, movement, "DEBIT", -movement.amount());
        injectCrash(movement, "DEBIT");
        return Reply.success();
    }

    private Reply refund(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "REFUND");
        move(context.connection(), movement, "REFUND", movement.amount());
        injectCrash(movement, "REFUND");
        return Reply.success();
    }

    private Reply credit(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "CREDIT");
        Account account = lock(context.connection(), movement.account());
        if (account == null) {
            return Reply.failure("unknown account " + movement.account() + " at " + name);
        }
        if (account.frozen()) {
            return Reply.failure("account " + movement.account() + " at " + name + " is frozen");
        }
        move(context.connection(), movement, "CREDIT", movement.amount());
        injectCrash(movement, "CREDIT");
        return Reply.success();
    }

    /**
     * Compensates a credit whose reply timed out: the saga cannot know whether it happened. The
     * participant calls this only when the credit did happen here (otherwise it answers "nothing to
     * compensate" itself), and at most once per transfer.
     */
    private Reply reverseCredit(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        move(context.connection(), movement, "REVERSAL", -movement.amount());
        return Reply.success();
    }

    /**
     * A participant slow to start on this command: longer than the saga step's timeout, so the
     * orchestrator retries, and this reply arrives late. Before any row is locked, so that the delay
     * holds up this transfer and not every other transfer of the same account.
     */
    private void injectLateness(Movement movement, String kind) throws InterruptedException {
        if (faults.hitsOnce("late", movement.transferId() + "/" + kind, random)) {
            Thread.sleep(lateBy.toMillis());
        }
    }

    /** A crash after the change: the change is rolled back with the transaction, and the inbox retries the command. */
    private void injectCrash(Movement movement, String kind) {
        String key = movement.transferId() + "/" + kind;
        if (faults.hitsOnce("crash", key, random)) {
            throw new IllegalStateException("injected crash in " + name + " while applying " + key);
        }
    }

    private record Account(long balance, boolean frozen) {
    }

    private static Account lock(Connection connection, String id) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(
                "SELECT balance, frozen FROM account WHERE id = ? FOR UPDATE")) {
            query.setString(1, id);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? new Account(rows.getLong(1), rows.getBoolean(2)) : null;
            }
        }
    }

    private static void move(Connection connection, Movement movement, String kind, long delta) throws SQLException {
        try (PreparedStatement ledger = connection.prepareStatement(
                "INSERT INTO ledger (transfer_id, kind, account, amount) VALUES (?, ?, ?, ?)")) {
            ledger.setString(1, movement.transferId());
            ledger.setString(2, kind);
            ledger.setString(3, movement.account());
            ledger.setLong(4, movement.amount());
            ledger.executeUpdate();
        }
        try (PreparedStatement update = connection.prepareStatement(
                "UPDATE account SET balance = balance + ? WHERE id = ?")) {
            update.setLong(1, delta);
            update.setString(2, movement.account());
            update.executeUpdate();
        }
    }

    @Override
    public void close() {
        participant.close();
    }
}
