package dev.outboxsaga.sample.bank;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * A bank's participant in a JVM of its own, for the crash test to kill with SIGKILL:
 * {@code BankProcess <properties file>} with the keys of {@link DemoRun}{@code .BANK_*}, {@link #CONCURRENCY}
 * and {@code kafka.*} ({@link #kafkaProperties}). It runs until
 * it is killed.
 */
public final class BankProcess {

    private BankProcess() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
            properties.load(in);
        }
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(properties.getProperty(DemoRun.BANK_DATABASE_URL));
        pool.setUsername(properties.getProperty(DemoRun.BANK_DATABASE_USER));
        pool.setPassword(properties.getProperty(DemoRun.BANK_DATABASE_PASSWORD));
        pool.setMaximumPoolSize(6);
        pool.setPoolName("bank-process");
        HikariDataSource dataSource = new HikariDataSource(pool);
        String name = properties.getProperty(DemoRun.BANK_NAME);
        // A member killed with SIGKILL never leaves its group; its partitions move after the session
        // timeout, so keep that at the broker's minimum.
        Bank bank = new Bank(name, dataSource, properties.getProperty(DemoRun.BANK_KAFKA),
                Faults.parse(properties.getProperty(DemoRun.BANK_FAULTS)),
                Duration.ofMillis(Long.parseLong(properties.getProperty(DemoRun.BANK_LATE_BY_MS))),
                Long.parseLong(properties.getProperty(DemoRun.BANK_SEED)),
                Long.parseLong(properties.getProperty(DemoRun.BANK_DAILY_LIMIT)), kafkaProperties(properties), Integer.parseInt(properties.getProperty(CONCURRENCY, "3")));
        bank.start();
        System.out.println("bank " + name + " started");
        Thread.currentThread().join();
    }

    /**
     * The consumer's session timeout at the broker's minimum and a 1 s heartbeat, overridden by any
     * {@code kafka.<property>} key of the file (e.g. {@code kafka.group.instance.id} for static membership).
     */
    static Map<String, String> kafkaProperties(Properties properties) {
        Map<String, String> kafka = new HashMap<>(Map.of("session.timeout.ms", "6000", "heartbeat.interval.ms", "1000"));
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith(KAFKA_PREFIX)) {
                kafka.put(key.substring(KAFKA_PREFIX.length()), properties.getProperty(key));
            }
        }
        return kafka;
    }

    /** Key of the participant's consumer threads (default 3). */
    static final String CONCURRENCY = "bank.concurrency";

    /** Prefix of the keys passed on to the Kafka consumer. */
    static final String KAFKA_PREFIX = "kafka.";
}
