package io.pgha.postgres.local;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renders the two files pgha owns in a data directory: {@code postgresql.pgha.conf} (included at
 * the end of the user's postgresql.conf) and {@code pgha.hba.conf} (named by {@code hba_file}).
 * Pure functions (a warning logged aside); the controller writes the results. Also checks
 * {@code postgresql.parameters} against the settings these files own.
 */
final class ManagedConfig {

    private static final Logger LOG = LoggerFactory.getLogger(ManagedConfig.class);

    /** The parameters pgha sets itself for replication; a {@code parameters} entry for one of them is an error. */
    static final Set<String> OWNED_PARAMETERS =
            Set.of("hba_file", "primary_conninfo", "primary_slot_name", "recovery_target_timeline");

    /**
     * Parameters pgha sets from other keys, as Patroni does, and which Patroni silently overrides
     * when they appear in {@code parameters}: pgha ignores them too (so a Patroni file runs as it
     * is), with a warning.
     */
    static final Set<String> OVERRIDDEN_PARAMETERS = Set.of("listen_addresses", "port", "synchronous_standby_names");

    static final String CONF_FILE = "postgresql.pgha.conf";
    static final String HBA_FILE = "pgha.hba.conf";
    static final String INCLUDE_LINE = "include_if_exists = '" + CONF_FILE + "'";

    /** pgha's defaults; {@code postgresql.parameters} may change any of them. */
    static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("wal_level", "replica");
        d.put("hot_standby", "on");
        d.put("max_wal_senders", "10");
        d.put("max_replication_slots", "10");
        d.put("wal_log_hints", "on");
        d.put("wal_keep_size", "128MB");
        d.put("hot_standby_feedback", "on");
        return d;
    }

    private ManagedConfig() {}

    /**
     * {@code postgresql.parameters} as postgresql.pgha.conf will hold them: names lower-cased, the
     * ones pgha sets from other keys dropped with a warning.
     *
     * @throws IllegalArgumentException naming {@code postgresql.parameters.<name>} for an invalid
     *     name or value, or a parameter pgha owns
     */
    static Map<String, String> userParameters(Map<String, String> raw) {
        Map<String, String> params = new LinkedHashMap<>();
        raw.forEach((k, v) -> {
            if (k == null || !k.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
                throw new IllegalArgumentException("postgresql.parameters has an invalid name: '" + k + "'");
            }
            String key = k.toLowerCase(Locale.ROOT);
            if (OVERRIDDEN_PARAMETERS.contains(key)) {
                LOG.warn("postgresql.parameters.{} is ignored: pgha sets it {}", key, ownedBy(key));
                return;
            }
            if (OWNED_PARAMETERS.contains(key)) {
                throw new IllegalArgumentException("postgresql.parameters." + key + " is set by pgha (" + ownedBy(key)
                        + "); remove it from parameters");
            }
            // one line each in postgresql.pgha.conf
            if (v == null || v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("postgresql.parameters." + key + " has an invalid value");
            }
            params.put(key, v);
        });
        return params;
    }

    private static String ownedBy(String key) {
        return switch (key) {
            case "listen_addresses", "port" -> "from postgresql.listen";
            case "synchronous_standby_names" -> "from synchronous_mode";
            default -> "for replication and pg_hba";
        };
    }

    /**
     * The content of postgresql.pgha.conf.
     *
     * @param primaryConninfo the upstream's conninfo on a replica, null on a primary
     * @param slotName the upstream slot on a replica (null: none)
     * @param synchronousStandbyNames the current value, null or empty for none
     */
    static String render(
            LocalPostgresConfig config,
            Path socketDir,
            Path hbaFile,
            String primaryConninfo,
            String slotName,
            String synchronousStandbyNames) {
        Map<String, String> p = defaults();
        p.put("unix_socket_directories", socketDir.toString());
        p.putAll(config.parameters());
        StringBuilder sb = new StringBuilder();
        sb.append("# Written by pgha for member '")
                .append(config.name().replace("\n", " "))
                .append("'.\n")
                .append(
                        "# pgha rewrites this file on every start, clone, rewind, follow and promote: do not edit it.\n")
                .append("# Set parameters through postgresql.parameters in pgha's configuration instead.\n\n");
        p.forEach((k, v) -> line(sb, k, v));
        sb.append("\n# owned by pgha\n");
        line(sb, "listen_addresses", config.listenAddresses());
        line(sb, "port", String.valueOf(config.port()));
        line(sb, "hba_file", hbaFile.toString());
        line(sb, "synchronous_standby_names", synchronousStandbyNames == null ? "" : synchronousStandbyNames);
        line(sb, "primary_conninfo", primaryConninfo == null ? "" : primaryConninfo);
        line(sb, "primary_slot_name", primaryConninfo == null || slotName == null ? "" : slotName);
        line(sb, "recovery_target_timeline", "latest");
        return sb.toString();
    }

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(key).append(" = ").append(quote(value)).append('\n');
    }

    /** A postgresql.conf string literal: single quotes, with {@code '} and {@code \} escaped. */
    static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /**
     * The content of pgha.hba.conf. First pgha's own access, so that no user line can lock pgha
     * out of its own instance: the superuser and replication user over loopback, password
     * (SCRAM) required. Then {@code postgresql.pg_hba} as given, or, when it is empty, the
     * defaults Patroni's documentation suggests: replication and all users from anywhere, with a
     * SCRAM password.
     */
    static String hba(LocalPostgresConfig config) {
        String su = hbaName(config.superuser());
        String repl = hbaName(config.replicationUser());
        StringBuilder sb = new StringBuilder();
        sb.append("# Written by pgha (hba_file points here); pgha rewrites it before every start.\n")
                .append("# Edit postgresql.pg_hba in pgha's configuration instead.\n\n")
                .append("# pgha's own connections: status queries, pg_rewind, replication, over loopback\n");
        sb.append("local   all          ").append(su).append("  scram-sha-256\n");
        for (String net : new String[] {"127.0.0.1/32", "::1/128"}) {
            sb.append("host    all          ")
                    .append(su)
                    .append("  ")
                    .append(net)
                    .append("  scram-sha-256\n");
            sb.append("host    replication  ")
                    .append(repl)
                    .append("  ")
                    .append(net)
                    .append("  scram-sha-256\n");
        }
        sb.append('\n');
        if (config.pgHba().isEmpty()) {
            sb.append("# defaults (postgresql.pg_hba is empty)\n");
            sb.append("local   all          all  scram-sha-256\n");
            sb.append("host    replication  ").append(repl).append("  all  scram-sha-256\n");
            sb.append("host    all          all  all  scram-sha-256\n");
        } else {
            sb.append("# postgresql.pg_hba\n");
            config.pgHba().forEach(l -> sb.append(l).append('\n'));
        }
        return sb.toString();
    }

    private static String hbaName(String user) {
        return user.matches("[A-Za-z0-9_]+") ? user : "\"" + user.replace("\"", "\"\"") + "\"";
    }

    /** True when postgresql.conf already has pgha's include line (uncommented). */
    static boolean hasInclude(String postgresqlConf) {
        for (String raw : postgresqlConf.split("\n")) {
            String line = raw.strip();
            if (!line.startsWith("#") && line.startsWith("include_if_exists") && line.contains(CONF_FILE)) {
                return true;
            }
        }
        return false;
    }

    static String withInclude(String postgresqlConf) {
        if (hasInclude(postgresqlConf)) {
            return postgresqlConf;
        }
        String base =
                postgresqlConf.endsWith("\n") || postgresqlConf.isEmpty() ? postgresqlConf : postgresqlConf + "\n";
        return base + "\n# Added once by pgha: its managed settings (listen, replication, pg_hba location).\n"
                + "# Keep it last so they apply; settings after it or in postgresql.auto.conf override them.\n"
                + INCLUDE_LINE + "\n";
    }

    /** One passfile line per user: {@code *:*:*:user:password}, with {@code :} and {@code \} escaped. */
    static String passfile(LocalPostgresConfig config) {
        StringBuilder sb = new StringBuilder();
        sb.append("*:*:*:")
                .append(pgpassEscape(config.replicationUser()))
                .append(':')
                .append(pgpassEscape(config.replicationPassword()))
                .append('\n');
        if (!config.superuser().equals(config.replicationUser())) {
            sb.append("*:*:*:")
                    .append(pgpassEscape(config.superuser()))
                    .append(':')
                    .append(pgpassEscape(config.superuserPassword()))
                    .append('\n');
        }
        return sb.toString();
    }

    static String pgpassEscape(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }
}
