package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.badge;
import static dev.outboxsaga.console.internal.Html.esc;
import static dev.outboxsaga.console.internal.Html.query;
import static dev.outboxsaga.console.internal.Pages.params;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** The saga list and the saga page. */
final class SagaPages {

    /** Page sizes offered; the list is usable at the largest. */
    static final List<String> PAGE_SIZES = List.of("25", "50", "100", "250", "500", "1000");
    /** Ages offered by the age filter, as ISO-8601 durations with their labels. */
    static final Map<String, String> AGES = new java.util.LinkedHashMap<>();

    static {
        AGES.put("PT5M", "older than 5 minutes");
        AGES.put("PT15M", "older than 15 minutes");
        AGES.put("PT1H", "older than 1 hour");
        AGES.put("PT6H", "older than 6 hours");
        AGES.put("P1D", "older than 1 day");
        AGES.put("P7D", "older than 7 days");
    }

    private SagaPages() {
    }

    /** What the list's form holds, to render it back and to build the paging links. */
    record ListForm(String service, String type, String version, String state, String age, boolean stuck,
            String idOrKey, int size) {

        Map<String, Object> parameters() {
            return params("service", service, "type", type, "version", version, "state", state, "age", age,
                    "stuck", stuck ? "1" : null, "q", idOrKey, "size", size == 100 ? null : size);
        }
    }

    static String list(List<String> services, ListForm form, List<SagaType> types, SagaPage page, boolean firstPage,
            String stuckAfter, Sessions.Session session) {
        StringBuilder out = new StringBuilder("<h1>Sagas</h1>");
        out.append("<form class=\"filters\" method=\"get\" action=\"/sagas\" role=\"search\" aria-label=\"Saga filters\">")
                .append("<div>").append(Pages.select("service", "Service", services, form.service(), null)).append("</div>")
                .append("<div>").append(Pages.input("type", "Type", form.type(), "list=\"saga-types\" size=\"16\""))
                .append("<datalist id=\"saga-types\">");
        types.stream().map(SagaType::type).distinct()
                .forEach(type -> out.append("<option value=\"").append(esc(type)).append("\">"));
        out.append("</datalist></div><div>")
                .append(Pages.input("version", "Version", form.version(), "inputmode=\"numeric\" size=\"4\" pattern=\"[0-9]*\""))
                .append("</div><div>").append(Pages.select("state", "State", Pages.SAGA_STATES, form.state(), "any"))
                .append("</div><div><label for=\"age\">Age</label><select id=\"age\" name=\"age\"><option value=\"\">any</option>");
        AGES.forEach((value, label) -> out.append("<option value=\"").append(value).append('"')
                .append(value.equals(form.age()) ? " selected" : "").append('>').append(label).append("</option>"));
        out.append("</select></div><div class=\"check\"><input type=\"checkbox\" id=\"stuck\" name=\"stuck\" value=\"1\"")
                .append(form.stuck() ? " checked" : "").append("><label for=\"stuck\">Stuck only (no progress for ")
                .append(esc(stuckAfter)).append(")</label></div><div>")
                .append(Pages.input("q", "Id or business key", form.idOrKey(), "size=\"38\""))
                .append("</div><div>").append(Pages.select("size", "Per page", PAGE_SIZES, Integer.toString(form.size()), null))
                .append("</div><div class=\"submit\"><button type=\"submit\">Filter</button> <a href=\"/sagas")
                .append(query(params("service", form.service()))).append("\">Clear</a></div></form>");
        out.append("<p class=\"muted\" role=\"status\">").append(page.rows().size()).append(page.rows().size() == 1 ? " saga" : " sagas")
                .append(firstPage ? "" : " (later page)").append(", newest first</p>");
        if (!page.rows().isEmpty()) {
            out.append("<div class=\"scroll\"><table class=\"list\"><thead><tr><th scope=\"col\">Saga</th>")
                    .append("<th scope=\"col\">Type</th><th scope=\"col\">v</th><th scope=\"col\">State</th>")
                    .append("<th scope=\"col\">Step</th><th scope=\"col\">Key</th><th scope=\"col\">Created</th>")
                    .append("<th scope=\"col\">Updated</th><th scope=\"col\">Last error</th></tr></thead><tbody>");
            for (SagaRow row : page.rows()) {
                out.append("<tr><td class=\"id\"><a href=\"/sagas/").append(Html.url(form.service())).append('/')
                        .append(row.id()).append("\">").append(row.id()).append("</a></td><td><a href=\"")
                        .append(typeHref(form.service(), row.type(), row.version())).append("\" title=\"the diagram of ")
                        .append(esc(row.type())).append(" v").append(row.version()).append("\">").append(esc(row.type()))
                        .append("</a></td><td class=\"num\">").append(row.version()).append("</td><td>").append(badge(row.state()))
                        .append("</td><td class=\"num\">").append(row.stepIndex())
                        .append(row.attempt() > 1 ? " <span class=\"muted\">#" + row.attempt() + "</span>" : "")
                        .append("</td><td>").append(Html.shortened(row.key(), 24)).append("</td><td>")
                        .append(Html.time(row.createdAt())).append("</td><td>").append(Html.time(row.updatedAt()))
                        .append("</td><td>").append(Html.shortened(row.lastError(), 48)).append("</td></tr>");
            }
            out.append("</tbody></table></div>");
        }
        out.append("<nav class=\"pager\" aria-label=\"Pages\">");
        if (!firstPage) {
            out.append("<a href=\"/sagas").append(query(form.parameters())).append("\">First page</a> ");
        }
        if (page.next() != null) {
            Map<String, Object> next = form.parameters();
            next.put("after", page.next().encode());
            out.append("<a rel=\"next\" href=\"/sagas").append(query(next)).append("\">Next page</a>");
        }
        out.append("</nav>");
        return Pages.layout("Sagas", "Sagas", session, out.toString());
    }

