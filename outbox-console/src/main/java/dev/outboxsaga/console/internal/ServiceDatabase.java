package dev.outboxsaga.console.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.core.internal.Transactions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;

/**
 * One watched service's database, as the console and the CLI read and act on it: sagas, dead letters, relays and
 * the operator actions ({@code operator_action}, the audit trail). A small connection pool of its own.
 *
 * <p>Actions that need the service's code (a saga repair or cancel, a dead letter replay) are queued as PENDING
 * rows, which the service's orchestrator or consumer carries out and marks DONE or FAILED; {@link #awaitOutcome}
 * waits for that. A discard needs no code and is done here, with its audit row, in one statement.
 *
 * <p>Failures: bad input {@link IllegalArgumentException}, an action the target's state refuses
 * {@link IllegalStateException} (its message is for the operator), database failures
 * {@link dev.outboxsaga.core.OutboxException}.
 */
public final class ServiceDatabase implements AutoCloseable {

    /** Most rows of one list page. */
    public static final int MAX_PAGE = 1000;
    private static final int MAX_NOTE = 2000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final DataSource dataSource;
    private final HikariDataSource ownPool;
    private final Clock clock;
    private final Redaction redaction;

    private ServiceDatabase(String name, DataSource dataSource, HikariDataSource ownPool, Clock clock,
            Redaction redaction) {
        this.name = name;
        this.dataSource = dataSource;
        this.ownPool = ownPool;
        this.clock = clock;
        this.redaction = redaction;
    }

    /**
     * A pool on the service's database. It connects on first use, so a service that is down does not stop the
     * console from starting; each call then fails on its own. Dead letters' headers are masked as the service's
     * {@link ConsoleConfig.Service#redactHeaders()} say.
     */
    public static ServiceDatabase open(ConsoleConfig.Service service) {
        return open(service, Duration.ofSeconds(30));
    }

