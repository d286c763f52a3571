package dev.outboxsaga.chaos;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;

/** What a chaos run did and found, added up over its rounds. */
final class ChaosFigures {

    final Map<RelayNode.Phase, Integer> killsByPhase = new EnumMap<>(RelayNode.Phase.class);
    final Map<RelayNode.Phase, Integer> pausesByPhase = new EnumMap<>(RelayNode.Phase.class);
    final Map<OutboxWriters.Kind, Long> transactions = new EnumMap<>(OutboxWriters.Kind.class);
    final Map<String, Integer> relayExits = new TreeMap<>();
    int rounds;
    int brokerKills;
    int postgresCrashes;
    int connectionDrops;
    int backendsTerminated;
    long rowsCommitted;
    long rowsAborted;
    long recordsRead;
    long lost;
    long duplicated;
    long fromAborted;
    long unknown;
    long outOfOrder;
    long catchUpMillisMax;

    ChaosFigures() {
        for (RelayNode.Phase phase : RelayNode.Phase.values()) {
            killsByPhase.put(phase, 0);
            pausesByPhase.put(phase, 0);
        }
    }

    int relayKills() {
        return killsByPhase.values().stream().mapToInt(Integer::intValue).sum();
    }

    void add(CommittedReader.Verdict verdict) {
        recordsRead += verdict.read();
        lost += verdict.lost().size();
        duplicated += verdict.duplicated().size();
        fromAborted += verdict.fromAborted().size();
        unknown += verdict.unknown().size();
        outOfOrder += verdict.disorder().size();
    }

    /** The figures as a few lines, for the log and the README. */
    String report(String name, long seed, long millis) {
        return String.format("chaos %s: seed %d, %d round(s), %.0f s%n"
                + "  relay SIGKILLs %d by phase %s%n"
                + "  leader SIGSTOP/SIGCONT %d by phase %s%n"
                + "  broker SIGKILLs %d, PostgreSQL crashes (pg_ctl -m immediate) %d, connection drops %d (%d backends)%n"
                + "  relay exits on their own %s%n"
                + "  transactions %s%n"
                + "  rows committed %d, rows of aborted transactions %d, records read %d%n"
                + "  lost %d, duplicated %d, from aborted transactions %d, unknown %d, out of order %d; "
                + "longest final catch-up %.1f s",
                name, seed, rounds, millis / 1000.0, relayKills(), killsByPhase, pausesByPhase.values().stream()
                        .mapToInt(Integer::intValue).sum(), pausesByPhase, brokerKills, postgresCrashes,
                connectionDrops, backendsTerminated, relayExits.isEmpty() ? "none" : relayExits, transactions,
                rowsCommitted, rowsAborted, recordsRead, lost, duplicated, fromAborted, unknown, outOfOrder,
                catchUpMillisMax / 1000.0);
    }
}
