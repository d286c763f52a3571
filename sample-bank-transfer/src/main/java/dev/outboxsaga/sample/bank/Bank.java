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
 * A bank: accounts, a ledger and the records of its checks in its own database, and a saga participant that
 * checks (holds a transfer against the source account's daily limit, screens the payee), debits, refunds, credits
 * and reverses credits, and undoes its checks. Business rules refuse unknown and frozen accounts, insufficient
 * funds, amounts over the per-transfer limit and transfers over the daily limit. Injected faults crash a handler
 * mid-way or make it reply too late.
 */
final class Bank implements AutoCloseable {

    /** The most a single transfer may move, in cents. */
    static final long TRANSFER_LIMIT = 50_000;
    /** The default of how much an account may send per day, in cents: held by {@code HoldLimit}, released by {@code ReleaseLimit}. */
    static final long DEFAULT_DAILY_LIMIT = 150_000;

    private final String name;
    private final DataSource dataSource;
    private final Faults faults;
    private final Duration lateBy;
    private final Random random;
    private final long dailyLimit;
    private final SagaParticipant participant;

    /**
     * @param dailyLimit how much an account may send per day, in cents; 0 for no limit (transfers are held all the
     *                   same)
     */
    Bank(String name, DataSource dataSource, String bootstrapServers, Faults faults, Duration lateBy, long seed,
            long dailyLimit) {
        this(name, dataSource, bootstrapServers, faults, lateBy, seed, dailyLimit, Map.of());
    }

    /** As above, with further Kafka consumer properties for the participant. */
    Bank(String name, DataSource dataSource, String bootstrapServers, Faults faults, Duration lateBy, long seed,
            long dailyLimit, Map<String, ?> kafkaProperties) {
        this(name, dataSource, bootstrapServers, faults, lateBy, seed, dailyLimit, kafkaProperties, 3);
    }

    /** As above, with {@code concurrency} consumer threads (default 3). */
    Bank(String name, DataSource dataSource, String bootstrapServers, Faults faults, Duration lateBy, long seed,
            long dailyLimit, Map<String, ?> kafkaProperties, int concurrency) {
        if (dailyLimit < 0) {
            throw new IllegalArgumentException("daily limit must be 0 (none) or positive, but was " + dailyLimit);
        }
        this.name = name;
        this.dataSource = dataSource;
        this.faults = faults;
        this.lateBy = lateBy;
        this.random = new Random(seed);
        this.dailyLimit = dailyLimit;
        Schema.migrate(dataSource, "V1__bank.sql", "V2__bank_checks.sql");
        this.participant = SagaParticipant.builder()
                .name(name)
                .dataSource(dataSource)
                .bootstrapServers(bootstrapServers)
                .kafkaProperties(kafkaProperties)
                .retry(RetryPolicy.exponential(6, Duration.ofMillis(20), Duration.ofMillis(500)))
                .concurrency(concurrency)
                .handle("HoldLimit", this::holdLimit)
                .handle("ReleaseLimit", this::releaseLimit)
                .handle("ScreenPayee", this::screenPayee)
                .handle("ClearScreening", this::clearScreening)
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

    /** The daily limit this bank enforces, in cents; 0 for none. */
    long dailyLimit() {
        return dailyLimit;
    }

    /**
     * Holds the amount against the source account's daily limit, or refuses when it would take the account's
     * holds of the day past the limit. The account's row is locked, so that two transfers from one account
     * cannot both pass on the same headroom.
     */
    private Reply holdLimit(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "HOLD");
        Connection connection = context.connection();
        if (lock(connection, movement.account()) == null) {
            return Reply.failure("unknown account " + movement.account() + " at " + name);
        }
        long heldToday = heldToday(connection, movement.account());
        if (dailyLimit > 0 && heldToday + movement.amount() > dailyLimit) {
            return Reply.failure("daily limit reached: " + movement.account() + " at " + name + " holds " + heldToday
                    + " of " + dailyLimit + " today");
        }
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO limit_hold (transfer_id, kind, "
                + "account, day, amount) VALUES (?, 'HOLD', ?, current_date, ?)")) {
            insert.setString(1, movement.transferId());
            insert.setString(2, movement.account());
            insert.setLong(3, movement.amount());
            insert.executeUpdate();
        }
        injectCrash(movement, "HOLD");
        return Reply.success();
    }

    /** Undoes a hold: releases the amount on the day it was held. */
    private Reply releaseLimit(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "RELEASE");
        try (PreparedStatement insert = context.connection().prepareStatement("INSERT INTO limit_hold (transfer_id, "
                + "kind, account, day, amount) VALUES (?, 'RELEASE', ?, coalesce((SELECT max(day) FROM limit_hold "
                + "WHERE transfer_id = ? AND kind = 'HOLD'), current_date), ?)")) {
            insert.setString(1, movement.transferId());
            insert.setString(2, movement.account());
            insert.setString(3, movement.transferId());
            insert.setLong(4, movement.amount());
            insert.executeUpdate();
        }
        injectCrash(movement, "RELEASE");
        return Reply.success();
    }

    /**
     * Screens the payee: refuses an unknown or frozen account, records the screening otherwise. The credit checks
     * again when it comes: the account may be frozen in between.
     */
    private Reply screenPayee(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "SCREEN");
        Connection connection = context.connection();
        Account account = read(connection, movement.account());
        if (account == null) {
            return Reply.failure("unknown payee " + movement.account() + " at " + name);
        }
        if (account.frozen()) {
            return Reply.failure("payee " + movement.account() + " at " + name + " is frozen");
        }
        screening(connection, movement, "SCREEN");
        injectCrash(movement, "SCREEN");
        return Reply.success();
    }

    /** Undoes a screening. */
    private Reply clearScreening(SagaCommand command, MessageContext context) throws Exception {
        Movement movement = context.payload(Movement.class);
        injectLateness(movement, "CLEAR");
        screening(context.connection(), movement, "CLEAR");
        injectCrash(movement, "CLEAR");
        return Reply.success();
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

    private static long heldToday(Connection connection, String account) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement("SELECT coalesce(sum(CASE kind WHEN 'HOLD' "
                + "THEN amount ELSE -amount END), 0) FROM limit_hold WHERE account = ? AND day = current_date")) {
            query.setString(1, account);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static void screening(Connection connection, Movement movement, String kind) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO screening (transfer_id, kind, account, amount) VALUES (?, ?, ?, ?)")) {
            insert.setString(1, movement.transferId());
            insert.setString(2, kind);
            insert.setString(3, movement.account());
            insert.setLong(4, movement.amount());
            insert.executeUpdate();
        }
    }

    /** The account as it stands, unlocked: for a check that changes nothing on it. */
    private static Account read(Connection connection, String id) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement("SELECT balance, frozen FROM account WHERE id = ?")) {
            query.setString(1, id);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? new Account(rows.getLong(1), rows.getBoolean(2)) : null;
            }
        }
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
