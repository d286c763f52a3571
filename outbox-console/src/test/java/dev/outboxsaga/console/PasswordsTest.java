package dev.outboxsaga.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PasswordsTest {

    @Test
    void aHashMatchesItsPasswordOnly() {
        String hash = Passwords.hash("correct horse", 1_000);
        assertThat(hash).startsWith("pbkdf2-sha256$1000$").doesNotContain("correct horse");
        assertThat(Passwords.matches("correct horse", hash)).isTrue();
        assertThat(Passwords.matches("correct horsE", hash)).isFalse();
        assertThat(Passwords.matches("", hash)).isFalse();
        assertThat(Passwords.matches(null, hash)).isFalse();
        assertThat(Passwords.hash("correct horse", 1_000)).as("salted").isNotEqualTo(hash);
    }

    @Test
    void theDefaultIterationsAreUsedAndRecorded() {
        assertThat(Passwords.hash("pw")).startsWith("pbkdf2-sha256$600000$");
    }

    @Test
    void malformedHashesAndWeakSettingsAreRefused() {
        assertThatThrownBy(() -> Passwords.requireValid("secret")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pbkdf2-sha256$<iterations>$<salt>$<hash>");
        assertThatThrownBy(() -> Passwords.requireValid("pbkdf2-sha256$10$AAAAAAAAAAA$AAAA"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("iterations must be between");
        assertThatThrownBy(() -> Passwords.requireValid("pbkdf2-sha256$1000$!!$??"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("base64");
        assertThatThrownBy(() -> Passwords.requireValid("pbkdf2-sha256$1000$AAAAAAAAAAA$AAAA"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("32 bytes");
        assertThatThrownBy(() -> Passwords.hash("", 1000)).isInstanceOf(IllegalArgumentException.class);
    }
}
