package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.badge;
import static dev.outboxsaga.console.internal.Html.esc;
import static dev.outboxsaga.console.internal.Html.query;
import static dev.outboxsaga.console.internal.Pages.params;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/** The dead letter list, the dead letter page and the bulk action's preview. */
final class DeadLetterPages {

    private DeadLetterPages() {
    }

    /** What the list's form holds. Times are UTC, as {@code <input type="datetime-local">} gives them (no zone). */
    record ListForm(String service, String consumer, String status, String topic, String error, String from, String to,
            int size) {

        Map<String, Object> parameters() {
            return params("service", service, "consumer", consumer, "status", status, "topic", topic, "error", error,
                    "from", from, "to", to, "size", size == 100 ? null : size);
        }

        /** The parameters without the page size: what a bulk action takes. */
        Map<String, Object> filterParameters() {
            Map<String, Object> parameters = parameters();
            parameters.remove("size");
            return parameters;
        }

        DeadLetterFilter filter() {
            return new DeadLetterFilter(consumer, status, topic, error, utc("from", from), utc("to", to));
        }

        private static Instant utc(String field, String value) {
            if (value == null) {
                return null;
            }
            try {
                return LocalDateTime.parse(value).toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(field + " must be a date and time such as 2024-05-01T10:00, but was '"
                        + value + "'");
            }
        }
    }

    static String list(List<String> services, List<String> consumers, ListForm form, DeadLetterPage page,
            boolean firstPage, long total, Sessions.Session session) {
        StringBuilder out = new StringBuilder("<h1>Dead letters</h1>");
        out.append("<form class=\"filters\" method=\"get\" action=\"/dead-letters\" role=\"search\" ")
                .append("aria-label=\"Dead letter filters\"><div>")
                .append(Pages.select("service", "Service", services, form.service(), null)).append("</div><div>")
                .append(Pages.select("consumer", "Consumer", consumers, form.consumer(), "any")).append("</div><div>")
                .append(Pages.select("status", "Status", List.of("PARKED", "REPLAYED", "DISCARDED"), form.status(), "any"))
                .append("</div><div>").append(Pages.input("topic", "Topic", form.topic(), "size=\"18\"")).append("</div><div>")
                .append(Pages.input("error", "Error contains", form.error(), "size=\"18\"")).append("</div><div>")
                .append(Pages.input("from", "Parked from (UTC)", form.from(), "type=\"datetime-local\"")).append("</div><div>")
                .append(Pages.input("to", "Parked before (UTC)", form.to(), "type=\"datetime-local\"")).append("</div><div>")
                .append(Pages.select("size", "Per page", SagaPages.PAGE_SIZES, Integer.toString(form.size()), null))
                .append("</div><div class=\"submit\"><button type=\"submit\">Filter</button> <a href=\"/dead-letters")
                .append(query(params("service", form.service()))).append("\">Clear</a></div></form>");
        out.append("<p class=\"muted\" role=\"status\">").append(total).append(total == 1 ? " dead letter" : " dead letters")
                .append(" match").append(total == 1 ? "es" : "").append(firstPage ? "" : "; a later page").append(", newest first</p>");
        if (session.operator() && !"REPLAYED".equals(form.status()) && !"DISCARDED".equals(form.status()) && total > 0) {
            Map<String, Object> filter = form.filterParameters();
            filter.put("op", "replay");
            out.append("<p class=\"bulk\"><a class=\"button\" id=\"bulk-replay\" href=\"/dead-letters/bulk")
                    .append(query(filter)).append("\">Replay all matching…</a> ");
            filter.put("op", "discard");
            out.append("<a class=\"button\" id=\"bulk-discard\" href=\"/dead-letters/bulk").append(query(filter))
                    .append("\">Discard all matching…</a></p>");
        }
        if (!page.rows().isEmpty()) {
            out.append("<div class=\"scroll\"><table class=\"list\"><thead><tr><th scope=\"col\">#</th>")
                    .append("<th scope=\"col\">Consumer</th><th scope=\"col\">Topic / partition / offset</th>")
                    .append("<th scope=\"col\">Error</th><th scope=\"col\">Attempts</th><th scope=\"col\">Status</th>")
                    .append("<th scope=\"col\">Parked</th></tr></thead><tbody>");
            for (DeadLetterRow row : page.rows()) {
                out.append("<tr><td class=\"num\"><a href=\"/dead-letters/").append(Html.url(form.service())).append('/')
                        .append(row.id()).append("\">").append(row.id()).append("</a></td><td>").append(esc(row.consumer()))
                        .append("</td><td>").append(esc(row.topic())).append(" / ").append(row.partition()).append(" / ")
                        .append(row.offset()).append("</td><td>").append(esc(simpleName(row.errorClass())))
                        .append(row.errorMessage() == null ? "" : ": " + Html.shortened(row.errorMessage(), 80))
                        .append("</td><td class=\"num\">").append(row.attempts()).append("</td><td>").append(badge(row.status()))
                        .append("</td><td>").append(Html.time(row.parkedAt())).append("</td></tr>");
            }
            out.append("</tbody></table></div>");
        }
        out.append("<nav class=\"pager\" aria-label=\"Pages\">");
        if (!firstPage) {
            out.append("<a href=\"/dead-letters").append(query(form.parameters())).append("\">First page</a> ");
        }
        if (page.nextBefore() != null) {
            Map<String, Object> next = form.parameters();
            next.put("before", page.nextBefore());
            out.append("<a rel=\"next\" href=\"/dead-letters").append(query(next)).append("\">Next page</a>");
        }
        out.append("</nav>");
        return Pages.layout("Dead letters", "Dead letters", session, out.toString());
    }

