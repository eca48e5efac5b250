package io.pgha.dcs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/**
 * The JSON primitives pgha shares (one Jackson mapper that reads integers as longs) and Patroni's
 * timestamp format. The DCS values are encoded and decoded with them by
 * {@link io.pgha.dcs.spi.PatroniCodec}, so that each store holds byte-for-byte the same values and
 * they read back the way Patroni writes them; the REST API and the CLI use them too. Thread-safe.
 */
public final class DcsJson {
    private static final ObjectMapper MAPPER =
            new ObjectMapper().configure(DeserializationFeature.USE_LONG_FOR_INTS, true);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};
    private static final TypeReference<List<Object>> LIST = new TypeReference<>() {};
    private static final DateTimeFormatter PATRONI_TS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx");

    private DcsJson() {}

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "cannot encode " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** Decodes a JSON object; a value that is not one is an {@link IllegalArgumentException} with the reason. */
    public static Map<String, Object> readObject(String json) {
        if (json == null || json.isBlank()) {
            throw new IllegalArgumentException("empty value");
        }
        try {
            return MAPPER.readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a JSON object: " + e.getOriginalMessage());
        }
    }

    public static List<Object> readList(String json) {
        if (json == null || json.isBlank()) {
            throw new IllegalArgumentException("empty value");
        }
        try {
            return MAPPER.readValue(json, LIST);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a JSON list: " + e.getOriginalMessage());
        }
    }

    /** Patroni's timestamp format: ISO 8601 with microseconds and an offset. */
    public static String formatTimestamp(Instant instant) {
        return PATRONI_TS.format(OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
    }

    /** Reads an ISO 8601 timestamp with or without an offset (no offset means UTC). */
    public static Instant parseTimestamp(String text) {
        String t = text.trim();
        try {
            return OffsetDateTime.parse(t).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return java.time.LocalDateTime.parse(t.replace(' ', 'T')).toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                try {
                    return OffsetDateTime.parse(t.replace(' ', 'T')).toInstant();
                } catch (DateTimeParseException e3) {
                    throw new IllegalArgumentException("not an ISO 8601 timestamp: " + text);
                }
            }
        }
    }
}
