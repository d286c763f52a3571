package dev.outboxsaga.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.outboxsaga.testkit.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** Rows of a service's tables written by hand as its orchestrator and consumers write them, for the console's tests. */
public final class ServiceRows {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestDatabase db;

    public ServiceRows(TestDatabase db) {
        this.db = db;
    }

    /** A saga row as an orchestrator writes it, last changed when it was created. */
    public UUID saga(String type, int version, String state, Instant createdAt, String key) {
        UUID id = UUID.randomUUID();
        boolean ended = state.equals("COMPLETED") || state.equals("COMPENSATED") || state.equals("FAILED");
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO saga_instance (id, saga_type, saga_version, state, step_index, attempt, data, created_at, "
                        + "updated_at, ended_at, saga_key) VALUES (?, ?, ?, ?, 1, 1, '{\"amount\": 100}', ?, ?, ?, ?)")) {
            ps.setObject(1, id);
            ps.setString(2, type);
            ps.setInt(3, version);
            ps.setString(4, state);
            ps.setObject(5, createdAt.atOffset(ZoneOffset.UTC));
            ps.setObject(6, createdAt.atOffset(ZoneOffset.UTC));
            ps.setObject(7, ended ? createdAt.plus(1, ChronoUnit.SECONDS).atOffset(ZoneOffset.UTC) : null);
            ps.setString(8, key);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return id;
    }

    /** Sets the branches of the parallel group a saga has in hand, in their stored form (sql/V11). */
    public void branches(UUID sagaId, String json) {
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE saga_instance SET branches = ?::jsonb WHERE id = ?")) {
            ps.setString(1, json);
            ps.setObject(2, sagaId);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A saga history entry, at the time of its insert. */
    public void event(UUID sagaId, int step, String stepName, String event, String detail) {
        event(sagaId, step, stepName, event, detail, null);
    }

    /** A saga history entry at {@code at}, as if written by the orchestrator's transaction that began then. */
    public void event(UUID sagaId, int step, String stepName, String event, String detail, Instant at) {
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO saga_event (saga_id, step_index, step_name, event, detail, at) "
                        + "VALUES (?, ?, ?, ?, ?, coalesce(?::timestamptz, now()))")) {
            ps.setObject(1, sagaId);
            ps.setInt(2, step);
            ps.setString(3, stepName);
            ps.setString(4, event);
            ps.setString(5, detail);
            ps.setObject(6, at == null ? null : at.atOffset(ZoneOffset.UTC));
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A dead letter as an inbox consumer parks it, with a message id unless {@code withMessageId} is false. */
    public long deadLetter(String consumer, String topic, String errorClass, String message, Instant parkedAt,
            boolean withMessageId) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("id", "m-1");
        headers.put("empty", null);
        return deadLetter(consumer, topic, errorClass, message, parkedAt, withMessageId, headers, "{\"amount\":5}");
    }

    /**
     * A dead letter with these headers (in order, a null value for a header without one) and this payload, stored as
     * an inbox consumer stores them (sql/V3: a JSON array of names and base64 values; the payload's UTF-8 bytes).
     */
    public long deadLetter(String consumer, String topic, String errorClass, String message, Instant parkedAt,
            boolean withMessageId, Map<String, String> headers, String payload) {
        ArrayNode stored = JSON.createArrayNode();
        headers.forEach((name, value) -> stored.addObject().put("key", name).put("value", value == null ? null
                : Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))));
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO dead_letter (consumer, message_id, topic, kafka_partition, kafka_offset, record_key, "
                        + "record_value, record_headers, error_class, error_message, error_stack, attempts, parked_at) "
                        + "VALUES (?, ?, ?, 0, nextval('dead_letter_id_seq'), ?, ?, ?::jsonb, ?, ?, ?, 3, ?) RETURNING id")) {
            ps.setString(1, consumer);
            ps.setObject(2, withMessageId ? UUID.randomUUID() : null);
            ps.setString(3, topic);
            ps.setBytes(4, "acc-1".getBytes(StandardCharsets.UTF_8));
            ps.setBytes(5, payload.getBytes(StandardCharsets.UTF_8));
            ps.setString(6, stored.toString());
            ps.setString(7, errorClass);
            ps.setString(8, message);
            ps.setString(9, errorClass + ": " + message + "\n\tat Handler.handle(Handler.java:12)");
            ps.setObject(10, parkedAt.atOffset(ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One value from a query. */
    public Object scalar(String sql, Object... parameters) {
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                ps.setObject(i + 1, parameters[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getObject(1) : null;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
