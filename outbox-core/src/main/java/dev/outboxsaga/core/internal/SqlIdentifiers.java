package dev.outboxsaga.core.internal;

import java.util.regex.Pattern;

/** Validates table and schema names taken from configuration, so none can carry SQL. */
public final class SqlIdentifiers {

    /** Unquoted PostgreSQL identifiers in lower case, at most 63 bytes (NAMEDATALEN - 1). */
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private SqlIdentifiers() {
    }

    /**
     * @param setting the configuration setting that supplied the value, named in the error
     * @return {@code value}, when it is a plain lower-case SQL identifier
     * @throws IllegalArgumentException naming the setting otherwise
     */
    public static String require(String setting, String value) {
        if (value == null || !IDENTIFIER.matcher(value).matches()) {
            throw new IllegalArgumentException(setting + " must be a lower-case SQL identifier matching "
                    + IDENTIFIER.pattern() + ", but was " + (value == null ? "null" : "'" + value + "'"));
        }
        return value;
    }

    /** {@code schema.table}, or {@code table} when the schema is null (the connection's search_path). */
    public static String qualified(String schema, String table) {
        return schema == null ? table : schema + "." + table;
    }
}
