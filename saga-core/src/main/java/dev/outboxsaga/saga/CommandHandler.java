package dev.outboxsaga.saga;

import dev.outboxsaga.core.MessageContext;

/**
 * Carries out one type of saga command in the participant's database transaction and says how it
 * went. Whatever it changes through {@code context.connection()} commits with the inbox record and
 * the reply, so the effect happens once per saga step however often the command arrives.
 *
 * <p>Return {@link Reply#failure(String)} for a business refusal, {@link Reply#retryableFailure(String)}
 * when a retry may succeed. On either failure the participant rolls back everything the handler did
 * (a savepoint taken before the call: its writes and the messages it sent), then stores and sends the
 * refusal; a failed step never leaves a partial effect. Throwing is treated as a crash: the whole
 * transaction rolls back and the inbox retries the command, then parks it; except when the throw comes from
 * {@code context.payload(type)} failing to decode the command, which retrying cannot mend (see
 * {@link SagaParticipant.Builder#undecodableCommands}).
 *
 * <p>Return {@link Reply#deferred(String)} to accept a forward command and answer later (after a person approved,
 * say) with {@link PendingReplies#complete}: what the handler wrote commits, as on a success, and nothing is sent
 * until then. A compensation handler must answer (it may have to undo what such an acceptance wrote).
 */
@FunctionalInterface
public interface CommandHandler {

    Reply handle(SagaCommand command, MessageContext context) throws Exception;
}
