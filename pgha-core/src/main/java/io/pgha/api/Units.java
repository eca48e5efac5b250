package io.pgha.api;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Patroni's {@code parse_int(value, base_unit)} for the two base units the REST API uses: bytes
 * ({@code ?lag=16kB}) and seconds ({@code "timeout": "1min"}). Units are case-sensitive as in
 * PostgreSQL: B, kB, MB, GB, TB (powers of 1024); us, ms, s, min, h, d.
 */
final class Units {
    private static final Pattern NUMBER =
            Pattern.compile("^\\s*([+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?)\\s*(\\S*)\\s*$");
    private static final Map<String, BigDecimal> BYTES = Map.of(
            "B", BigDecimal.ONE,
            "kB", BigDecimal.valueOf(1024L),
            "MB", BigDecimal.valueOf(1024L * 1024),
            "GB", BigDecimal.valueOf(1024L * 1024 * 1024),
            "TB", BigDecimal.valueOf(1024L * 1024 * 1024 * 1024));
    private static final Map<String, BigDecimal> SECONDS = Map.of(
            "us",
            new BigDecimal("0.000001"),
            "ms",
            new BigDecimal("0.001"),
            "s",
            BigDecimal.ONE,
            "min",
            BigDecimal.valueOf(60),
            "h",
            BigDecimal.valueOf(3600),
            "d",
            BigDecimal.valueOf(86400));

    private Units() {}

    /** Bytes from {@code 1048576}, {@code 1024kB}, {@code 10MB}; null when not a size. */
    static Long bytes(Object value) {
        return parse(value, BYTES);
    }

    /** Seconds from {@code 30}, {@code "30s"}, {@code "1min"}; null when not a duration. */
    static Long seconds(Object value) {
        return parse(value, SECONDS);
    }

    private static Long parse(Object value, Map<String, BigDecimal> units) {
        if (value == null || value instanceof Boolean) {
            return null;
        }
        if (value instanceof Number n
                && !(value instanceof Double)
                && !(value instanceof Float)
                && !(value instanceof BigDecimal)) {
            return n.longValue();
        }
        Matcher m = NUMBER.matcher(value.toString());
        if (!m.matches()) {
            return null;
        }
        BigDecimal number;
        try {
            number = new BigDecimal(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
        String unit = m.group(2);
        if (!unit.isEmpty()) {
            BigDecimal factor = units.get(unit);
            if (factor == null) {
                return null;
            }
            number = number.multiply(factor);
        }
        try {
            return number.setScale(0, RoundingMode.HALF_EVEN).longValueExact();
        } catch (ArithmeticException e) {
            return null;
        }
    }
}
