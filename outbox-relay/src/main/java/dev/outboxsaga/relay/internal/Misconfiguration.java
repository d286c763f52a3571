package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import java.sql.SQLException;
import java.util.Optional;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Failures that no retry can fix, told apart by their SQLState or Kafka error, each with what an operator has to
 * change: a refused login (PostgreSQL or Kafka), a missing database, a missing privilege ({@code REPLICATION}, a
 * table grant, a Kafka ACL the transactional producer needs), a missing table, {@code wal_level} below
 * {@code logical}. Anything else is taken for transient and retried as before.
 */
public final class Misconfiguration {

    private Misconfiguration() {
    }

    /**
     * The operator's line for {@code failure} (or an exception in its cause chain), or empty when it is not a
     * known misconfiguration.
     */
    public static Optional<String> explain(Throwable failure, RelayConfig config) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            Optional<String> kafka = explainKafka(cause, config);
            if (kafka.isPresent()) {
                return kafka;
            }
            if (cause instanceof SQLException sql && sql.getSQLState() != null) {
                Optional<String> line = explain(sql.getSQLState(), message(sql), config);
                if (line.isPresent()) {
                    return line;
                }
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        return Optional.empty();
    }

    /** Kafka's answers that no retry changes: a refused login, and the ACLs a transactional producer needs. */
    static Optional<String> explainKafka(Throwable cause, RelayConfig config) {
        if (cause instanceof AuthenticationException) {
            return Optional.of("Kafka refused the login (" + cause.getMessage() + "): check kafka.security.protocol, "
                    + "kafka.sasl.mechanism and kafka.sasl.jaas.config (or OUTBOX_RELAY_KAFKA_SASL_JAAS_CONFIG)");
        }
        if (cause instanceof TransactionalIdAuthorizationException) {
            return Optional.of("the relay's Kafka principal may not use transactional id " + config.transactionalId()
                    + " (" + cause.getMessage() + "): grant it WRITE and DESCRIBE on TransactionalId "
                    + config.transactionalId());
        }
        if (cause instanceof ClusterAuthorizationException) {
            return Optional.of("the relay's Kafka principal may not write idempotently (" + cause.getMessage()
                    + "): grant it IDEMPOTENT_WRITE on the cluster");
        }
        if (cause instanceof TopicAuthorizationException topic && topic.unauthorizedTopics().contains(config.positionsTopic())) {
            return Optional.of("the relay's Kafka principal may not use its positions topic " + config.positionsTopic()
                    + ": grant it CREATE, DESCRIBE, READ and WRITE on that topic");
        }
        return Optional.empty();
    }

    static Optional<String> explain(String state, String message, RelayConfig config) {
        String user = config.databaseUser();
        if (state.startsWith("28")) {
            return Optional.of("PostgreSQL refused the login (" + message + "): check " + RelayConfig.DATABASE_USER
                    + " (" + user + "), " + RelayConfig.DATABASE_PASSWORD + " (or OUTBOX_RELAY_DATABASE_PASSWORD) "
                    + "and the server's pg_hba.conf");
        }
        switch (state) {
            case "3D000":
                return Optional.of("the database does not exist (" + message + "): fix " + RelayConfig.DATABASE_URL);
            case "42501":
                if (message.contains("WAL sender") || message.contains("replication")) {
                    return Optional.of("role " + user + " may not use replication (" + message + "): run "
                            + "ALTER ROLE " + user + " REPLICATION");
                }
                if (message.contains("must be owner")) {
                    return Optional.of("role " + user + " cannot create or change the publication (" + message
                            + "): have the tables' owner create it (see the README, Database role) and set "
                            + RelayConfig.PUBLICATION_CREATE + "=false");
                }
                return Optional.of("role " + user + " lacks a privilege (" + message + "): grant it, e.g. GRANT SELECT "
                        + "ON " + String.join(", ", config.outboxTables().stream().map(RelayConfig.Table::qualified)
                                .toList()) + " TO " + user + " (see the README, Database role)");
            case "42P01":
                return Optional.of("a table is missing (" + message + "): check " + RelayConfig.OUTBOX_TABLES
                        + " and apply the migrations (sql/V4__relay.sql and V6__relay_slot.sql hold the relay's own tables)");
            case "55000":
                if (message.contains("wal_level")) {
                    return Optional.of("logical decoding is off (" + message + "): run ALTER SYSTEM SET wal_level = "
                            + "logical, then restart PostgreSQL");
                }
                return Optional.empty();
            default:
                return Optional.empty();
        }
    }

    /** The server's primary message, one line, without the "ERROR:"/"FATAL:" prefix and the detail lines. */
    private static String message(SQLException e) {
        if (e instanceof PSQLException psql) {
            ServerErrorMessage server = psql.getServerErrorMessage();
            if (server != null && server.getMessage() != null) {
                return server.getMessage();
            }
        }
        String text = String.valueOf(e.getMessage());
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
