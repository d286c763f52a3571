package dev.outboxsaga.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** Medians and spread of repeated measurements, as a table and as JSON. */
final class Report {

    private Report() {
    }

    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    static void print(Map<String, List<Double>> results) {
        System.out.println();
        System.out.printf("%-40s %14s %14s %14s%n", "measure", "median", "min", "max");
        // Ratios are below 10; rates are thousands.
        results.forEach((key, values) -> System.out.printf(median(values) < 10 ? "%-40s %,14.3f %,14.3f %,14.3f%n"
                : "%-40s %,14.1f %,14.1f %,14.1f%n", key, median(values), Collections.min(values), Collections.max(values)));
    }

    static void write(Path output, Map<String, List<Double>> results, Map<String, Object> context) throws IOException {
        StringBuilder json = new StringBuilder("{\n");
        context.forEach((key, value) -> json.append("  \"").append(key).append("\": ")
                .append(value instanceof Number ? value.toString() : "\"" + value + "\"").append(",\n"));
        int i = 0;
        for (Map.Entry<String, List<Double>> entry : results.entrySet()) {
            List<Double> values = entry.getValue();
            json.append(String.format(java.util.Locale.ROOT, "  \"%s\": %.2f,%n", entry.getKey(), median(values)));
            json.append(String.format(java.util.Locale.ROOT, "  \"%s_spread\": {\"min\": %.2f, \"max\": %.2f, \"runs\": %s}%s%n",
                    entry.getKey(), Collections.min(values), Collections.max(values),
                    values.stream().map(v -> String.format(java.util.Locale.ROOT, "%.2f", v)).toList(),
                    ++i < results.size() ? "," : ""));
        }
        json.append("}\n");
        BenchmarkMain.ensureFolder(output);
        Files.writeString(output, json.toString());
    }
}
