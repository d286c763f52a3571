import dev.outboxsaga.sample.bank.*;
import dev.outboxsaga.testkit.*;
import java.io.PrintStream;
import java.lang.reflect.*;
import java.nio.file.Path;
import java.sql.*;
import java.time.Duration;
import java.util.*;
import javax.sql.DataSource;

/**
 * Diagnostic, not part of the harness: where a bank-transfer saga's time goes, hop by hop. Runs the
 * demo (no faults) twice on one embedded PostgreSQL and Kafka (the first run warms up), then reads the
 * services' transaction timestamps (transfer created, ledger movements, the orchestrator's step
 * events, saga end; all PostgreSQL's clock) and the relays' probe (PostgreSQL commit time, relay
 * receive, Kafka commit), and prints p50/p90/p99 per hop. It reaches into the demo's private fields
 * by reflection, so it may need adjusting when DemoRun changes.
 *
 * <pre>
 * mvn -B -q -DskipTests -pl benchmarks -am package
 * java -cp benchmarks/target/benchmarks.jar benchmarks/scripts/SagaHops.java 8     # sagas in flight
 * </pre>
 */
public class SagaHops {
    static Object field(Object o, String name) throws Exception { Field f = o.getClass().getDeclaredField(name); f.setAccessible(true); return f.get(o); }
    static DataSource ds(Object service) throws Exception { Method m = service.getClass().getDeclaredMethod("dataSource"); m.setAccessible(true); return (DataSource) m.invoke(service); }
    static Map<String, Double> times(DataSource ds, String sql) throws Exception {
        Map<String, Double> out = new HashMap<>();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            while (r.next()) out.put(r.getString(1), r.getDouble(2));
        }
        return out;
    }
    public static void main(String[] args) throws Exception {
        int inFlight = Integer.parseInt(args[0]);
        long offsetMs = System.currentTimeMillis() - System.nanoTime() / 1_000_000;
        Map<String, double[]> probe = new java.util.concurrent.ConcurrentHashMap<>();
        dev.outboxsaga.relay.internal.RelayProbe.listen((relay, rows, received, committed) -> {
            for (var row : rows) {
                probe.put(row.get("aggregateid") + "/" + row.get("type"), new double[] {row.commitTimeMillis(),
                        offsetMs + received / 1e6, offsetMs + committed / 1e6});
            }
        });
        try (PostgresServer pg = PostgresServer.embedded(); KafkaServer kafka = KafkaServer.embedded()) {
            for (int round = 0; round < 2; round++) {
                DemoOptions options = new DemoOptions(round == 0 ? 300 : 600, inFlight, Faults.parse("none"), Duration.ofSeconds(5), 100, 11,
                        null, null, null, null, Path.of("/tmp/bd/report.html"), Duration.ofSeconds(60));
                try (DemoRun run = new DemoRun(options, new PrintStream(java.io.OutputStream.nullOutputStream()), pg, kafka).start()) {
                    DemoResult result = run.run();
                    if (round == 0) continue;
                    DataSource transfers = ds(field(run, "transfers"));
                    DataSource a = ds(field(run, "bankA"));
                    DataSource b = ds(field(run, "bankB"));
                    String epoch = "extract(epoch from %s) * 1000";
                    Map<String, Double> start = times(transfers, "SELECT id, " + epoch.formatted("created_at") + " FROM transfer");
                    Map<String, Double> end = times(transfers, "SELECT t.id, " + epoch.formatted("s.ended_at") + " FROM transfer t JOIN saga_instance s ON s.id = t.saga_id");
                    Map<String, Double> step1 = times(transfers, "SELECT t.id, " + epoch.formatted("min(e.at)") + " FROM transfer t JOIN saga_event e ON e.saga_id = t.saga_id WHERE e.event = 'SUCCEEDED' AND e.step_index = 0 GROUP BY t.id");
                    Map<String, Double> debit = new HashMap<>(), credit = new HashMap<>();
                    for (DataSource bank : List.of(a, b)) {
                        debit.putAll(times(bank, "SELECT transfer_id, " + epoch.formatted("at") + " FROM ledger WHERE kind = 'DEBIT'"));
                        credit.putAll(times(bank, "SELECT transfer_id, " + epoch.formatted("at") + " FROM ledger WHERE kind = 'CREDIT'"));
                    }
                    List<Double> h1 = new ArrayList<>(), h2 = new ArrayList<>(), h3 = new ArrayList<>(), h4 = new ArrayList<>(), tot = new ArrayList<>();
                    for (String id : start.keySet()) {
                        if (!debit.containsKey(id) || !credit.containsKey(id) || !step1.containsKey(id) || !end.containsKey(id)) continue;
                        h1.add(debit.get(id) - start.get(id)); h2.add(step1.get(id) - debit.get(id));
                        h3.add(credit.get(id) - step1.get(id)); h4.add(end.get(id) - credit.get(id)); tot.add(end.get(id) - start.get(id));
                    }
                    Map<String, String> transferOfSaga = new HashMap<>();
                    try (Connection c = transfers.getConnection(); Statement st = c.createStatement(); ResultSet r = st.executeQuery("SELECT saga_id::text, id FROM transfer")) {
                        while (r.next()) transferOfSaga.put(r.getString(1), r.getString(2));
                    }
                    List<Double> txToCommit = new ArrayList<>(), commitToRelay = new ArrayList<>(), relayToKafka = new ArrayList<>(), kafkaToHandler = new ArrayList<>();
                    for (var e : probe.entrySet()) {
                        String[] key = e.getKey().split("/");
                        String transfer = transferOfSaga.get(key[0]);
                        if (transfer == null || !key[1].equals("Debit")) continue;
                        double[] t = e.getValue();
                        if (!start.containsKey(transfer) || !debit.containsKey(transfer)) continue;
                        txToCommit.add(t[0] - start.get(transfer)); commitToRelay.add(t[1] - t[0]); relayToKafka.add(t[2] - t[1]); kafkaToHandler.add(debit.get(transfer) - t[2]);
                    }
                    for (var e : new LinkedHashMap<String, List<Double>>() {{ put("Debit: begin tx start -> PG commit", txToCommit); put("PG commit -> relay receive", commitToRelay); put("relay receive -> Kafka commit", relayToKafka); put("Kafka commit -> bank tx start", kafkaToHandler); }}.entrySet()) {
                        List<Double> v = e.getValue(); Collections.sort(v);
                        if (v.isEmpty()) { System.out.println("  no " + e.getKey()); continue; }
                        System.out.printf("  %-36s p50 %6.1f  p90 %6.1f  p99 %6.1f ms%n", e.getKey(), v.get(v.size() / 2), v.get(v.size() * 9 / 10), v.get(v.size() * 99 / 100));
                    }
                    System.out.printf("in flight %d: %.0f sagas/s, %d sagas%n", inFlight, result.transfers() / result.seconds(), tot.size());
                    for (var e : new LinkedHashMap<String, List<Double>>() {{ put("begin -> debit tx", h1); put("debit tx -> orchestrator reply tx", h2); put("reply tx -> credit tx", h3); put("credit tx -> saga end", h4); put("total", tot); }}.entrySet()) {
                        List<Double> v = e.getValue(); Collections.sort(v);
                        System.out.printf("  %-36s p50 %6.1f  p90 %6.1f  p99 %6.1f ms%n", e.getKey(), v.get(v.size() / 2), v.get(v.size() * 9 / 10), v.get(v.size() * 99 / 100));
                    }
                }
            }
        }
    }
}
