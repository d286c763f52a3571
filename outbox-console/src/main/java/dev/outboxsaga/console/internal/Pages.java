package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.badge;
import static dev.outboxsaga.console.internal.Html.bytes;
import static dev.outboxsaga.console.internal.Html.esc;
import static dev.outboxsaga.console.internal.Html.query;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The frame of every page, the login page, the overview and the error page. */
final class Pages {

    static final List<String> SAGA_STATES = List.of("RUNNING", "COMPENSATING", "PARKED", "COMPLETED", "COMPENSATED",
            "FAILED");

    private Pages() {
    }

    /** A whole page: skip link, navigation (with access keys), the user and the logout button, then {@code body}. */
    static String layout(String title, String active, Sessions.Session session, String body) {
        return layout(title, active, session, body, 0);
    }

    /** A whole page that the browser reloads every {@code refreshSeconds} (0: never), without script. */
    static String layout(String title, String active, Sessions.Session session, String body, int refreshSeconds) {
        StringBuilder out = new StringBuilder(body.length() + 2048);
        out.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append(refreshSeconds > 0 ? "<meta http-equiv=\"refresh\" content=\"" + refreshSeconds + "\">" : "")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>").append(esc(title)).append(" · outbox-saga console</title>")
                .append("<link rel=\"stylesheet\" href=\"/static/console.css\">")
                .append("<script src=\"/static/console.js\" defer></script></head><body>")
                .append("<a class=\"skip\" href=\"#main\">Skip to content</a>")
                .append("<header><span class=\"brand\">outbox-saga console</span>");
        if (session != null) {
            out.append("<nav aria-label=\"Main\"><ul>");
            nav(out, "/", "Overview", "o", active);
            nav(out, "/sagas", "Sagas", "s", active);
            nav(out, "/dead-letters", "Dead letters", "d", active);
            nav(out, "/relays", "Relays", "r", active);
            nav(out, "/audit", "Audit", "a", active);
            out.append("</ul></nav><span class=\"zone\" id=\"zone\">times in UTC</span>")
                    .append("<form class=\"logout\" method=\"post\" action=\"/logout\">")
                    .append(csrf(session)).append("<span class=\"who\">").append(esc(session.user)).append(" (")
                    .append(esc(session.role.key())).append(")</span> <button type=\"submit\">Log out</button></form>");
        }
        out.append("</header><main id=\"main\" tabindex=\"-1\">");
        if (session != null) {
            String flash = session.flash.getAndSet(null);
            if (flash != null) {
                out.append("<p class=\"flash\" role=\"status\">").append(esc(flash)).append("</p>");
            }
        }
        return out.append(body).append("</main></body></html>\n").toString();
    }

    private static void nav(StringBuilder out, String href, String label, String key, String active) {
        out.append("<li><a href=\"").append(href).append("\" accesskey=\"").append(key).append('"')
                .append(label.equals(active) ? " aria-current=\"page\"" : "").append('>').append(label).append("</a></li>");
    }

    /** The hidden CSRF field every POST form carries. */
    static String csrf(Sessions.Session session) {
        return "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(session.csrfToken) + "\">";
    }

    static String login(String loginToken, String next, String error) {
        StringBuilder body = new StringBuilder("<section class=\"login\"><h1>Log in</h1>");
        if (error != null) {
            body.append("<p class=\"error\" role=\"alert\">").append(esc(error)).append("</p>");
        }
        body.append("<form method=\"post\" action=\"/login\">")
                .append("<input type=\"hidden\" name=\"login_token\" value=\"").append(esc(loginToken)).append("\">")
                .append("<input type=\"hidden\" name=\"next\" value=\"").append(esc(next)).append("\">")
                .append("<p><label for=\"username\">User name</label><input id=\"username\" name=\"username\" ")
                .append("autocomplete=\"username\" required autofocus></p>")
                .append("<p><label for=\"password\">Password</label><input id=\"password\" name=\"password\" ")
                .append("type=\"password\" autocomplete=\"current-password\" required></p>")
                .append("<p><button type=\"submit\">Log in</button></p></form></section>");
        return layout("Log in", null, null, body.toString());
    }

    static String error(int status, String message, Sessions.Session session) {
        String title = switch (status) {
            case 400 -> "Bad request";
            case 403 -> "Not allowed";
            case 404 -> "Not found";
            case 409 -> "Refused";
            case 503 -> "Database unavailable";
            default -> "Error";
        };
        return layout(title, null, session, "<h1>" + esc(title) + "</h1><p class=\"error\" role=\"alert\">" + esc(message)
                + "</p><p><a href=\"/\">Back to the overview</a></p>");
    }

    // ---------------------------------------------------------------------------------------------
    // Overview

    static String overview(List<ServiceCard> cards, String stuckAfter, Sessions.Session session) {
        return overview(cards, Map.of(), stuckAfter, session);
    }

