package io.pgha.api;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Patroni's {@code parse_int(value, base_unit)} for the two base units the REST API uses: bytes
 * ({@code ?lag=16kB}) and seconds ({@code "timeout": "1min"}). Units are case-sensitive as in
 * PostgreSQL: B, kB, MB, GB, TB (powers of 1024); us, ms, s, min, h, d.
 *
 * <p>Hostile input is bounded before any arithmetic: a text longer than {@link #MAX_LENGTH}
 * characters, or a number of magnitude 10^{@link #MAX_MAGNITUDE} or more, is
 * {@link OutOfRange} (the REST API answers 400); a number below 10^-{@link #MAX_MAGNITUDE} is
 * zero. So {@code 1e300000000} costs what {@code 1} costs instead of a 10^300000000 digit number.
 */
final class Units {
    /** The longest text parsed as a number with a unit. */
    static final int MAX_LENGTH = 64;
    /** Decimal orders of magnitude accepted on either side of 1 (a long holds 9.2e18). */
    static final int MAX_MAGNITUDE = 20;

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

    /** A number too long or too large to be a size or a duration (not merely malformed). */
    static final class OutOfRange extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        OutOfRange(String message) {
            super(message);
        }
    }

    /**
     * Bytes from {@code 1048576}, {@code 1024kB}, {@code 10MB}; null when not a size.
     *
     * @throws OutOfRange when the text is longer than {@link #MAX_LENGTH} or the value does not fit a long
     */
    static Long bytes(Object value) {
        return parse(value, BYTES);
    }

    /**
     * Seconds from {@code 30}, {@code "30s"}, {@code "1min"}; null when not a duration.
     *
     * @throws OutOfRange when the text is longer than {@link #MAX_LENGTH} or the value does not fit a long
     */
    static Long seconds(Object value) {
        return parse(value, SECONDS);
    }

    private static Long parse(Object value, Map<String, BigDecimal> units) {
        if (value == null || value instanceof Boolean) {
            return null;
        }
        if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof BigInteger b) {
            if (b.bitLength() > 63) {
                throw new OutOfRange("number out of range");
            }
            return b.longValue();
        }
        String text = value.toString();
        if (text.length() > MAX_LENGTH) {
            throw new OutOfRange("value longer than " + MAX_LENGTH + " characters");
        }
        Matcher m = NUMBER.matcher(text);
        if (!m.matches()) {
            return null;
        }
        BigDecimal number;
        try {
            number = new BigDecimal(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (number.signum() == 0) {
            return 0L;
        }
        // digits left of the point: 1e300000000 has 300000001, 1e-300000000 has -299999999
        long magnitude = (long) number.precision() - number.scale();
        if (magnitude > MAX_MAGNITUDE) {
            throw new OutOfRange("number out of range");
        }
        if (magnitude < -MAX_MAGNITUDE) {
            return 0L;
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
            throw new OutOfRange("number out of range");
        }
    }
}
