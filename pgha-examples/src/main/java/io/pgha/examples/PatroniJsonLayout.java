package io.pgha.examples;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code log.type: json} as Patroni writes it (Patroni 3.2+, python-json-logger's JsonFormatter):
 * one JSON object per line whose keys are the Python logging attributes named in {@code
 * log.format}, then {@code log.static_fields}, then {@code exc_info} when the event carries an
 * exception; {@code log.format} as a list renames keys. Serialized as Python's {@code json.dumps}
 * does by default ({@code ", "} and {@code ": "} separators, non-ASCII as {@code \\uXXXX}), so a
 * pipeline that parses Patroni's lines (or compares them as text) reads pgha's the same way.
 */
final class PatroniJsonLayout extends LayoutBase<ILoggingEvent> {

    /** Patroni's {@code PatroniLogger.DEFAULT_FORMAT}, also its default for json. */
    static final String DEFAULT_FORMAT = "%(asctime)s %(levelname)s: %(message)s";

    /** python-json-logger's field pattern for the {@code %} style: {@code %(name)} */
    private static final Pattern FIELD = Pattern.compile("%\\((.+?)\\)");

    /**
     * Python's PercentStyle validation: without one well-formed {@code %(name)s} Python's Formatter
     * refuses the format (Patroni then cannot build a formatter either).
     */
    private static final Pattern VALID =
            Pattern.compile("%\\(\\w+\\)[#0+ -]*(\\*|\\d+)?(\\.(\\*|\\d+))?[diouxefgcrsa%]");

    private static final long PID = ProcessHandle.current().pid();

    /** One output key: the Python attribute it reads and the key it is written under. */
    record Field(String attribute, String key) {}

    private final List<Field> fields;
    private final Map<String, Object> staticFields;
    private final String exceptionKey;
    private final String dateformat;
    private final boolean caller;

    /**
     * @param fields from {@link #fields(Object)}
     * @param staticFields from {@link #staticFields(Object, Map)}, keys already renamed
     * @param renames attribute to key, from a list {@code log.format}
     * @param dateformat strftime for {@code asctime}, null for Python's default
     */
    PatroniJsonLayout(
            List<Field> fields, Map<String, Object> staticFields, Map<String, String> renames, String dateformat) {
        this.fields = List.copyOf(fields);
        this.staticFields = Collections.unmodifiableMap(new LinkedHashMap<>(staticFields));
        this.exceptionKey = renames.getOrDefault("exc_info", "exc_info");
        this.dateformat = dateformat == null || dateformat.isEmpty() ? null : dateformat;
        // caller data walks the stack: only when the format asks for it
        this.caller = fields.stream().anyMatch(f -> switch (f.attribute()) {
            case "filename", "pathname", "module", "funcName", "lineno" -> true;
            default -> false;
        });
    }

    /**
     * Patroni's {@code log.format} for json as output keys, in order, renamed. A string: each
     * {@code %(name)} in it (python-json-logger's parse). A list: each item an attribute name or a
     * mapping {attribute: key}; an empty list is Patroni's default format.
     *
     * @throws IllegalArgumentException naming {@code log.format}; Patroni warns and skips a bad
     *     list item instead, pgha stops so the key a pipeline expects is not silently missing
     */
    static List<Field> fields(Object format) {
        if (format == null) {
            return fields(DEFAULT_FORMAT);
        }
        List<Field> out = new ArrayList<>();
        if (format instanceof List<?> list) {
            Map<String, String> renames = new LinkedHashMap<>();
            for (Object item : list) {
                if (item instanceof Map<?, ?> m) {
                    for (Map.Entry<?, ?> e : m.entrySet()) {
                        if (!(e.getValue() instanceof String key) || key.isEmpty()) {
                            throw new IllegalArgumentException("log.format: the new name of '" + e.getKey()
                                    + "' must be a string, found '" + e.getValue() + "'");
                        }
                        out.add(new Field(attribute(e.getKey()), key));
                        renames.put(attribute(e.getKey()), key);
                    }
                } else if (item instanceof String name) {
                    out.add(new Field(attribute(name), name));
                } else {
                    // Patroni warns and skips the item; pgha stops so no expected key goes missing
                    throw new IllegalArgumentException(
                            "log.format: each list item must be an attribute name or {attribute: new_name}, found '"
                                    + item + "'");
                }
            }
            if (out.isEmpty()) {
                return fields(DEFAULT_FORMAT);
            }
            // python-json-logger renames an attribute wherever it appears, whichever item named it
            return dedupe(out.stream()
                    .map(f -> new Field(f.attribute(), renames.getOrDefault(f.attribute(), f.attribute())))
                    .toList());
        }
        if (format instanceof Map<?, ?>) {
            throw new IllegalArgumentException("log.format must be a string or a list, found a mapping");
        }
        String text = format.toString();
        if (!VALID.matcher(text).find()) {
            throw new IllegalArgumentException(
                    "log.format must name at least one attribute as %(name)s, found '" + text + "'");
        }
        Matcher m = FIELD.matcher(text);
        while (m.find()) {
            out.add(new Field(m.group(1), m.group(1)));
        }
        return dedupe(out);
    }

    /** Renames a list {@code log.format} asks for: attribute to key. */
    static Map<String, String> renames(List<Field> fields) {
        Map<String, String> out = new LinkedHashMap<>();
        fields.stream().filter(f -> !f.attribute().equals(f.key())).forEach(f -> out.put(f.attribute(), f.key()));
        return out;
    }

    /**
     * Patroni's {@code log.static_fields}, keys renamed as python-json-logger renames them.
     *
     * @throws IllegalArgumentException naming {@code log.static_fields} when it is not a mapping
     */
    static Map<String, Object> staticFields(Object value, Map<String, String> renames) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (value == null) {
            return out;
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(
                    "log.static_fields must be a mapping of keys to values, found '" + value + "'");
        }
        m.forEach((k, v) -> {
            String key = String.valueOf(k);
            out.put(renames.getOrDefault(key, key), v);
        });
        return out;
    }

    /** A list item's attribute name: python-json-logger finds it again in {@code %(name)s}. */
    private static String attribute(Object name) {
        String s = String.valueOf(name);
        if (s.isEmpty() || s.contains(")")) {
            throw new IllegalArgumentException("log.format: '" + s + "' is not an attribute name");
        }
        return s;
    }

    /** A Python dict keeps the first position of a key written twice, and the last value. */
    private static List<Field> dedupe(List<Field> fields) {
        Map<String, Field> byKey = new LinkedHashMap<>();
        fields.forEach(f -> byKey.put(f.key(), f));
        return List.copyOf(byKey.values());
    }

    @Override
    public String doLayout(ILoggingEvent event) {
        Map<String, Object> record = new LinkedHashMap<>();
        StackTraceElement where = caller ? callerFrame(event) : null;
        for (Field f : fields) {
            record.put(f.key(), value(f.attribute(), event, where));
        }
        // after the attributes, as python-json-logger's add_fields: a static key overrides in place
        record.putAll(staticFields);
        String trace = trace(event.getThrowableProxy());
        if (trace != null) {
            record.put(exceptionKey, trace);
        }
        StringBuilder out = new StringBuilder(256);
        json(record, out);
        return out.append('\n').toString();
    }

    /** The Logback event's closest value for a Python LogRecord attribute; docs/configuration.md. */
    private Object value(String attribute, ILoggingEvent event, StackTraceElement where) {
        return switch (attribute) {
            case "asctime" -> asctime(event.getTimeStamp());
            case "levelname" -> levelname(event.getLevel());
            case "levelno" -> levelno(event.getLevel());
            case "message", "msg" -> event.getFormattedMessage(); // Patroni's queue stores the message as msg
            case "name" -> event.getLoggerName();
            case "process" -> PID;
            case "processName" -> "MainProcess";
            case "thread" -> threadId(event);
            case "threadName" -> event.getThreadName();
            case "filename", "pathname" -> where == null ? "(unknown file)" : fileName(where);
            case "module" -> where == null ? "(unknown file)" : fileName(where).replaceFirst("\\.[^.]*$", "");
            case "funcName" -> where == null ? "(unknown function)" : where.getMethodName();
            case "lineno" -> where == null ? 0 : Math.max(where.getLineNumber(), 0);
            case "created" -> new Decimal(BigDecimal.valueOf(event.getTimeStamp(), 3));
            case "msecs" -> new Decimal(BigDecimal.valueOf(Math.floorMod(event.getTimeStamp(), 1000L)));
            case "relativeCreated" ->
                new Decimal(BigDecimal.valueOf(
                        event.getTimeStamp() - event.getLoggerContextVO().getBirthTime()));
            case "exc_info", "exc_text" -> trace(event.getThrowableProxy());
            // on Patroni's record these are None (args, stack_info, taskName) or absent: the
            // formatter then writes null (record.__dict__.get), and so does pgha
            default -> null;
        };
    }

    private static StackTraceElement callerFrame(ILoggingEvent event) {
        StackTraceElement[] frames = event.getCallerData();
        return frames == null || frames.length == 0 ? null : frames[0];
    }

    private static String fileName(StackTraceElement where) {
        return where.getFileName() == null ? "(unknown file)" : where.getFileName();
    }

    /**
     * Python's thread ident. The event keeps only the thread's name; the appenders pgha configures
     * encode on the logging thread, so the current thread is the event's when the names agree.
     */
    private static Object threadId(ILoggingEvent event) {
        Thread t = Thread.currentThread();
        return t.getName().equals(event.getThreadName()) ? (Object) t.getId() : null;
    }

    static String levelname(Level level) {
        return switch (level.levelInt) {
            case Level.ERROR_INT -> "ERROR";
            case Level.WARN_INT -> "WARNING";
            case Level.INFO_INT -> "INFO";
            case Level.DEBUG_INT -> "DEBUG";
            default -> level.levelStr; // TRACE: pgha's, Patroni has no such level
        };
    }

    static int levelno(Level level) {
        return switch (level.levelInt) {
            case Level.ERROR_INT -> 40;
            case Level.WARN_INT -> 30;
            case Level.INFO_INT -> 20;
            case Level.DEBUG_INT -> 10;
            default -> 5;
        };
    }

    /** Python's Formatter.formatTime: local time; {@code 2024-05-01 12:00:00,123} by default. */
    String asctime(long millis) {
        ZonedDateTime t = Instant.ofEpochMilli(millis).atZone(ZoneId.systemDefault());
        if (dateformat == null) {
            return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss,SSS", Locale.ROOT)
                    .format(t);
        }
        return strftime(dateformat, t); // Python adds no milliseconds to a datefmt
    }

    /** C strftime's common directives (as time.strftime on Linux); others are kept as written. */
    static String strftime(String format, ZonedDateTime t) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            String v = switch (d) {
                case 'Y' -> String.format(Locale.ROOT, "%04d", t.getYear());
                case 'y' -> String.format(Locale.ROOT, "%02d", t.getYear() % 100);
                case 'm' -> String.format(Locale.ROOT, "%02d", t.getMonthValue());
                case 'd' -> String.format(Locale.ROOT, "%02d", t.getDayOfMonth());
                case 'H' -> String.format(Locale.ROOT, "%02d", t.getHour());
                case 'I' -> String.format(Locale.ROOT, "%02d", (t.getHour() + 11) % 12 + 1);
                case 'M' -> String.format(Locale.ROOT, "%02d", t.getMinute());
                case 'S' -> String.format(Locale.ROOT, "%02d", t.getSecond());
                case 'j' -> String.format(Locale.ROOT, "%03d", t.getDayOfYear());
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'z' -> DateTimeFormatter.ofPattern("xx", Locale.ROOT).format(t);
                case 'Z' -> DateTimeFormatter.ofPattern("zzz", Locale.ENGLISH).format(t);
                case 's' -> Long.toString(t.toEpochSecond());
                case '%' -> "%";
                default -> "%" + d;
            };
            out.append(v);
        }
        return out.toString();
    }

    /** Python's formatException: the traceback without its last line break. */
    private static String trace(IThrowableProxy proxy) {
        if (proxy == null) {
            return null;
        }
        String text = ThrowableProxyUtil.asString(proxy);
        return text.stripTrailing();
    }

    /** A float as Python's json writes it: plain digits, at least one decimal. */
    private record Decimal(BigDecimal value) {
        @Override
        public String toString() {
            BigDecimal v = value.stripTrailingZeros();
            return v.scale() <= 0 ? v.setScale(1).toPlainString() : v.toPlainString();
        }
    }

    /** Python's json.dumps with its defaults: {@code ", "}, {@code ": "}, ensure_ascii. */
    static void json(Object value, StringBuilder out) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean
                || value instanceof Integer
                || value instanceof Long
                || value instanceof Decimal
                || value instanceof java.math.BigInteger) {
            out.append(value);
        } else if (value instanceof Number n) {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                out.append(Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"); // as Python
            } else {
                out.append(new Decimal(new BigDecimal(n.toString())));
            }
        } else if (value instanceof Map<?, ?> m) {
            out.append('{');
            String sep = "";
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.append(sep);
                string(String.valueOf(e.getKey()), out);
                out.append(": ");
                json(e.getValue(), out);
                sep = ", ";
            }
            out.append('}');
        } else if (value instanceof Iterable<?> list) {
            out.append('[');
            String sep = "";
            for (Object item : list) {
                out.append(sep);
                json(item, out);
                sep = ", ";
            }
            out.append(']');
        } else {
            string(value.toString(), out); // dates and the like: python-json-logger writes them as text
        }
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        // ensure_ascii: lower-case hex, a surrogate pair stays two escapes
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
