package dev.outboxsaga.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxsaga.core.JacksonPayloadCodec;
import dev.outboxsaga.core.PayloadCodec;
import dev.outboxsaga.core.RetryPolicy;
import java.time.Duration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The modelling constructs of sagas through the unit-test DSL: typed replies, saga data updated from
 * replies, conditional steps. No database, no broker.
 */
class SagaModelScenarioTest {

    /** An order: reserve stock, charge the card, ship (with the reservation the stock service returned). */
    record Order(String id, long amount, boolean express, String reservation, String charge) {

        Order withReservation(String reservation) {
            return new Order(id, amount, express, reservation, charge);
        }

        Order withCharge(String charge) {
            return new Order(id, amount, express, reservation, charge);
        }
    }

    record Reserve(String order) {
    }

    record Reserved(String id, int items) {
    }

    record Charge(String order, long amount, String reservation) {
    }

    record Charged(String chargeId) {
    }

    record Refused(long available, long requested) {
    }

    record Ship(String order, String reservation, String charge) {
    }

    private static final Order ORDER = new Order("o-1", 100, false, null, null);
    private static final RetryPolicy ONCE = RetryPolicy.exponential(1, Duration.ZERO, Duration.ZERO);

    private static SagaDefinition.StepBuilder<Order> reserve() {
        return SagaDefinition.builder("order", 1, Order.class)
                .step("reserve")
                    .invoke("stock", "Reserve", o -> new Reserve(o.id()))
                    .compensateWith("Release", o -> new Reserve(o.id()))
                    .retry(ONCE);
    }

    @Nested
    class TypedMessages {

        private final SagaDefinition<Order> definition = reserve()
                .onSuccess((order, reply) -> order.withReservation(
                        JacksonPayloadCodec.create().decode(reply.payload(), Reserved.class).id()))
                .step("charge")
                    .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                    .retry(ONCE)
                .build();

        @Test
        void aReplyGivenAsAnObjectArrivesAsItsJsonThroughTheCodec() {
            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge", payload -> assertThat(payload)
                            .isEqualTo("{\"order\":\"o-1\",\"amount\":100,\"reservation\":\"r-7\"}"))
                    .expectData(order -> assertThat(order.reservation()).isEqualTo("r-7"));
        }

