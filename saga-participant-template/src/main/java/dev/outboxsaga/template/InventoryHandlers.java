package dev.outboxsaga.template;

import dev.outboxsaga.core.MessageContext;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.saga.PendingCommand;
import dev.outboxsaga.saga.PendingReplies;
import dev.outboxsaga.saga.Reply;
import dev.outboxsaga.saga.SagaCommand;
import dev.outboxsaga.saga.SagaParticipant;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/**
 * THE PART YOU REPLACE: the template's business logic, an inventory that reserves stock for a saga
 * step ({@value #RESERVE}) and gives it back when the saga compensates ({@value #RELEASE}).
 *
 * <p>What {@link SagaParticipant} already does around every handler, so yours need not:
 * <ul>
 *   <li>one database transaction holds the inbox record, whatever the handler writes through
 *       {@code context.connection()}, the stored reply and the reply message (outbox);</li>
 *   <li>a command sent again for the same saga step (the orchestrator retrying after a timeout) gets
 *       the stored reply, and the handler does not run again;</li>
 *   <li>a compensation for a step whose forward command failed or never arrived succeeds without
 *       calling the compensation handler.</li>
 * </ul>
 *
 * <p>What a handler must do: change the database only through {@code context.connection()} (never
 * commit, roll back or close it), and answer with a {@link Reply}:
 * <ul>
 *   <li>{@link Reply#success(String)} with a JSON result for the saga's data;</li>
 *   <li>{@link Reply#failure(String)} for a business "no" (change nothing then): the saga compensates;</li>
 *   <li>{@link Reply#retryableFailure(String)} when trying again later may succeed;</li>
 *   <li>{@link Reply#deferred(String)} to keep what it wrote and answer later, through {@link PendingReplies};</li>
 *   <li>throwing counts as a crash: the transaction rolls back, the command is retried, then parked in
 *       the dead-letter table.</li>
 * </ul>
 * A compensation must succeed in the end (the saga cannot undo an undo): refuse nothing there.
 *
 * <p>Answering later: a reservation of more units than the setting {@value ParticipantConfig#APPROVAL_ABOVE} names
 * takes the stock (a hold) and returns {@link Reply#deferred(String)}; nothing is answered until a manager calls {@link #approve} or
 * {@link #reject} (from a web page, a script; any process with this database), which answer through the outbox in
 * the manager's transaction. The saga's step timeout still runs meanwhile: should the saga compensate the step first,
 * {@value #RELEASE} gives the held stock back and a later approval is refused.
 */
public final class InventoryHandlers {

    /** The forward command: reserve {@code quantity} units of {@code item}. */
    public static final String RESERVE = "Reserve";
    /** Its compensation: give back what the same saga step reserved. */
    public static final String RELEASE = "Release";

    /** Payload of {@value #RESERVE}. */
    public record Reserve(String item, int quantity) {
    }

    /** Result of {@value #RESERVE}: what was reserved, and the stock left. */
    public record Reserved(String item, int quantity, int remaining) {
    }

    /** Result of {@value #RELEASE}: what was given back (quantity 0 when the step had reserved nothing). */
    public record Released(String item, int quantity) {
    }

    // The module's only DML. Replace with your own statements.
    private static final String TAKE_STOCK = "UPDATE inventory_item SET available = available - ?, updated_at = now() "
            + "WHERE item = ? AND available >= ? RETURNING available";
    private static final String INSERT_RESERVATION =
            "INSERT INTO inventory_reservation (saga_id, step_index, item, quantity) VALUES (?, ?, ?, ?)";
    private static final String RELEASE_RESERVATION = "UPDATE inventory_reservation SET released_at = now() "
            + "WHERE saga_id = ? AND step_index = ? AND released_at IS NULL RETURNING item, quantity";
    private static final String RETURN_STOCK =
            "UPDATE inventory_item SET available = available + ?, updated_at = now() WHERE item = ?";
    private static final String HELD_RESERVATION = "SELECT r.item, r.quantity, i.available FROM inventory_reservation r "
            + "JOIN inventory_item i ON i.item = r.item WHERE r.saga_id = ? AND r.step_index = ? AND r.released_at IS NULL";

    private final PayloadCodec codec;
    private final int approvalAbove;
    private final PendingReplies approvals;

    /**
     * @param codec         encodes the reply payloads (records) as JSON; the participant's own codec
     * @param approvalAbove reservations of more than this many units wait for {@link #approve}; 0: none waits
     * @param approvals     the participant's pending replies (its name, outbox and codec)
     */
    public InventoryHandlers(PayloadCodec codec, int approvalAbove, PendingReplies approvals) {
        this.codec = codec;
        this.approvalAbove = approvalAbove;
        this.approvals = approvals;
    }

    /** Registers every command type this participant handles. Add yours here. */
    public SagaParticipant.Builder register(SagaParticipant.Builder participant) {
        return participant
                .handle(RESERVE, this::reserve)
                .handle(RELEASE, this::release);
    }

