package dev.outboxsaga.testkit.internal;

import dev.outboxsaga.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Pattern;

/** CREATE and DROP DATABASE through the admin URL. */
abstract class AbstractPostgresServer implements PostgresServer {

    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    @Override
    public void createDatabase(String name) {
        run("CREATE DATABASE " + checked(name));
    }

    @Override
    public void dropDatabase(String name) {
        run("DROP DATABASE IF EXISTS " + checked(name) + " WITH (FORCE)");
    }

    private void run(String sql) {
        try (Connection c = DriverManager.getConnection(adminJdbcUrl(), username(), password());
                Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("failed: " + sql + " on " + adminJdbcUrl() + ": " + e.getMessage(), e);
        }
    }

    private static String checked(String name) {
        if (name == null || !IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException("not a plain lower-case SQL identifier: " + name);
        }
        return name;
    }
}
