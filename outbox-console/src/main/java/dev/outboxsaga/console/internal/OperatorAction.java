package dev.outboxsaga.console.internal;

import java.time.Instant;

/**
 * One row of {@code operator_action}: the audit trail of what operators did, and the actions waiting for a service
 * to carry them out.
 *
 * @param id          its id
 * @param actor       who asked: {@code console:<user>} or {@code cli:<user>}
 * @param action      RETRY_COMPENSATION, MARK_COMPENSATED, CANCEL, REPLAY or DISCARD
 * @param targetKind  SAGA or DEAD_LETTER
 * @param targetId    the saga id or the dead letter id
 * @param scope       who carries it out: the saga type, or the consumer
 * @param note        the operator's note, or null
 * @param status      PENDING, DONE or FAILED
 * @param outcome     what happened or why it failed, or null
 * @param requestedAt when it was asked for
 * @param doneAt      when it was carried out, or null
 */
public record OperatorAction(long id, String actor, String action, String targetKind, String targetId, String scope,
        String note, String status, String outcome, Instant requestedAt, Instant doneAt) {

    /** Target kind of saga actions. */
    public static final String SAGA = "SAGA";
    /** Target kind of dead letter actions. */
    public static final String DEAD_LETTER = "DEAD_LETTER";

    /** Whether it still waits for its service. */
    public boolean pending() {
        return "PENDING".equals(status);
    }
}
