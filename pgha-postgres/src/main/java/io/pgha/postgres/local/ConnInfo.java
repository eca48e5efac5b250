package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds libpq connection strings ({@code key=value} pairs), quoting values the way libpq parses
 * them: a value that is empty or holds a space, a quote or a backslash is put in single quotes
 * with {@code '} and {@code \} escaped by a backslash. Never holds a password: pgha passes
 * passwords through the passfile only.
 */
final class ConnInfo {

    private final Map<String, String> values = new LinkedHashMap<>();

    ConnInfo set(String key, Object value) {
        if (value != null) {
            values.put(key, value.toString());
        }
        return this;
    }

    /** The conninfo of a replica or pg_rewind connecting to {@code upstream} as {@code user}. */
    static ConnInfo to(HostPort upstream, String user, String passfile, String applicationName, ClientSsl ssl) {
        return ssl.applyTo(new ConnInfo()
                .set("host", upstream.host())
                .set("port", upstream.port())
                .set("user", user)
                .set("passfile", passfile)
                .set("application_name", applicationName));
    }

    /**
     * This member's replication connection to {@code upstream} (primary_conninfo, pg_basebackup):
     * the replication user, its password from {@code passfile}, the member name as application_name
     * (what synchronous_standby_names and pg_stat_replication know it by), authentication.replication's
     * TLS settings.
     */
    static ConnInfo replication(LocalPostgresConfig config, Path passfile, Member upstream) throws PostgresException {
        return to(
                HostPort.of(upstream),
                config.replicationUser(),
                passfile.toString(),
                config.name(),
                config.replicationSsl());
    }

    static String quote(String value) {
        boolean plain = !value.isEmpty();
        for (int i = 0; i < value.length() && plain; i++) {
            char c = value.charAt(i);
            if (Character.isWhitespace(c) || c == '\'' || c == '\\' || c == '=') {
                plain = false;
            }
        }
        if (plain) {
            return value;
        }
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(k).append('=').append(quote(v));
        });
        return sb.toString();
    }

    /** Parses what {@link #toString()} writes (and libpq's simple forms) back into pairs. */
    static Map<String, String> parse(String conninfo) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = conninfo.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(conninfo.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            int eq = conninfo.indexOf('=', i);
            if (eq < 0) {
                throw new IllegalArgumentException("missing '=' in conninfo after '" + conninfo.substring(i) + "'");
            }
            String key = conninfo.substring(i, eq).trim();
            i = eq + 1;
            while (i < n && Character.isWhitespace(conninfo.charAt(i))) {
                i++;
            }
            StringBuilder v = new StringBuilder();
            // a quoted value ends at the closing quote, a plain one at white space; a backslash escapes in both
            boolean quoted = i < n && conninfo.charAt(i) == '\'';
            if (quoted) {
                i++;
            }
            while (i < n && (quoted ? conninfo.charAt(i) != '\'' : !Character.isWhitespace(conninfo.charAt(i)))) {
                char c = conninfo.charAt(i);
                if (c == '\\' && i + 1 < n) {
                    i++;
                    c = conninfo.charAt(i);
                }
                v.append(c);
                i++;
            }
            if (quoted) {
                if (i >= n) {
                    throw new IllegalArgumentException("unterminated quoted value for '" + key + "' in conninfo");
                }
                i++;
            }
            out.put(key, v.toString());
        }
        return out;
    }
}
