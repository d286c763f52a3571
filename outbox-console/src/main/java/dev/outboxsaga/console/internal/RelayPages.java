package dev.outboxsaga.console.internal;

import static dev.outboxsaga.console.internal.Html.badge;
import static dev.outboxsaga.console.internal.Html.bytes;
import static dev.outboxsaga.console.internal.Html.esc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** The relays page: per service, its relay processes, leases, slots and parked rows; then the recovery commands. */
final class RelayPages {

    /** The recovery tables of outbox-relay's README, as HTML (our own text, not escaped). */
    static final String RECOVERY = resource("relay-recovery.html");

    private RelayPages() {
    }

    static String relays(List<ServiceCard> cards, Sessions.Session session) {
        StringBuilder out = new StringBuilder("<h1>Relays</h1>");
        for (ServiceCard card : cards) {
            String service = card.name();
            out.append("<section class=\"relay-service\" aria-labelledby=\"").append(esc(service)).append("\"><h2 id=\"")
                    .append(esc(service)).append("\">").append(esc(service)).append("</h2>");
            if (!card.failures().isEmpty()) {
                out.append("<ul class=\"failures\" role=\"alert\">");
                card.failures().forEach(failure -> out.append("<li>").append(esc(failure)).append("</li>"));
                out.append("</ul>");
            }
            RelayTables tables = card.relayTables();
            if (card.relays().isEmpty() && tables != null && tables.leases().isEmpty() && tables.slots().isEmpty()
                    && tables.parkedByRelay().isEmpty()) {
                out.append("<p class=\"muted\">No relay configured (<code>service.").append(esc(service))
                        .append(".relays</code>) or recorded in this database.</p></section>");
                continue;
            }
            processes(out, card.relays());
            if (tables != null) {
                tables(out, tables, card.relays());
            }
            out.append("<p><a href=\"/audit").append(Html.query(Pages.params("service", service))).append("\">")
                    .append("Reconciliation audit of ").append(esc(service)).append("</a></p></section>");
        }
        out.append("<section aria-labelledby=\"recovery\"><h2 id=\"recovery\">Recovery commands</h2>")
                .append("<p>From the relay's README (<code>outbox-relay/README.md</code>, \"When the relay stops\"). ")
                .append("<code>outbox-relay status --config FILE</code> prints a relay's slot and last published position.</p>")
                .append(RECOVERY).append("</section>");
        return Pages.layout("Relays", "Relays", session, out.toString());
    }