    static String detail(String service, SagaDetail detail, Sessions.Session session) {
        return detail(service, detail, session, Instant.now());
    }

    /** The saga page; {@code now} is where the timeline chart's hops still awaiting a reply end. */
    static String detail(String service, SagaDetail detail, Sessions.Session session, Instant now) {
        SagaRow saga = detail.saga();
        StringBuilder out = new StringBuilder("<p class=\"crumbs\"><a href=\"/sagas")
                .append(query(params("service", service))).append("\">Sagas of ").append(esc(service))
                .append("</a></p><h1>Saga <span class=\"id\">").append(saga.id()).append("</span> ")
                .append(badge(saga.state())).append("</h1>");
        out.append("<dl class=\"facts\"><dt>Service</dt><dd>").append(esc(service)).append("</dd><dt>Type</dt><dd>")
                .append("<a href=\"").append(typeHref(service, saga.type(), saga.version()))
                .append("\" title=\"the saga type's diagram\">").append(esc(saga.type())).append(" v")
                .append(saga.version()).append("</a></dd><dt>Business key</dt><dd>")
                .append(saga.key() == null ? "<span class=\"none\">–</span>" : esc(saga.key()))
                .append("</dd><dt>Step in hand</dt><dd>").append(saga.stepIndex())
                .append(detail.stepName() == null ? "" : " (" + esc(detail.stepName()) + ")").append(", attempt ")
                .append(saga.attempt()).append("</dd><dt>Created</dt><dd>").append(Html.time(saga.createdAt()))
                .append("</dd><dt>Updated</dt><dd>").append(Html.time(saga.updatedAt())).append("</dd><dt>Ended</dt><dd>")
                .append(Html.time(saga.endedAt())).append("</dd><dt>Deadline</dt><dd>").append(Html.time(detail.deadline()))
                .append("</dd><dt>Last error</dt><dd>")
                .append(saga.lastError() == null ? "<span class=\"none\">–</span>" : "<span class=\"error\">"
                        + esc(saga.lastError()) + "</span>")
                .append("</dd></dl>");
        out.append(actionForms(service, detail, session));
        if (!detail.branches().isEmpty()) {
            out.append("<h2>Parallel group in hand</h2><table class=\"branches\"><thead><tr><th scope=\"col\">Step</th>")
                    .append("<th scope=\"col\">Branch state</th><th scope=\"col\">Attempt</th>")
                    .append("<th scope=\"col\">Awaiting command</th><th scope=\"col\">Due</th></tr></thead><tbody>");
            for (SagaBranch branch : detail.branches()) {
                out.append("<tr><td>").append(branch.stepIndex())
                        .append(branch.stepName() == null ? "" : " " + esc(branch.stepName())).append("</td><td>")
                        .append(esc(branch.status())).append("</td><td class=\"num\">").append(branch.attempt())
                        .append("</td><td>").append(branch.command() == null ? "<span class=\"none\">–</span>"
                                : "<span class=\"id\">" + branch.command() + "</span>")
                        .append("</td><td>").append(Html.time(branch.due())).append("</td></tr>");
            }
            out.append("</tbody></table>");
        }
        out.append("<h2>Timeline</h2>");
        if (!detail.history().isEmpty()) {
            out.append("<figure class=\"picture\">")
                    .append(TimelineChart.svg(detail.history(), saga.endedAt() == null ? now : null))
                    .append("<figcaption>").append(TimelineChart.legend()).append("</figcaption></figure>");
        }
        out.append("<table class=\"timeline\"><thead><tr><th scope=\"col\">When</th>")
                .append("<th scope=\"col\">Since start</th><th scope=\"col\">Step</th><th scope=\"col\">Event</th>")
                .append("<th scope=\"col\">Detail</th></tr></thead><tbody>");
        Instant started = detail.history().isEmpty() ? null : detail.history().get(0).at();
        for (SagaHistoryEntry entry : detail.history()) {
            out.append("<tr class=\"ev-").append(esc(entry.event().toLowerCase(java.util.Locale.ROOT))).append("\"><td>")
                    .append(Html.timeMillis(entry.at())).append("</td><td class=\"num\">+")
                    .append(TimelineChart.millis(TimelineChart.micros(started, entry.at()))).append(" ms</td><td>")
                    .append(entry.stepIndex())
                    .append(entry.stepName() == null ? "" : " " + esc(entry.stepName())).append("</td><td>")
                    .append(esc(entry.event())).append("</td><td>").append(esc(entry.detail())).append("</td></tr>");
        }
        out.append("</tbody></table>");
        out.append(Pages.actions(detail.actions(), "service " + service + "'s orchestrator (saga type " + saga.type() + ")"));
        out.append("<h2>Data</h2><pre class=\"data\">").append(Html.prettyJson(detail.data())).append("</pre>");
        return Pages.layout("Saga " + saga.id(), "Sagas", session, out.toString());
    }

