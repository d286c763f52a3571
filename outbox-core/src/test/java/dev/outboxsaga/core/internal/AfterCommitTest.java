package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AfterCommitTest {

    private final List<String> done = new ArrayList<>();

    private static Connection connection() {
        return (Connection) Proxy.newProxyInstance(AfterCommitTest.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> method.getName().equals("equals") ? proxy == args[0] : null);
    }

    @Test
    void runsWorkAfterACommitAndForgetsItOnARollback() {
        Connection connection = connection();
        AfterCommit.open(connection);
        assertThat(AfterCommit.register(connection, () -> done.add("committed"))).isTrue();
        assertThat(done).as("not before the commit").isEmpty();
        AfterCommit.close(true);
        assertThat(done).containsExactly("committed");

        AfterCommit.open(connection);
        AfterCommit.register(connection, () -> done.add("rolled back"));
        AfterCommit.close(false);
        AfterCommit.open(connection);
        AfterCommit.close(true);
        assertThat(done).containsExactly("committed");
    }

    @Test
    void aTransactionOutsideOutboxSagaHasNoScope() {
        Connection connection = connection();
        assertThat(AfterCommit.register(connection, () -> done.add("never"))).isFalse();
        assertThat(AfterCommit.mark(connection)).isEqualTo(-1);
        AfterCommit.open(connection());
        assertThat(AfterCommit.register(connection, () -> done.add("never"))).as("another connection's scope").isFalse();
        AfterCommit.close(true);
        assertThat(done).isEmpty();
    }

    @Test
    void aSavepointRolledBackTakesWhatWasRegisteredAfterItAndNestedScopesKeepTheirOwn() {
        Connection outer = connection();
        Connection inner = connection();
        AfterCommit.open(outer);
        AfterCommit.register(outer, () -> done.add("first"));
        int mark = AfterCommit.mark(outer);
        AfterCommit.register(outer, () -> done.add("after the savepoint"));
        AfterCommit.rollbackTo(outer, mark);
        AfterCommit.open(inner);
        AfterCommit.register(inner, () -> done.add("inner"));
        AfterCommit.register(outer, () -> done.add("outer, from the inner transaction's time"));
        AfterCommit.close(true);
        assertThat(done).containsExactly("inner");
        AfterCommit.close(true);
        assertThat(done).containsExactly("inner", "first", "outer, from the inner transaction's time");
    }

    @Test
    void failingWorkDoesNotStopTheRest() {
        Connection connection = connection();
        AfterCommit.open(connection);
        AfterCommit.register(connection, () -> {
            throw new IllegalStateException("a meter broke");
        });
        AfterCommit.register(connection, () -> done.add("still counted"));
        AfterCommit.close(true);
        assertThat(done).containsExactly("still counted");
    }
}