    /**
     * The overview; each card with its service's {@code activity} (sagas ended and dead letters parked per minute), when
     * there is an entry for it.
     */
    static String overview(List<ServiceCard> cards, Map<String, ServiceActivity> activity, String stuckAfter,
            Sessions.Session session) {
        StringBuilder body = new StringBuilder("<h1>Overview</h1>");
        activity.values().stream().findFirst().ifPresent(any -> {
            long hours = any.window().toHours();
            body.append("<nav class=\"windows\" aria-label=\"Activity window\">Activity over the last ");
            for (int i = 0; i < ServiceActivity.WINDOW_HOURS.size(); i++) {
                int offered = ServiceActivity.WINDOW_HOURS.get(i);
                body.append(i == 0 ? "" : " · ").append("<a href=\"/").append(offered == ServiceActivity.DEFAULT_WINDOW_HOURS
                        ? "" : "?hours=" + offered).append('"').append(offered == hours ? " aria-current=\"page\"" : "")
                        .append('>').append(offered).append(" h</a>");
            }
            body.append("</nav>");
        });
        body.append("<div class=\"cards\">");
        for (ServiceCard card : cards) {
            serviceCard(body, card, activity.get(card.name()), stuckAfter);
        }
        return layout("Overview", "Overview", session, body.append("</div>").toString());
    }