        @Test
        void aReplyGivenAsJsonTextWorksAsBefore() {
            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success("{\"id\": \"r-8\", \"items\": 1}"))
                    .expectData(order -> assertThat(order.reservation()).isEqualTo("r-8"));
        }

        @Test
        void aFailureWithACodeAndDetailsEndsWithTheCodeAndRecordsTheDetails() {
            SagaScenario<Order> scenario = SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.failure("insufficient-funds", new Refused(40, 100)))
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("insufficient-funds");

            assertThat(scenario.historyDetails()).contains(
                    "charge:FAILED insufficient-funds {\"available\":40,\"requested\":100}");
        }

        @Test
        void aReplyEncodesItsObjectOnceAndKeepsJsonTextAsItIs() {
            PayloadCodec codec = JacksonPayloadCodec.create();

            Reply typed = Reply.success(new Reserved("r-1", 2));
            Reply encoded = typed.encodedWith(codec);
            Reply text = Reply.success("{\"id\":\"r-1\"}");

            assertThat(typed.payload()).isNull();
            assertThat(encoded).isEqualTo(new Reply(true, false, null, "{\"id\":\"r-1\",\"items\":2}"));
            assertThat(text.encodedWith(codec)).isSameAs(text);
            assertThat(Reply.failure("no-stock", new Refused(0, 1)).encodedWith(codec))
                    .isEqualTo(new Reply(false, false, "no-stock", "{\"available\":0,\"requested\":1}"));
        }

        @Test
        void badTypedRepliesAreRefusedNamingTheInput() {
            assertThatThrownBy(() -> Reply.success((Object) null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("result");
            assertThatThrownBy(() -> Reply.failure(" ", new Refused(0, 1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("failure code");
            assertThatThrownBy(() -> Reply.failure("no-stock", null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("details");
            assertThatThrownBy(() -> new Reply(true, false, null, "{}", new Reserved("r", 1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not both");
        }

        @Test
        void aCommandRefusedAsUndecodableCompensatesTheStepsBeforeIt() {
            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    // what a participant answers by default when context.payload(type) cannot decode the command
                    .reply(Reply.failure("command Charge (step charge) cannot be decoded as Charge: bad amount"))
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectLastError("command Charge (step charge) cannot be decoded as Charge: bad amount");
        }
    }

    @Nested
    class DataFromReplies {

        private final SagaDefinition<Order> definition = reserve()
                .onReply(Reserved.class, (order, reserved) -> order.withReservation(reserved.id()))
                .step("charge")
                    .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                    .onReply(Charged.class, (order, charged) -> order.withCharge(charged.chargeId()))
                    .compensateWith("Refund", o -> new Charge(o.id(), o.amount(), o.reservation()))
                    .retry(ONCE)
                .step("ship")
                    .invoke("shipping", "Ship", o -> new Ship(o.id(), o.reservation(), o.charge()))
                    .retry(ONCE)
                .build();

        @Test
        void whatAParticipantReturnedIsInTheLaterStepsCommandsAndTheData() {
            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectData(order -> assertThat(order.reservation()).isEqualTo("r-7"))
                    .expectCommand("payment", "Charge", Charge.class,
                            charge -> assertThat(charge).isEqualTo(new Charge("o-1", 100, "r-7")))
                    .reply(Reply.success("{\"chargeId\": \"c-9\"}"))
                    .expectCommand("shipping", "Ship", Ship.class,
                            ship -> assertThat(ship).isEqualTo(new Ship("o-1", "r-7", "c-9")))
                    .reply(Reply.success())
                    .expectState(SagaState.COMPLETED)
                    .expectData(order -> assertThat(order).isEqualTo(new Order("o-1", 100, false, "r-7", "c-9")));
        }

        @Test
        void compensationsAreBuiltFromTheUpdatedData() {
            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.success(new Charged("c-9")))
                    .expectCommand("shipping", "Ship")
                    .reply(Reply.failure("no courier"))
                    .expectCompensation("payment", "Refund", payload -> assertThat(payload).contains("\"r-7\""))
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectData(order -> assertThat(order.charge()).isEqualTo("c-9"));
        }

        @Test
        void aSuccessReplyThatDoesNotFitTheReplyTypeCompensatesTheStepItselfAndTheOnesBefore() {
            SagaScenario<Order> scenario = SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.success("{\"chargeId\": [1, 2]}"))
                    .expectCompensation("payment", "Refund")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectData(order -> assertThat(order.charge()).isNull());

            assertThat(scenario.history()).containsSubsequence("charge:COMMAND_SENT", "charge:FAILED",
                    "charge:COMPENSATION_SENT", "charge:COMPENSATED", "reserve:COMPENSATED");
            assertThat(scenario.historyDetails()).anySatisfy(entry -> assertThat(entry)
                    .startsWith("charge:FAILED the reply of step charge does not fit Charged: "));
        }

        @Test
        void aSettledStepWithoutCompensationUpdatesTheDataFromItsReplyToo() {
            SagaDefinition<Order> lastStepTyped = reserve()
                    .onReply(Reserved.class, (order, reserved) -> order.withReservation(reserved.id()))
                    .step("charge")
                        .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                        .onReply(Charged.class, (order, charged) -> order.withCharge(charged.chargeId()))
                        .retry(ONCE)
                    .build();

            SagaScenario.given(lastStepTyped).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .deadlinePasses()
                    .expectAbandon("payment", "Charge")
                    .reply(Reply.success(new Charged("c-1")))
                    .expectState(SagaState.COMPLETED)
                    .expectData(order -> assertThat(order.charge()).isEqualTo("c-1"));
        }

        @Test
        void aStepUpdatesTheDataOneWayAndALocalStepNotFromAReply() {
            assertThatThrownBy(() -> reserve()
                    .onSuccess((order, reply) -> order)
                    .onReply(Reserved.class, (order, reserved) -> order)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both onSuccess and onReply");
            assertThatThrownBy(() -> SagaDefinition.builder("order", 1, Order.class)
                    .step("note").local((connection, order) -> order)
                    .onReply(Reserved.class, (order, reserved) -> order)
                    .build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("local step note gets no reply");
        }
    }

    @Nested
    class ConditionalSteps {

        /** Reserve; charge; insure only express orders (a local step: nothing to send); ship; a courier for express. */
        private final SagaDefinition<Order> definition = reserve()
                .onReply(Reserved.class, (order, reserved) -> order.withReservation(reserved.id()))
                .step("charge")
                    .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                    .compensateWith("Refund", o -> new Charge(o.id(), o.amount(), o.reservation()))
                    .when(o -> o.amount() > 0)
                    .retry(ONCE)
                .step("insure")
                    .local((connection, o) -> o.withCharge("insured"))
                    .compensateLocally((connection, o) -> o.withCharge("insurance undone"))
                    .when(Order::express)
                .step("express")
                    .invoke("courier", "Book", o -> new Ship(o.id(), o.reservation(), o.charge()))
                    .compensateWith("Unbook", o -> new Ship(o.id(), o.reservation(), o.charge()))
                    .when(Order::express)
                    .retry(ONCE)
                .step("ship")
                    .invoke("shipping", "Ship", o -> new Ship(o.id(), o.reservation(), o.charge()))
                    .retry(ONCE)
                .build();

        @Test
        void aStepWhoseConditionDoesNotHoldIsSkippedAndTheSagaGoesOn() {
            SagaScenario<Order> scenario = SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.success())
                    .expectCommand("shipping", "Ship")
                    .reply(Reply.success())
                    .expectSkipped("insure")
                    .expectSkipped("express")
                    .expectState(SagaState.COMPLETED);

            assertThat(scenario.history()).containsExactly("reserve:STARTED", "reserve:COMMAND_SENT",
                    "reserve:SUCCEEDED", "charge:COMMAND_SENT", "charge:SUCCEEDED", "insure:SKIPPED", "express:SKIPPED",
                    "ship:COMMAND_SENT", "ship:SUCCEEDED", "ship:COMPLETED");
        }

        @Test
        void aStepWhoseConditionHoldsRuns() {
            SagaScenario.given(definition).start(new Order("o-2", 100, true, null, null))
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.success())
                    .expectCommand("courier", "Book", Ship.class, ship -> assertThat(ship.charge()).isEqualTo("insured"))
                    .reply(Reply.success())
                    .expectCommand("shipping", "Ship")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPLETED);
        }

        @Test
        void theConditionSeesTheDataAsEarlierRepliesLeftIt() {
            SagaDefinition<Order> chargeOnlyWhenNotReservedForFree = reserve()
                    .onReply(Reserved.class, (order, reserved) -> order.withReservation(reserved.id()))
                    .step("charge")
                        .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                        .when(o -> !o.reservation().startsWith("free-"))
                    .build();

            SagaScenario.given(chargeOnlyWhenNotReservedForFree).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("free-1", 1)))
                    .expectNoCommand()
                    .expectSkipped("charge")
                    .expectState(SagaState.COMPLETED);
        }

        @Test
        void compensationGoingBackwardsPassesSkippedStepsBy() {
            SagaScenario<Order> scenario = SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.success())
                    .expectCommand("shipping", "Ship")
                    .reply(Reply.failure("no courier"))
                    .expectCompensation("payment", "Refund")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED)
                    .expectData(order -> assertThat(order.charge()).as("the local compensation did not run").isNull());

            assertThat(scenario.history()).doesNotContain("insure:COMPENSATED", "express:COMPENSATION_SENT");
        }

        @Test
        void aSkippedStepIsNotCompensatedEvenWhenTheDataWouldNowLetItRun() {
            // Charge is skipped: no reservation yet. The reservation step's reply would now let it run.
            SagaDefinition<Order> skipFirst = SagaDefinition.builder("order", 1, Order.class)
                    .step("charge")
                        .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                        .compensateWith("Refund", o -> new Charge(o.id(), o.amount(), o.reservation()))
                        .when(o -> o.reservation() != null)
                        .retry(ONCE)
                    .step("reserve")
                        .invoke("stock", "Reserve", o -> new Reserve(o.id()))
                        .onReply(Reserved.class, (order, reserved) -> order.withReservation(reserved.id()))
                        .compensateWith("Release", o -> new Reserve(o.id()))
                        .retry(ONCE)
                    .step("ship")
                        .invoke("shipping", "Ship", o -> new Ship(o.id(), o.reservation(), o.charge()))
                        .retry(ONCE)
                    .build();

            SagaScenario<Order> scenario = SagaScenario.given(skipFirst).start(ORDER)
                    .expectSkipped("charge")
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("shipping", "Ship")
                    .reply(Reply.failure("no courier"))
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectNoCommand()
                    .expectState(SagaState.COMPENSATED);

            assertThat(scenario.history()).doesNotContain("charge:COMPENSATION_SENT");
        }

        @Test
        void aSagaWhoseOnlyStepThatRanFailsEndsFailedWhenTheStepsBeforeWereSkipped() {
            SagaDefinition<Order> definition = SagaDefinition.builder("order", 1, Order.class)
                    .step("charge")
                        .invoke("payment", "Charge", o -> new Charge(o.id(), o.amount(), o.reservation()))
                        .compensateWith("Refund", o -> new Charge(o.id(), o.amount(), o.reservation()))
                        .when(Order::express)
                    .step("ship")
                        .invoke("shipping", "Ship", o -> new Ship(o.id(), o.reservation(), o.charge()))
                    .build();

            SagaScenario.given(definition).start(ORDER)
                    .expectSkipped("charge")
                    .expectCommand("shipping", "Ship")
                    .reply(Reply.failure("no courier"))
                    .expectNoCommand()
                    .expectState(SagaState.FAILED);
        }

        @Test
        void aCancelCompensatesTheStepsThatRanAndPassesSkippedOnesBy() {
            SagaScenario.given(definition).start(ORDER)
                    .expectCommand("stock", "Reserve")
                    .reply(Reply.success(new Reserved("r-7", 3)))
                    .expectCommand("payment", "Charge")
                    .reply(Reply.success())
                    .expectCommand("shipping", "Ship")
                    .operatorCancels("customer changed their mind")
                    .expectAbandon("shipping", "Ship")
                    .reply(Reply.failure("abandoned before it ran"))
                    .expectCompensation("payment", "Refund")
                    .reply(Reply.success())
                    .expectCompensation("stock", "Release")
                    .reply(Reply.success())
                    .expectState(SagaState.COMPENSATED);
        }
    }
}
