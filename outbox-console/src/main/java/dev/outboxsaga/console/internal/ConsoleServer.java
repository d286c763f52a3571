package dev.outboxsaga.console.internal;

import dev.outboxsaga.console.ConsoleConfig;
import dev.outboxsaga.console.ReconciliationAudit;
import dev.outboxsaga.core.OutboxException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.servlet.SessionHandler;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.server.ForwardedRequestCustomizer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.server.handler.QoSHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console on an embedded Jetty: server-rendered pages over each service's {@link ServiceDatabase} and
 * {@link ServiceProbes}.
 *
 * <p>The server: Jetty parses every request (within {@value #MAX_REQUEST_HEADER} bytes of headers and
 * {@value WebRequest#MAX_FORM} bytes of form), writes every response header and cookie, and keeps the sessions. A
 * connection that sends nothing for the idle timeout is closed, half-sent requests included; waiting connections hold
 * no thread; at most {@link ConsoleConfig#maxConnections()} are open. At most {@value #MAX_ACTIVE_REQUESTS} requests
 * are handled at once; the others wait, without a thread, up to the request timeout and are then answered 503, so no
 * burst of slow pages can take every thread. The reconciliation audit runs on its own thread ({@link AuditRunner}).
 *
 * <p>Security: every page but the login form needs a session (Jetty's, in an HttpOnly, SameSite=Strict cookie, a new
 * id at each login, ended after the idle timeout or the absolute lifetime); every POST, logout included, needs the
 * session's CSRF token and, when the browser sends one, this console's Origin; every POST but logout needs the
 * operator role, checked before anything is read from the form, so a viewer's forged POST writes nothing. Logins are
 * throttled by client address and user name ({@link Logins}). Pages are {@code no-store}, framed by nobody, scripts
 * and styles come from this server only, and a redirect goes to a local path of safe ASCII only.
 */
public final class ConsoleServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConsoleServer.class);
    static final String SESSION_COOKIE = "outbox_console_session";
    static final String LOGIN_COOKIE = "outbox_console_login";
    /** Bytes of request line and headers; browsers send well under 4 KiB to this console. */
    static final int MAX_REQUEST_HEADER = 8 * 1024;
    /** Request threads; the selector and acceptor take two of them. */
    static final int MAX_THREADS = 24;
    /** Requests handled at once; the rest wait without a thread (see the class comment). */
    static final int MAX_ACTIVE_REQUESTS = 16;
    private static final Map<String, String> STATIC = Map.of(
            "/static/console.css", "text/css; charset=utf-8",
            "/static/console.js", "text/javascript; charset=utf-8");

    private final ConsoleConfig config;
    private final Map<String, ServiceDatabase> databases = new LinkedHashMap<>();
    private final Map<String, ServiceProbes> probes = new LinkedHashMap<>();
    private final Sessions sessions;
    private final Logins logins;
    private final AuditRunner audits;
    private final HttpClient http;
    private final ExecutorService gathering;
    private final Map<String, byte[]> staticFiles = new LinkedHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private Server server;
    private ServerConnector connector;

    private ConsoleServer(ConsoleConfig config, Clock clock) {
        this.config = config;
        this.sessions = new Sessions(config.sessionLifetime(), clock);
        this.logins = new Logins(config, sessions, clock);
        this.audits = new AuditRunner(config.auditMaxWindow(), clock);
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        AtomicInteger threads = new AtomicInteger();
        // Cached, not fixed: a card's task waits for its probes, which must never queue behind other cards.
        this.gathering = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "outbox-console-gather-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
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
        return start(config, Clock.systemUTC());
    }

    /** As {@link #start(ConsoleConfig)}, with the clock of sessions, logins and audits (the server keeps its own). */
    static ConsoleServer start(ConsoleConfig config, Clock clock) {
        if (config.users().isEmpty()) {
            throw new IllegalArgumentException("the console needs at least one user (no anonymous access): set "
                    + ConsoleConfig.USER_PREFIX + "<name>." + ConsoleConfig.PASSWORD_HASH + " and "
                    + ConsoleConfig.USER_PREFIX + "<name>." + ConsoleConfig.ROLE);
        }
        ConsoleServer console = new ConsoleServer(config, clock);
        try {
            for (ConsoleConfig.Service service : config.services().values()) {
                console.databases.put(service.name(), ServiceDatabase.open(service, config.requestTimeout()));
                console.probes.put(service.name(), new ServiceProbes(service, console.http));
            }
            console.serve();
        } catch (RuntimeException e) {
            console.close();
            throw e;
        }
        LOG.info("outbox-saga console on {} watching {}", console.url(), config.services().keySet());
        return console;
    }

    private void serve() {
        QueuedThreadPool threads = new QueuedThreadPool(MAX_THREADS, 4);
        threads.setName("outbox-console-http");
        threads.setDaemon(true);
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(MAX_REQUEST_HEADER);
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setRelativeRedirectAllowed(true);
        if (config.behindProxy()) {
            http.addCustomizer(new ForwardedRequestCustomizer());
        }
        connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(config.bind());
        connector.setPort(config.port());
        connector.setIdleTimeout(config.idleTimeout().toMillis());
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(config.maxConnections(), connector));

        ServletContextHandler context = new ServletContextHandler(ServletContextHandler.SESSIONS);
        context.setContextPath("/");
        context.setMaxFormContentSize(WebRequest.MAX_FORM);
        context.setMaxFormKeys(100);
        SessionHandler sessionHandler = context.getSessionHandler();
        sessionHandler.setSessionCookie(sessionCookie(config));
        sessionHandler.setSessionPath("/");
        sessionHandler.setHttpOnly(true);
        sessionHandler.setSameSite(HttpCookie.SameSite.STRICT);
        sessionHandler.setSecureCookies(config.secureCookies());
        sessionHandler.setSecureRequestOnly(true);
        sessionHandler.setUsingUriParameters(false);
        sessionHandler.setMaxInactiveInterval((int) Math.min(Integer.MAX_VALUE, config.sessionTimeout().toSeconds()));
        context.addServlet(new ServletHolder("console", new Dispatch()), "/*");
        ErrorHandler errors = new ErrorHandler();
        errors.setShowStacks(false);
        errors.setShowMessageInTitle(false);
        server.setErrorHandler(errors);

        QoSHandler limit = new QoSHandler(context);
        limit.setMaxRequestCount(MAX_ACTIVE_REQUESTS);
        limit.setMaxSuspend(config.requestTimeout());
        limit.setRejectStatusCode(503);
        server.setHandler(limit);
        server.setStopTimeout(2_000);
        try {
            server.start();
        } catch (Exception e) {
            throw new UncheckedIOException("cannot listen on " + config.bind() + ":" + config.port(),
                    e instanceof java.io.IOException io ? io : new java.io.IOException(e));
        }
    }

    /** The session cookie's name: with the {@code __Host-} prefix when cookies are secure. */
    static String sessionCookie(ConsoleConfig config) {
        return config.secureCookies() ? "__Host-" + SESSION_COOKIE : SESSION_COOKIE;
    }

    /** The login form cookie's name: with the {@code __Host-} prefix when cookies are secure. */
    static String loginCookie(ConsoleConfig config) {
        return config.secureCookies() ? "__Host-" + LOGIN_COOKIE : LOGIN_COOKIE;
    }

    /** The port served; the chosen one when configured as 0. */
    public int port() {
        return connector.getLocalPort();
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
            try {
                server.stop();
            } catch (Exception e) {
                LOG.debug("stopping the console's server: {}", e.toString());
            }
        }
        audits.close();
        gathering.shutdownNow();
        probes.values().forEach(ServiceProbes::close);
        databases.values().forEach(ServiceDatabase::close);
    }

    // ---------------------------------------------------------------------------------------------
    // Requests

    /** Every request of the console, through one servlet. */
    private final class Dispatch extends HttpServlet {
        @Override
        protected void service(HttpServletRequest request, HttpServletResponse response) {
            handle(new WebRequest(request, response));
        }
    }

    private void handle(WebRequest request) {
        Sessions.Session session = null;
        try {
            String path = request.path;
            if (STATIC.containsKey(path) && request.method.equals("GET")) {
                request.respond(200, STATIC.get(path), staticFiles.get(path));
                return;
            }
            if (path.equals("/login")) {
                logins.handle(request);
                return;
            }
            if (path.equals("/favicon.ico")) {
                throw new WebRequest.Refused(404, "no icon");
            }
            session = sessions.find(request.http).orElse(null);
            if (session == null) {
                if (request.method.equals("GET")) {
                    String query = request.http.getQueryString();
                    String target = request.http.getRequestURI() + (query == null ? "" : "?" + query);
                    request.redirect("/login" + (target.equals("/") ? "" : "?next=" + Html.url(target)));
                } else {
                    throw new WebRequest.Refused(403, "log in first");
                }
                return;
            }
            if (request.method.equals("POST")) {
                requireSameOrigin(request);
                if (!session.csrfMatches(request.param("csrf"))) {
                    throw new WebRequest.Refused(403, "the form's security token is missing or out of date; reload the "
                            + "page and try again");
                }
                if (path.equals("/logout")) {
                    sessions.end(request.http);
                    request.redirect("/login");
                    return;
                }
                if (!session.operator()) {
                    LOG.warn("refused {} {} from viewer {}", LogText.of(request.method), LogText.of(path), session.user);
                    throw new WebRequest.Refused(403, "user " + session.user + " is a viewer: viewers cannot act");
                }
                post(request, session);
                return;
            }
            if (!request.method.equals("GET")) {
                request.header("Allow", "GET, POST");
                throw new WebRequest.Refused(405, "method " + request.method + " is not served");
            }
            get(request, session);
        } catch (WebRequest.Refused refused) {
            request.html(refused.status, Pages.error(refused.status, refused.getMessage(), session));
        } catch (IllegalArgumentException badInput) {
            request.html(400, Pages.error(400, badInput.getMessage(), session));
        } catch (OutboxException database) {
            request.html(503, Pages.error(503, "the database did not answer: " + ServiceProbes.rootMessage(database),
                    session));
        } catch (RuntimeException | Error e) {
            LOG.error("{} {} failed", LogText.of(request.method), LogText.of(request.path), e);
            request.html(500, Pages.error(500, "internal error; the console's log has the details", session));
        }
    }

    private void get(WebRequest request, Sessions.Session session) {
        String[] parts = request.path.substring(1).split("/", -1);
        switch (parts[0]) {
            case "" -> {
                var activity = ServiceActivity.readAll(databases, ServiceActivity.window(request.param("hours")), gathering);
                request.html(200, Pages.overview(cards(true), activity.join(), config.stuckAfter().toString(), session));
            }
            case "saga-types" -> {
                if (parts.length != 4) {
                    throw notFound();
                }
                String service = service(parts[1]);
                SagaTypeDetail type = databases.get(service).sagaType(parts[2], (int) number(parts[3]))
                        .orElseThrow(() -> new WebRequest.Refused(404, "no saga type " + parts[2] + " v" + parts[3]
                                + " in service " + service));
                request.html(200, SagaPages.sagaType(service, type, session));
            }
            case "sagas" -> {
                if (parts.length == 1) {
                    sagaList(request, session);
                } else if (parts.length == 3) {
                    String service = service(parts[1]);
                    SagaDetail detail = databases.get(service).saga(uuid(parts[2]))
                            .orElseThrow(() -> new WebRequest.Refused(404, "no saga " + parts[2] + " in service " + service));
                    request.html(200, SagaPages.detail(service, detail, session));
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
                    DeadLetterPages.ListForm form = deadLetterForm(request.parameters());
                    DeadLetterAction action = DeadLetterAction.parse(String.valueOf(request.param("op")));
                    BulkPreview preview = databases.get(form.service()).previewBulk(form.filter(), action);
                    request.html(200, DeadLetterPages.bulkPreview(form, action, preview, session));
                } else if (parts.length == 3) {
                    String service = service(parts[1]);
                    long id = number(parts[2]);
                    DeadLetterDetail detail = databases.get(service).deadLetter(id)
                            .orElseThrow(() -> new WebRequest.Refused(404, "no dead letter " + id + " in service " + service));
                    request.html(200, DeadLetterPages.detail(service, detail, session));
                } else {
                    throw notFound();
                }
            }
            case "relays" -> request.html(200, RelayPages.relays(cards(false), session));
            case "audit" -> {
                if (parts.length == 1) {
                    auditPage(request, session);
                } else if (parts.length == 2) {
                    AuditRunner.Job job = audits.job((int) Math.min(Integer.MAX_VALUE, number(parts[1])))
                            .orElseThrow(() -> new WebRequest.Refused(404, "no audit " + parts[1] + " is kept"));
                    request.html(200, AuditPages.job(job, session));
                } else {
                    throw notFound();
                }
            }
            default -> throw notFound();
        }
    }

    /** The audit page: the form (operators) and the audits kept. */
    private void auditPage(WebRequest request, Sessions.Session session) {
        String service = service(blank(request.param("service")) == null ? firstService() : request.param("service"));
        ServiceDatabase database = databases.get(service);
        RelayTables tables = database.relayTables(1);
        List<String> relays = java.util.stream.Stream.concat(tables.leases().stream().map(RelayTables.Lease::relay),
                tables.slots().stream().map(RelayTables.Slot::relay)).filter(Objects::nonNull).distinct().sorted().toList();
        List<String> consumers = new ArrayList<>(database.deadLetterCounts().keySet());
        config.service(service).consumers().stream().filter(c -> !consumers.contains(c)).forEach(consumers::add);
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        AuditPages.Form form = new AuditPages.Form(service, relays.isEmpty() ? null : relays.get(0), null,
                now.minus(Duration.ofHours(1)).toString(), now.toString());
        request.html(200, AuditPages.page(List.copyOf(databases.keySet()), relays, consumers, form, audits.jobs(), session));
    }

    /** An operator's POST of the audit form: starts the audit on its own thread and shows its page. */
    private void startAudit(WebRequest request, Sessions.Session session) {
        String service = service(request.param("service"));
        String relay = blank(request.param("relay"));
        if (relay == null) {
            throw new IllegalArgumentException("name the relay whose topics to read");
        }
        AuditPages.Form form = new AuditPages.Form(service, relay.strip(), blank(request.param("consumer")),
                String.valueOf(request.param("from")).strip(), String.valueOf(request.param("to")).strip());
        Instant from = instant("from", form.from());
        Instant to = instant("to", form.to());
        ServiceDatabase database = databases.get(service);
        try {
            AuditRunner.Job job = audits.start(form, from, to, session.actor(), () -> {
                ReconciliationAudit.Builder audit = ReconciliationAudit.builder().dataSource(database.dataSource())
                        .kafkaProperties(config.service(service).kafkaClientProperties()).patience(AUDIT_PATIENCE)
                        .maxRows(config.auditMaxRows()).relay(form.relay());
                if (form.consumer() != null) {
                    audit.consumer(form.consumer());
                }
                return audit.build().run(from, to);
            });
            request.redirect("/audit/" + job.id);
        } catch (IllegalStateException busy) {
            session.flash.set("Refused: " + busy.getMessage());
            request.redirect("/audit");
        }
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
        request.html(200, SagaPages.list(List.copyOf(databases.keySet()), form, database.sagaTypes(), page,
                after == null, config.stuckAfter().toString(), session));
    }

    private void deadLetterList(WebRequest request, Sessions.Session session) {
        DeadLetterPages.ListForm form = deadLetterForm(request.parameters());
        ServiceDatabase database = databases.get(form.service());
        String before = request.param("before");
        DeadLetterFilter filter = form.filter();
        DeadLetterPage page = database.deadLetters(filter, before == null ? null : number(before), form.size());
        List<String> consumers = new ArrayList<>(database.deadLetterCounts().keySet());
        config.service(form.service()).consumers().stream().filter(c -> !consumers.contains(c)).forEach(consumers::add);
        if (form.consumer() != null && !consumers.contains(form.consumer())) {
            consumers.add(form.consumer());
        }
        request.html(200, DeadLetterPages.list(List.copyOf(databases.keySet()), consumers, form, page,
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
                SagaAction action = SagaAction.parse(String.valueOf(request.param("action")));
                return databases.get(service).queueSagaAction(id, action, session.actor(), request.param("note"));
            });
        } else if (parts.length == 4 && parts[0].equals("dead-letters")
                && (parts[3].equals("replay") || parts[3].equals("discard"))) {
            String service = service(parts[1]);
            long id = number(parts[2]);
            String page = "/dead-letters/" + Html.url(service) + "/" + id;
            ServiceDatabase database = databases.get(service);
            act(request, session, service, page, () -> parts[3].equals("replay")
                    ? database.queueReplay(id, session.actor(), request.param("note"))
                    : database.discard(id, session.actor(), request.param("note")));
        } else if (parts.length == 2 && parts[0].equals("dead-letters") && parts[1].equals("bulk")) {
            bulk(request, session);
        } else if (parts.length == 1 && parts[0].equals("audit")) {
            startAudit(request, session);
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
        request.redirect(page + "#audit");
    }

    private void bulk(WebRequest request, Sessions.Session session) {
        DeadLetterPages.ListForm form = deadLetterForm(request.parameters());
        DeadLetterAction action = DeadLetterAction.parse(String.valueOf(request.param("op")));
        long maxId = number(String.valueOf(request.param("max_id")));
        ServiceDatabase database = databases.get(form.service());
        try {
            int done = action == DeadLetterAction.REPLAY
                    ? database.replayAll(form.filter(), maxId, session.actor(), request.param("note"))
                    : database.discardAll(form.filter(), maxId, session.actor(), request.param("note"));
            LOG.info("{} asked for a bulk {} of {} dead letters of service {}", session.actor(), action, done, form.service());
            String expected = request.param("expected");
            String difference = expected != null && !expected.equals(Integer.toString(done))
                    ? " (the preview counted " + expected + "; the others were resolved or queued meanwhile)" : "";
            session.flash.set(action == DeadLetterAction.REPLAY
                    ? "Queued " + done + " replays for their consumers" + difference + "."
                    : "Discarded " + done + " dead letters" + difference + ".");
        } catch (IllegalStateException | IllegalArgumentException refused) {
            session.flash.set("Refused: " + refused.getMessage());
        }
        request.redirect("/dead-letters" + Html.rawQuery(form.parameters()));
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

    /**
     * A POST whose browser names another origin is refused; the CSRF token is the main defence, this a second. The
     * origin must name the host and port the request was sent to (behind a trusted proxy, the forwarded ones).
     */
    static void requireSameOrigin(WebRequest request) {
        String origin = request.header("Origin");
        if (origin == null) {
            return;
        }
        try {
            URI uri = URI.create(origin);
            int port = uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
            boolean same = uri.getHost() != null && uri.getHost().equalsIgnoreCase(request.http.getServerName())
                    && port == request.http.getServerPort()
                    && String.valueOf(uri.getScheme()).equalsIgnoreCase(request.http.getScheme());
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

    /** How long an audit waits for a relay to pass the audit's snapshot. */
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

}
