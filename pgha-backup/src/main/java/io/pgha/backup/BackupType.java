package io.pgha.backup;

import java.util.Locale;

/** The kinds of backup pgha takes: pgBackRest's full and differential, and a pg_dump. */
public enum BackupType {
    FULL,
    DIFF,
    LOGICAL;

    /** pgBackRest's name ({@code full}, {@code diff}); {@code logical} for a dump. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The type a configuration or command line names (case and surrounding blanks ignored).
     *
     * @throws IllegalArgumentException naming the value when it is none of full, diff, logical
     */
    public static BackupType parse(String text) {
        if (text != null) {
            switch (text.strip().toLowerCase(Locale.ROOT)) {
                case "full" -> {
                    return FULL;
                }
                case "diff", "differential" -> {
                    return DIFF;
                }
                case "logical", "dump" -> {
                    return LOGICAL;
                }
                default -> {}
            }
        }
        throw new IllegalArgumentException("backup type '" + text + "': expected full, diff or logical");
    }
}
