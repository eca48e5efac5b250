package io.pgha.postgres.local;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * initdb options, from Patroni's {@code bootstrap.initdb} list or from the builder, normalized to
 * {@code --name[=value]}; the options pgha passes itself are refused. The authentication methods
 * ({@code auth}, {@code auth-host}, {@code auth-local}) are the user's, as with Patroni: they only
 * shape initdb's own pg_hba.conf, which pgha does not use ({@code hba_file} names pgha.hba.conf).
 * Stateless.
 */
final class InitdbOptions {

    /** initdb options pgha passes itself and so refuses in {@code bootstrap.initdb}. */
    private static final Set<String> OWNED_INITDB_OPTIONS =
            Set.of("pgdata", "D", "pwfile", "pwprompt", "W", "username", "U", "waldir", "X");

    /** The authentication options; when the user gives none, pgha passes scram-sha-256 for both. */
    private static final Set<String> AUTH_OPTIONS = Set.of("auth", "A", "auth-host", "auth-local");

    private InitdbOptions() {}

    /** Whether the options (as normalized here) choose an authentication method. */
    static boolean choosesAuthentication(List<String> options) {
        return options.stream().anyMatch(o -> {
            String name = o.substring(2);
            int eq = name.indexOf('=');
            return AUTH_OPTIONS.contains(eq < 0 ? name : name.substring(0, eq));
        });
    }

    /**
     * Normalizes Patroni's {@code bootstrap.initdb} list: plain strings ({@code data-checksums}) and
     * single-key maps ({@code encoding: UTF8}) become {@code --data-checksums}, {@code --encoding=UTF8}.
     */
    static List<String> fromPatroni(Object initdb) {
        if (!(initdb instanceof List<?> list)) {
            throw new IllegalArgumentException(
                    "bootstrap.initdb must be a list of options, e.g. [data-checksums, {encoding: UTF8}]");
        }
        List<String> out = new ArrayList<>();
        for (Object item : list) {
            if (item instanceof String s) {
                out.add(option(s, null));
            } else if (item instanceof Map<?, ?> m && m.size() == 1) {
                Map.Entry<?, ?> e = m.entrySet().iterator().next();
                if (e.getValue() == null || e.getValue() instanceof Map || e.getValue() instanceof List) {
                    throw new IllegalArgumentException(
                            "bootstrap.initdb option '" + e.getKey() + "' needs a plain value");
                }
                out.add(option(String.valueOf(e.getKey()), String.valueOf(e.getValue())));
            } else {
                throw new IllegalArgumentException("bootstrap.initdb entry '" + item
                        + "' is neither an option name nor a single 'name: value' pair");
            }
        }
        return out;
    }

    /**
     * One option as {@code --name} or {@code --name=value}, from a name with or without its dashes.
     *
     * @throws IllegalArgumentException naming {@code bootstrap.initdb} for a name that is not an
     *     option or that pgha sets itself, or an invalid value
     */
    static String option(String rawName, String value) {
        String option = rawName.trim();
        while (option.startsWith("-")) {
            option = option.substring(1);
        }
        if (!option.matches("[A-Za-z][A-Za-z0-9-]*")) {
            throw new IllegalArgumentException("bootstrap.initdb option '" + rawName + "' is not an option name");
        }
        if (OWNED_INITDB_OPTIONS.contains(option)) {
            throw new IllegalArgumentException("bootstrap.initdb option '" + option + "' is set by pgha; remove it");
        }
        if (value == null) {
            return "--" + option;
        }
        if (value.isEmpty() || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bootstrap.initdb option '" + option + "' has an invalid value");
        }
        return "--" + option + "=" + value;
    }
}
