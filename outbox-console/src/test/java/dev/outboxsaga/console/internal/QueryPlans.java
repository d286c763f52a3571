package dev.outboxsaga.console.internal;

import dev.outboxsaga.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** PostgreSQL's plan for one of the console's statements, for tests that check which index a query uses. */
final class QueryPlans {

    private QueryPlans() {
    }

    /** {@code EXPLAIN} of {@code statement} with its parameters, one plan line per text line. */
    static String explain(TestDatabase db, Sql.Statement statement) throws SQLException {
        try (Connection c = db.openConnection();
                PreparedStatement ps = c.prepareStatement("EXPLAIN " + statement.sql())) {
            int index = 1;
            for (Object parameter : statement.parameters()) {
                ps.setObject(index++, parameter);
            }
            StringBuilder plan = new StringBuilder();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            }
            return plan.toString();
        }
    }
}