    /** Takes the units out of stock and records the reservation under the saga step, or refuses. */
    Reply reserve(SagaCommand command, MessageContext context) throws SQLException {
        Reserve reserve;
        try {
            reserve = context.payload(Reserve.class);
        } catch (IllegalArgumentException malformed) {
            // A payload that cannot be read will not become readable on a retry: refuse, so the saga
            // compensates at once rather than waiting for its timeout on a parked command.
            return Reply.failure("malformed " + RESERVE + " payload: " + malformed.getMessage());
        }
        if (reserve.item() == null || reserve.item().isBlank() || reserve.quantity() <= 0) {
            return Reply.failure("invalid reservation: item '" + reserve.item() + "', quantity " + reserve.quantity());
        }

        // ---- your business logic: everything through context.connection(), in the saga step's transaction ----
        Connection connection = context.connection();
        int remaining;
        try (PreparedStatement take = connection.prepareStatement(TAKE_STOCK)) {
            take.setInt(1, reserve.quantity());
            take.setString(2, reserve.item());
            take.setInt(3, reserve.quantity());
            try (ResultSet row = take.executeQuery()) {
                if (!row.next()) {
                    // Nothing changed: an unknown item counts as one with no stock.
                    return Reply.failure("insufficient stock for " + reserve.item());
                }
                remaining = row.getInt(1);
            }
        }
        try (PreparedStatement insert = connection.prepareStatement(INSERT_RESERVATION)) {
            insert.setObject(1, command.sagaId());
            insert.setInt(2, command.stepIndex());
            insert.setString(3, reserve.item());
            insert.setInt(4, reserve.quantity());
            insert.executeUpdate();
        }
        // ---- end of business logic ----

        if (approvalAbove > 0 && reserve.quantity() > approvalAbove) {
            // The stock is held by the reservation row, committed now; the answer waits for approve or reject.
            return Reply.deferred("awaiting a manager's approval: " + reserve.quantity() + " " + reserve.item()
                    + " is more than " + approvalAbove);
        }
        return Reply.success(codec.encode(new Reserved(reserve.item(), reserve.quantity(), remaining)));
    }

    /** The reservations waiting for a manager's approval, oldest first. */
    public List<PendingCommand> awaitingApproval(Connection connection, int limit) {
        return approvals.list(connection, RESERVE, limit);
    }

    /**
     * A manager approves the reservation of step {@code stepIndex} of saga {@code sagaId}: it is answered with
     * {@link Reserved}, in the caller's transaction (commit it; roll back if this throws).
     *
     * @return what was reserved; null when no stock is held for it any more (released by hand), and it is refused
     * @throws PendingReplies.NotPendingException when it is not waiting: answered already, or compensated by the saga
     */
    public Reserved approve(Connection connection, UUID sagaId, int stepIndex) throws SQLException {
        Reserved reserved;
        try (PreparedStatement query = connection.prepareStatement(HELD_RESERVATION)) {
            query.setObject(1, sagaId);
            query.setInt(2, stepIndex);
            try (ResultSet row = query.executeQuery()) {
                reserved = row.next() ? new Reserved(row.getString(1), row.getInt(2), row.getInt(3)) : null;
            }
        }
        // Not waiting (compensated: the stock went back; or answered): complete refuses, saying which.
        approvals.complete(connection, sagaId, stepIndex, reserved != null ? Reply.success(reserved)
                : Reply.failure("no stock is held for this reservation any more"));
        return reserved;
    }

    /**
     * A manager refuses the reservation of step {@code stepIndex} of saga {@code sagaId}: the held stock goes back and
     * the step is answered with a failure saying {@code reason}, in the caller's transaction. The saga compensates
     * the steps before this one, not this one: a refusal must leave nothing behind, so it gives the stock back itself.
     *
     * @throws PendingReplies.NotPendingException when it is not waiting: answered already, or compensated by the saga
     */
    public void reject(Connection connection, UUID sagaId, int stepIndex, String reason) throws SQLException {
        giveBack(connection, sagaId, stepIndex);
        approvals.complete(connection, sagaId, stepIndex, Reply.failure(reason));
    }

    /**
     * Gives back what this saga step reserved. The reservation row, not the command's payload, says
     * how much: the compensation undoes exactly what the forward step did.
     */
    Reply release(SagaCommand command, MessageContext context) throws SQLException {
        // Also for a reservation still awaiting approval: the compensation came first, and the held stock goes back.
        Released released = giveBack(context.connection(), command.sagaId(), command.stepIndex());
        // Nothing given back: SagaParticipant does not call a compensation for a step that took no effect, so this
        // is only reached if the row was released by hand.
        return Reply.success(codec.encode(released));
    }

    /** Releases the reservation of a saga step and returns its stock; quantity 0 when there was none to release. */
    private static Released giveBack(Connection connection, UUID sagaId, int stepIndex) throws SQLException {
        String item;
        int quantity;
        try (PreparedStatement release = connection.prepareStatement(RELEASE_RESERVATION)) {
            release.setObject(1, sagaId);
            release.setInt(2, stepIndex);
            try (ResultSet row = release.executeQuery()) {
                if (!row.next()) {
                    return new Released(null, 0);
                }
                item = row.getString(1);
                quantity = row.getInt(2);
            }
        }
        try (PreparedStatement give = connection.prepareStatement(RETURN_STOCK)) {
            give.setInt(1, quantity);
            give.setString(2, item);
            give.executeUpdate();
        }
        return new Released(item, quantity);
    }
}
