package dev.outboxsaga.core.internal;

import dev.outboxsaga.core.DeadLetter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/** The inbox and dead-letter tables of one consumer. */
public final class InboxStore {

    /** Outcome values of the inbox table. */
    public static final String PROCESSED = "PROCESSED";
    public static final String PARKED = "PARKED";

    private final String consumer;
    private final Sql.Inbox sql;

    public InboxStore(String consumer, Sql.Inbox sql) {
        this.consumer = consumer;
        this.sql = sql;
    }

    public String consumer() {
        return consumer;
    }

    /**
     * Inserts the inbox row for a message in the connection's transaction.
     *
     * @return false when the message was handled (or parked) before: a duplicate
     */
    public boolean claim(Connection connection, UUID messageId, String outcome, ConsumerRecord<?, ?> record)
            throws SQLException {
        try (PreparedStatement claim = connection.prepareStatement(sql.claim())) {
            claim.setString(1, consumer);
            claim.setObject(2, messageId);
            claim.setString(3, outcome);
            claim.setString(4, record == null ? null : record.topic());
            if (record == null) {
                claim.setNull(5, java.sql.Types.INTEGER);
                claim.setNull(6, java.sql.Types.BIGINT);
            } else {
                claim.setInt(5, record.partition());
                claim.setLong(6, record.offset());
            }
            return claim.executeUpdate() == 1;
        }
    }

    /** Parks a record; a record parked before (same topic, partition, offset) is left as it is. */
    public void park(Connection connection, UUID messageId, ConsumerRecord<byte[], byte[]> record, Throwable error,
            int attempts) throws SQLException {
        try (PreparedStatement park = connection.prepareStatement(sql.park())) {
            park.setString(1, consumer);
            park.setObject(2, messageId);
            park.setString(3, record.topic());
            park.setInt(4, record.partition());
            park.setLong(5, record.offset());
            park.setBytes(6, record.key());
            park.setBytes(7, record.value());
            park.setString(8, headersJson(record));
            park.setString(9, error.getClass().getName());
            park.setString(10, error.getMessage());
            park.setString(11, stackTrace(error));
            park.setInt(12, attempts);
            park.executeUpdate();
        }
    }

    /**
     * Turns the PARKED inbox row of a message into PROCESSED in the connection's transaction, locking it.
     *
     * @return false when the message has no PARKED row (none at all, or processed already)
     */
    public boolean markProcessed(Connection connection, UUID messageId) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(sql.markProcessed())) {
            update.setString(1, consumer);
            update.setObject(2, messageId);
            return update.executeUpdate() == 1;
        }
    }

    public List<DeadLetter> list(Connection connection, DeadLetter.Status status, long afterId, int limit)
            throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(
                status == null ? sql.listParked() : sql.listByStatus())) {
            int i = 1;
            query.setString(i++, consumer);
            if (status != null) {
                query.setString(i++, status.name());
            }
            query.setLong(i++, afterId);
            query.setInt(i, limit);
            return read(query);
        }
    }

    public DeadLetter find(Connection connection, long id, boolean lockIfParked) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(lockIfParked ? sql.lockParked() : sql.findDeadLetter())) {
            query.setString(1, consumer);
            query.setLong(2, id);
            List<DeadLetter> found = read(query);
            return found.isEmpty() ? null : found.get(0);
        }
    }

    public boolean resolve(Connection connection, long id, DeadLetter.Status status, String note) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(sql.resolve())) {
            update.setString(1, status.name());
            update.setString(2, note);
            update.setString(3, consumer);
            update.setLong(4, id);
            return update.executeUpdate() == 1;
        }
    }

    public void recordReplayFailure(Connection connection, long id, Throwable error) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(sql.recordReplayFailure())) {
            update.setString(1, error.getClass().getName());
            update.setString(2, error.getMessage());
            update.setString(3, stackTrace(error));
            update.setString(4, consumer);
            update.setLong(5, id);
            update.executeUpdate();
        }
    }

    public long countParked(Connection connection) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql.countParked())) {
            query.setString(1, consumer);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static List<DeadLetter> read(PreparedStatement query) throws SQLException {
        List<DeadLetter> result = new ArrayList<>();
        try (ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                result.add(new DeadLetter(
                        rows.getLong(1),
                        rows.getString(2),
                        rows.getObject(3, UUID.class),
                        rows.getString(4),
                        rows.getInt(5),
                        rows.getLong(6),
                        rows.getBytes(7),
                        rows.getBytes(8),
                        parseHeaders(rows.getString(9)),
                        rows.getString(10),
                        rows.getString(11),
                        rows.getString(12),
                        rows.getInt(13),
                        DeadLetter.Status.valueOf(rows.getString(14)),
                        instant(rows.getTimestamp(15)),
                        instant(rows.getTimestamp(16)),
                        rows.getString(17)));
            }
        }
        return result;
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }

    static String headersJson(ConsumerRecord<?, ?> record) {
        StringBuilder json = new StringBuilder("[");
        boolean first = true;
        for (Header header : record.headers()) {
            if (!first) {
                json.append(',');
            }
            first = false;
            json.append("{\"key\":");
            Json.writeString(json, header.key());
            json.append(",\"value\":");
            if (header.value() == null) {
                json.append("null");
            } else {
                Json.writeString(json, Base64.getEncoder().encodeToString(header.value()));
            }
            json.append('}');
        }
        return json.append(']').toString();
    }

    static List<DeadLetter.Header> parseHeaders(String json) {
        List<DeadLetter.Header> headers = new ArrayList<>();
        for (Object element : (List<?>) Json.parse(json)) {
            Map<?, ?> header = (Map<?, ?>) element;
            Object value = header.get("value");
            headers.add(new DeadLetter.Header((String) header.get("key"),
                    value == null ? null : Base64.getDecoder().decode((String) value)));
        }
        return headers;
    }

    static String stackTrace(Throwable error) {
        StringWriter text = new StringWriter();
        error.printStackTrace(new PrintWriter(text));
        return text.toString();
    }
}
