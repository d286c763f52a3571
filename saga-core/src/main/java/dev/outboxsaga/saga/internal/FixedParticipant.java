package dev.outboxsaga.saga.internal;

import java.util.function.Function;

/**
 * The participant of a step that names it ({@code invoke("bank-a", ..)}) rather than choosing it from the saga data,
 * so that the definition's recorded shape ({@link SagaShapes}) can name it too.
 *
 * @param name the participant
 */
public record FixedParticipant<D>(String name) implements Function<D, String> {

    @Override
    public String apply(D data) {
        return name;
    }
}
