-- outbox-saga V10: the whole-saga deadline (SagaDefinition.Builder.deadline), fixed when the saga begins on the
-- orchestrator's clock, as the step due times in saga_instance.deadline are. While it lies ahead of a RUNNING saga,
-- saga_instance.deadline is never later than it, so the timer finds the saga; cleared once it has passed.
ALTER TABLE saga_instance ADD COLUMN IF NOT EXISTS saga_deadline timestamptz;
