package io.pgha.postgres;

import java.util.Locale;

/**
 * Replication slot names from member names, exactly as Patroni derives them, so that a pgha member
 * and a Patroni member with the same name use the same slot: lower-cased, {@code -} and {@code .}
 * become {@code _}, any other character outside {@code [a-z0-9_]} becomes {@code u} and its code point
 * in four decimal digits, and the result is cut to 63 characters (PostgreSQL's NAMEDATALEN - 1).
 */
public final class SlotNames {

    public static final int MAX_LENGTH = 63;

    private SlotNames() {}

    public static String fromMemberName(String memberName) {
        if (memberName == null || memberName.isEmpty()) {
            throw new IllegalArgumentException("a member name is needed for a slot name");
        }
        String lower = memberName.toLowerCase(Locale.ROOT);
        StringBuilder out = new StringBuilder(lower.length());
        lower.codePoints().forEach(c -> {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
                out.append((char) c);
            } else if (c == '-' || c == '.') {
                out.append('_');
            } else {
                out.append('u').append(String.format(Locale.ROOT, "%04d", c));
            }
        });
        return out.length() > MAX_LENGTH ? out.substring(0, MAX_LENGTH) : out.toString();
    }

    public static boolean isValid(String slotName) {
        return slotName != null && slotName.matches("[a-z0-9_]{1," + MAX_LENGTH + "}");
    }
}
