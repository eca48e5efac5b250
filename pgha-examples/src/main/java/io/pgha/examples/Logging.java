package io.pgha.examples;

import java.util.Locale;

/**
 * Configures slf4j-simple, the runner's log: one line per event on stderr with the time, the
 * level and the thread (the HA threads are named {@code pgha-<member>-ha}, so every HA line names
 * its node). Must run before the first logger is created. Chatty client libraries (gRPC, Netty,
 * ZooKeeper, Curator, jetcd, Vert.x) log at WARN and above only.
 */
final class Logging {

    private Logging() {}

    /**
     * @param patroniLevel Patroni's {@code log.level}: DEBUG, INFO, WARNING, ERROR or CRITICAL
     * @param showThread whether to print the thread name
     */
    static void configure(String patroniLevel, boolean showThread) {
        String level =
                switch (patroniLevel == null ? "INFO" : patroniLevel.trim().toUpperCase(Locale.ROOT)) {
                    case "DEBUG", "TRACE" -> "debug";
                    case "WARNING", "WARN" -> "warn";
                    case "ERROR", "CRITICAL", "FATAL" -> "error";
                    default -> "info";
                };
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", level);
        setDefault("org.slf4j.simpleLogger.showDateTime", "true");
        setDefault("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd HH:mm:ss,SSS");
        setDefault("org.slf4j.simpleLogger.showThreadName", Boolean.toString(showThread));
        setDefault("org.slf4j.simpleLogger.showShortLogName", "true");
        setDefault("org.slf4j.simpleLogger.levelInBrackets", "false");
        // gRPC and Netty log through java.util.logging: warnings only, on stderr
        java.util.logging.Logger.getLogger("")
                .setLevel("DEBUG".equals(level) ? java.util.logging.Level.INFO : java.util.logging.Level.WARNING);
        for (String quiet : new String[] {
            "io.grpc",
            "io.netty",
            "io.vertx",
            "io.etcd",
            "org.apache.zookeeper",
            "org.apache.curator",
            "org.kiwiproject",
            "okhttp3",
            "org.postgresql"
        }) {
            setDefault(
                    "org.slf4j.simpleLogger.log." + quiet,
                    switch (level) {
                        case "debug" -> "info";
                        case "info" -> "warn";
                        default -> "error";
                    });
        }
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
