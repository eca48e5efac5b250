package io.pgha.examples;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * The runner's log, on Logback, from Patroni's {@code log} section: {@code level}, {@code format}
 * and {@code dateformat} (Python's logging format, translated), {@code type: json} with {@code
 * static_fields} (Patroni's keys: {@link PatroniJsonLayout}), {@code dir}
 * with {@code file_size} and {@code file_num} (a rotated {@code patroni.log} instead of stderr, as
 * Patroni's RotatingFileHandler), {@code loggers} (a level per logger name). Without a
 * {@code format}: one line per event with the time, the level, the thread (the HA threads are
 * named {@code pgha-<member>-ha}, so every HA line names its node) and the class. Chatty client
 * libraries (gRPC, Netty, ZooKeeper, Curator, jetcd, Vert.x) log one level above the root.
 * Configuring again (a reload) replaces everything. Thread-safe as Logback's reset is.
 */
final class Logging {

    /** Patroni's defaults for {@code log.file_size} and {@code log.file_num}. */
    static final long DEFAULT_FILE_SIZE = 25_000_000L;

    static final int DEFAULT_FILE_NUM = 4;

    private static final String PGHA_PATTERN = "%d{\"yyyy-MM-dd HH:mm:ss,SSS\"} [%thread] %level %logger{0} - %msg%n";
    private static final String[] QUIET = {
        "io.grpc",
        "io.netty",
        "io.vertx",
        "io.etcd",
        "org.apache.zookeeper",
        "org.apache.curator",
        "org.kiwiproject",
        "okhttp3",
        "org.postgresql"
    };

    private Logging() {}

    /**
     * @param patroniLevel Patroni's {@code log.level}: DEBUG, INFO, WARNING, ERROR or CRITICAL
     * @param showThread whether to print the thread name
     */
    static void configure(String patroniLevel, boolean showThread) {
        Map<String, Object> section = new LinkedHashMap<>();
        section.put("level", patroniLevel);
        apply(section, showThread);
    }

    /**
     * Configures the log from Patroni's {@code log} section (null or empty: INFO on stderr).
     *
     * @throws IllegalArgumentException naming {@code log.<key>} for a value that cannot be used;
     *     nothing is changed then
     */
    static void configure(Map<String, ?> section) {
        apply(section == null ? Map.of() : section, true);
    }

    private static void apply(Map<String, ?> section, boolean showThread) {
        Level level = level(section.get("level"), "log.level");
        String type = string(section.get("type"), "plain").toLowerCase(Locale.ROOT);
        if (!type.equals("plain") && !type.equals("json")) {
            throw new IllegalArgumentException("log.type must be plain or json, found '" + type + "'");
        }
        String dateformat = section.get("dateformat") == null
                ? null
                : section.get("dateformat").toString();
        Object format = section.get("format");
        String pattern = null;
        PatroniJsonLayout json = null;
        if (type.equals("json")) {
            // checked here, before the reset, so a bad value leaves the running log alone
            List<PatroniJsonLayout.Field> fields = PatroniJsonLayout.fields(format);
            Map<String, String> renames = PatroniJsonLayout.renames(fields);
            json = new PatroniJsonLayout(
                    fields, PatroniJsonLayout.staticFields(section.get("static_fields"), renames), renames, dateformat);
        } else if (format instanceof List<?> || format instanceof Map<?, ?>) {
            // Patroni warns and falls back to its default format; a list only means something for json
            throw new IllegalArgumentException(
                    "log.format must be a string with log.type plain (a list needs log.type json)");
        } else {
            pattern = format == null
                    ? (showThread ? PGHA_PATTERN : PGHA_PATTERN.replace("[%thread] ", ""))
                    : pythonFormat(format.toString(), dateformat);
        }
        Object dir = section.get("dir");
        long fileSize = number(section.get("file_size"), DEFAULT_FILE_SIZE, "log.file_size");
        long fileNum = number(section.get("file_num"), DEFAULT_FILE_NUM, "log.file_num");
        if (fileSize < 1 || fileNum < 1 || fileNum > 20) {
            throw new IllegalArgumentException("log.file_size must be at least 1 and log.file_num 1 to 20");
        }
        Map<String, Level> loggers = new LinkedHashMap<>();
        if (section.get("loggers") instanceof Map<?, ?> m) {
            m.forEach((k, v) -> loggers.put(String.valueOf(k), level(v, "log.loggers." + k)));
        } else if (section.get("loggers") != null) {
            throw new IllegalArgumentException("log.loggers must map logger names to levels");
        }

        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return; // another SLF4J provider was chosen by the embedding: leave it alone
        }
        ctx.reset();
        Encoder<ILoggingEvent> encoder = encoder(ctx, json, pattern);
        OutputStreamAppender<ILoggingEvent> appender;
        if (dir != null && !dir.toString().isBlank()) {
            RollingFileAppender<ILoggingEvent> file = new RollingFileAppender<>();
            String name = Path.of(dir.toString()).resolve("patroni.log").toString();
            file.setContext(ctx);
            file.setFile(name);
            FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
            rolling.setContext(ctx);
            rolling.setParent(file);
            rolling.setFileNamePattern(name + ".%i");
            rolling.setMinIndex(1);
            rolling.setMaxIndex((int) fileNum);
            rolling.start();
            SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
            trigger.setContext(ctx);
            trigger.setMaxFileSize(new FileSize(fileSize));
            // every event, as Python's RotatingFileHandler (Logback's default looks once a minute)
            trigger.setCheckIncrement(ch.qos.logback.core.util.Duration.buildByMilliseconds(0));
            trigger.start();
            file.setRollingPolicy(rolling);
            file.setTriggeringPolicy(trigger);
            appender = file;
        } else {
            ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
            console.setContext(ctx);
            console.setTarget("System.err");
            appender = console;
        }
        appender.setName("pgha");
        appender.setEncoder(encoder);
        appender.start();
        ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(level);
        root.addAppender(appender);
        Level quiet = level.levelInt <= Level.DEBUG_INT
                ? Level.INFO
                : level.levelInt <= Level.INFO_INT ? Level.WARN : Level.ERROR;
        for (String name : QUIET) {
            ctx.getLogger(name).setLevel(quiet);
        }
        loggers.forEach((name, l) -> ctx.getLogger(name).setLevel(l));
        // gRPC and Netty log through java.util.logging: warnings only, on stderr
        java.util.logging.Logger.getLogger("")
                .setLevel(
                        level.levelInt <= Level.DEBUG_INT
                                ? java.util.logging.Level.INFO
                                : java.util.logging.Level.WARNING);
    }

    private static Encoder<ILoggingEvent> encoder(LoggerContext ctx, PatroniJsonLayout json, String pattern) {
        if (json != null) {
            json.setContext(ctx);
            json.start();
            LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
            encoder.setContext(ctx);
            encoder.setCharset(java.nio.charset.StandardCharsets.UTF_8);
            encoder.setLayout(json);
            encoder.start();
            return encoder;
        }
        PatternLayoutEncoder layout = new PatternLayoutEncoder();
        layout.setContext(ctx);
        layout.setPattern(pattern);
        layout.start();
        return layout;
    }

    /** Patroni's level names (Python's) as Logback's. */
    static Level level(Object value, String key) {
        String name = value == null ? "INFO" : value.toString().trim().toUpperCase(Locale.ROOT);
        return switch (name) {
            case "DEBUG", "NOTSET" -> Level.DEBUG;
            case "TRACE" -> Level.TRACE;
            case "INFO" -> Level.INFO;
            case "WARNING", "WARN" -> Level.WARN;
            case "ERROR", "CRITICAL", "FATAL" -> Level.ERROR;
            default ->
                throw new IllegalArgumentException(
                        key + " must be DEBUG, INFO, WARNING, ERROR or CRITICAL, found '" + value + "'");
        };
    }

    /**
     * A Python logging format ({@code %(asctime)s %(levelname)s: %(message)s}, Patroni's default)
     * as a Logback pattern; {@code dateformat} (strftime) for {@code asctime}.
     */
    static String pythonFormat(String format, String dateformat) {
        String date = dateformat == null || dateformat.isBlank() ? "yyyy-MM-dd HH:mm:ss,SSS" : strftime(dateformat);
        StringBuilder out = new StringBuilder();
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("%\\((\\w+)\\)-?\\d*[sdf]|%%").matcher(format);
        int last = 0;
        while (m.find()) {
            out.append(escape(format.substring(last, m.start())));
            if (m.group().equals("%%")) {
                out.append("\\%");
            } else {
                out.append(
                        switch (m.group(1)) {
                            case "asctime" -> "%d{\"" + date + "\"}"; // quoted: a comma would start the zone option
                            case "levelname" -> "%level";
                            case "message" -> "%msg";
                            case "name" -> "%logger";
                            case "threadName" -> "%thread";
                            case "process" -> "%property{PID}";
                            case "funcName" -> "%method";
                            case "lineno" -> "%line";
                            case "pathname", "filename", "module" -> "%file";
                            default -> escape(m.group());
                        });
            }
            last = m.end();
        }
        out.append(escape(format.substring(last)));
        return out.append("%n").toString();
    }

    private static String strftime(String f) {
        return f.replace("%Y", "yyyy")
                .replace("%m", "MM")
                .replace("%d", "dd")
                .replace("%H", "HH")
                .replace("%M", "mm")
                .replace("%S", "ss")
                .replace("%z", "Z");
    }

    /** Literal text in a Logback pattern. */
    private static String escape(String literal) {
        return literal.replace("\\", "\\\\")
                .replace("%", "\\%")
                .replace("(", "\\(")
                .replace(")", "\\)");
    }

    private static String string(Object v, String fallback) {
        return v == null ? fallback : v.toString().trim();
    }

    private static long number(Object v, long fallback, String key) {
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, found '" + v + "'", e);
        }
    }
}
