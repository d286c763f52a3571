-- outbox-saga V12: deferred participant replies. A handler that returns Reply.deferred() accepts the saga step's
-- command and answers later, in another transaction (PendingReplies.complete): its row in saga_participant_reply
-- (V5) has outcome PENDING until then, and keeps here what the answer needs. outcome now reads SUCCESS, FAILURE
-- or PENDING; a PENDING row has payload '{}' and its replied_at is when it was accepted.

-- The command the row answers: for a PENDING row the latest attempt received, which is the one the orchestrator
-- awaits (a retry after a timeout moves it on); its reply carries this id as inReplyTo.
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS command_id uuid;
-- Where the reply goes: the orchestrator's reply channel (the command's replyTo header).
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS reply_to varchar(255);
-- For whoever decides the answer (an approval screen): the saga's type, the step's name, the command's attempt
-- and its payload.
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS saga_type varchar(255);
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS step_name varchar(255);
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS attempt integer;
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS command_payload jsonb;
-- When the handler deferred the answer; null for a reply given at once.
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS accepted_at timestamptz;
-- How a deferred reply stopped pending: ANSWERED (PendingReplies.complete), COMPENSATED (the step's compensation
-- came first; outcome FAILURE) or ABANDONED (the saga abandoned the step; outcome FAILURE). Null while PENDING and
-- for a reply given at once.
ALTER TABLE saga_participant_reply ADD COLUMN IF NOT EXISTS closed_by varchar(16);

-- PendingReplies.list: a participant's pending commands by type, oldest first; holds only pending rows.
CREATE INDEX IF NOT EXISTS saga_participant_reply_pending_idx
    ON saga_participant_reply (participant, command_type, accepted_at)
    WHERE outcome = 'PENDING';
