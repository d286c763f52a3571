-- outbox-saga V11: the branches of the parallel group a saga has in hand (SagaDefinition.Builder.parallel), as a JSON
-- array in declaration order, one object per branch: {"step": index, "status": PENDING | RETRY_DUE | SUCCEEDED |
-- SKIPPED | FAILED | GIVEN_UP, "attempt": n, "command": the awaited command id, "due": its timeout or retry}. Each
-- branch awaits its own reply; saga_instance.deadline is the earliest due branch. Null when no group is in hand.
ALTER TABLE saga_instance ADD COLUMN IF NOT EXISTS branches jsonb;
