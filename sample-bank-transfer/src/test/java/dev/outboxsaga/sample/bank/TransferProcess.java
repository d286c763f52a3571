package dev.outboxsaga.sample.bank;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

/**
 * The transfer service's orchestrator (reply consumer and saga timer) in a JVM of its own, for the
 * saga crash tests to kill with SIGKILL: {@code TransferProcess <properties file>} with the keys of
 * {@link DemoRun}{@code .TRANSFERS_*}, and {@code kafka.<property>} keys as {@link BankProcess} takes
 * them. It runs until it is killed.
 */
public final class TransferProcess {

    private TransferProcess() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
            properties.load(in);
        }
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(properties.getProperty(DemoRun.TRANSFERS_DATABASE_URL));
        pool.setUsername(properties.getProperty(DemoRun.TRANSFERS_DATABASE_USER));
        pool.setPassword(properties.getProperty(DemoRun.TRANSFERS_DATABASE_PASSWORD));
        pool.setMaximumPoolSize(6);
        pool.setPoolName("transfer-process");
        HikariDataSource dataSource = new HikariDataSource(pool);
        String service = properties.getProperty(DemoRun.TRANSFERS_SERVICE);
        TransferService transfers = new TransferService(service, dataSource,
                properties.getProperty(DemoRun.TRANSFERS_KAFKA),
                Duration.ofMillis(Long.parseLong(properties.getProperty(DemoRun.TRANSFERS_STEP_TIMEOUT_MS))),
                BankProcess.kafkaProperties(properties));
        transfers.start();
        System.out.println("transfers " + service + " started");
        Thread.currentThread().join();
    }
}
