package dev.outboxsaga.testkit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** Immutable options of an embedded PostgreSQL server; build with {@link #builder()}. */
public final class EmbeddedPostgresOptions {

    private final int port;
    private final boolean fsync;
    private final Map<String, String> settings;

    private EmbeddedPostgresOptions(Builder b) {
        this.port = b.port;
        this.fsync = b.fsync;
        this.settings = Map.copyOf(b.settings);
    }

    /** The defaults: random free port, {@code fsync=off}, no extra settings. */
    public static EmbeddedPostgresOptions defaults() {
        return builder().build();
    }

    /** A new builder holding the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** TCP port; 0 means a random free port. */
    public int port() {
        return port;
    }

    /** Whether the server flushes its writes to disk ({@code fsync}). */
    public boolean fsync() {
        return fsync;
    }

    /** Extra server settings, applied after the testkit's own ({@code -c key=value}). */
    public Map<String, String> settings() {
        return settings;
    }

    /** Builder of {@link EmbeddedPostgresOptions}. */
    public static final class Builder {
        private int port;
        private boolean fsync;
        private final Map<String, String> settings = new LinkedHashMap<>();

        private Builder() {
        }

        /** TCP port to listen on; default 0, a random free port. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535: " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Whether to flush writes to disk; default {@code false}, fine for tests. Turn it on for any
         * benchmark whose figures should mean something.
         */
        public Builder fsync(boolean fsync) {
            this.fsync = fsync;
            return this;
        }

        /**
         * An extra server setting such as {@code work_mem}; default none. Overrides the testkit's own
         * settings ({@code wal_level=logical}, {@code synchronous_commit=on},
         * {@code max_replication_slots=64}, {@code max_wal_senders=64}, {@code max_connections=300}).
         */
        public Builder setting(String name, String value) {
            settings.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** The options. */
        public EmbeddedPostgresOptions build() {
            return new EmbeddedPostgresOptions(this);
        }
    }
}