    /** As {@link #open(ConsoleConfig.Service)}, with queries cancelled after {@code statementTimeout}. */
    public static ServiceDatabase open(ConsoleConfig.Service service, Duration statementTimeout) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(service.jdbcUrl());
        config.setUsername(service.username());
        config.setPassword(service.password());
        config.setMaximumPoolSize(service.poolSize());
        config.setMinimumIdle(0);
        config.setConnectionTimeout(3_000);
        config.setInitializationFailTimeout(-1);
        config.setPoolName("outbox-console-" + service.name());
        config.addDataSourceProperty("ApplicationName", "outbox-console");
        config.addDataSourceProperty("connectTimeout", "3");
        // A list or bulk action that takes longer is a bug (a missing index), not something to wait for.
        config.setConnectionInitSql("SET statement_timeout = " + statementTimeout.toMillis());
        HikariDataSource pool = new HikariDataSource(config);
        return new ServiceDatabase(service.name(), pool, pool, Clock.systemUTC(), Redaction.of(service.redactHeaders()));
    }

    /**
     * Over a data source the caller owns (and closes), e.g. an embedding service's own pool; dead letters' headers are
     * masked as {@link Redaction#DEFAULT} says.
     */
    public static ServiceDatabase over(String name, DataSource dataSource) {
        return new ServiceDatabase(Objects.requireNonNull(name, "name"), Objects.requireNonNull(dataSource, "dataSource"),
                null, Clock.systemUTC(), Redaction.DEFAULT);
    }

    /** The service's database, for the reconciliation audit; owned by this object when {@link #open} made it. */
    public DataSource dataSource() {
        return dataSource;
    }

    /** The service's name. */
    public String name() {
        return name;
    }

    // ---------------------------------------------------------------------------------------------
    // Sagas

    /** Sagas by state, the stuck ones (not ended, unchanged for {@code stuckAfter}), and the pending actions. */
    public SagaOverview sagaOverview(Duration stuckAfter) {
        return read(connection -> {
            Map<String, Long> byState = new TreeMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_COUNT_BY_STATE);
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byState.put(rs.getString(1), rs.getLong(2));
                }
            }
            long stuck;
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_COUNT_STUCK)) {
                ps.setObject(1, Sql.timestamp(clock.instant().minus(stuckAfter)));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    stuck = rs.getLong(1);
                }
            }
            Map<String, Long> pending = new TreeMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.ACTIONS_PENDING_BY_SCOPE);
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    pending.put(rs.getString(1) + ":" + rs.getString(2), rs.getLong(3));
                }
            }
            return new SagaOverview(byState, stuck, pending);
        });
    }

    /** The saga types and versions that have instances, sorted. */
    public List<SagaType> sagaTypes() {
        return read(ServiceDatabase::sagaTypes);
    }

    /**
     * A page of sagas, newest first.
     *
     * @param after the previous page's {@link SagaPage#next()}, or null for the first page
     * @param limit 1 to {@value #MAX_PAGE}
     */
    public SagaPage sagas(SagaFilter filter, SagaCursor after, int limit) {
        requireLimit(limit);
        Objects.requireNonNull(filter, "filter");
        return read(connection -> {
            Sql.Statement statement = sagaPageStatement(connection, filter, after, limit);
            List<SagaRow> rows = new ArrayList<>();
            try (PreparedStatement ps = prepare(connection, statement); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(sagaRow(rs));
                }
            }
            if (rows.size() > limit) {
                rows = rows.subList(0, limit);
                return new SagaPage(rows, rows.get(limit - 1).cursor());
            }
            return new SagaPage(rows, null);
        });
    }

    /** The statement {@link #sagas} runs, for EXPLAIN in tests. */
    Sql.Statement sagaPageStatement(SagaFilter filter, SagaCursor after, int limit) {
        return read(connection -> sagaPageStatement(connection, filter, after, limit));
    }

    private Sql.Statement sagaPageStatement(Connection connection, SagaFilter filter, SagaCursor after, int limit)
            throws SQLException {
        List<Integer> versions = List.of();
        if (filter.type() != null && filter.version() == null) {
            versions = sagaTypes(connection).stream().filter(t -> t.type().equals(filter.type()))
                    .map(SagaType::version).toList();
        }
        return Sql.sagaPage(filter, clock.instant(), after, limit + 1, versions);
    }

    /** One saga with its timeline and the operator actions on it. */
    public Optional<SagaDetail> saga(UUID id) {
        Objects.requireNonNull(id, "id");
        return read(connection -> {
            SagaRow row;
            String data;
            Instant deadline;
            String branches;
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_FIND)) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    row = sagaRow(rs);
                    data = rs.getString(12);
                    deadline = instant(rs, 13);
                    branches = rs.getString(14);
                }
            }
            List<SagaHistoryEntry> history = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_HISTORY)) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        history.add(new SagaHistoryEntry(rs.getLong(1), rs.getInt(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), instant(rs, 6)));
                    }
                }
            }
            Map<Integer, String> stepNames = new TreeMap<>();
            for (SagaHistoryEntry entry : history) {
                if (entry.stepName() != null) {
                    // The first name: a parallel group's whole-group entries (a cancel) come later, at its first index.
                    stepNames.putIfAbsent(entry.stepIndex(), entry.stepName());
                }
            }
            return Optional.of(new SagaDetail(row, stepNames.get(row.stepIndex()), data, deadline, history,
                    branches(id, branches, stepNames), actionsOn(connection, OperatorAction.SAGA, id.toString())));
        });
    }

    /** How many of a type's latest sagas a shape derived from history reads. */
    static final int DERIVED_FROM_SAGAS = 100;

    /**
     * A saga type and version's shape, as its orchestrator recorded it ({@code saga_definition}, sql/V13) or, when it
     * recorded none (older than V13), derived from the history of the type's latest {@value #DERIVED_FROM_SAGAS}
     * sagas; with how many of its sagas are at each step now.
     *
     * @return empty when there is neither a recorded shape nor a saga of that type and version
     */
    public Optional<SagaTypeDetail> sagaType(String type, int version) {
        Objects.requireNonNull(type, "type");
        return read(connection -> {
            SagaShape shape = null;
            Instant recordedAt = null;
            int sagasRead = 0;
            boolean recorded;
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_DEFINITION_TABLE);
                    ResultSet rs = ps.executeQuery()) {
                rs.next();
                recorded = rs.getBoolean(1);
            }
            if (recorded) {
                try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_DEFINITION_FIND)) {
                    ps.setString(1, type);
                    ps.setInt(2, version);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            shape = SagaShape.parse(rs.getString(1));
                            recordedAt = instant(rs, 2);
                        }
                    }
                }
            }
            if (shape == null) {
                Map<UUID, List<SagaHistoryEntry>> histories = new LinkedHashMap<>();
                try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_TYPE_HISTORY)) {
                    ps.setString(1, type);
                    ps.setInt(2, version);
                    ps.setInt(3, DERIVED_FROM_SAGAS);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            histories.computeIfAbsent(rs.getObject(1, UUID.class), id -> new ArrayList<>())
                                    .add(new SagaHistoryEntry(rs.getLong(2), rs.getInt(3), rs.getString(4),
                                            rs.getString(5), rs.getString(6), instant(rs, 7)));
                        }
                    }
                }
                if (histories.isEmpty()) {
                    return Optional.empty();
                }
                shape = DerivedShape.derive(type, version, histories.values());
                sagasRead = histories.size();
            }
            Map<Integer, SagaTypeDetail.InFlight> inFlight = new TreeMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_TYPE_IN_FLIGHT)) {
                ps.setString(1, type);
                ps.setInt(2, version);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        inFlight.merge(rs.getInt(1), SagaTypeDetail.InFlight.NONE.plus(rs.getString(2), rs.getLong(3)),
                                (a, b) -> new SagaTypeDetail.InFlight(a.running() + b.running(),
                                        a.compensating() + b.compensating(), a.parked() + b.parked()));
                    }
                }
            }
            return Optional.of(new SagaTypeDetail(shape, recordedAt, sagasRead, inFlight));
        });
    }

    /**
     * The sagas ended and the dead letters parked per minute over the last {@code window}, up to the current minute:
     * each one grouped range of a V13 index, so the cost follows what happened in the window, not the tables' size.
     *
     * @param window whole minutes, at most a day
     */
    public ServiceActivity activity(Duration window) {
        if (window.isNegative() || window.isZero() || window.compareTo(Duration.ofDays(1)) > 0
                || window.toSecondsPart() != 0 || window.toNanosPart() != 0) {
            throw new IllegalArgumentException("window must be whole minutes up to a day, but was " + window);
        }
        Instant to = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MINUTES).plus(Duration.ofMinutes(1));
        Instant from = to.minus(window);
        return read(connection -> {
            TreeMap<Instant, ServiceActivity.Ended> ended = new TreeMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGAS_ENDED_PER_MINUTE)) {
                ps.setObject(1, Sql.timestamp(from));
                ps.setObject(2, Sql.timestamp(to));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ended.merge(instant(rs, 1), ServiceActivity.Ended.NONE.plus(rs.getString(2), rs.getLong(3)),
                                ServiceActivity.Ended::plus);
                    }
                }
            }
            TreeMap<Instant, Long> parked = new TreeMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.DEAD_LETTERS_PARKED_PER_MINUTE)) {
                ps.setObject(1, Sql.timestamp(from));
                ps.setObject(2, Sql.timestamp(to));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        parked.merge(instant(rs, 1), rs.getLong(2), Long::sum);
                    }
                }
            }
            return new ServiceActivity(from, to, ended, parked, null);
        });
    }

    /** The statements {@link #activity} runs with their parameters, for EXPLAIN in tests. */
    List<Sql.Statement> activityStatements(Duration window) {
        Instant to = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MINUTES).plus(Duration.ofMinutes(1));
        List<Object> range = List.of(Sql.timestamp(to.minus(window)), Sql.timestamp(to));
        return List.of(new Sql.Statement(Sql.SAGAS_ENDED_PER_MINUTE, range),
                new Sql.Statement(Sql.DEAD_LETTERS_PARKED_PER_MINUTE, range));
    }

    /**
     * Queues {@code action} on a saga for its service's orchestrator, which carries it out and records the outcome.
     *
     * @param actor who asks: {@code console:<user>} or {@code cli:<user>}
     * @param note  the operator's note; required for MARK_COMPENSATED and CANCEL (the reason)
     * @return the PENDING action
     * @throws IllegalStateException when there is no such saga, its state does not allow the action, or an action on
     *                               it waits already
     */
    public OperatorAction queueSagaAction(UUID sagaId, SagaAction action, String actor, String note) {
        Objects.requireNonNull(sagaId, "sagaId");
        Objects.requireNonNull(action, "action");
        String checkedActor = requireActor(actor);
        String checkedNote = note(note, action.noteRequired(), action.name());
        return write(connection -> {
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_ACTION_QUEUE)) {
                ps.setString(1, checkedActor);
                ps.setString(2, action.name());
                ps.setString(3, checkedNote);
                ps.setObject(4, sagaId);
                ps.setArray(5, connection.createArrayOf("varchar", new Object[] {action.allowedState()}));
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return action(rs);
                    }
                }
            }
            String state = null;
            try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_STATE)) {
                ps.setObject(1, sagaId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        state = rs.getString(1);
                    }
                }
            }
            if (state == null) {
                throw new IllegalStateException("no saga " + sagaId + " in service " + name);
            }
            if (!state.equals(action.allowedState())) {
                throw new IllegalStateException("saga " + sagaId + " is " + state + "; " + action.name() + " needs a "
                        + action.allowedState() + " saga");
            }
            throw new IllegalStateException("an action on saga " + sagaId + " waits for its orchestrator already");
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Operator actions

    /** One operator action by id. */
    public Optional<OperatorAction> action(long id) {
        return read(connection -> {
            try (PreparedStatement ps = connection.prepareStatement(Sql.ACTION_FIND)) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(action(rs)) : Optional.empty();
                }
            }
        });
    }

    /**
     * Waits up to {@code wait} for an action to leave PENDING, looking every 100 ms.
     *
     * @return the action as it is then: DONE, FAILED, or still PENDING when its service has not carried it out
     * @throws IllegalStateException when there is no such action
     */
    public OperatorAction awaitOutcome(long id, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            OperatorAction current = action(id)
                    .orElseThrow(() -> new IllegalStateException("no operator action " + id + " in service " + name));
            if (!current.pending() || System.nanoTime() >= deadline || Thread.currentThread().isInterrupted()) {
                return current;
            }
            LockSupport.parkNanos(Math.min(TimeUnit.MILLISECONDS.toNanos(100), Math.max(1, deadline - System.nanoTime())));
        }
    }

    /** The actions on one saga ({@link OperatorAction#SAGA}, its id) or dead letter, newest first. */
    public List<OperatorAction> actionsOn(String targetKind, String targetId) {
        return read(connection -> actionsOn(connection, targetKind, targetId));
    }

    /** The latest actions on anything, newest first. */
    public List<OperatorAction> recentActions(int limit) {
        requireLimit(limit);
        return read(connection -> {
            List<OperatorAction> actions = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.ACTIONS_RECENT)) {
                ps.setInt(1, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        actions.add(action(rs));
                    }
                }
            }
            return actions;
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Dead letters

    /** Dead letter counts by consumer, then by status. */
    public Map<String, Map<String, Long>> deadLetterCounts() {
        return read(connection -> {
            Map<String, Map<String, Long>> counts = new TreeMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.DEAD_LETTER_COUNT_BY_CONSUMER);
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    counts.computeIfAbsent(rs.getString(1), consumer -> new TreeMap<>()).put(rs.getString(2), rs.getLong(3));
                }
            }
            return counts;
        });
    }

    /**
     * A page of dead letters, newest first.
     *
     * @param beforeId the previous page's {@link DeadLetterPage#nextBefore()}, or null for the first page
     * @param limit    1 to {@value #MAX_PAGE}
     */
    public DeadLetterPage deadLetters(DeadLetterFilter filter, Long beforeId, int limit) {
        requireLimit(limit);
        Objects.requireNonNull(filter, "filter");
        return read(connection -> {
            List<DeadLetterRow> rows = new ArrayList<>();
            try (PreparedStatement ps = prepare(connection, Sql.deadLetterPage(filter, beforeId, limit + 1));
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(deadLetterRow(rs));
                }
            }
            if (rows.size() > limit) {
                rows = rows.subList(0, limit);
                return new DeadLetterPage(rows, rows.get(limit - 1).id());
            }
            return new DeadLetterPage(rows, null);
        });
    }

    /** How many dead letters the filter takes. */
    public long countDeadLetters(DeadLetterFilter filter) {
        return read(connection -> {
            try (PreparedStatement ps = prepare(connection, Sql.deadLetterCount(filter)); ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /** One dead letter with its record, failure and the operator actions on it; secret headers masked. */
    public Optional<DeadLetterDetail> deadLetter(long id) {
        return read(connection -> {
            DeadLetterRow row;
            byte[] key;
            byte[] value;
            String headers;
            String stack;
            String note;
            try (PreparedStatement ps = connection.prepareStatement(Sql.DEAD_LETTER_FIND)) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    row = deadLetterRow(rs);
                    key = rs.getBytes(13);
                    value = rs.getBytes(14);
                    headers = rs.getString(15);
                    stack = rs.getString(16);
                    note = rs.getString(17);
                }
            }
            return Optional.of(new DeadLetterDetail(row, key, value, redaction.apply(headers(headers)), stack, note,
                    actionsOn(connection, OperatorAction.DEAD_LETTER, Long.toString(id))));
        });
    }

    /**
     * Queues the replay of a parked dead letter for its consumer, which runs its handler on it once.
     *
     * @return the PENDING action
     * @throws IllegalStateException when there is no such dead letter, it is not parked, it has no message id (a
     *                               replay could not be deduplicated), or a replay of it waits already
     */
    public OperatorAction queueReplay(long id, String actor, String note) {
        String checkedActor = requireActor(actor);
        String checkedNote = note(note, false, "REPLAY");
        return write(connection -> {
            try (PreparedStatement ps = connection.prepareStatement(Sql.DEAD_LETTER_REPLAY_QUEUE)) {
                ps.setString(1, checkedActor);
                ps.setString(2, checkedNote);
                ps.setLong(3, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return action(rs);
                    }
                }
            }
            throw whyNot(connection, id, true);
        });
    }

    /**
     * Discards a parked dead letter with a note, and records the DONE action, in one transaction.
     *
     * @return the DONE action
     * @throws IllegalStateException when there is no such dead letter or it is not parked
     */
    public OperatorAction discard(long id, String actor, String note) {
        String checkedActor = requireActor(actor);
        String checkedNote = note(note, true, "DISCARD");
        return write(connection -> {
            try (PreparedStatement ps = connection.prepareStatement(Sql.DEAD_LETTER_DISCARD)) {
                ps.setString(1, checkedNote);
                ps.setLong(2, id);
                ps.setString(3, checkedActor);
                ps.setString(4, checkedNote);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return action(rs);
                    }
                }
            }
            throw whyNot(connection, id, false);
        });
    }

    /**
     * How many of the filtered dead letters a bulk action would take now (parked ones; for a replay only those with
     * a message id), and the highest id among them.
     */
    public BulkPreview previewBulk(DeadLetterFilter filter, DeadLetterAction action) {
        return read(connection -> {
            try (PreparedStatement ps = prepare(connection,
                    Sql.deadLetterBulkPreview(filter, action == DeadLetterAction.REPLAY)); ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new BulkPreview(rs.getLong(1), rs.getLong(2));
            }
        });
    }

    /**
     * Queues a replay of each parked dead letter the filter takes, up to {@code maxId} (from the preview), except
     * those without a message id or with a replay pending already, in one transaction.
     *
     * @return how many replays were queued
     */
    public int replayAll(DeadLetterFilter filter, long maxId, String actor, String note) {
        String checkedActor = requireActor(actor);
        String checkedNote = note(note, false, "REPLAY");
        return write(connection -> {
            try (PreparedStatement ps = prepare(connection, Sql.deadLetterBulkReplay(filter, maxId, checkedActor,
                    checkedNote))) {
                return ps.executeUpdate();
            }
        });
    }

    /**
     * Discards each parked dead letter the filter takes, up to {@code maxId} (from the preview), with its audit row,
     * in one transaction.
     *
     * @return how many were discarded
     */
    public int discardAll(DeadLetterFilter filter, long maxId, String actor, String note) {
        String checkedActor = requireActor(actor);
        String checkedNote = note(note, true, "DISCARD");
        return write(connection -> {
            try (PreparedStatement ps = prepare(connection, Sql.deadLetterBulkDiscard(filter, maxId, checkedActor,
                    checkedNote))) {
                return ps.executeUpdate();
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Relays

    /** The relays' leases, replication slots and parked rows (the latest {@code recentParked} of them). */
    public RelayTables relayTables(int recentParked) {
        requireLimit(recentParked);
        return read(connection -> {
            List<RelayTables.Lease> leases = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.RELAY_LEASES); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    leases.add(new RelayTables.Lease(rs.getString(1), rs.getString(2), rs.getLong(3), instant(rs, 4),
                            instant(rs, 5), rs.getBoolean(6)));
                }
            }
            List<RelayTables.Slot> slots = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.RELAY_SLOTS); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    slots.add(new RelayTables.Slot(rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4),
                            (Integer) rs.getObject(5), rs.getString(6), rs.getString(7), rs.getString(8),
                            (Long) rs.getObject(9)));
                }
            }
            Map<String, Long> parked = new LinkedHashMap<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.RELAY_PARKED_COUNT);
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    parked.put(rs.getString(1), rs.getLong(2));
                }
            }
            List<RelayTables.ParkedRow> recent = new ArrayList<>();
            try (PreparedStatement ps = connection.prepareStatement(Sql.RELAY_PARKED_RECENT)) {
                ps.setInt(1, recentParked);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        recent.add(new RelayTables.ParkedRow(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3),
                                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                                instant(rs, 9)));
                    }
                }
            }
            return new RelayTables(leases, slots, parked, recent);
        });
    }

    /** Closes the pool opened by {@link #open}; a data source handed to {@link #over} stays open. */
    @Override
    public void close() {
        if (ownPool != null) {
            ownPool.close();
        }
    }

    @Override
    public String toString() {
        return "ServiceDatabase[" + name + "]";
    }

    // ---------------------------------------------------------------------------------------------

    private IllegalStateException whyNot(Connection connection, long deadLetterId, boolean replay) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(Sql.DEAD_LETTER_FIND)) {
            ps.setLong(1, deadLetterId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new IllegalStateException("no dead letter " + deadLetterId + " in service " + name);
                }
                DeadLetterRow row = deadLetterRow(rs);
                if (!row.parked()) {
                    return new IllegalStateException("dead letter " + deadLetterId + " is " + row.status()
                            + ", not PARKED");
                }
                if (replay && row.messageId() == null) {
                    return new IllegalStateException("dead letter " + deadLetterId + " has no message id, so a replay "
                            + "could not be deduplicated; discard it and republish the message with an id instead");
                }
                return new IllegalStateException("a replay of dead letter " + deadLetterId + " waits for consumer "
                        + row.consumer() + " already");
            }
        }
    }

    private static List<OperatorAction> actionsOn(Connection connection, String targetKind, String targetId)
            throws SQLException {
        List<OperatorAction> actions = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(Sql.ACTIONS_ON)) {
            ps.setString(1, targetKind);
            ps.setString(2, targetId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    actions.add(action(rs));
                }
            }
        }
        return actions;
    }

    private static List<SagaType> sagaTypes(Connection connection) throws SQLException {
        List<SagaType> types = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(Sql.SAGA_TYPES); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                types.add(new SagaType(rs.getString(1), rs.getInt(2)));
            }
        }
        return types;
    }

    private static PreparedStatement prepare(Connection connection, Sql.Statement statement) throws SQLException {
        PreparedStatement ps = connection.prepareStatement(statement.sql());
        int index = 1;
        for (Object parameter : statement.parameters()) {
            ps.setObject(index++, parameter);
        }
        return ps;
    }

    private static SagaRow sagaRow(ResultSet rs) throws SQLException {
        return new SagaRow(rs.getObject(1, UUID.class), rs.getString(2), rs.getInt(3), rs.getString(4), rs.getInt(5),
                rs.getInt(6), rs.getString(7), rs.getString(8), instant(rs, 9), instant(rs, 10), instant(rs, 11));
    }

    private static DeadLetterRow deadLetterRow(ResultSet rs) throws SQLException {
        return new DeadLetterRow(rs.getLong(1), rs.getString(2), rs.getObject(3, UUID.class), rs.getString(4),
                rs.getInt(5), rs.getLong(6), rs.getString(7), rs.getString(8), rs.getInt(9), rs.getString(10),
                instant(rs, 11), instant(rs, 12));
    }

    private static OperatorAction action(ResultSet rs) throws SQLException {
        return new OperatorAction(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), instant(rs, 10), instant(rs, 11));
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    /**
     * The branches column (sql/V11): a JSON array, one object per branch, {"step", "status", "attempt", "command",
     * "due"}; null when no parallel group is in hand. Each named from the history.
     */
    private static List<SagaBranch> branches(UUID sagaId, String json, Map<Integer, String> stepNames) {
        if (json == null) {
            return List.of();
        }
        try {
            List<SagaBranch> branches = new ArrayList<>();
            for (JsonNode node : JSON.readTree(json)) {
                int step = node.path("step").asInt(-1);
                JsonNode command = node.get("command");
                JsonNode due = node.get("due");
                branches.add(new SagaBranch(step, stepNames.get(step), node.path("status").asText("?"),
                        node.path("attempt").asInt(0), command == null ? null : UUID.fromString(command.asText()),
                        due == null ? null : Instant.parse(due.asText())));
            }
            return branches;
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("branches of saga " + sagaId + " are not the stored form of sql/V11: "
                    + e.getMessage(), e);
        }
    }

    /** The record headers column: a JSON array of {"key": name, "value": base64 or null}. */
    private static List<DeadLetterDetail.Header> headers(String json) {
        List<DeadLetterDetail.Header> headers = new ArrayList<>();
        if (json == null) {
            return headers;
        }
        try {
            for (JsonNode header : JSON.readTree(json)) {
                JsonNode value = header.get("value");
                String text = value == null || value.isNull() ? null
                        : new String(Base64.getDecoder().decode(value.asText()), StandardCharsets.UTF_8);
                headers.add(new DeadLetterDetail.Header(header.path("key").asText(), text));
            }
        } catch (JsonProcessingException e) {
            // Not getMessage(): it quotes the text around the fault, which may be a secret header's value.
            headers.add(new DeadLetterDetail.Header("(unreadable headers)", e.getOriginalMessage()));
        } catch (IOException | IllegalArgumentException e) {
            headers.add(new DeadLetterDetail.Header("(unreadable headers)", e.getMessage()));
        }
        return headers;
    }

    private static String requireActor(String actor) {
        if (actor == null || actor.isBlank() || actor.length() > 255) {
            throw new IllegalArgumentException("actor must be 1 to 255 characters, e.g. console:alice, but was '"
                    + actor + "'");
        }
        return actor;
    }

    private static String note(String note, boolean required, String action) {
        String trimmed = note == null || note.isBlank() ? null : note.trim();
        if (trimmed == null && required) {
            throw new IllegalArgumentException(action + " needs a note"
                    + (action.equals("CANCEL") ? " (the reason)" : " (what was done, and why)"));
        }
        if (trimmed != null && trimmed.length() > MAX_NOTE) {
            throw new IllegalArgumentException("the note must be at most " + MAX_NOTE + " characters");
        }
        return trimmed;
    }

    private static void requireLimit(int limit) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_PAGE + ", but was " + limit);
        }
    }

    private <R> R read(Transactions.Work<R, RuntimeException> work) {
        return Transactions.inTransaction(dataSource, work);
    }

    /** One transaction: a queued action and the checks behind a refusal see the same rows. */
    private <R> R write(Transactions.Work<R, RuntimeException> work) {
        return Transactions.inTransaction(dataSource, work);
    }
}