    private static void serviceCard(StringBuilder out, ServiceCard card, ServiceActivity activity, String stuckAfter) {
        String service = card.name();
        out.append("<section class=\"card").append(card.failures().isEmpty() ? "" : " failing")
                .append("\" aria-labelledby=\"svc-").append(esc(service)).append("\"><h2 id=\"svc-").append(esc(service))
                .append("\">").append(esc(service)).append("</h2><p class=\"muted\">").append(esc(card.database()))
                .append("</p>");
        if (!card.failures().isEmpty()) {
            out.append("<ul class=\"failures\" role=\"alert\">");
            card.failures().forEach(failure -> out.append("<li>").append(esc(failure)).append("</li>"));
            out.append("</ul>");
        }
        SagaOverview sagas = card.sagas();
        if (sagas != null) {
            out.append("<h3>Sagas</h3><table class=\"compact counts\"><tbody>");
            for (String state : SAGA_STATES) {
                long count = sagas.countByState().getOrDefault(state, 0L);
                out.append("<tr><th scope=\"row\">").append(badge(state)).append("</th><td class=\"num\"><a href=\"/sagas")
                        .append(query(params("service", service, "state", state))).append("\">").append(count)
                        .append("</a></td></tr>");
            }
            out.append("</tbody></table><p><a class=\"stat").append(sagas.stuck() > 0 ? " warn" : "")
                    .append("\" href=\"/sagas").append(query(params("service", service, "stuck", "1"))).append("\">")
                    .append(sagas.stuck()).append(" stuck</a> (no progress for ").append(esc(stuckAfter)).append(") · ")
                    .append("<a class=\"stat").append(sagas.parked() > 0 ? " warn" : "").append("\" href=\"/sagas")
                    .append(query(params("service", service, "state", "PARKED"))).append("\">").append(sagas.parked())
                    .append(" parked</a></p>");
            if (!sagas.pendingActions().isEmpty()) {
                out.append("<p>Operator actions waiting: ");
                int i = 0;
                for (Map.Entry<String, Long> pending : sagas.pendingActions().entrySet()) {
                    out.append(i++ == 0 ? "" : ", ").append(esc(pending.getKey())).append(" ").append(pending.getValue());
                }
                out.append("</p>");
            }
        }
        if (card.deadLetters() != null) {
            out.append("<h3>Dead letters</h3>");
            if (card.deadLetters().isEmpty()) {
                out.append("<p class=\"muted\">none</p>");
            } else {
                out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">Consumer</th><th scope=\"col\">Parked</th>")
                        .append("<th scope=\"col\">Replayed</th><th scope=\"col\">Discarded</th></tr></thead><tbody>");
                card.deadLetters().forEach((consumer, counts) -> {
                    long parked = counts.getOrDefault("PARKED", 0L);
                    out.append("<tr><td>").append(esc(consumer)).append("</td><td class=\"num\"><a")
                            .append(parked > 0 ? " class=\"warn\"" : "").append(" href=\"/dead-letters")
                            .append(query(params("service", service, "consumer", consumer, "status", "PARKED")))
                            .append("\">").append(parked).append("</a></td><td class=\"num\">")
                            .append(counts.getOrDefault("REPLAYED", 0L)).append("</td><td class=\"num\">")
                            .append(counts.getOrDefault("DISCARDED", 0L)).append("</td></tr>");
                });
                out.append("</tbody></table>");
            }
        }
        if (activity != null) {
            out.append(ActivityCharts.charts(service, activity));
        }
        out.append("<h3>Relays</h3>");
        if (card.relays().isEmpty() && (card.relayTables() == null || card.relayTables().leases().isEmpty())) {
            out.append("<p class=\"muted\">none configured or recorded</p>");
        }
        if (!card.relays().isEmpty()) {
            out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">Process</th><th scope=\"col\">Role</th>")
                    .append("<th scope=\"col\">Lag</th><th scope=\"col\">Retained WAL</th></tr></thead><tbody>");
            for (RelayProcess process : card.relays()) {
                out.append("<tr><td>").append(esc(process.instanceId() != null ? process.instanceId() : process.url()))
                        .append(process.relay() == null ? "" : " <span class=\"muted\">" + esc(process.relay()) + "</span>")
                        .append("</td><td>").append(process.role() == null ? badge("DOWN") : badge(process.role()))
                        .append(process.failure() == null ? "" : " <span class=\"error\">" + esc(process.failure()) + "</span>")
                        .append("</td><td class=\"num\">").append(process.lagMillis() == null ? "" : process.lagMillis() + " ms")
                        .append("</td><td class=\"num\">").append(process.retainedWalBytes() == null ? "" : bytes(process.retainedWalBytes()))
                        .append("</td></tr>");
            }
            out.append("</tbody></table>");
        }
        RelayTables tables = card.relayTables();
        if (tables != null && (!tables.leases().isEmpty() || !tables.slots().isEmpty())) {
            out.append("<ul class=\"plain\">");
            for (RelayTables.Lease lease : tables.leases()) {
                out.append("<li>").append(esc(lease.relay())).append(": leader ")
                        .append(lease.expired() ? badge("no leader (lease expired)") : esc(lease.instanceId()))
                        .append(", epoch ").append(lease.epoch()).append("</li>");
            }
            for (RelayTables.Slot slot : tables.slots()) {
                out.append("<li>slot ").append(esc(slot.slotName())).append(": ")
                        .append(slot.lost() ? badge("lost") : badge(slot.active() ? "active" : "inactive"))
                        .append(" retains ").append(bytes(slot.retainedBytes())).append("</li>");
            }
            long parked = tables.parkedByRelay().values().stream().mapToLong(Long::longValue).sum();
            out.append("<li><a").append(parked > 0 ? " class=\"warn\"" : "").append(" href=\"/relays#")
                    .append(esc(service)).append("\">").append(parked).append(" parked outbox rows</a></li></ul>");
        }
        if (!card.lags().isEmpty()) {
            out.append("<h3>Inbox consumer lag</h3><table class=\"compact\"><tbody>");
            for (ConsumerLag lag : card.lags()) {
                out.append("<tr><th scope=\"row\">").append(esc(lag.group())).append("</th><td class=\"num\">")
                        .append(lag.error() != null ? "<span class=\"error\">" + esc(lag.error()) + "</span>"
                                : lag.lag() + " records")
                        .append("</td></tr>");
            }
            out.append("</tbody></table>");
        }
        out.append("</section>");
    }

    /** Parameters in order, from name/value pairs. */
    static Map<String, Object> params(Object... pairs) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put((String) pairs[i], pairs[i + 1]);
        }
        return map;
    }

    /** A {@code <select>} with a label; the empty value reads {@code anyLabel}. */
    static String select(String id, String label, List<String> values, String selected, String anyLabel) {
        StringBuilder out = new StringBuilder("<label for=\"").append(id).append("\">").append(esc(label))
                .append("</label><select id=\"").append(id).append("\" name=\"").append(id).append("\">");
        if (anyLabel != null) {
            out.append("<option value=\"\">").append(esc(anyLabel)).append("</option>");
        }
        for (String value : values) {
            out.append("<option value=\"").append(esc(value)).append('"').append(value.equals(selected) ? " selected" : "")
                    .append('>').append(esc(value)).append("</option>");
        }
        return out.append("</select>").toString();
    }

    /** A text input with a label. */
    static String input(String id, String label, String value, String extra) {
        return "<label for=\"" + id + "\">" + esc(label) + "</label><input id=\"" + id + "\" name=\"" + id + "\" value=\""
                + esc(value) + "\"" + (extra == null ? "" : " " + extra) + ">";
    }

    /** The audit trail of one saga or dead letter. */
    static String actions(List<OperatorAction> actions, String waitingFor) {
        StringBuilder out = new StringBuilder("<h2 id=\"audit\">Operator actions</h2>");
        if (actions.isEmpty()) {
            return out.append("<p class=\"muted\">none</p>").toString();
        }
        out.append("<table class=\"audit\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Requested</th>")
                .append("<th scope=\"col\">Who</th><th scope=\"col\">Action</th><th scope=\"col\">Note</th>")
                .append("<th scope=\"col\">Status</th><th scope=\"col\">Outcome</th><th scope=\"col\">Done</th></tr>")
                .append("</thead><tbody>");
        for (OperatorAction action : actions) {
            out.append("<tr id=\"action-").append(action.id()).append("\"><td>").append(action.id()).append("</td><td>")
                    .append(Html.time(action.requestedAt())).append("</td><td>").append(esc(action.actor()))
                    .append("</td><td>").append(esc(action.action())).append("</td><td>").append(esc(action.note()))
                    .append("</td><td>").append(badge(action.status())).append("</td><td>")
                    .append(action.pending() ? "waiting for " + esc(waitingFor) + " to carry it out" : esc(action.outcome()))
                    .append("</td><td>").append(Html.time(action.doneAt())).append("</td></tr>");
        }
        return out.append("</tbody></table>").toString();
    }
}
