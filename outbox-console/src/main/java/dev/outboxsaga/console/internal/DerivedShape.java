package dev.outboxsaga.console.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A saga type's shape guessed from its sagas' history, for sagas of orchestrators that record no shape (older than
 * sql/V13): the steps seen, by index and name; a participant step's command type and participant from its
 * {@code COMMAND_SENT} entries ("Debit to bank-a, attempt 1, id ..."; several participants seen read "dynamic: a, b"),
 * its compensation from {@code COMPENSATION_SENT}, a local step from "local step" outcomes, a condition from a
 * {@code SKIPPED} entry, and a parallel group from first attempts of different steps sent in one transition (one
 * transaction, so one {@code at}), which sequential steps never are. What the history does not show stays unknown:
 * timeouts, attempts, the saga deadline, a compensation never run, a condition that always held.
 */
final class DerivedShape {

    /** {@code COMMAND_SENT} and {@code COMPENSATION_SENT}: "Type to participant, attempt n, id uuid". */
    static final Pattern SENT = Pattern.compile("^(.+) to (.+?), attempt (\\d+), id (\\S+)$");
    /** {@code ABANDON_SENT}: "Type to participant, id uuid". */
    static final Pattern ABANDON = Pattern.compile("^(.+) to (.+?), id (\\S+)$");
    /** Entries about a whole parallel group carry the group's name at its first branch's index. */
    private static final Set<String> GROUP_EVENTS = Set.of("CANCELLED", "DEADLINE_PASSED");

    private DerivedShape() {
    }

    /**
     * @param histories each saga's history, oldest entry first
     */
    static SagaShape derive(String type, int version, Collection<List<SagaHistoryEntry>> histories) {
        Map<Integer, Facts> steps = new TreeMap<>();
        Map<Integer, String> groupNames = new TreeMap<>();
        // Union-find over step indexes sent in one transition.
        Map<Integer, Integer> parent = new TreeMap<>();
        for (List<SagaHistoryEntry> history : histories) {
            Map<Instant, List<Integer>> firstSends = new LinkedHashMap<>();
            for (SagaHistoryEntry entry : history) {
                int index = entry.stepIndex();
                if (index < 0) {
                    continue;
                }
                Facts facts = steps.computeIfAbsent(index, i -> new Facts());
                if (GROUP_EVENTS.contains(entry.event())) {
                    if (entry.stepName() != null) {
                        groupNames.putIfAbsent(index, entry.stepName());
                    }
                    continue;
                }
                if (facts.name == null && entry.stepName() != null) {
                    facts.name = entry.stepName();
                }
                String detail = entry.detail() == null ? "" : entry.detail();
                switch (entry.event()) {
                    case "COMMAND_SENT" -> {
                        Matcher sent = SENT.matcher(detail);
                        if (sent.matches()) {
                            facts.participantStep = true;
                            facts.commandTypes.add(sent.group(1));
                            facts.participants.add(sent.group(2));
                            if (sent.group(3).equals("1")) {
                                firstSends.computeIfAbsent(entry.at(), at -> new ArrayList<>()).add(index);
                            }
                        }
                    }
                    case "COMPENSATION_SENT" -> {
                        Matcher sent = SENT.matcher(detail);
                        if (sent.matches()) {
                            facts.compensationTypes.add(sent.group(1));
                        }
                    }
                    case "SUCCEEDED", "FAILED" -> {
                        if (detail.startsWith("local step")) {
                            facts.local = true;
                        }
                    }
                    case "COMPENSATED" -> {
                        if (detail.equals("local step")) {
                            facts.localCompensation = true;
                        }
                    }
                    case "SKIPPED" -> facts.conditional = true;
                    default -> {
                        // other entries tell nothing of the definition
                    }
                }
            }
            for (List<Integer> together : firstSends.values()) {
                for (int i = 1; i < together.size(); i++) {
                    union(parent, together.get(0), together.get(i));
                }
            }
        }
        // Groups: the indexes joined above, as runs of consecutive indexes (branches are consecutive steps).
        Map<Integer, TreeSet<Integer>> groups = new TreeMap<>();
        for (Integer index : parent.keySet()) {
            groups.computeIfAbsent(find(parent, index), root -> new TreeSet<>()).add(index);
        }
        Map<Integer, TreeSet<Integer>> groupAt = new TreeMap<>();
        for (TreeSet<Integer> members : groups.values()) {
            if (members.size() > 1) {
                groupAt.put(members.first(), members);
            }
        }
        List<SagaShape.Element> elements = new ArrayList<>();
        List<Integer> indexes = new ArrayList<>(steps.keySet());
        for (int i = 0; i < indexes.size(); i++) {
            int index = indexes.get(i);
            TreeSet<Integer> members = groupAt.get(index);
            if (members == null) {
                elements.add(steps.get(index).step(index));
                continue;
            }
            List<SagaShape.Step> branches = new ArrayList<>();
            for (int branch = members.first(); branch <= members.last(); branch++) {
                if (steps.containsKey(branch)) {
                    branches.add(steps.get(branch).step(branch));
                }
            }
            elements.add(new SagaShape.Group(groupNames.getOrDefault(index, "parallel"), branches));
            while (i + 1 < indexes.size() && indexes.get(i + 1) <= members.last()) {
                i++;
            }
        }
        return new SagaShape(type, version, null, elements);
    }

    private static int find(Map<Integer, Integer> parent, int index) {
        parent.putIfAbsent(index, index);
        int root = index;
        while (parent.get(root) != root) {
            root = parent.get(root);
        }
        return root;
    }

    private static void union(Map<Integer, Integer> parent, int a, int b) {
        int rootA = find(parent, a);
        int rootB = find(parent, b);
        if (rootA != rootB) {
            parent.put(Math.max(rootA, rootB), Math.min(rootA, rootB));
        }
    }

    /** What the history tells of one step. */
    private static final class Facts {
        String name;
        boolean participantStep;
        boolean local;
        boolean localCompensation;
        boolean conditional;
        final Set<String> commandTypes = new LinkedHashSet<>();
        final Set<String> participants = new TreeSet<>();
        final Set<String> compensationTypes = new LinkedHashSet<>();

        SagaShape.Step step(int index) {
            SagaShape.Kind kind = participantStep ? SagaShape.Kind.PARTICIPANT
                    : local ? SagaShape.Kind.LOCAL : SagaShape.Kind.UNKNOWN;
            SagaShape.Compensation compensation = !compensationTypes.isEmpty() ? SagaShape.Compensation.COMMAND
                    : localCompensation ? SagaShape.Compensation.LOCAL : SagaShape.Compensation.UNKNOWN;
            String participant = participants.isEmpty() ? null
                    : participants.size() == 1 ? participants.iterator().next()
                    : "dynamic: " + String.join(", ", participants);
            return new SagaShape.Step(index, name == null ? "step " + index : name, kind, participant,
                    commandTypes.isEmpty() ? null : String.join(" | ", commandTypes), compensation,
                    compensationTypes.isEmpty() ? null : String.join(" | ", compensationTypes), null, null,
                    conditional ? Boolean.TRUE : null);
        }
    }
}
