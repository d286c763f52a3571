package dev.outboxsaga.relay.internal;

import dev.outboxsaga.relay.RelayConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.Driver;
import org.postgresql.PGProperty;

/** Connections to the relayed database, for the relay's own statements and for replication. */
public final class Database {

    private final RelayConfig config;
    private final Properties url;

    public Database(RelayConfig config) {
        this.config = config;
        this.url = Driver.parseURL(config.databaseUrl(), null);
        if (url == null) {
            throw new IllegalArgumentException(RelayConfig.DATABASE_URL + " is not a PostgreSQL JDBC URL: '"
                    + config.databaseUrl() + "'");
        }
    }

    public String host() {
        return url.getProperty(PGProperty.PG_HOST.getName(), "localhost").split(",")[0];
    }

    public int port() {
        return Integer.parseInt(url.getProperty(PGProperty.PG_PORT.getName(), "5432").split(",")[0]);
    }

    public String databaseName() {
        return url.getProperty(PGProperty.PG_DBNAME.getName());
    }

    /** A plain connection in auto-commit mode, named in pg_stat_activity. */
    public Connection connect(String purpose) throws SQLException {
        Properties properties = credentials();
        PGProperty.APPLICATION_NAME.set(properties, "outbox-relay " + config.name() + " " + purpose);
        PGProperty.CONNECT_TIMEOUT.set(properties, 10);
        PGProperty.SOCKET_TIMEOUT.set(properties, 30);
        return DriverManager.getConnection(config.databaseUrl(), properties);
    }

    /** A replication-protocol connection, for creating the slot with an exported snapshot. */
    public Connection connectForReplication() throws SQLException {
        Properties properties = credentials();
        PGProperty.APPLICATION_NAME.set(properties, "outbox-relay " + config.name() + " slot setup");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(properties, "10");
        PGProperty.REPLICATION.set(properties, "database");
        PGProperty.PREFER_QUERY_MODE.set(properties, "simple");
        return DriverManager.getConnection(config.databaseUrl(), properties);
    }

    private Properties credentials() {
        Properties properties = new Properties();
        PGProperty.USER.set(properties, config.databaseUser());
        if (!config.databasePassword().isEmpty()) {
            PGProperty.PASSWORD.set(properties, config.databasePassword());
        }
        return properties;
    }
}
