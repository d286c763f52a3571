-- outbox-saga V9: the steps a saga skipped because their condition did not hold when it reached them
-- (SagaDefinition.StepBuilder.when), so that compensation going backwards skips them too: they never ran.
-- Written by the orchestrator with each transition; only ever grows.
ALTER TABLE saga_instance ADD COLUMN IF NOT EXISTS skipped_steps integer[] NOT NULL DEFAULT '{}';
