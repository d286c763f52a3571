package dev.outboxsaga.console.internal;

/**
 * A saga type and definition version that has instances.
 *
 * @param type    the saga type
 * @param version the definition version
 */
public record SagaType(String type, int version) {
}