    /** The page of a saga type's diagram. */
    static String typeHref(String service, String type, int version) {
        return "/saga-types/" + Html.url(service) + "/" + Html.url(type) + "/" + version;
    }

    /**
     * A saga type's page: its diagram (steps, parallel groups, compensations, conditions, timeouts, the deadline, and
     * its sagas at each step now), where the shape came from, and the same as a table.
     */
    static String sagaType(String service, SagaTypeDetail detail, Sessions.Session session) {
        SagaShape shape = detail.shape();
        String type = shape.type();
        int version = shape.version();
        StringBuilder out = new StringBuilder("<p class=\"crumbs\"><a href=\"/sagas")
                .append(query(params("service", service))).append("\">Sagas of ").append(esc(service))
                .append("</a></p><h1>Saga type <span class=\"id\">").append(esc(type)).append("</span> v")
                .append(version).append("</h1>");
        if (detail.derived()) {
            out.append("<p class=\"notice\" role=\"note\">Derived from the history of the latest ")
                    .append(detail.sagasRead()).append(detail.sagasRead() == 1 ? " saga" : " sagas").append(" of this type: ")
                    .append("its orchestrator recorded no shape (it is older than <code>sql/V13__saga_definition.sql</code>). ")
                    .append("Steps those sagas never reached, timeouts, attempts, compensations never run, conditions ")
                    .append("that always held and the saga deadline are not known, and a parallel group shows only where ")
                    .append("its branches were sent together.</p>");
        } else {
            out.append("<p class=\"muted\">As recorded by its orchestrator at ").append(Html.time(detail.recordedAt()))
                    .append(".</p>");
        }
        long running = detail.inFlight().values().stream().mapToLong(SagaTypeDetail.InFlight::running).sum();
        long compensating = detail.inFlight().values().stream().mapToLong(SagaTypeDetail.InFlight::compensating).sum();
        long parked = detail.inFlight().values().stream().mapToLong(SagaTypeDetail.InFlight::parked).sum();
        Map<String, Object> list = params("service", service, "type", type, "version", version);
        out.append("<p><a href=\"/sagas").append(query(list)).append("\">Its sagas</a> · now ");
        long[] counts = {running, compensating, parked};
        String[] states = {"RUNNING", "COMPENSATING", "PARKED"};
        for (int i = 0; i < states.length; i++) {
            Map<String, Object> filtered = params("service", service, "type", type, "version", version, "state",
                    states[i]);
            out.append(i == 0 ? "" : ", ").append("<a href=\"/sagas").append(query(filtered)).append('"')
                    .append(i == 2 && counts[i] > 0 ? " class=\"warn\"" : "").append('>').append(counts[i]).append(' ')
                    .append(states[i].toLowerCase(java.util.Locale.ROOT)).append("</a>");
        }
        out.append("</p>");
        out.append("<figure class=\"picture\">").append(SagaDiagram.svg(detail))
                .append("<figcaption>Top to bottom, in order. A parallel group sends its branches at once and goes on ")
                .append("when all have succeeded or were skipped. A dashed box runs only when its condition holds ")
                .append("(<code>when</code>). A <i>dynamic</i> participant is chosen from the saga data. A failed step is undone by the compensations of the steps before it, ")
                .append("last first. The counts are the sagas at that step now.</figcaption></figure>");
        out.append("<h2>Steps</h2><div class=\"scroll\"><table class=\"list steps\"><thead><tr>")
                .append("<th scope=\"col\">#</th><th scope=\"col\">Step</th><th scope=\"col\">Parallel group</th>")
                .append("<th scope=\"col\">Does</th><th scope=\"col\">Undone by</th><th scope=\"col\">Timeout</th>")
                .append("<th scope=\"col\">Attempts</th><th scope=\"col\">Condition</th><th scope=\"col\">Running</th>")
                .append("<th scope=\"col\">Compensating</th><th scope=\"col\">Parked</th></tr></thead><tbody>");
        for (SagaShape.Element element : shape.elements()) {
            List<SagaShape.Step> steps = element instanceof SagaShape.Group group ? group.branches()
                    : List.of((SagaShape.Step) element);
            String group = element instanceof SagaShape.Group g ? g.name() : null;
            for (SagaShape.Step step : steps) {
                List<String> lines = SagaDiagram.lines(step);
                SagaTypeDetail.InFlight here = detail.at(step.index());
                out.append("<tr><td class=\"num\">").append(step.index()).append("</td><td>").append(esc(step.name()))
                        .append("</td><td>").append(group == null ? "<span class=\"none\">–</span>" : esc(group))
                        .append("</td><td>").append(esc(lines.get(0))).append("</td><td>").append(esc(lines.get(1)))
                        .append("</td><td class=\"num\">")
                        .append(step.timeout() == null ? "<span class=\"none\">–</span>"
                                : esc(SagaDiagram.duration(step.timeout())))
                        .append("</td><td class=\"num\">").append(step.retryAttempts() == null
                                ? "<span class=\"none\">–</span>" : step.retryAttempts())
                        .append("</td><td>").append(step.conditional() == null ? "<span class=\"none\">not known</span>"
                                : step.conditional() ? "when …" : "always")
                        .append("</td><td class=\"num\">").append(here.running()).append("</td><td class=\"num\">")
                        .append(here.compensating()).append("</td><td class=\"num\">")
                        .append(here.parked() > 0 ? "<span class=\"warn\">" + here.parked() + "</span>" : "0")
                        .append("</td></tr>");
            }
        }
        out.append("</tbody></table></div>");
        if (!detail.derived()) {
            out.append("<p class=\"muted\">Saga deadline: ").append(shape.deadline() == null ? "none"
                    : esc(SagaDiagram.duration(shape.deadline())) + " after a saga begins").append(".</p>");
        }
        return Pages.layout("Saga type " + type + " v" + version, "Sagas", session, out.toString());
    }

