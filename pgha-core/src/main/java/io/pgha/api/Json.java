package io.pgha.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON in and out of the REST API, and the timestamp formats Patroni prints. Thread-safe. */
final class Json {
    /** The deepest nesting of objects and arrays accepted in a request body. */
    static final int MAX_DEPTH = 32;
    /** The longest string or number accepted in a request body (the body itself is capped). */
    static final int MAX_TOKEN_CHARS = 64 * 1024;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_DEPTH)
                            .maxNumberLength(100)
                            .maxStringLength(MAX_TOKEN_CHARS)
                            .build())
                    .build())
            .configure(DeserializationFeature.USE_LONG_FOR_INTS, true)
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);
    private static final TypeReference<Object> ANY = new TypeReference<>() {};
    private static final DateTimeFormatter PY_STR = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private static final DateTimeFormatter PY_ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");
    private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern(".SSSSSS");

    private Json() {}

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Parses any JSON value; a syntax error is an {@link ApiError} 400 naming the position. */
    static Object read(String text) throws ApiError {
        try {
            return MAPPER.readValue(text, ANY);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null
                    ? ""
                    : " at line " + e.getLocation().getLineNr() + " column "
                            + e.getLocation().getColumnNr();
            throw new ApiError(400, "malformed JSON body" + where + ": " + e.getOriginalMessage());
        }
    }

    /**
     * A request's string as it may go into a log line: control characters (a forged line break)
     * escaped as {@code \\uXXXX}, and cut at 100 characters.
     */
    static String loggable(Object value) {
        if (value == null) {
            return "null";
        }
        String s = value.toString();
        StringBuilder b = new StringBuilder(Math.min(s.length(), 110));
        for (int i = 0; i < s.length() && i < 100; i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return s.length() > 100
                ? b.append("...(").append(s.length()).append(" chars)").toString()
                : b.toString();
    }

    /** Deep, mutable copy of a JSON object (maps and lists copied, leaves shared: they are immutable). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> deepCopy(Map<String, Object> map) {
        Map<String, Object> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(
                k, v instanceof Map ? deepCopy((Map<String, Object>) v) : v instanceof List<?> l ? List.copyOf(l) : v));
        return copy;
    }

    /** Python's {@code str(datetime)} in UTC: {@code 2024-08-28 19:39:26.352526+00:00}. */
    static String pythonStr(Instant instant) {
        return format(instant, PY_STR);
    }

    /** Python's {@code datetime.isoformat()} in UTC: {@code 2024-08-28T19:39:26+00:00}. */
    static String pythonIso(Instant instant) {
        return format(instant, PY_ISO);
    }

    private static String format(Instant instant, DateTimeFormatter base) {
        OffsetDateTime t = OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
        return base.format(t) + (t.getNano() / 1000 == 0 ? "" : MICROS.format(t)) + "+00:00";
    }

    /** Epoch seconds with the microseconds Patroni prints in /metrics ({@code 1724873966.352526}). */
    static String epochSeconds(Instant instant) {
        if (instant == null) {
            return "0";
        }
        long micros = instant.getNano() / 1000;
        return micros == 0
                ? instant.getEpochSecond() + ".0"
                : instant.getEpochSecond() + "." + String.format("%06d", micros).replaceAll("0+$", "");
    }
}
