package dev.outboxsaga.saga.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outboxsaga.saga.SagaEvent;
import dev.outboxsaga.saga.SagaException;
import dev.outboxsaga.saga.SagaInstance;
import dev.outboxsaga.saga.SagaState;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.IntFunction;

/** Reads and writes saga instances, their history and participants' replies. */
public final class SagaStore {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SagaStore() {
    }

    public static void insert(Connection connection, SagaEngine.State state) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(Sql.INSERT_INSTANCE)) {
            bindInstance(insert, state);
            insert.executeUpdate();
        }
    }

    /** Inserts a saga begun with a business key; false, inserting nothing, when its type has a saga with that key. */
    public static boolean insertKeyed(Connection connection, SagaEngine.State state, String key) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(Sql.INSERT_KEYED_INSTANCE)) {
            bindInstance(insert, state);
            insert.setString(15, key);
            return insert.executeUpdate() == 1;
        }
    }

    /** Parameters 1 to 14 of both instance inserts. */
    private static void bindInstance(PreparedStatement insert, SagaEngine.State state) throws SQLException {
        insert.setObject(1, state.id());
        insert.setString(2, state.type());
        insert.setInt(3, state.version());
        insert.setString(4, state.state().name());
        insert.setInt(5, state.stepIndex());
        insert.setInt(6, state.attempt());
        insert.setObject(7, state.awaitingCommandId());
        insert.setTimestamp(8, timestamp(state.deadline()));
        insert.setString(9, state.data());
        insert.setString(10, state.lastError());
        insert.setBoolean(11, state.state().terminal());
        insert.setArray(12, steps(insert.getConnection(), state.skippedSteps()));
        insert.setTimestamp(13, timestamp(state.sagaDeadline()));
        insert.setString(14, branchesJson(state.branches()));
    }

    private static Array steps(Connection connection, List<Integer> steps) throws SQLException {
        return connection.createArrayOf("integer", steps.toArray());
    }

    /** The id of the saga of {@code type} begun with business key {@code key}, or null. */
    public static UUID findByKey(Connection connection, String type, String key) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.FIND_BY_KEY)) {
            query.setString(1, type);
            query.setString(2, key);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? rows.getObject(1, UUID.class) : null;
            }
        }
    }

    public static void update(Connection connection, SagaEngine.State state) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(Sql.UPDATE_INSTANCE)) {
            update.setString(1, state.state().name());
            update.setInt(2, state.stepIndex());
            update.setInt(3, state.attempt());
            update.setObject(4, state.awaitingCommandId());
            update.setTimestamp(5, timestamp(state.deadline()));
            update.setString(6, state.data());
            update.setString(7, state.lastError());
            update.setBoolean(8, state.state().terminal());
            update.setArray(9, steps(connection, state.skippedSteps()));
            update.setTimestamp(10, timestamp(state.sagaDeadline()));
            update.setString(11, branchesJson(state.branches()));
            update.setObject(12, state.id());
            update.executeUpdate();
        }
    }

    public static void record(Connection connection, UUID sagaId, List<SagaEngine.Entry> history) throws SQLException {
        if (history.isEmpty()) {
            return;
        }
        try (PreparedStatement insert = connection.prepareStatement(Sql.INSERT_EVENT)) {
            for (SagaEngine.Entry entry : history) {
                insert.setObject(1, sagaId);
                insert.setInt(2, entry.stepIndex());
                insert.setString(3, entry.stepName());
                insert.setString(4, entry.event());
                insert.setString(5, entry.detail());
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    /** The instance, locked for this transaction, or null. */
    public static SagaEngine.State lock(Connection connection, UUID id) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.LOCK_INSTANCE)) {
            query.setObject(1, id);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? state(rows) : null;
            }
        }
    }

    /** Instances whose deadline passed, locked, skipping those another process holds. */
    public static List<SagaEngine.State> lockDue(Connection connection, Instant now, String[] known, int limit)
            throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.LOCK_DUE)) {
            query.setTimestamp(1, Timestamp.from(now));
            query.setArray(2, connection.createArrayOf("text", known));
            query.setInt(3, limit);
            List<SagaEngine.State> due = new ArrayList<>();
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    due.add(state(rows));
                }
            }
            return due;
        }
    }

    /** Those of {@code ids} whose saga has ended or parked. */
    public static List<UUID> settled(Connection connection, UUID[] ids) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.SETTLED)) {
            query.setArray(1, connection.createArrayOf("uuid", ids));
            List<UUID> settled = new ArrayList<>();
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    settled.add(rows.getObject(1, UUID.class));
                }
            }
            return settled;
        }
    }

    public static SagaInstance find(Connection connection, UUID id, IntFunction<String> stepNames) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.FIND_INSTANCE)) {
            query.setObject(1, id);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? instance(rows, stepNames) : null;
            }
        }
    }

    public static List<SagaInstance> list(Connection connection, SagaState state, String type, Instant createdBefore,
            int limit, StepNames stepNames) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.LIST)) {
            String stateName = state == null ? null : state.name();
            query.setString(1, stateName);
            query.setString(2, stateName);
            query.setString(3, type);
            query.setString(4, type);
            query.setTimestamp(5, Timestamp.from(createdBefore));
            query.setInt(6, limit);
            return instances(query, stepNames);
        }
    }

    public static List<SagaInstance> stuck(Connection connection, Instant unchangedSince, int limit, StepNames stepNames)
            throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.STUCK)) {
            query.setTimestamp(1, Timestamp.from(unchangedSince));
            query.setInt(2, limit);
            return instances(query, stepNames);
        }
    }

    public static Map<SagaState, Long> countByState(Connection connection) throws SQLException {
        Map<SagaState, Long> counts = new EnumMap<>(SagaState.class);
        for (SagaState state : SagaState.values()) {
            counts.put(state, 0L);
        }
        try (PreparedStatement query = connection.prepareStatement(Sql.COUNT_BY_STATE);
             ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                counts.put(SagaState.valueOf(rows.getString(1)), rows.getLong(2));
            }
        }
        return counts;
    }

    public static List<SagaEvent> history(Connection connection, UUID sagaId) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(Sql.HISTORY)) {
            query.setObject(1, sagaId);
            List<SagaEvent> events = new ArrayList<>();
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    events.add(new SagaEvent(rows.getLong(1), rows.getObject(2, UUID.class), rows.getInt(3),
                            rows.getString(4), rows.getString(5), rows.getString(6), rows.getTimestamp(7).toInstant()));
                }
            }
            return events;
        }
    }

    /** Step names of a saga type and version, for display. */
    @FunctionalInterface
    public interface StepNames {
        String name(String type, int version, int stepIndex);
    }

    private static List<SagaInstance> instances(PreparedStatement query, StepNames stepNames) throws SQLException {
        List<SagaInstance> result = new ArrayList<>();
        try (ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                String type = rows.getString(2);
                int version = rows.getInt(3);
                result.add(instance(rows, index -> stepNames.name(type, version, index)));
            }
        }
        return result;
    }

    private static SagaInstance instance(ResultSet rows, IntFunction<String> stepNames) throws SQLException {
        SagaEngine.State state = state(rows);
        return new SagaInstance(state.id(), state.type(), state.version(), state.state(), state.stepIndex(),
                stepNames.apply(state.stepIndex()), state.attempt(), state.data(), state.deadline(), state.lastError(),
                rows.getTimestamp(11).toInstant(), rows.getTimestamp(12).toInstant(), instant(rows.getTimestamp(13)));
    }

    private static SagaEngine.State state(ResultSet rows) throws SQLException {
        return new SagaEngine.State(rows.getObject(1, UUID.class), rows.getString(2), rows.getInt(3),
                SagaState.valueOf(rows.getString(4)), rows.getInt(5), rows.getInt(6), rows.getObject(7, UUID.class),
                instant(rows.getTimestamp(8)), rows.getString(9), rows.getString(10), skipped(rows.getArray(14)),
                instant(rows.getTimestamp(15)), branches(rows.getString(16)));
    }

    /**
     * The branches of the parallel group in hand as stored in {@code saga_instance.branches} ({@code sql/V11}), or
     * null for none. Due times are cut to microseconds, as timestamptz keeps them, so that they compare with the
     * saga's deadline column as they were.
     */
    public static String branchesJson(List<SagaEngine.Branch> branches) {
        if (branches == null) {
            return null;
        }
        ArrayNode array = JSON.createArrayNode();
        for (SagaEngine.Branch branch : branches) {
            ObjectNode node = array.addObject();
            node.put("step", branch.stepIndex());
            node.put("status", branch.status().name());
            node.put("attempt", branch.attempt());
            if (branch.awaitingCommandId() != null) {
                node.put("command", branch.awaitingCommandId().toString());
            }
            if (branch.due() != null) {
                node.put("due", branch.due().truncatedTo(ChronoUnit.MICROS).toString());
            }
        }
        return array.toString();
    }

    /** The branches stored by {@link #branchesJson}; null for none. */
    public static List<SagaEngine.Branch> branches(String json) {
        if (json == null) {
            return null;
        }
        try {
            List<SagaEngine.Branch> branches = new ArrayList<>();
            for (JsonNode node : JSON.readTree(json)) {
                JsonNode command = node.get("command");
                JsonNode due = node.get("due");
                branches.add(new SagaEngine.Branch(node.required("step").intValue(),
                        SagaEngine.Branch.Status.valueOf(node.required("status").textValue()),
                        command == null ? null : UUID.fromString(command.textValue()),
                        node.required("attempt").intValue(), due == null ? null : Instant.parse(due.textValue())));
            }
            return branches;
        } catch (JsonProcessingException | RuntimeException e) {
            throw new SagaException("stored parallel branches " + json + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static List<Integer> skipped(Array array) throws SQLException {
        if (array == null) {
            return List.of();
        }
        Integer[] steps = (Integer[]) array.getArray();
        return List.of(steps);
    }

    private static Timestamp timestamp(Instant instant) {
        return instant == null ? null : Timestamp.from(instant);
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}