    private static String actionForms(String service, SagaDetail detail, Sessions.Session session) {
        List<SagaAction> allowed = detail.saga().allowedActions();
        if (!session.operator() || allowed.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder("<section class=\"actions\" aria-labelledby=\"actions-h\">")
                .append("<h2 id=\"actions-h\">Actions</h2>");
        if (detail.actionPending()) {
            return out.append("<p>An action on this saga waits for service ").append(esc(service))
                    .append("'s orchestrator; the next one can be asked for once it is carried out.</p></section>").toString();
        }
        String action = "/sagas/" + Html.url(service) + "/" + detail.saga().id() + "/action";
        out.append("<div class=\"forms\">");
        for (SagaAction each : allowed) {
            String id = each.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            out.append("<form method=\"post\" action=\"").append(esc(action)).append("\" class=\"action\">")
                    .append(Pages.csrf(session)).append("<input type=\"hidden\" name=\"action\" value=\"")
                    .append(each.name()).append("\"><p class=\"explain\">").append(explanation(each)).append("</p>")
                    .append("<label for=\"note-").append(id).append("\">")
                    .append(each == SagaAction.CANCEL ? "Reason" : "Note").append(each.noteRequired() ? " (required)" : " (optional)")
                    .append("</label><textarea id=\"note-").append(id).append("\" name=\"note\" rows=\"2\" maxlength=\"2000\"")
                    .append(each.noteRequired() ? " required" : "").append("></textarea><p><button type=\"submit\" id=\"do-")
                    .append(id).append("\">").append(esc(each.label())).append("</button></p></form>");
        }
        return out.append("</div></section>").toString();
    }

    private static String explanation(SagaAction action) {
        return switch (action) {
            case RETRY_COMPENSATION -> "Sends the parked step's compensation again, with fresh attempts. Always safe: a "
                    + "compensation that ran already is answered from the participant's record.";
            case MARK_COMPENSATED -> "Records that the parked step was undone by hand, and goes on compensating the "
                    + "earlier steps. Only when the participant cannot undo it, and only once no compensation of that "
                    + "step is pending there (its dead letters discarded, its consumer caught up).";
            case CANCEL -> "Stops the saga and compensates the steps that ran, in reverse order.";
        };
    }
}