    static String detail(String service, DeadLetterDetail detail, Sessions.Session session) {
        DeadLetterRow row = detail.row();
        StringBuilder out = new StringBuilder("<p class=\"crumbs\"><a href=\"/dead-letters")
                .append(query(params("service", service, "consumer", row.consumer()))).append("\">Dead letters of ")
                .append(esc(row.consumer())).append("</a></p><h1>Dead letter ").append(row.id()).append(' ')
                .append(badge(row.status())).append("</h1>");
        out.append("<dl class=\"facts\"><dt>Service</dt><dd>").append(esc(service)).append("</dd><dt>Consumer</dt><dd>")
                .append(esc(row.consumer())).append("</dd><dt>Message id</dt><dd>")
                .append(row.messageId() == null ? "<span class=\"none\">none</span>" : "<span class=\"id\">" + row.messageId() + "</span>")
                .append("</dd><dt>Record</dt><dd>").append(esc(row.topic())).append(", partition ").append(row.partition())
                .append(", offset ").append(row.offset()).append("</dd><dt>Attempts</dt><dd>").append(row.attempts())
                .append("</dd><dt>Parked</dt><dd>").append(Html.time(row.parkedAt())).append("</dd><dt>Resolved</dt><dd>")
                .append(Html.time(row.resolvedAt()))
                .append(detail.resolutionNote() == null ? "" : " — " + esc(detail.resolutionNote())).append("</dd></dl>");
        out.append(actionForms(service, detail, session));
        out.append("<h2>Reason</h2><p class=\"error\">").append(esc(row.errorClass()))
                .append(row.errorMessage() == null ? "" : ": " + esc(row.errorMessage())).append("</p>");
        out.append("<h2>Payload</h2><p class=\"muted\">Key: ")
                .append(detail.keyText() == null ? "none" : "<code>" + esc(detail.keyText()) + "</code>").append("</p>")
                .append("<pre class=\"data\">").append(detail.value() == null ? "(no value)" : Html.prettyJson(detail.valueText()))
                .append("</pre><h2>Headers</h2>");
        if (detail.headers().isEmpty()) {
            out.append("<p class=\"muted\">none</p>");
        } else {
            out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">Header</th><th scope=\"col\">Value</th></tr>")
                    .append("</thead><tbody>");
            for (DeadLetterDetail.Header header : detail.headers()) {
                out.append("<tr><td>").append(esc(header.key())).append("</td><td><code>")
                        .append(header.redacted() ? "<span class=\"none\" title=\"hidden: the name looks secret "
                                + "(console.redact-headers)\">" + esc(header.text()) + "</span>"
                                : header.text() == null ? "<span class=\"none\">null</span>" : esc(header.text()))
                        .append("</code></td></tr>");
            }
            out.append("</tbody></table>");
        }
        out.append(Pages.actions(detail.actions(), "service " + service + "'s consumer " + row.consumer()));
        out.append("<details><summary>Stack trace</summary><pre class=\"stack\">").append(esc(detail.errorStack()))
                .append("</pre></details>");
        return Pages.layout("Dead letter " + row.id(), "Dead letters", session, out.toString());
    }

    private static String actionForms(String service, DeadLetterDetail detail, Sessions.Session session) {
        DeadLetterRow row = detail.row();
        if (!session.operator() || !row.parked()) {
            return "";
        }
        String base = "/dead-letters/" + Html.url(service) + "/" + row.id();
        StringBuilder out = new StringBuilder("<section class=\"actions\" aria-labelledby=\"actions-h\">")
                .append("<h2 id=\"actions-h\">Actions</h2><div class=\"forms\">");
        if (detail.actionPending()) {
            out.append("<p>A replay waits for consumer ").append(esc(row.consumer())).append(".</p>");
        } else if (row.messageId() == null) {
            out.append("<p>No replay: the record has no message id, so a replay could not be deduplicated. Discard it and ")
                    .append("republish the message with an id instead.</p>");
        } else {
            out.append("<form method=\"post\" class=\"action\" action=\"").append(esc(base)).append("/replay\">")
                    .append(Pages.csrf(session)).append("<p class=\"explain\">Runs consumer ").append(esc(row.consumer()))
                    .append("'s handler on the message once more, in one transaction with marking it replayed.</p>")
                    .append("<label for=\"note-replay\">Note (optional)</label><textarea id=\"note-replay\" name=\"note\" ")
                    .append("rows=\"2\" maxlength=\"2000\"></textarea><p><button type=\"submit\" id=\"do-replay\">Replay</button></p></form>");
        }
        out.append("<form method=\"post\" class=\"action\" action=\"").append(esc(base)).append("/discard\">")
                .append(Pages.csrf(session)).append("<p class=\"explain\">Marks it discarded; it stays in the table with ")
                .append("your note.</p><label for=\"note-discard\">Note (required)</label><textarea id=\"note-discard\" ")
                .append("name=\"note\" rows=\"2\" maxlength=\"2000\" required></textarea><p><button type=\"submit\" ")
                .append("id=\"do-discard\">Discard</button></p></form>");
        return out.append("</div></section>").toString();
    }

    static String bulkPreview(ListForm form, DeadLetterAction action, BulkPreview preview, Sessions.Session session) {
        String verb = action == DeadLetterAction.REPLAY ? "replay" : "discard";
        StringBuilder out = new StringBuilder("<h1>").append(action == DeadLetterAction.REPLAY ? "Replay" : "Discard")
                .append(" dead letters</h1><p class=\"confirm\" role=\"status\" id=\"bulk-count\">This will ").append(verb)
                .append(' ').append(preview.count()).append(preview.count() == 1 ? " dead letter" : " dead letters")
                .append(" of service ").append(esc(form.service())).append(" matching:</p><ul>");
        form.filterParameters().forEach((key, value) -> {
            if (!key.equals("service") && value != null && !value.toString().isEmpty()) {
                out.append("<li>").append(esc(key)).append(": ").append(esc(value)).append("</li>");
            }
        });
        out.append("<li>status: PARKED").append(action == DeadLetterAction.REPLAY ? ", with a message id" : "")
                .append("</li></ul><p class=\"muted\">Dead letters parked after this preview are left alone.")
                .append(action == DeadLetterAction.REPLAY ? " Each replay is queued for its consumer, which carries it out." : "")
                .append("</p>");
        Map<String, Object> back = form.parameters();
        if (preview.count() == 0) {
            return Pages.layout("Bulk " + verb, "Dead letters", session, out.append("<p><a href=\"/dead-letters")
                    .append(query(back)).append("\">Back to the list</a></p>").toString());
        }
        out.append("<form method=\"post\" action=\"/dead-letters/bulk\" class=\"action\">").append(Pages.csrf(session));
        Map<String, Object> hidden = form.filterParameters();
        hidden.put("op", verb);
        hidden.put("max_id", preview.maxId());
        hidden.put("expected", preview.count());
        hidden.forEach((key, value) -> {
            if (value != null && !value.toString().isEmpty()) {
                out.append("<input type=\"hidden\" name=\"").append(esc(key)).append("\" value=\"").append(esc(value))
                        .append("\">");
            }
        });
        boolean noteRequired = action == DeadLetterAction.DISCARD;
        out.append("<label for=\"note\">Note").append(noteRequired ? " (required)" : " (optional)")
                .append("</label><textarea id=\"note\" name=\"note\" rows=\"2\" maxlength=\"2000\"")
                .append(noteRequired ? " required" : "").append("></textarea> <button type=\"submit\" id=\"confirm\">")
                .append(action == DeadLetterAction.REPLAY ? "Replay " : "Discard ").append(preview.count())
                .append("</button> <a href=\"/dead-letters").append(query(back)).append("\">Cancel</a></form>");
        return Pages.layout("Bulk " + verb, "Dead letters", session, out.toString());
    }

    private static String simpleName(String className) {
        if (className == null) {
            return "";
        }
        int dot = className.lastIndexOf('.');
        return dot < 0 ? className : className.substring(dot + 1);
    }
}
