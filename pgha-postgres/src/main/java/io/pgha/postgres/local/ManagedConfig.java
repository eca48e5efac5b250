package io.pgha.postgres.local;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
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
     * @param parameters the parameters to write (the member's, merged with the cluster's dynamic
     *     ones once known)
     * @param facts the binaries' major version and whether their compiled-in socket directory is
     *     usable: when it is, {@code unix_socket_directories} is left to PostgreSQL (local clients
     *     find the socket where they look for it), else the socket goes to {@code socketDir}
     * @param primaryConninfo the upstream's conninfo on a replica, null on a primary
     * @param slotName the upstream slot on a replica (null: none)
     * @param synchronousStandbyNames the current value, null or empty for none
     */
    static String render(
            LocalPostgresConfig config,
            Map<String, String> parameters,
            ServerFacts facts,
            Path socketDir,
            Path hbaFile,
            String primaryConninfo,
            String slotName,
            String synchronousStandbyNames) {
        return render(
                config,
                parameters,
                facts,
                socketDir,
                hbaFile,
                primaryConninfo,
                slotName,
                synchronousStandbyNames,
                null);
    }

    /** The marker before the settings a standby cluster's section overrides (read back by ManagedFiles). */
    static final String STANDBY_MARKER = "# standby_cluster: ";

    /**
     * As {@link #render(LocalPostgresConfig, Map, ServerFacts, Path, Path, String, String, String)},
     * on a member of a standby cluster: {@code standby} (when not null) names the slot on the remote
     * primary for the standby leader (none without {@code primary_slot_name}), and its recovery
     * settings override the member's {@code recovery_conf}, as Patroni.
     */
    static String render(
            LocalPostgresConfig config,
            Map<String, String> parameters,
            ServerFacts facts,
            Path socketDir,
            Path hbaFile,
            String primaryConninfo,
            String slotName,
            String synchronousStandbyNames,
            io.pgha.postgres.StandbySource standby) {
        if (standby != null && standby.remote()) {
            slotName = slotName == null ? null : standby.primarySlotName();
        }
        Map<String, String> p = fileParameters(parameters, facts, socketDir);
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
        line(
                sb,
                "primary_slot_name",
                primaryConninfo == null || slotName == null || primaryConninfo.isEmpty() ? "" : slotName);
        line(sb, "recovery_target_timeline", "latest");
        if (primaryConninfo != null) {
            // Patroni's postgresql.recovery_conf on a replica (a restore_command), less what Patroni
            // sets itself: the upstream and the recovery target
            config.recoveryConf().forEach((k, v) -> {
                String key = k.toLowerCase(java.util.Locale.ROOT);
                if (!key.startsWith("recovery_target")
                        && !key.equals("primary_conninfo")
                        && !key.equals("primary_slot_name")
                        && !key.equals("standby_mode")) {
                    line(sb, k, v);
                }
            });
            if (standby != null) {
                sb.append('\n')
                        .append(STANDBY_MARKER)
                        .append(standby.remote() ? "remote" : "cascade")
                        .append('\n');
                standby.recoverySettings().forEach((k, v) -> line(sb, k, v));
            }
        }
        return sb.toString();
    }

    /**
     * The parameters {@link #render} writes before pgha's own settings, in its order: Patroni's
     * {@link #defaults}, {@code unix_socket_directories} when the compiled-in directory is not
     * usable, then {@code parameters} over them, with {@link #convertWalKeep} applied.
     */
    static Map<String, String> fileParameters(Map<String, String> parameters, ServerFacts facts, Path socketDir) {
        Map<String, String> p = defaults();
        if (!facts.defaultSocketUsable()) {
            p.put("unix_socket_directories", socketDir.toString());
        }
        p.putAll(parameters);
        convertWalKeep(p, parameters, facts.majorVersion());
        return p;
    }

    /**
     * {@code wal_keep_segments} (up to PostgreSQL 12) and {@code wal_keep_size} (13 on) converted
     * into the one the server has, as Patroni does, at 16MB a segment: a Patroni file written for
     * one version starts on the other. The user's own value of the server's parameter wins.
     *
     * @param params the parameters to write, changed in place
     * @param user the user's parameters (which of the two they set)
     * @param major the server's major version, 0 when unknown (nothing converted)
     */
    static void convertWalKeep(Map<String, String> params, Map<String, String> user, int major) {
        if (major >= 13) {
            String segments = params.remove("wal_keep_segments");
            if (segments != null && !user.containsKey("wal_keep_size")) {
                try {
                    params.put("wal_keep_size", Math.multiplyExact(Long.parseLong(segments.strip()), 16L) + "MB");
                } catch (NumberFormatException | ArithmeticException e) {
                    throw new IllegalArgumentException(
                            "postgresql.parameters.wal_keep_segments must be a number of segments, got '" + segments
                                    + "'");
                }
            }
        } else if (major > 0) {
            String size = params.remove("wal_keep_size");
            if (size != null && !user.containsKey("wal_keep_segments")) {
                params.put("wal_keep_segments", String.valueOf((megabytes(size) + 8) / 16));
            }
        }
    }

    /** A size setting in megabytes: a plain number is megabytes (wal_keep_size's unit), else kB, MB, GB, TB. */
    private static long megabytes(String size) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*(\\d+)\\s*(kB|MB|GB|TB)?\\s*")
                .matcher(size);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "postgresql.parameters.wal_keep_size must be a size such as 128MB, got '" + size + "'");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "MB" : m.group(2);
        return switch (unit) {
            case "kB" -> n / 1024;
            case "GB" -> n * 1024;
            case "TB" -> n * 1024 * 1024;
            default -> n;
        };
    }

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(key).append(" = ").append(quote(value)).append('\n');
    }

    /** A postgresql.conf string literal: single quotes, with {@code '} and {@code \} escaped. */
    static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /**
     * The content of pgha.hba.conf: the pg_hba lines (the member's {@code postgresql.pg_hba}, else
     * the cluster's dynamic one) exactly as given, in order and with
     * nothing before or after it, as Patroni writes pg_hba.conf (the first matching line wins, so
     * any line of pgha's before the user's would override a stricter or looser rule of theirs).
     * pgha's own connections (the superuser over TCP to this member's first listen address, the
     * replication user to the primary) must be allowed by those lines, as Patroni's must. When the
     * list is empty: {@code local all all}, {@code host replication <replication user> all} and
     * {@code host all all all}, all {@code scram-sha-256}, so that a file without pg_hba still
     * replicates (Patroni would leave initdb's pg_hba.conf, which allows loopback only).
     */
    static String hba(LocalPostgresConfig config, List<String> lines) {
        String repl = hbaName(config.replicationUser());
        StringBuilder sb = new StringBuilder();
        sb.append("# Written by pgha (hba_file points here); pgha rewrites it before every start and reload.\n")
                .append(
                        "# Edit postgresql.pg_hba in pgha's configuration (or the cluster's dynamic config) instead.\n\n");
        if (lines.isEmpty()) {
            sb.append("# defaults (postgresql.pg_hba is empty)\n");
            sb.append("local   all          all  scram-sha-256\n");
            sb.append("host    replication  ").append(repl).append("  all  scram-sha-256\n");
            sb.append("host    all          all  all  scram-sha-256\n");
        } else {
            lines.forEach(l -> sb.append(l).append('\n'));
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
        if (config.separateRewindUser() && !config.rewindUser().equals(config.replicationUser())) {
            // pg_rewind's source connection (authentication.rewind)
            sb.append("*:*:*:")
                    .append(pgpassEscape(config.rewindUser()))
                    .append(':')
                    .append(pgpassEscape(config.rewindPassword()))
                    .append('\n');
        }
        return sb.toString();
    }

    static String pgpassEscape(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }
}
