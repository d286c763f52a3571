package dev.outboxsaga.testkit.internal;

import java.net.URI;
import java.util.Objects;

/** A PostgreSQL server that runs already, reached through an admin JDBC URL. */
public final class ExternalPostgresServer extends AbstractPostgresServer {

    private final String adminJdbcUrl;
    private final String username;
    private final String password;
    private final String host;
    private final int port;
    private final String query;

    /** A server reached through {@code adminJdbcUrl}, e.g. {@code jdbc:postgresql://db:5432/postgres}. */
    public ExternalPostgresServer(String adminJdbcUrl, String username, String password) {
        this.adminJdbcUrl = Objects.requireNonNull(adminJdbcUrl, "adminJdbcUrl");
        this.username = Objects.requireNonNull(username, "username");
        this.password = password == null ? "" : password;
        if (!adminJdbcUrl.startsWith("jdbc:postgresql://")) {
            throw new IllegalArgumentException("not a jdbc:postgresql:// URL: " + adminJdbcUrl);
        }
        URI uri = URI.create(adminJdbcUrl.substring("jdbc:".length()));
        this.host = uri.getHost();
        this.port = uri.getPort() < 0 ? 5432 : uri.getPort();
        this.query = uri.getRawQuery();
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public String adminJdbcUrl() {
        return adminJdbcUrl;
    }

    @Override
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database + (query == null ? "" : "?" + query);
    }

    @Override
    public String username() {
        return username;
    }

    @Override
    public String password() {
        return password;
    }

    @Override
    public void close() {
        // not ours to stop
    }

    @Override
    public String toString() {
        return "external PostgreSQL at " + host + ":" + port;
    }
}
