package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.core.OutboxSchema;
import dev.outboxsaga.testkit.OutboxSagaExtension;
import dev.outboxsaga.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The saga list stays fast on a large table: each page query the console runs is answered from an index of
 * {@code sql/V8} in (created_at, id) order, stopping after a page, with no sequential scan and no sort of the table.
 * 200,000 sagas by default; {@code -Dconsole.plan.rows=1000000} for the figure the README quotes (printed).
 */
@ExtendWith(OutboxSagaExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SagaListPlanTest {

    private static final int ROWS = Integer.getInteger("console.plan.rows", 200_000);

    private TestDatabase db;
    private ServiceDatabase service;
    private UUID someId;

    @BeforeAll
    void fill(TestDatabase db) throws SQLException {
        this.db = db;
        OutboxSchema.migrate(db.dataSource());
        long start = System.nanoTime();
        // Three types (transfer v1 and v2, refund v1), mostly ended, one in 500 parked, one in 50 running; one saga
        // a second, newest now; every tenth with a business key.
        db.execute("INSERT INTO saga_instance (id, saga_type, saga_version, state, step_index, attempt, data, created_at, "
                + "updated_at, ended_at, saga_key) SELECT gen_random_uuid(), CASE WHEN i % 3 = 0 THEN 'refund' ELSE "
                + "'transfer' END, CASE WHEN i % 3 = 1 THEN 1 ELSE CASE WHEN i % 3 = 2 THEN 2 ELSE 1 END END, "
                + "CASE WHEN i % 500 = 0 THEN 'PARKED' WHEN i % 50 = 0 THEN 'RUNNING' WHEN i % 7 = 0 THEN 'COMPENSATED' "
                + "ELSE 'COMPLETED' END, 1, 1, '{\"amount\": 100}'::jsonb, now() - make_interval(secs => " + ROWS
                + " - i), now() - make_interval(secs => " + ROWS + " - i), NULL, CASE WHEN i % 10 = 0 THEN 'key-' || i "
                + "END FROM generate_series(1, " + ROWS + ") i");
        db.execute("ANALYZE saga_instance");
        System.out.printf("SagaListPlanTest: %,d sagas generated in %d ms%n", ROWS,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        service = ServiceDatabase.over("big", db.dataSource());
        try (Connection c = db.openConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT id FROM saga_instance WHERE state = 'PARKED' ORDER BY created_at LIMIT 1");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            someId = rs.getObject(1, UUID.class);
        }
    }

    @AfterAll
    void close() {
        service.close();
    }

    @Test
    void everyPageQueryWalksAnIndexInPageOrder() throws SQLException {
        SagaPage first = service.sagas(SagaFilter.none(), null, 100);
        SagaCursor deep = service.sagas(SagaFilter.none().withOlderThan(Duration.ofSeconds(ROWS / 2)), null, 1).next();
        Map<String, SagaFilter> filters = Map.of(
                "none", SagaFilter.none(),
                "state", SagaFilter.none().withState("PARKED"),
                "type and version", SagaFilter.none().withType("transfer").withVersion(2),
                "type, all versions", SagaFilter.none().withType("transfer"),
                "older than", SagaFilter.none().withOlderThan(Duration.ofHours(10)),
                "id", SagaFilter.none().withIdOrKey(someId.toString()),
                "key", SagaFilter.none().withIdOrKey("key-1000"));
        for (Map.Entry<String, SagaFilter> filter : filters.entrySet()) {
            for (SagaCursor after : new SagaCursor[] {null, first.next(), deep}) {
                String plan = explain(service.sagaPageStatement(filter.getValue(), after, 100));
                String what = filter.getKey() + (after == null ? ", first page" : ", later page") + ":\n" + plan;
                assertThat(plan).as(what).doesNotContain("Seq Scan");
                if (filter.getKey().equals("id") || filter.getKey().equals("key")) {
                    // A lookup: the few sagas with that id or key, found by index, may be sorted.
                    assertThat(plan).as(what).containsPattern("Index Cond: \\(+(saga_key|id)");
                } else if (!filter.getKey().equals("type, all versions")) {
                    // A sort may only merge the per-version branches (each at most a page), never sort the table.
                    assertThat(plan).as(what).doesNotContain("Sort");
                }
                assertThat(plan).as(what).containsPattern("Index (Only )?Scan|Bitmap Index Scan");
            }
        }
        assertThat(explain(service.sagaPageStatement(SagaFilter.none().withType("transfer"), null, 100)))
                .containsPattern("Merge Append|Sort.*\\n(.*\\n)*.*Limit");
    }

    @Test
    void aPageCostsTheSameDeepInTheListAsAtItsTop() {
        SagaCursor deep = service.sagas(SagaFilter.none().withOlderThan(Duration.ofSeconds(ROWS - 1000)), null, 1).next();
        List<Long> micros = new ArrayList<>();
        for (SagaCursor after : new SagaCursor[] {null, deep}) {
            for (SagaFilter filter : List.of(SagaFilter.none(), SagaFilter.none().withState("COMPLETED"),
                    SagaFilter.none().withType("transfer"))) {
                service.sagas(filter, after, 100); // warm
                long best = Long.MAX_VALUE;
                for (int i = 0; i < 5; i++) {
                    long start = System.nanoTime();
                    SagaPage page = service.sagas(filter, after, 100);
                    best = Math.min(best, System.nanoTime() - start);
                    assertThat(page.rows()).hasSize(100);
                }
                micros.add(TimeUnit.NANOSECONDS.toMicros(best));
            }
        }
        long overviewStart = System.nanoTime();
        service.sagaOverview(Duration.ofMinutes(15));
        long overviewMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - overviewStart);
        System.out.printf("SagaListPlanTest: %,d sagas; a page of 100 (none, state, type) top %s us, deep %s us; "
                + "the overview's counts %d ms%n", ROWS, micros.subList(0, 3), micros.subList(3, 6), overviewMillis);
        // Generous: a page is a few milliseconds; a sort or scan of the table would take hundreds.
        assertThat(micros).allSatisfy(us -> assertThat(us).isLessThan(100_000));
    }

    private String explain(Sql.Statement statement) throws SQLException {
        return QueryPlans.explain(db, statement);
    }
}
