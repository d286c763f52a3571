package dev.outboxsaga.relay.internal;

/**
 * Every SQL statement of the relay, for tables in {@code schema} (validated identifiers). The
 * tables themselves come from {@code sql/V4__relay.sql}; the publication is operational state that
 * the relay creates or verifies at start-up, so its statement lives here too.
 */
public record Sql(
        String acquireLease,
        String releaseLease,
        String leaseHolder,
        String lockLease,
        String heartbeat,
        String purgeHeartbeats,
        String park,
        String slot,
        String dropSlot,
        String terminateSlotHolder,
        String publicationTables,
        String publicationExists,
        String publishesOnlyInserts,
        String retainedWalBytes,
        String slotConfirmedLsn,
        String slotCreating,
        String slotCreated,
        String slotHistory,
        String slotPublished) {

    public static Sql forSchema(String schema) {
        String lease = schema + ".outbox_relay_lease";
        return new Sql(
                // Take the lease when it is free, expired, or ours; the epoch grows on every change of holder.
                "INSERT INTO " + lease + " AS l (relay, holder, epoch, expires_at) "
                        + "VALUES (?, ?, 1, now() + make_interval(secs => ? / 1000.0)) "
                        + "ON CONFLICT (relay) DO UPDATE SET "
                        + "epoch = CASE WHEN l.holder = EXCLUDED.holder THEN l.epoch ELSE l.epoch + 1 END, "
                        + "acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END, "
                        + "holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
                        + "WHERE l.holder = EXCLUDED.holder OR l.expires_at < now() "
                        + "RETURNING epoch",
                "UPDATE " + lease + " SET expires_at = now() WHERE relay = ? AND holder = ?",
                "SELECT holder, epoch, expires_at > now() AS live FROM " + lease + " WHERE relay = ?",
                // Held, by the database's clock now; the row lock keeps a takeover waiting until the caller commits.
                "SELECT expires_at > clock_timestamp() FROM " + lease + " WHERE relay = ? AND holder = ? FOR UPDATE",
                "INSERT INTO " + schema + ".outbox_relay_heartbeat (relay) VALUES (%s)",
                "DELETE FROM " + schema + ".outbox_relay_heartbeat WHERE relay = ? AND beat_at < now() - interval '1 minute'",
                "INSERT INTO " + schema + ".outbox_relay_dead_letter (id, relay, source_table, aggregatetype, aggregateid, "
                        + "type, payload, headers, correlationid, reason, wal_position) "
                        + "VALUES (?::uuid, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                "SELECT slot_type, plugin, database, active, active_pid, wal_status, restart_lsn::text, "
                        + "confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?",
                "SELECT pg_drop_replication_slot(?)",
                "SELECT pg_terminate_backend(active_pid, 2000) FROM pg_replication_slots WHERE slot_name = ? AND active",
                "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = ?",
                "SELECT count(*) FROM pg_publication WHERE pubname = ?",
                "SELECT pubinsert AND NOT pubupdate AND NOT pubdelete FROM pg_publication WHERE pubname = ?",
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots "
                        + "WHERE slot_name = ?",
                "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint FROM pg_replication_slots WHERE slot_name = ?",
                "INSERT INTO " + schema + ".outbox_relay_slot (relay, slot_name, created_lsn) VALUES (?, ?, NULL) "
                        + "ON CONFLICT (relay) DO UPDATE SET slot_name = EXCLUDED.slot_name, created_lsn = NULL, created_at = now()",
                "UPDATE " + schema + ".outbox_relay_slot SET created_lsn = ?::pg_lsn WHERE relay = ?",
                // Whether the relay's slot is the one it created, and whether it has moved since.
                "SELECT r.slot_name = ? AS same_slot, r.created_lsn::text, s.confirmed_flush_lsn::text, "
                        + "r.first_published_at IS NOT NULL AS published, "
                        + "coalesce(s.confirmed_flush_lsn > r.created_lsn, false) AS moved FROM " + schema
                        + ".outbox_relay_slot r LEFT JOIN pg_replication_slots s ON s.slot_name = r.slot_name WHERE r.relay = ?",
                "UPDATE " + schema + ".outbox_relay_slot SET first_published_at = now() "
                        + "WHERE relay = ? AND slot_name = ? AND first_published_at IS NULL");
    }

    /** CREATE PUBLICATION for the given qualified tables (validated identifiers), inserts only. */
    public static String createPublication(String publication, Iterable<String> qualifiedTables) {
        return "CREATE PUBLICATION " + publication + " FOR TABLE " + String.join(", ", qualifiedTables)
                + " WITH (publish = 'insert')";
    }

    /** Makes an existing publication publish inserts only (validated identifier). */
    public static String publishInsertsOnly(String publication) {
        return "ALTER PUBLICATION " + publication + " SET (publish = 'insert')";
    }

    /** For {@code check --connect}: the role, the server version, {@code wal_level}, and whether the role may replicate. */
    public static final String SERVER_CHECK = "SELECT current_user, current_setting('server_version'), "
            + "current_setting('wal_level'), (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)";

    /** For {@code check --connect}: whether table {@code ?} exists, and whether the role has privilege {@code ?} on it. */
    public static final String TABLE_PRIVILEGE = "SELECT to_regclass(?) IS NOT NULL, "
            + "coalesce(has_table_privilege(to_regclass(?), ?), false)";

    /** Quotes a string as an SQL literal. */
    public static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }
}