    private static void processes(StringBuilder out, List<RelayProcess> processes) {
        out.append("<h3>Processes (<code>/health</code>)</h3>");
        if (processes.isEmpty()) {
            out.append("<p class=\"muted\">No relay /health URL configured (<code>service.&lt;name&gt;.relays</code>).</p>");
            return;
        }
        out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">URL</th><th scope=\"col\">Relay</th>")
                .append("<th scope=\"col\">Instance</th><th scope=\"col\">Role</th><th scope=\"col\">Status</th>")
                .append("<th scope=\"col\">Lag</th><th scope=\"col\">Retained WAL</th><th scope=\"col\">Epoch</th>")
                .append("<th scope=\"col\">Parked</th><th scope=\"col\">Failure</th></tr></thead><tbody>");
        for (RelayProcess process : processes) {
            out.append("<tr><td>").append(esc(process.url())).append("</td><td>").append(esc(process.relay()))
                    .append("</td><td>").append(esc(process.instanceId())).append("</td><td>").append(badge(process.role()))
                    .append("</td><td>").append(process.status() == null ? badge("DOWN") : badge(process.status()))
                    .append(process.httpStatus() > 0 ? " <span class=\"muted\">HTTP " + process.httpStatus() + "</span>" : "")
                    .append("</td><td class=\"num\">").append(process.lagMillis() == null ? "" : process.lagMillis() + " ms")
                    .append("</td><td class=\"num\">").append(process.retainedWalBytes() == null ? "" : bytes(process.retainedWalBytes()))
                    .append("</td><td class=\"num\">").append(process.leaseEpoch() == null ? "" : process.leaseEpoch())
                    .append("</td><td class=\"num\">").append(process.recordsParked() == null ? "" : process.recordsParked())
                    .append("</td><td class=\"error\">").append(esc(process.failure())).append("</td></tr>");
        }
        out.append("</tbody></table>");
    }

    private static void tables(StringBuilder out, RelayTables tables, List<RelayProcess> processes) {
        out.append("<h3>Leases (<code>outbox_relay_lease</code>)</h3>");
        if (tables.leases().isEmpty()) {
            out.append("<p class=\"muted\">none</p>");
        } else {
            out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">Relay</th><th scope=\"col\">Leader</th>")
                    .append("<th scope=\"col\">Standbys (from <code>/health</code>)</th><th scope=\"col\">Epoch</th>")
                    .append("<th scope=\"col\">Since</th><th scope=\"col\">Expires</th></tr></thead><tbody>");
            for (RelayTables.Lease lease : tables.leases()) {
                List<String> standbys = processes.stream().filter(p -> "STANDBY".equals(p.role()))
                        .filter(p -> p.relay() == null || p.relay().equals(lease.relay()))
                        .map(p -> p.instanceId() == null ? p.url() : p.instanceId()).toList();
                out.append("<tr><td>").append(esc(lease.relay())).append("</td><td>").append(esc(lease.instanceId()))
                        .append(lease.expired() ? " " + badge("expired: no leader") : "").append("</td><td>")
                        .append(standbys.isEmpty() ? "<span class=\"none\">none seen</span>" : esc(String.join(", ", standbys)))
                        .append("</td><td class=\"num\">").append(lease.epoch()).append("</td><td>")
                        .append(Html.time(lease.acquiredAt())).append("</td><td>").append(Html.time(lease.expiresAt()))
                        .append("</td></tr>");
            }
            out.append("</tbody></table>");
        }
        out.append("<h3>Replication slots</h3>");
        if (tables.slots().isEmpty()) {
            out.append("<p class=\"muted\">none</p>");
        } else {
            out.append("<table class=\"compact\"><thead><tr><th scope=\"col\">Slot</th><th scope=\"col\">Relay</th>")
                    .append("<th scope=\"col\">State</th><th scope=\"col\">wal_status</th><th scope=\"col\">Restart LSN</th>")
                    .append("<th scope=\"col\">Confirmed LSN</th><th scope=\"col\">Retained WAL</th></tr></thead><tbody>");
            for (RelayTables.Slot slot : tables.slots()) {
                out.append("<tr><td>").append(esc(slot.slotName())).append("</td><td>").append(esc(slot.relay()))
                        .append("</td><td>").append(!slot.exists() ? badge("lost") + " missing"
                                : slot.active() ? badge("active") + " pid " + slot.activePid() : badge("inactive"))
                        .append("</td><td>").append(slot.walStatus() == null ? "" : badge(slot.walStatus()))
                        .append("</td><td>").append(esc(slot.restartLsn())).append("</td><td>")
                        .append(esc(slot.confirmedFlushLsn())).append("</td><td class=\"num\">")
                        .append(slot.exists() ? bytes(slot.retainedBytes()) : "").append("</td></tr>");
            }
            out.append("</tbody></table>");
        }
        out.append("<h3>Parked outbox rows (<code>outbox_relay_dead_letter</code>)</h3>");
        if (tables.parkedByRelay().isEmpty()) {
            out.append("<p class=\"muted\">none</p>");
            return;
        }
        out.append("<p>");
        int i = 0;
        for (Map.Entry<String, Long> parked : new java.util.TreeMap<>(tables.parkedByRelay()).entrySet()) {
            out.append(i++ == 0 ? "" : ", ").append(esc(parked.getKey())).append(": ").append(parked.getValue());
        }
        out.append("</p><table class=\"compact\"><thead><tr><th scope=\"col\">Parked</th><th scope=\"col\">Relay</th>")
                .append("<th scope=\"col\">Row id</th><th scope=\"col\">Table</th><th scope=\"col\">Aggregate</th>")
                .append("<th scope=\"col\">Type</th><th scope=\"col\">Reason</th></tr></thead><tbody>");
        for (RelayTables.ParkedRow row : tables.recentParked()) {
            out.append("<tr><td>").append(Html.time(row.parkedAt())).append("</td><td>").append(esc(row.relay()))
                    .append("</td><td class=\"id\">").append(row.id()).append("</td><td>").append(esc(row.sourceTable()))
                    .append("</td><td>").append(esc(row.aggregateType())).append(' ').append(esc(row.aggregateId()))
                    .append("</td><td>").append(esc(row.type())).append("</td><td class=\"error\">").append(esc(row.reason()))
                    .append("</td></tr>");
        }
        out.append("</tbody></table>");
    }

    static String resource(String name) {
        try (InputStream in = RelayPages.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from the console's jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
