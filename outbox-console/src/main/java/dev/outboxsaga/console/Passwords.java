package dev.outboxsaga.console;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.spec.InvalidKeySpecException;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Password hashes for the console's users, with the JDK's own PBKDF2: the configuration holds
 * {@code pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>}, never a password.
 * {@code outbox-saga hash-password} prints one.
 */
public final class Passwords {

    /** Iterations of a new hash; OWASP's 2023 figure for PBKDF2-HMAC-SHA256. */
    public static final int DEFAULT_ITERATIONS = 600_000;
    /** Fewer iterations are refused: such a hash would be cheap to crack. */
    public static final int MIN_ITERATIONS = 1_000;

    private static final String PREFIX = "pbkdf2-sha256";
    private static final String ALGORITHM = "PBKDF2WithHmacSHA256";
    private static final int SALT_BYTES = 16;
    private static final int HASH_BITS = 256;
    private static final int MAX_ITERATIONS = 10_000_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Passwords() {
    }

    /** A new hash of {@code password} with a random salt and {@link #DEFAULT_ITERATIONS}. */
    public static String hash(String password) {
        return hash(password, DEFAULT_ITERATIONS);
    }

    /**
     * A new hash of {@code password} with a random salt.
     *
     * @throws IllegalArgumentException when the password is empty or the iterations out of range
     */
    public static String hash(String password, int iterations) {
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("the password must not be empty");
        }
        requireIterations(iterations);
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        Base64.Encoder base64 = Base64.getEncoder().withoutPadding();
        return PREFIX + "$" + iterations + "$" + base64.encodeToString(salt) + "$"
                + base64.encodeToString(derive(password, salt, iterations));
    }

    /** A random password of 20 URL-safe characters (120 bits), for a generated login such as the demo's. */
    public static String randomPassword() {
        byte[] bytes = new byte[15];
        RANDOM.nextBytes(bytes);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * Whether {@code password} matches {@code hash}; the comparison takes the same time wherever the first
     * difference lies.
     *
     * @throws IllegalArgumentException when {@code hash} is not in the format above
     */
    public static boolean matches(String password, String hash) {
        Parsed parsed = parse(hash);
        byte[] actual = derive(password == null ? "" : password, parsed.salt, parsed.iterations);
        return MessageDigest.isEqual(actual, parsed.hash);
    }

    /**
     * Checks the format of {@code hash}.
     *
     * @throws IllegalArgumentException saying what is wrong, without repeating the hash
     */
    public static void requireValid(String hash) {
        parse(hash);
    }

    private record Parsed(int iterations, byte[] salt, byte[] hash) {
    }

    private static Parsed parse(String hash) {
        String[] parts = hash == null ? new String[0] : hash.split("\\$", -1);
        if (parts.length != 4 || !parts[0].equals(PREFIX)) {
            throw new IllegalArgumentException("a password hash must read " + PREFIX
                    + "$<iterations>$<salt>$<hash> (print one with outbox-saga hash-password)");
        }
        int iterations;
        try {
            iterations = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the iterations of a password hash must be a whole number");
        }
        requireIterations(iterations);
        try {
            byte[] salt = Base64.getDecoder().decode(parts[2]);
            byte[] derived = Base64.getDecoder().decode(parts[3]);
            if (salt.length < 8 || derived.length != HASH_BITS / 8) {
                throw new IllegalArgumentException("a password hash needs a salt of at least 8 bytes and a hash of "
                        + HASH_BITS / 8 + " bytes");
            }
            return new Parsed(iterations, salt, derived);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("a password hash")) {
                throw e;
            }
            throw new IllegalArgumentException("the salt and hash of a password hash must be base64");
        }
    }

    private static void requireIterations(int iterations) {
        if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("password hash iterations must be between " + MIN_ITERATIONS + " and "
                    + MAX_ITERATIONS + ", but were " + iterations);
        }
    }

    private static byte[] derive(String password, byte[] salt, int iterations) {
        char[] chars = password.toCharArray();
        PBEKeySpec spec = new PBEKeySpec(chars, salt, iterations, HASH_BITS);
        try {
            return SecretKeyFactory.getInstance(ALGORITHM).generateSecret(spec).getEncoded();
        } catch (NoSuchAlgorithmException | InvalidKeySpecException e) {
            throw new IllegalStateException(ALGORITHM + " is missing from this JDK", e);
        } finally {
            spec.clearPassword();
            Arrays.fill(chars, '\0');
        }
    }
}
