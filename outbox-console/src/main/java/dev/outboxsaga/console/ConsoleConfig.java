package dev.outboxsaga.console;

import dev.outboxsaga.console.internal.Redaction;
import dev.outboxsaga.core.internal.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What the console and the {@code outbox-saga} CLI watch, and who may use the console, validated once. Read
 * from a properties file with environment overrides ({@link #load(Properties, Map)}), or built in code
 * ({@link #builder()}).
 *
 * <p>Keys, with their defaults:
 * <ul>
 *   <li>{@value #PORT} (8089, 0 for a free port), {@value #BIND} (127.0.0.1), {@value #STUCK_AFTER} (PT15M: a saga
 *       not ended that has not changed for this long is stuck), {@value #SESSION_TIMEOUT} (PT30M idle),
 *       {@value #ACTION_WAIT} (PT5S: how long the console waits for a service to carry out a queued action before
 *       it shows it as waiting), {@value #REDACT_HEADERS} (comma-separated header name patterns, {@code *} for any
 *       characters, case-insensitive: the dead letter headers whose values the console and the CLI show as
 *       {@code ****}; default {@code authorization,proxy-authorization,cookie,set-cookie,*token*,*secret*,*password*,
 *       *api-key*,*apikey*,*api_key*});</li>
 *   <li>the web server and its logins: {@value #SESSION_LIFETIME} (PT8H: a session ends this long after its login,
 *       however busy), {@value #SECURE_COOKIES} (false; true sends cookies only over HTTPS and names the session cookie
 *       with the {@code __Host-} prefix), {@value #BEHIND_PROXY} (false; true trusts the {@code X-Forwarded-*} headers
 *       of the reverse proxy in front: client address, scheme and host), {@value #MAX_CONNECTIONS} (64 open
 *       connections at most), {@value #IDLE_TIMEOUT} (PT20S: a connection that sends nothing for this long is closed,
 *       half-sent requests included), {@value #REQUEST_TIMEOUT} (PT20S: the longest a request waits for a free
 *       request thread, and the statement timeout of the console's queries);</li>
 *   <li>the reconciliation audit run from the console: {@value #AUDIT_MAX_WINDOW} (PT24H, the longest window),
 *       {@value #AUDIT_MAX_ROWS} (200000 outbox rows at most in a window);</li>
 *   <li>per service {@code service.<name>.}: {@value #JDBC_URL} (required), {@value #USERNAME} (required),
 *       {@value #PASSWORD} (default empty; never shown), {@value #KAFKA_BOOTSTRAP_SERVERS} (optional, for inbox
 *       consumer lag) and further {@code kafka.*} admin client properties, {@value #RELAYS} (comma-separated URLs of
 *       the service's relays' {@code /health}, optional), {@value #CONSUMERS} (comma-separated consumer group ids
 *       whose lag the overview shows, optional), {@value #POOL_SIZE} (3);</li>
 *   <li>per console user {@code user.<name>.}: {@value #PASSWORD_HASH} (from {@link Passwords#hash(String)}) and
 *       {@value #ROLE} ({@code viewer} or {@code operator}).</li>
 * </ul>
 * Names of services are letters, digits, {@code _} and {@code -}; user names also {@code .} and {@code @}.
 * Unknown keys are refused by name. An environment variable {@code OUTBOX_CONSOLE_<KEY>} (upper case, dots and
 * dashes as underscores) overrides a key, e.g. {@code OUTBOX_CONSOLE_SERVICE_ORDERS_PASSWORD} for
 * {@code service.orders.password}. {@link #toString()} never shows a password or a password hash.
 */
public final class ConsoleConfig {

    /** Port of the web console; default 8089, 0 for a free one. */
    public static final String PORT = "console.port";
    /** Address the web console listens on; default {@code 127.0.0.1} (this host only). */
    public static final String BIND = "console.bind";
    /** A saga not ended (running, compensating, parked) that has not changed for this long is stuck; default PT15M. */
    public static final String STUCK_AFTER = "console.stuck-after";
    /** A console session ends after this long without a request; default PT30M. */
    public static final String SESSION_TIMEOUT = "console.session-timeout";
    /** How long an action waits for its service to carry it out before the page shows it as waiting; default PT5S. */
    public static final String ACTION_WAIT = "console.action-wait";
    /**
     * Comma-separated patterns of header names ({@code *} for any characters, case-insensitive) whose values the
     * console and the CLI mask as {@code ****} on dead letters, the names kept; default
     * {@code authorization,proxy-authorization,cookie,set-cookie,*token*,*secret*,*password*,*api-key*,*apikey*,
     * *api_key*}. Setting it replaces the default. Payloads are never masked.
     */
    public static final String REDACT_HEADERS = "console.redact-headers";

    /** A session ends this long after its login, whatever its activity; default PT8H. */
    public static final String SESSION_LIFETIME = "console.session-lifetime";
    /** {@code true} sends the cookies with {@code Secure} and the {@code __Host-} prefix (serve over HTTPS); default false. */
    public static final String SECURE_COOKIES = "console.secure-cookies";
    /** {@code true} trusts {@code X-Forwarded-For/-Proto/-Host} (only behind a reverse proxy that sets them); default false. */
    public static final String BEHIND_PROXY = "console.behind-proxy";
    /** Most open connections to the web console; default 64. */
    public static final String MAX_CONNECTIONS = "console.max-connections";
    /** A connection that sends nothing for this long is closed; default PT20S. */
    public static final String IDLE_TIMEOUT = "console.idle-timeout";
    /** Longest wait of a request for a request thread, and the statement timeout of the console's queries; default PT20S. */
    public static final String REQUEST_TIMEOUT = "console.request-timeout";
    /** Longest window the console's reconciliation audit accepts; default PT24H. */
    public static final String AUDIT_MAX_WINDOW = "console.audit-max-window";
    /** Most outbox rows in a window of the console's reconciliation audit; default 200000. */
    public static final String AUDIT_MAX_ROWS = "console.audit-max-rows";

    /** Prefix of a service's keys: {@code service.<name>.<key>}. */
    public static final String SERVICE_PREFIX = "service.";
    /** Required. The service database's {@code jdbc:postgresql:} URL. */
    public static final String JDBC_URL = "jdbc-url";
    /** Required. The database user. */
    public static final String USERNAME = "username";
    /** The database password; default empty. Never logged or shown. */
    public static final String PASSWORD = "password";
    /** Prefix of further Kafka admin client properties of the service (security settings and the like). */
    public static final String KAFKA_PREFIX = "kafka.";
    /** The service's Kafka bootstrap servers; optional, needed for {@value #CONSUMERS}. */
    public static final String KAFKA_BOOTSTRAP_SERVERS = "kafka.bootstrap.servers";
    /** Comma-separated {@code /health} URLs of the service's relay processes; optional. */
    public static final String RELAYS = "relays";
    /** Comma-separated Kafka consumer group ids (inbox consumer names) whose lag the overview shows; optional. */
    public static final String CONSUMERS = "consumers";
    /** Most database connections the console holds to the service; default 3. */
    public static final String POOL_SIZE = "pool-size";

    /** Prefix of a console user's keys: {@code user.<name>.<key>}. */
    public static final String USER_PREFIX = "user.";
    /** Required per user: the password hash ({@link Passwords}). Never shown. */
    public static final String PASSWORD_HASH = "password-hash";
    /** Required per user: {@code viewer} (reads) or {@code operator} (also acts). */
    public static final String ROLE = "role";

    private static final Settings.Keys KEYS = Settings
            .keys("OUTBOX_CONSOLE_", Set.of(PORT, BIND, STUCK_AFTER, SESSION_TIMEOUT, ACTION_WAIT, SESSION_LIFETIME,
                    SECURE_COOKIES, BEHIND_PROXY, MAX_CONNECTIONS, IDLE_TIMEOUT, REQUEST_TIMEOUT, AUDIT_MAX_WINDOW,
                    AUDIT_MAX_ROWS, REDACT_HEADERS))
            .withFamily(SERVICE_PREFIX, List.of(JDBC_URL, USERNAME, PASSWORD, KAFKA_BOOTSTRAP_SERVERS, RELAYS, CONSUMERS,
                    POOL_SIZE), KAFKA_PREFIX)
            .withFamily(USER_PREFIX, List.of(PASSWORD_HASH, ROLE));
    private static final Pattern SERVICE_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
    private static final Pattern CONSUMER_NAME = Pattern.compile("[A-Za-z0-9._-]{1,255}");

    /** What a console user may do. */
    public enum Role {
        /** Reads every page, acts on nothing. */
        VIEWER,
        /** Also repairs and cancels sagas, replays and discards dead letters. */
        OPERATOR;

        /** {@code viewer} or {@code operator}, as in the configuration. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One watched service and its database.
     *
     * @param name                  the service's name in the console and the CLI
     * @param jdbcUrl               its database
     * @param username              the database user
     * @param password              the database password; never show it
     * @param kafkaBootstrapServers its Kafka cluster, or null
     * @param kafkaProperties       further admin client properties, without the {@code kafka.} prefix
     * @param relays                the {@code /health} URLs of its relay processes
     * @param consumers             consumer group ids whose lag to show
     * @param poolSize              most connections the console holds
     * @param redactHeaders         header name patterns whose values are masked ({@value #REDACT_HEADERS}, the same
     *                              for every service)
     */
    public record Service(String name, String jdbcUrl, String username, String password, String kafkaBootstrapServers,
            Map<String, String> kafkaProperties, List<URI> relays, List<String> consumers, int poolSize,
            List<String> redactHeaders) {

        public Service {
            kafkaProperties = Collections.unmodifiableMap(new TreeMap<>(kafkaProperties));
            relays = List.copyOf(relays);
            consumers = List.copyOf(consumers);
            redactHeaders = List.copyOf(redactHeaders);
        }

        /**
         * Properties for a Kafka client of this service: its further {@code kafka.*} keys and {@code bootstrap.servers}.
         *
         * @throws IllegalArgumentException when the service has no Kafka cluster configured
         */
        public Map<String, Object> kafkaClientProperties() {
            if (kafkaBootstrapServers == null) {
                throw new IllegalArgumentException("service " + name + " has no Kafka cluster: set " + SERVICE_PREFIX + name
                        + "." + KAFKA_BOOTSTRAP_SERVERS);
            }
            Map<String, Object> properties = new TreeMap<>(kafkaProperties);
            properties.put("bootstrap.servers", kafkaBootstrapServers);
            return properties;
        }

        /** The JDBC URL without its query string, which may carry a password: safe to show. */
        public String displayUrl() {
            return withoutQuery(jdbcUrl);
        }

        /** A relay's {@code /health} URL without the user name and password it may carry: safe to show. */
        public static String displayUrl(URI relay) {
            return withoutUserInfo(relay);
        }

        @Override
        public String toString() {
            Map<String, Object> shown = new LinkedHashMap<>();
            shown.put(JDBC_URL, displayUrl());
            shown.put(USERNAME, username);
            shown.put(PASSWORD, password.isEmpty() ? "" : "****");
            if (kafkaBootstrapServers != null) {
                shown.put(KAFKA_BOOTSTRAP_SERVERS, kafkaBootstrapServers);
            }
            Map<String, String> kafka = new TreeMap<>();
            kafkaProperties.forEach((key, value) -> kafka.put(key, secretKey(key) ? "****" : value));
            if (!kafka.isEmpty()) {
                shown.put("kafka.*", kafka);
            }
            shown.put(RELAYS, relays.stream().map(ConsoleConfig::withoutUserInfo).toList());
            shown.put(CONSUMERS, consumers);
            shown.put(POOL_SIZE, poolSize);
            return "Service[" + name + "]" + shown;
        }
    }

    /**
     * A console user.
     *
     * @param name         the login name
     * @param passwordHash the password hash ({@link Passwords}); never show it
     * @param role         what the user may do
     */
    public record User(String name, String passwordHash, Role role) {
        @Override
        public String toString() {
            return "User[" + name + ", " + role.key() + "]";
        }
    }

    private final int port;
    private final String bind;
    private final Duration stuckAfter;
    private final Duration sessionTimeout;
    private final Duration actionWait;
    private final Duration sessionLifetime;
    private final boolean secureCookies;
    private final boolean behindProxy;
    private final int maxConnections;
    private final Duration idleTimeout;
    private final Duration requestTimeout;
    private final Duration auditMaxWindow;
    private final int auditMaxRows;
    private final List<String> redactHeaders;
    private final Map<String, Service> services;
    private final Map<String, User> users;

    private ConsoleConfig(Settings in) {
        this.port = in.integer(PORT, 8089, 0, 65535);
        this.bind = in.optional(BIND, "127.0.0.1");
        if (bind.isEmpty()) {
            throw new IllegalArgumentException(BIND + " must not be empty");
        }
        this.stuckAfter = in.duration(STUCK_AFTER, Duration.ofMinutes(15), Duration.ofSeconds(1));
        this.sessionTimeout = in.duration(SESSION_TIMEOUT, Duration.ofMinutes(30), Duration.ofSeconds(10));
        this.actionWait = in.duration(ACTION_WAIT, Duration.ofSeconds(5), Duration.ZERO);
        if (actionWait.compareTo(Duration.ofSeconds(60)) > 0) {
            throw new IllegalArgumentException(ACTION_WAIT + " must be at most PT60S (a page waits that long), but was "
                    + actionWait);
        }
        this.sessionLifetime = in.duration(SESSION_LIFETIME, Duration.ofHours(8), Duration.ofMinutes(1));
        if (sessionLifetime.compareTo(sessionTimeout) < 0) {
            throw new IllegalArgumentException(SESSION_LIFETIME + " (" + sessionLifetime + ") must be at least "
                    + SESSION_TIMEOUT + " (" + sessionTimeout + ")");
        }
        this.secureCookies = in.bool(SECURE_COOKIES, false);
        this.behindProxy = in.bool(BEHIND_PROXY, false);
        this.maxConnections = in.integer(MAX_CONNECTIONS, 64, 4, 10_000);
        this.idleTimeout = in.duration(IDLE_TIMEOUT, Duration.ofSeconds(20), Duration.ofSeconds(1));
        this.requestTimeout = in.duration(REQUEST_TIMEOUT, Duration.ofSeconds(20), Duration.ofSeconds(1));
        this.auditMaxWindow = in.duration(AUDIT_MAX_WINDOW, Duration.ofHours(24), Duration.ofSeconds(1));
        this.auditMaxRows = in.integer(AUDIT_MAX_ROWS, 200_000, 1, 10_000_000);
        this.redactHeaders = redactHeaders(in.optional(REDACT_HEADERS, String.join(",", Redaction.DEFAULT_PATTERNS)));
        Map<String, Service> services = new TreeMap<>();
        for (String name : in.names(SERVICE_PREFIX)) {
            services.put(name, readService(in, name, redactHeaders));
        }
        Map<String, User> users = new TreeMap<>();
        for (String name : in.names(USER_PREFIX)) {
            users.put(name, readUser(in, name));
        }
        if (services.isEmpty()) {
            throw new IllegalArgumentException("no service configured: set " + SERVICE_PREFIX + "<name>." + JDBC_URL
                    + " and " + SERVICE_PREFIX + "<name>." + USERNAME + " for each service to watch");
        }
        in.refuseUnknown();
        this.services = Collections.unmodifiableMap(services);
        this.users = Collections.unmodifiableMap(users);
    }

    /**
     * Reads a configuration from properties, with environment overrides.
     *
     * @param environment usually {@code System.getenv()}
     * @throws IllegalArgumentException naming the first missing, unknown or invalid key
     */
    public static ConsoleConfig load(Properties properties, Map<String, String> environment) {
        return new ConsoleConfig(Settings.read(KEYS, properties, environment));
    }

    /**
     * Reads a configuration from a properties file, with environment overrides.
     *
     * @throws IllegalArgumentException naming the missing file, or the first missing, unknown or invalid key
     * @throws UncheckedIOException     when the file cannot be read
     */
    public static ConsoleConfig load(Path file, Map<String, String> environment) {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("configuration file " + file + " does not exist");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read configuration file " + file + ": " + e.getMessage(), e);
        }
        return load(properties, environment);
    }

    /** The environment variable that overrides {@code key}. */
    public static String envName(String key) {
        return KEYS.envName(key);
    }

    /** A builder over the same keys, for use in code; {@link Builder#build()} validates. */
    public static Builder builder() {
        return new Builder();
    }

    /** The web console's port; 0 picks a free one. */
    public int port() {
        return port;
    }

    /** The address the web console listens on. */
    public String bind() {
        return bind;
    }

    /** A saga not ended that has not changed for this long is stuck. */
    public Duration stuckAfter() {
        return stuckAfter;
    }

    /** Idle time after which a console session ends. */
    public Duration sessionTimeout() {
        return sessionTimeout;
    }

    /** How long an action waits for its service before the page shows it as waiting. */
    public Duration actionWait() {
        return actionWait;
    }

    /** A session ends this long after its login, whatever its activity. */
    public Duration sessionLifetime() {
        return sessionLifetime;
    }

    /** Whether cookies are sent with {@code Secure} and the session cookie named with the {@code __Host-} prefix. */
    public boolean secureCookies() {
        return secureCookies;
    }

    /** Whether the {@code X-Forwarded-*} headers of a reverse proxy are trusted. */
    public boolean behindProxy() {
        return behindProxy;
    }

    /** Most open connections to the web console. */
    public int maxConnections() {
        return maxConnections;
    }

    /** A connection that sends nothing for this long is closed. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** Longest wait of a request for a request thread, and the statement timeout of the console's queries. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** Longest window of the console's reconciliation audit. */
    public Duration auditMaxWindow() {
        return auditMaxWindow;
    }

    /** Most outbox rows in a window of the console's reconciliation audit. */
    public int auditMaxRows() {
        return auditMaxRows;
    }

    /** Patterns of the header names whose values the console and the CLI mask on dead letters. */
    public List<String> redactHeaders() {
        return redactHeaders;
    }

    /** The services by name, sorted. */
    public Map<String, Service> services() {
        return services;
    }

    /**
     * One service by name.
     *
     * @throws IllegalArgumentException naming the configured services when there is none of that name
     */
    public Service service(String name) {
        Service service = services.get(name);
        if (service == null) {
            throw new IllegalArgumentException("no service '" + name + "' is configured; configured: "
                    + services.keySet());
        }
        return service;
    }

    /** The console users by name, sorted. */
    public Map<String, User> users() {
        return users;
    }

    /** Every setting, with passwords and password hashes left out. */
    @Override
    public String toString() {
        Map<String, Object> shown = new LinkedHashMap<>();
        shown.put(PORT, port);
        shown.put(BIND, bind);
        shown.put(STUCK_AFTER, stuckAfter);
        shown.put(SESSION_TIMEOUT, sessionTimeout);
        shown.put(ACTION_WAIT, actionWait);
        shown.put(SESSION_LIFETIME, sessionLifetime);
        shown.put(SECURE_COOKIES, secureCookies);
        shown.put(BEHIND_PROXY, behindProxy);
        shown.put(MAX_CONNECTIONS, maxConnections);
        shown.put(IDLE_TIMEOUT, idleTimeout);
        shown.put(REQUEST_TIMEOUT, requestTimeout);
        shown.put(AUDIT_MAX_WINDOW, auditMaxWindow);
        shown.put(AUDIT_MAX_ROWS, auditMaxRows);
        shown.put(REDACT_HEADERS, redactHeaders);
        shown.put("services", services.values());
        shown.put("users", users.values());
        return "ConsoleConfig" + shown;
    }

    private static List<String> redactHeaders(String value) {
        List<String> patterns = list(value);
        try {
            Redaction.of(patterns);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(REDACT_HEADERS + " " + e.getMessage());
        }
        return List.copyOf(patterns);
    }

    private static Service readService(Settings in, String name, List<String> redactHeaders) {
        if (!SERVICE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("service name '" + name + "' (in " + SERVICE_PREFIX + name
                    + ".*) must be 1 to 64 letters, digits, _ or -");
        }
        String prefix = SERVICE_PREFIX + name + ".";
        String jdbcUrl = in.required(prefix + JDBC_URL);
        if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException(prefix + JDBC_URL + " must be a jdbc:postgresql: URL, but was '"
                    + withoutQuery(jdbcUrl) + "'");
        }
        String username = in.required(prefix + USERNAME);
        String password = in.optional(prefix + PASSWORD, "");
        String bootstrap = in.optional(prefix + KAFKA_BOOTSTRAP_SERVERS, "");
        Map<String, String> kafka = in.unreadUnder(prefix + KAFKA_PREFIX);
        List<URI> relays = new ArrayList<>();
        for (String url : list(in.optional(prefix + RELAYS, ""))) {
            relays.add(healthUri(prefix + RELAYS, url));
        }
        List<String> consumers = list(in.optional(prefix + CONSUMERS, ""));
        for (String consumer : consumers) {
            if (!CONSUMER_NAME.matcher(consumer).matches()) {
                throw new IllegalArgumentException(prefix + CONSUMERS + " must list consumer group ids (letters, digits, "
                        + "., _ and -), but has '" + consumer + "'");
            }
        }
        if (!consumers.isEmpty() && bootstrap.isEmpty()) {
            throw new IllegalArgumentException(prefix + CONSUMERS + " needs " + prefix + KAFKA_BOOTSTRAP_SERVERS
                    + " (their lag is read from Kafka)");
        }
        if (!kafka.isEmpty() && bootstrap.isEmpty()) {
            throw new IllegalArgumentException(prefix + KAFKA_PREFIX + kafka.keySet().iterator().next() + " needs "
                    + prefix + KAFKA_BOOTSTRAP_SERVERS);
        }
        int poolSize = in.integer(prefix + POOL_SIZE, 3, 1, 50);
        return new Service(name, jdbcUrl, username, password, bootstrap.isEmpty() ? null : bootstrap, kafka, relays,
                consumers, poolSize, redactHeaders);
    }

    private static User readUser(Settings in, String name) {
        if (!USER_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("user name '" + name + "' (in " + USER_PREFIX + name
                    + ".*) must be 1 to 64 letters, digits, ., _, @ or -");
        }
        String prefix = USER_PREFIX + name + ".";
        String hash = in.required(prefix + PASSWORD_HASH);
        try {
            Passwords.requireValid(hash);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(prefix + PASSWORD_HASH + ": " + e.getMessage());
        }
        String role = in.required(prefix + ROLE);
        Role parsed = switch (role.toLowerCase(Locale.ROOT)) {
            case "viewer" -> Role.VIEWER;
            case "operator" -> Role.OPERATOR;
            default -> throw new IllegalArgumentException(prefix + ROLE + " must be viewer or operator, but was '"
                    + role + "'");
        };
        return new User(name, hash, parsed);
    }

    private static URI healthUri(String key, String url) {
        try {
            URI uri = new URI(url);
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException(key + " must list http(s) URLs, but has '" + withoutUserInfo(uri) + "'");
            }
            String path = uri.getPath() == null ? "" : uri.getPath();
            if (path.endsWith("/health")) {
                return uri;
            }
            String base = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
            return new URI(uri.getScheme(), uri.getUserInfo(), uri.getHost(), uri.getPort(), base + "/health", null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(key + " must list URLs, but has one that is not: " + e.getReason());
        }
    }

    private static String withoutQuery(String jdbcUrl) {
        int query = jdbcUrl.indexOf('?');
        return query < 0 ? jdbcUrl : jdbcUrl.substring(0, query);
    }

    /** A URL as shown to people: without the user name and password it may carry. */
    private static String withoutUserInfo(URI uri) {
        if (uri.getUserInfo() == null) {
            return uri.toString();
        }
        try {
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), uri.getQuery(), null)
                    .toString();
        } catch (URISyntaxException e) {
            return uri.getScheme() + "://" + uri.getHost();
        }
    }

    private static List<String> list(String value) {
        List<String> items = new ArrayList<>();
        for (String part : value.split(",")) {
            if (!part.isBlank()) {
                items.add(part.trim());
            }
        }
        return items;
    }

    private static boolean secretKey(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        return lower.contains("password") || lower.contains("jaas") || lower.contains("secret");
    }

    /** Builds a {@link ConsoleConfig} in code, with the same keys and validation as the file. */
    public static final class Builder {
        private final Properties properties = new Properties();

        private Builder() {
        }

        /** Sets any key (see the constants); validated by {@link #build()}. */
        public Builder set(String key, Object value) {
            properties.setProperty(Objects.requireNonNull(key, "key"), String.valueOf(value));
            return this;
        }

        /** Adds a service with its database; set its other keys with {@link #set(String, Object)}. */
        public Builder service(String name, String jdbcUrl, String username, String password) {
            set(SERVICE_PREFIX + name + "." + JDBC_URL, jdbcUrl);
            set(SERVICE_PREFIX + name + "." + USERNAME, username);
            return set(SERVICE_PREFIX + name + "." + PASSWORD, password == null ? "" : password);
        }

        /** Adds a console user with a password hash from {@link Passwords#hash(String)}. */
        public Builder user(String name, String passwordHash, Role role) {
            set(USER_PREFIX + name + "." + PASSWORD_HASH, passwordHash);
            return set(USER_PREFIX + name + "." + ROLE, role.key());
        }

        public ConsoleConfig build() {
            return load(properties, Map.of());
        }
    }
}
