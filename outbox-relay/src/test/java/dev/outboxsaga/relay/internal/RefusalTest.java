package dev.outboxsaga.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxsaga.relay.internal.TransactionalPublisher.Refusal;
import java.util.Set;
import org.apache.kafka.common.errors.LeaderNotAvailableException;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;

/** Which send failures are Kafka's refusal of a record, and which say nothing against it. */
class RefusalTest {

    private static final String TOPIC = "outbox.event.order";

    @Test
    void aMetadataTimeoutIsARefusalOnlyWhenTheBrokerAnsweredThatTheTopicIsUnknown() {
        Refusal refusal = TransactionalPublisher.refusal(TOPIC, new TimeoutException(
                "Topic " + TOPIC + " not present in metadata after 60000 ms.",
                new UnknownTopicOrPartitionException("This server does not host this topic-partition.")));

        assertThat(refusal.kind()).isEqualTo("unknown_topic");
        assertThat(refusal.topicWide()).isTrue();
        assertThat(refusal.topic()).isEqualTo(TOPIC);
        assertThat(refusal.reason()).contains("UnknownTopicOrPartitionException", "not present in metadata after 60000 ms",
                TOPIC);
    }

    @Test
    void whatAnUnreachableOrBusyBrokerSaysIsNoRefusal() {
        // No broker answered at all: the same message, without the topic's error behind it.
        assertThat(TransactionalPublisher.refusal(TOPIC,
                new TimeoutException("Topic " + TOPIC + " not present in metadata after 60000 ms."))).isNull();
        assertThat(TransactionalPublisher.refusal(TOPIC, new TimeoutException("Expiring 3 record(s) for "
                + TOPIC + "-0: 120000 ms has passed since batch creation"))).isNull();
        assertThat(TransactionalPublisher.refusal(TOPIC, new TimeoutException("not present in metadata",
                new LeaderNotAvailableException("leader election")))).isNull();
        assertThat(TransactionalPublisher.refusal(TOPIC, new NetworkException("disconnected"))).isNull();
        assertThat(TransactionalPublisher.refusal(TOPIC, new NotLeaderOrFollowerException("moved"))).isNull();
        assertThat(TransactionalPublisher.refusal(TOPIC, new TransactionAbortedException("aborted"))).isNull();
        assertThat(TransactionalPublisher.refusal(TOPIC, new IllegalStateException("closed"))).isNull();
    }

    @Test
    void topicRefusalsConcernTheTopicAndRecordRefusalsTheRecord() {
        Refusal denied = TransactionalPublisher.refusal(TOPIC, new TopicAuthorizationException(Set.of(TOPIC)));
        assertThat(denied.kind()).isEqualTo("not_authorized");
        assertThat(denied.topicWide()).isTrue();
        assertThat(denied.reason()).startsWith("TopicAuthorizationException: ");

        Refusal tooLarge = TransactionalPublisher.refusal(TOPIC, new RecordTooLargeException("too large"));
        assertThat(tooLarge.kind()).isEqualTo("too_large");
        assertThat(tooLarge.topicWide()).isFalse();
    }
}
