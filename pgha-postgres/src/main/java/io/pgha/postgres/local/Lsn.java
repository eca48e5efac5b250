package io.pgha.postgres.local;

import java.util.Locale;

/**
 * PostgreSQL WAL positions ({@code pg_lsn}) as the unsigned 64-bit numbers pgha stores: the text
 * form is two hexadecimal halves, {@code high/low}, e.g. {@code 0/3000060}.
 */
final class Lsn {

    private Lsn() {}

    /** Parses {@code X/Y}; throws IllegalArgumentException naming the value when it is not an LSN. */
    static long parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("not an LSN: null");
        }
        String s = text.trim();
        int slash = s.indexOf('/');
        if (slash <= 0 || slash == s.length() - 1 || slash > 8 || s.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not an LSN: '" + text + "'");
        }
        try {
            long high = Long.parseLong(s.substring(0, slash), 16);
            long low = Long.parseLong(s.substring(slash + 1), 16);
            return (high << 32) | low;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN: '" + text + "'", e);
        }
    }

    /** Formats as PostgreSQL prints it ({@code %X/%X}): {@code 0/3000060}. */
    static String format(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(Locale.ROOT);
    }
}
