package dev.outboxsaga.console.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.outboxsaga.console.AuditReport;
import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.Passwords;
import dev.outboxsaga.console.ReconciliationAudit;
import dev.outboxsaga.core.OutboxException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console on the JDK's own HTTP server: server-rendered pages over each service's {@link ServiceDatabase}
 * and {@link ServiceProbes}.
 *
 * <p>Security: every page but the login form needs a session (a random 256-bit id in an HttpOnly, SameSite=Strict
 * cookie, ended after the idle timeout); every POST, logout included, needs the session's CSRF token and, when the
 * browser sends one, this console's Origin; every POST but logout needs the operator role, checked before anything
 * is read from the form, so a viewer's forged POST writes nothing. Failed logins read the same whether or not the
 * user exists. Pages are {@code no-store}, framed by nobody, and scripts and styles come from this server only.
 */
public final class ConsoleServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConsoleServer.class);
    static final String SESSION_COOKIE = "outbox_console_session";
    static final String LOGIN_COOKIE = "outbox_console_login";
    private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    private static final Map<String, String> STATIC = Map.of(
            "/static/console.css", "text/css; charset=utf-8",
            "/static/console.js", "text/javascript; charset=utf-8");

    private final ConsoleConfig config;
    private final Map<String, ServiceDatabase> databases = new LinkedHashMap<>();
    private final Map<String, ServiceProbes> probes = new LinkedHashMap<>();
    private final LoginThrottle logins;
    private final Sessions sessions;
    private final HttpClient http;
    private final ExecutorService requests;
    private final ExecutorService gathering;
    private final Map<String, byte[]> staticFiles = new LinkedHashMap<>();
    /** Checked when the user name is unknown, so that a failed login costs the same either way. */
    private final String decoyHash;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private HttpServer server;

    private ConsoleServer(ConsoleConfig config) {
        this.config = config;
        this.sessions = new Sessions(config.sessionTimeout(), Clock.systemUTC());
        this.logins = new LoginThrottle(Clock.systemUTC());
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        AtomicInteger threads = new AtomicInteger();
        this.requests = Executors.newFixedThreadPool(8, runnable -> daemon(runnable, "outbox-console-http-" + threads.incrementAndGet()));
        // Cached, not fixed: a card's task waits for its probes, which must never queue behind other cards.
        this.gathering = Executors.newCachedThreadPool(
                runnable -> daemon(runnable, "outbox-console-gather-" + threads.incrementAndGet()));
        this.decoyHash = config.users().values().iterator().next().passwordHash();
        STATIC.keySet().forEach(path -> staticFiles.put(path,
                RelayPages.resource(path.substring(1)).getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Opens a pool per service and starts serving.
     *
     * @throws IllegalArgumentException when no user is configured (no anonymous access)
     * @throws UncheckedIOException     when the address cannot be bound
     */
    public static ConsoleServer start(ConsoleConfig config) {
        if (config.users().isEmpty()) {
            throw new IllegalArgumentException("the console needs at least one user (no anonymous access): set "
                    + ConsoleConfig.USER_PREFIX + "<name>." + ConsoleConfig.PASSWORD_HASH + " and "
                    + ConsoleConfig.USER_PREFIX + "<name>." + ConsoleConfig.ROLE);
        }
        ConsoleServer console = new ConsoleServer(config);
        try {
            for (ConsoleConfig.Service service : config.services().values()) {
                console.databases.put(service.name(), ServiceDatabase.open(service));
                console.probes.put(service.name(), new ServiceProbes(service, console.http));
            }
            console.server = HttpServer.create(new InetSocketAddress(config.bind(), config.port()), 64);
        } catch (IOException | RuntimeException e) {
            console.close();
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot listen on " + config.bind() + ":" + config.port(), io);
            }
            throw (RuntimeException) e;
        }
        console.server.createContext("/", console::handle);
        console.server.setExecutor(console.requests);
        console.server.start();
        LOG.info("outbox-saga console on {} watching {}", console.url(), config.services().keySet());
        return console;
    }

    /** The port served; the chosen one when configured as 0. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://<bind>:<port>/}. */
    public URI url() {
        String host = config.bind().contains(":") ? "[" + config.bind() + "]" : config.bind();
        if (host.equals("0.0.0.0")) {
            host = "127.0.0.1";
        }
        return URI.create("http://" + host + ":" + port() + "/");
    }

    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        if (server != null) {
            server.stop(0);
        }
        requests.shutdownNow();
        gathering.shutdownNow();
        probes.values().forEach(ServiceProbes::close);
        databases.values().forEach(ServiceDatabase::close);
    }

    // ---------------------------------------------------------------------------------------------
    // Requests

    private void handle(HttpExchange exchange) {
        Sessions.Session session = null;
        try {
            WebRequest request = WebRequest.read(exchange);
            String path = request.path;
            if (STATIC.containsKey(path) && request.method.equals("GET")) {
                respond(exchange, 200, STATIC.get(path), staticFiles.get(path));
                return;
            }
            if (path.equals("/login")) {
                login(request);
                return;
            }
            if (path.equals("/favicon.ico")) {
                throw new WebRequest.Refused(404, "no icon");
            }
            session = sessions.find(request.cookies.get(SESSION_COOKIE)).orElse(null);
            if (session == null) {
                if (request.method.equals("GET")) {
                    String target = exchange.getRequestURI().getRawPath()
                            + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery());
                    redirect(exchange, "/login" + (target.equals("/") ? "" : "?next=" + Html.url(target)));
                } else {
                    throw new WebRequest.Refused(403, "log in first");
                }
                return;
            }
            if (request.method.equals("POST")) {
                requireSameOrigin(request);
                if (!session.csrfMatches(request.form.get("csrf"))) {
                    throw new WebRequest.Refused(403, "the form's security token is missing or out of date; reload the "
                            + "page and try again");
                }
                if (path.equals("/logout")) {
                    sessions.end(session);
                    exchange.getResponseHeaders().add("Set-Cookie", SESSION_COOKIE + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
                    redirect(exchange, "/login");
                    return;
                }
                if (!session.operator()) {
                    LOG.warn("refused {} {} from viewer {}", request.method, path, session.user);
                    throw new WebRequest.Refused(403, "user " + session.user + " is a viewer: viewers cannot act");
                }
                post(request, session);
                return;
            }
            if (!request.method.equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET, POST");
                throw new WebRequest.Refused(405, "method " + request.method + " is not served");
            }
            get(request, session);
        } catch (WebRequest.Refused refused) {
            html(exchange, refused.status, Pages.error(refused.status, refused.getMessage(), session));
        } catch (IllegalArgumentException badInput) {
            html(exchange, 400, Pages.error(400, badInput.getMessage(), session));
        } catch (OutboxException database) {
            html(exchange, 503, Pages.error(503, "the database did not answer: " + ServiceProbes.rootMessage(database),
                    session));
        } catch (RuntimeException | IOException | Error e) {
            LOG.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getPath(), e);
            html(exchange, 500, Pages.error(500, "internal error; the console's log has the details", session));
        } finally {
            exchange.close();
        }
    }

    private void get(WebRequest request, Sessions.Session session) {
        String[] parts = request.path.substring(1).split("/", -1);
        HttpExchange exchange = request.exchange;
        switch (parts[0]) {
            case "" -> {
                var activity = ServiceActivity.readAll(databases, ServiceActivity.window(request.param("hours")), gathering);
                html(exchange, 200, Pages.overview(cards(true), activity.join(), config.stuckAfter().toString(), session));
            }
            case "saga-types" -> {
                if (parts.length != 4) {
                    throw notFound();
                }
                String service = service(parts[1]);
                SagaTypeDetail type = databases.get(service).sagaType(parts[2], (int) number(parts[3]))
                        .orElseThrow(() -> new WebRequest.Refused(404, "no saga type " + parts[2] + " v" + parts[3]
                                + " in service " + service));
                html(exchange, 200, SagaPages.sagaType(service, type, session));
            }
            case "sagas" -> {
                if (parts.length == 1) {
                    sagaList(request, session);
                } else if (parts.length == 3) {
                    String service = service(parts[1]);
                    SagaDetail detail = databases.get(service).saga(uuid(parts[2]))
                            .orElseThrow(() -> new WebRequest.Refused(404, "no saga " + parts[2] + " in service " + service));
                    html(exchange, 200, SagaPages.detail(service, detail, session));
                } else {
                    throw notFound();
                }
            }
            case "dead-letters" -> {
                if (parts.length == 1) {
                    deadLetterList(request, session);
                } else if (parts.length == 2 && parts[1].equals("bulk")) {
                    if (!session.operator()) {
                        throw new WebRequest.Refused(403, "user " + session.user + " is a viewer: viewers cannot act");
                    }
                    DeadLetterPages.ListForm form = deadLetterForm(request.query);
                    DeadLetterAction action = DeadLetterAction.parse(String.valueOf(request.param("op")));
                    BulkPreview preview = databases.get(form.service()).previewBulk(form.filter(), action);
                    html(exchange, 200, DeadLetterPages.bulkPreview(form, action, preview, session));
                } else if (parts.length == 3) {
                    String service = service(parts[1]);
                    long id = number(parts[2]);
                    DeadLetterDetail detail = databases.get(service).deadLetter(id)
                            .orElseThrow(() -> new WebRequest.Refused(404, "no dead letter " + id + " in service " + service));
                    html(exchange, 200, DeadLetterPages.detail(service, detail, session));
                } else {
                    throw notFound();
                }
            }
            case "relays" -> html(exchange, 200, RelayPages.relays(cards(false), session));
            case "audit" -> audit(request, session);
            default -> throw notFound();
        }
    }

    /** The audit page: its form, and with {@code run=1} the report of the window it names. */
    private void audit(WebRequest request, Sessions.Session session) {
        String service = service(blank(request.param("service")) == null ? firstService() : request.param("service"));
        ServiceDatabase database = databases.get(service);
        RelayTables tables = database.relayTables(1);
        List<String> relays = java.util.stream.Stream.concat(tables.leases().stream().map(RelayTables.Lease::relay),
                tables.slots().stream().map(RelayTables.Slot::relay)).filter(Objects::nonNull).distinct().sorted().toList();
        List<String> consumers = new ArrayList<>(database.deadLetterCounts().keySet());
        config.service(service).consumers().stream().filter(c -> !consumers.contains(c)).forEach(consumers::add);
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        AuditPages.Form form = new AuditPages.Form(service,
                blank(request.param("relay")) != null ? request.param("relay").strip() : relays.isEmpty() ? null : relays.get(0),
                blank(request.param("consumer")), blank(request.param("from")) != null ? request.param("from").strip()
                        : now.minus(Duration.ofHours(1)).toString(),
                blank(request.param("to")) != null ? request.param("to").strip() : now.toString());
        AuditReport report = null;
        String failure = null;
        if ("1".equals(request.param("run"))) {
            try {
                ReconciliationAudit.Builder audit = ReconciliationAudit.builder().dataSource(database.dataSource())
                        .kafkaProperties(config.service(service).kafkaClientProperties()).patience(AUDIT_PATIENCE)
                        .relay(Objects.requireNonNull(form.relay(), "name the relay whose topics to read"));
                if (form.consumer() != null) {
                    audit.consumer(form.consumer());
                }
                report = audit.build().run(instant("from", form.from()), instant("to", form.to()));
                LOG.info("{} ran the audit of {} (relay {}, consumer {}) from {} to {}: {}", session.actor(), service,
                        form.relay(), form.consumer(), form.from(), form.to(), report.verdict());
            } catch (IllegalArgumentException | NullPointerException | IllegalStateException refused) {
                failure = "The audit did not run: " + refused.getMessage();
            }
        }
        html(request.exchange, 200, AuditPages.page(List.copyOf(databases.keySet()), relays, consumers, form, report, failure,
                session));
    }

    private static Instant instant(String field, String text) {
        try {
            return Instant.parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(field + " must be a UTC time such as 2026-11-30T08:00:00Z, but was '" + text + "'");
        }
    }

    private void sagaList(WebRequest request, Sessions.Session session) {
        String service = service(request.param("service") == null ? firstService() : request.param("service"));
        SagaPages.ListForm form = new SagaPages.ListForm(service, request.param("type"), request.param("version"),
                request.param("state"), request.param("age"), "1".equals(request.param("stuck")), request.param("q"),
                pageSize(request.param("size")));
        SagaFilter filter = new SagaFilter(form.type(), form.version() == null ? null : (int) number(form.version()),
                form.state(), form.age() == null ? null : duration("age", form.age()),
                form.stuck() ? config.stuckAfter() : null, form.idOrKey());
        String after = request.param("after");
        ServiceDatabase database = databases.get(service);
        SagaPage page = database.sagas(filter, after == null ? null : SagaCursor.parse(after), form.size());
        html(request.exchange, 200, SagaPages.list(List.copyOf(databases.keySet()), form, database.sagaTypes(), page,
                after == null, config.stuckAfter().toString(), session));
    }

    private void deadLetterList(WebRequest request, Sessions.Session session) {
        DeadLetterPages.ListForm form = deadLetterForm(request.query);
        ServiceDatabase database = databases.get(form.service());
        String before = request.param("before");
        DeadLetterFilter filter = form.filter();
        DeadLetterPage page = database.deadLetters(filter, before == null ? null : number(before), form.size());
        List<String> consumers = new ArrayList<>(database.deadLetterCounts().keySet());
        config.service(form.service()).consumers().stream().filter(c -> !consumers.contains(c)).forEach(consumers::add);
        if (form.consumer() != null && !consumers.contains(form.consumer())) {
            consumers.add(form.consumer());
        }
        html(request.exchange, 200, DeadLetterPages.list(List.copyOf(databases.keySet()), consumers, form, page,
                before == null, database.countDeadLetters(filter), session));
    }

    private DeadLetterPages.ListForm deadLetterForm(Map<String, String> values) {
        String service = blank(values.get("service")) == null ? firstService() : service(values.get("service"));
        return new DeadLetterPages.ListForm(service, blank(values.get("consumer")), blank(values.get("status")),
                blank(values.get("topic")), blank(values.get("error")), blank(values.get("from")), blank(values.get("to")),
                pageSize(blank(values.get("size"))));
    }

    private void post(WebRequest request, Sessions.Session session) {
        String[] parts = request.path.substring(1).split("/", -1);
        if (parts.length == 4 && parts[0].equals("sagas") && parts[3].equals("action")) {
            String service = service(parts[1]);
            UUID id = uuid(parts[2]);
            String page = "/sagas/" + Html.url(service) + "/" + id;
            act(request, session, service, page, () -> {
                SagaAction action = SagaAction.parse(String.valueOf(request.field("action")));
                return databases.get(service).queueSagaAction(id, action, session.actor(), request.field("note"));
            });
        } else if (parts.length == 4 && parts[0].equals("dead-letters")
                && (parts[3].equals("replay") || parts[3].equals("discard"))) {
            String service = service(parts[1]);
            long id = number(parts[2]);
            String page = "/dead-letters/" + Html.url(service) + "/" + id;
            ServiceDatabase database = databases.get(service);
            act(request, session, service, page, () -> parts[3].equals("replay")
                    ? database.queueReplay(id, session.actor(), request.field("note"))
                    : database.discard(id, session.actor(), request.field("note")));
        } else if (parts.length == 2 && parts[0].equals("dead-letters") && parts[1].equals("bulk")) {
            bulk(request, session);
        } else {
            throw notFound();
        }
    }

    /** Carries out or queues an action, waits a moment for its outcome, and shows it on the target's page. */
    private void act(WebRequest request, Sessions.Session session, String service, String page,
            Supplier<OperatorAction> action) {
        try {
            OperatorAction queued = action.get();
            LOG.info("{} asked for {} on {} {} of service {} (action {})", session.actor(), queued.action(),
                    queued.targetKind(), queued.targetId(), service, queued.id());
            OperatorAction outcome = queued.pending()
                    ? databases.get(service).awaitOutcome(queued.id(), config.actionWait()) : queued;
            session.flash.set(describe(outcome, carrier(service, outcome)));
        } catch (IllegalStateException | IllegalArgumentException refused) {
            session.flash.set("Refused: " + refused.getMessage());
        }
        redirect(request.exchange, page + "#audit");
    }

    private void bulk(WebRequest request, Sessions.Session session) {
        DeadLetterPages.ListForm form = deadLetterForm(request.form);
        DeadLetterAction action = DeadLetterAction.parse(String.valueOf(request.field("op")));
        long maxId = number(String.valueOf(request.field("max_id")));
        ServiceDatabase database = databases.get(form.service());
        try {
            int done = action == DeadLetterAction.REPLAY
                    ? database.replayAll(form.filter(), maxId, session.actor(), request.field("note"))
                    : database.discardAll(form.filter(), maxId, session.actor(), request.field("note"));
            LOG.info("{} asked for a bulk {} of {} dead letters of service {}", session.actor(), action, done, form.service());
            String expected = request.field("expected");
            String difference = expected != null && !expected.equals(Integer.toString(done))
                    ? " (the preview counted " + expected + "; the others were resolved or queued meanwhile)" : "";
            session.flash.set(action == DeadLetterAction.REPLAY
                    ? "Queued " + done + " replays for their consumers" + difference + "."
                    : "Discarded " + done + " dead letters" + difference + ".");
        } catch (IllegalStateException | IllegalArgumentException refused) {
            session.flash.set("Refused: " + refused.getMessage());
        }
        redirect(request.exchange, "/dead-letters" + Html.rawQuery(form.parameters()));
    }

    /** Who carries out an action: the saga type's orchestrator, or the consumer, of the service. */
    static String carrier(String service, OperatorAction action) {
        return OperatorAction.SAGA.equals(action.targetKind())
                ? "service " + service + "'s orchestrator (saga type " + action.scope() + ")"
                : "service " + service + "'s consumer " + action.scope();
    }

    private static String describe(OperatorAction action, String carrier) {
        String what = action.action().toLowerCase(Locale.ROOT).replace('_', ' ') + " (action " + action.id() + ")";
        return switch (action.status()) {
            case "DONE" -> "Done: " + what + (action.outcome() == null ? "" : ": " + action.outcome());
            case "FAILED" -> "Failed: " + what + (action.outcome() == null ? "" : ": " + action.outcome());
            default -> "Queued: " + what + ", waiting for " + carrier + " to carry it out.";
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Login

    private void login(WebRequest request) {
        HttpExchange exchange = request.exchange;
        if (request.method.equals("GET")) {
            if (sessions.find(request.cookies.get(SESSION_COOKIE)).isPresent()) {
                redirect(exchange, "/");
                return;
            }
            loginForm(request, 200, safeNext(request.param("next")), null);
            return;
        }
        if (!request.method.equals("POST")) {
            throw new WebRequest.Refused(405, "method " + request.method + " is not served");
        }
        requireSameOrigin(request);
        String expected = request.cookies.get(LOGIN_COOKIE);
        String given = request.form.get("login_token");
        if (expected == null || given == null || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                given.getBytes(StandardCharsets.UTF_8))) {
            loginForm(request, 403, safeNext(request.field("next")), "The login form expired; please log in again.");
            return;
        }
        String name = request.form.getOrDefault("username", "");
        String password = request.form.getOrDefault("password", "");
        String shown = name.replaceAll("\\p{Cntrl}", "?");
        shown = shown.length() > 64 ? shown.substring(0, 64) + "..." : shown;
        Duration wait = logins.wait(name);
        if (!wait.isZero() && !wait.isNegative()) {
            LOG.warn("console login for user name {} refused: {} failed logins in {}", shown, LoginThrottle.MAX_FAILURES,
                    LoginThrottle.WINDOW);
            loginForm(request, 429, safeNext(request.field("next")), "Too many failed logins for this user name; try "
                    + "again in " + Math.max(1, (wait.toSeconds() + 59) / 60) + " minute(s).");
            return;
        }
        ConsoleConfig.User user = config.users().get(name);
        boolean matches = Passwords.matches(password, user == null ? decoyHash : user.passwordHash()) && user != null;
        if (!matches) {
            logins.failed(name);
            LOG.warn("failed console login for user name {}", shown);
            loginForm(request, 401, safeNext(request.field("next")), "Wrong user name or password.");
            return;
        }
        logins.succeeded(name);
        sessions.find(request.cookies.get(SESSION_COOKIE)).ifPresent(sessions::end);
        Sessions.Session session = sessions.create(user.name(), user.role());
        LOG.info("console login: {} ({})", user.name(), user.role().key());
        // Behind a TLS-terminating proxy the browser must never send the cookie over plain HTTP.
        String secure = "https".equalsIgnoreCase(request.header("X-Forwarded-Proto")) ? "; Secure" : "";
        exchange.getResponseHeaders().add("Set-Cookie", SESSION_COOKIE + "=" + session.id + "; Path=/; HttpOnly; "
                + "SameSite=Strict" + secure);
        exchange.getResponseHeaders().add("Set-Cookie", LOGIN_COOKIE + "=; Path=/login; Max-Age=0; HttpOnly; SameSite=Strict");
        redirect(exchange, safeNext(request.field("next")));
    }

    /**
     * The login form with a token that its POST must bring back in the login cookie too. A token the browser holds
     * already is kept, so that a second login page (another tab, a stray request) does not spoil the first.
     */
    private void loginForm(WebRequest request, int status, String next, String error) {
        String token = request.cookies.get(LOGIN_COOKIE);
        if (token == null || !token.matches("[A-Za-z0-9_-]{43}")) {
            token = Sessions.token();
            request.exchange.getResponseHeaders().add("Set-Cookie", LOGIN_COOKIE + "=" + token
                    + "; Path=/login; HttpOnly; SameSite=Strict");
        }
        html(request.exchange, status, Pages.login(token, next, error));
    }

    /** Only a path of this console: never another site ({@code //host}, {@code /\host}, {@code https:}). */
    private static String safeNext(String next) {
        if (next == null || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")
                || next.chars().anyMatch(c -> c < 0x20)) {
            return "/";
        }
        return next;
    }

    /** A POST whose browser names another origin is refused; the CSRF token is the main defence, this a second. */
    private static void requireSameOrigin(WebRequest request) {
        String origin = request.header("Origin");
        if (origin == null) {
            return;
        }
        String host = request.header("Host");
        // Behind a reverse proxy the Host header may name this server and the forwarded one the public address.
        String forwardedHost = request.header("X-Forwarded-Host");
        try {
            URI uri = URI.create(origin);
            String authority = uri.getAuthority();
            boolean same = authority != null && (authority.equalsIgnoreCase(host)
                    || forwardedHost != null && authority.equalsIgnoreCase(forwardedHost.split(",")[0].trim()));
            if (!same) {
                throw new WebRequest.Refused(403, "a form of another site (" + origin + ") was refused");
            }
        } catch (IllegalArgumentException e) {
            throw new WebRequest.Refused(403, "a form of another site was refused");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The overview's and the relay page's data

    private List<ServiceCard> cards(boolean withLags) {
        List<CompletableFuture<ServiceCard>> cards = new ArrayList<>();
        for (String service : databases.keySet()) {
            cards.add(CompletableFuture.supplyAsync(() -> card(service, withLags), gathering));
        }
        return cards.stream().map(CompletableFuture::join).toList();
    }

    private ServiceCard card(String service, boolean withLags) {
        ServiceDatabase database = databases.get(service);
        // The probes wait on other hosts: ask them while the database is read.
        CompletableFuture<List<RelayProcess>> relays = CompletableFuture.supplyAsync(probes.get(service)::relays, gathering);
        CompletableFuture<List<ConsumerLag>> lags = withLags
                ? CompletableFuture.supplyAsync(probes.get(service)::consumerLags, gathering)
                : CompletableFuture.completedFuture(List.of());
        List<String> failures = new ArrayList<>();
        SagaOverview sagas = attempt(failures, "sagas", () -> database.sagaOverview(config.stuckAfter()));
        Map<String, Map<String, Long>> deadLetters = null;
        RelayTables relayTables = null;
        if (sagas != null || !unreachable(failures)) {
            deadLetters = attempt(failures, "dead letters", database::deadLetterCounts);
            relayTables = attempt(failures, "relay tables", () -> database.relayTables(50));
        }
        return new ServiceCard(service, config.service(service).displayUrl(), sagas, deadLetters, relays.join(),
                relayTables, lags.join(), failures);
    }

    /** Whether the last failure was the database not answering: then each further part would wait as long again. */
    private static boolean unreachable(List<String> failures) {
        String last = failures.isEmpty() ? "" : failures.get(failures.size() - 1);
        return last.contains("SQLTransientConnectionException") || last.contains("ConnectException")
                || last.contains("Connection is not available") || last.contains("Connection refused")
                || last.contains("PSQLException: The connection attempt failed");
    }

    private static <T> T attempt(List<String> failures, String part, Supplier<T> read) {
        try {
            return read.get();
        } catch (RuntimeException e) {
            failures.add(part + ": " + ServiceProbes.rootMessage(e));
            return null;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Parameters and responses

    /** How long the audit page waits for a relay to pass the audit's snapshot; the page waits that long at most. */
    private static final Duration AUDIT_PATIENCE = Duration.ofSeconds(10);

    private String firstService() {
        return databases.keySet().iterator().next();
    }

    private String service(String name) {
        if (name == null || !databases.containsKey(name)) {
            throw new WebRequest.Refused(404, "no service '" + name + "' is configured");
        }
        return name;
    }

    private static UUID uuid(String text) {
        UUID id = SagaFilter.uuidOrNull(text);
        if (id == null) {
            throw new WebRequest.Refused(404, "'" + text + "' is not a saga id");
        }
        return id;
    }

    private static long number(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number");
        }
    }

    private static Duration duration(String field, String text) {
        try {
            return Duration.parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(field + " must be an ISO-8601 duration such as PT1H, but was '" + text + "'");
        }
    }

    private static int pageSize(String text) {
        if (text == null) {
            return 100;
        }
        if (!SagaPages.PAGE_SIZES.contains(text)) {
            throw new IllegalArgumentException("page size must be one of " + SagaPages.PAGE_SIZES + ", but was '" + text + "'");
        }
        return Integer.parseInt(text);
    }

    private static String blank(String value) {
        return SagaFilter.blankToNull(value);
    }

    private static WebRequest.Refused notFound() {
        return new WebRequest.Refused(404, "no such page");
    }

    private static void html(HttpExchange exchange, int status, String page) {
        respond(exchange, status, "text/html; charset=utf-8", page.getBytes(StandardCharsets.UTF_8));
    }

    private static void redirect(HttpExchange exchange, String location) {
        exchange.getResponseHeaders().set("Location", location);
        respond(exchange, 303, "text/plain; charset=utf-8", new byte[0]);
    }

    private static void respond(HttpExchange exchange, int status, String contentType, byte[] body) {
        if (exchange.getResponseCode() != -1) {
            return; // already answered; nothing more can be said
        }
        var headers = exchange.getResponseHeaders();
        headers.set("Content-Type", contentType);
        headers.set("Cache-Control", "no-store");
        headers.set("Content-Security-Policy", CSP);
        headers.set("X-Frame-Options", "DENY");
        headers.set("X-Content-Type-Options", "nosniff");
        headers.set("Referrer-Policy", "same-origin");
        try {
            exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        } catch (IOException e) {
            LOG.debug("could not answer {}: {}", exchange.getRequestURI().getPath(), e.toString());
        }
    }

    private static Thread daemon(Runnable runnable, String name) {
        Thread thread = new Thread(runnable, name);
        thread.setDaemon(true);
        return thread;
    }
}
