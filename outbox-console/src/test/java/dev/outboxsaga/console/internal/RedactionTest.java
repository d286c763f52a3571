package dev.outboxsaga.console.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** How header names are matched: whole names, without regard to case, {@code *} for any characters, nothing else special. */
class RedactionTest {

    @Test
    void theDefaultTakesTheUsualSecretHeadersAndLeavesTheRest() {
        assertThat(List.of("Authorization", "PROXY-AUTHORIZATION", "cookie", "Set-Cookie", "X-Api-Token", "token",
                "refresh_token_hash", "client-secret", "db_password", "PASSWORD", "X-API-Key", "apikey", "my_api_key",
                " Authorization "))
                .allMatch(Redaction.DEFAULT::secret);
        assertThat(List.of("trace-id", "traceparent", "id", "content-type", "X-Authorization", "cookies", "author", ""))
                .noneMatch(Redaction.DEFAULT::secret);
        assertThat(Redaction.DEFAULT.secret(null)).isFalse();
    }

    @Test
    void onlyTheStarIsAWildcard() {
        Redaction redaction = Redaction.of(List.of("x.key", "a+*", "*[pin]"));
        assertThat(redaction.secret("X.KEY")).isTrue();
        assertThat(redaction.secret("xykey")).as("a dot is a dot").isFalse();
        assertThat(redaction.secret("a+b")).isTrue();
        assertThat(redaction.secret("aab")).isFalse();
        assertThat(redaction.secret("card[pin]")).isTrue();
        assertThat(redaction.secret("card-p")).isFalse();
        assertThat(Redaction.of(List.of("*")).secret("anything")).isTrue();
    }

    @Test
    void maskedHeadersKeepTheirNamesAndPlace() {
        List<DeadLetterDetail.Header> shown = Redaction.DEFAULT.apply(List.of(new DeadLetterDetail.Header("id", "m-1"),
                new DeadLetterDetail.Header("Cookie", "session=abc"), new DeadLetterDetail.Header("api-key", null)));
        assertThat(shown).containsExactly(new DeadLetterDetail.Header("id", "m-1", false),
                new DeadLetterDetail.Header("Cookie", "****", true), new DeadLetterDetail.Header("api-key", null, false));
    }

    @Test
    void patternsAreRefusedWhenEmptyOrHoldingSpaces() {
        assertThatThrownBy(() -> Redaction.of(List.of())).hasMessageStartingWith("must list at least one");
        assertThatThrownBy(() -> Redaction.of(List.of("x token"))).hasMessageContaining("but has 'x token'");
        assertThatThrownBy(() -> Redaction.of(List.of("tab\tbed"))).hasMessageContaining("but has 'tab\tbed'");
    }
}
