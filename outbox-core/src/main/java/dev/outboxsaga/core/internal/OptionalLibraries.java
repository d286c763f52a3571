package dev.outboxsaga.core.internal;

/**
 * Whether the optional observability libraries are on the class path, found out without touching them.
 * The classes that use them ({@code *Tracing}, {@code *Micrometer}) are created only when they are, so
 * that the JVM never resolves a reference to a missing class.
 */
public final class OptionalLibraries {

    /** The OpenTelemetry API ({@code io.opentelemetry:opentelemetry-api}). */
    public static final boolean OPEN_TELEMETRY = present("io.opentelemetry.api.OpenTelemetry");

    private OptionalLibraries() {
    }

    static boolean present(String className) {
        try {
            Class.forName(className, false, OptionalLibraries.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError absent) {
            return false;
        }
    }
}
