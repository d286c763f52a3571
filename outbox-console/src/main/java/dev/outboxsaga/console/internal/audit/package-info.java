/** The reconciliation audit's internals: the outbox snapshot, the Kafka scan, the inbox check, the report's renderings; not API. */
package dev.outboxsaga.console.internal.audit;
