package io.pgha.examples;

import io.pgha.backup.BackupChooser;
import io.pgha.backup.BackupConfig;
import io.pgha.backup.BackupStatus;
import io.pgha.backup.DrillResult;
import io.pgha.backup.PgEndpoint;
import io.pgha.config.PatroniYaml;
import io.pgha.dcs.Member;
import io.pgha.ha.NodeState;
import io.pgha.postgres.local.LocalPostgresConfig;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * How a node's YAML turns into pgha-backup's pieces, shared by {@code pgha run} and the
 * {@code pgha ctl backup} verbs so both read the {@code backup:} section the same way.
 * Stateless; thread-safe.
 */
public final class BackupWiring {

    private BackupWiring() {}

    /** The {@code backup:} section, or null when the file has none. */
    @SuppressWarnings("unchecked")
    public static Map<String, ?> section(PatroniYaml yaml) {
        Object b = yaml.raw().get("backup");
        if (b == null) {
            return null;
        }
        if (!(b instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("backup: must be a section (a map of keys), not '" + b + "'");
        }
        return (Map<String, ?>) b;
    }

    /** {@code postgresql.authentication.superuser.password}, or null. */
    public static String superuserPassword(PatroniYaml yaml) {
        if (yaml.postgresql().get("authentication") instanceof Map<?, ?> auth
                && auth.get("superuser") instanceof Map<?, ?> su
                && su.get("password") != null) {
            return String.valueOf(su.get("password"));
        }
        return null;
    }

    /**
     * The member's backup configuration, or null without a {@code backup:} section.
     *
     * @throws IllegalArgumentException naming the key of a bad value
     */
    public static BackupConfig config(PatroniYaml yaml, LocalPostgresConfig postgres) {
        Map<String, ?> section = section(yaml);
        return section == null
                ? null
                : BackupConfig.fromPatroniYaml(section, yaml.scope(), postgres, superuserPassword(yaml));
    }

    /**
     * The {@code postgresql:} section with the backup's parameters (archive_mode, archive_command,
     * restore_command, wal_level) laid over {@code postgresql.parameters}: pgha owns them when
     * {@code backup.archive} is on, on every member, so archiving survives a failover.
     */
    public static Map<String, Object> withArchiving(Map<String, Object> postgresql, BackupConfig backup) {
        Map<String, Object> pg = new LinkedHashMap<>(postgresql);
        Map<String, Object> params = new LinkedHashMap<>();
        if (pg.get("parameters") instanceof Map<?, ?> p) {
            p.forEach((k, v) -> params.put(String.valueOf(k), v));
        }
        params.putAll(backup.postgresParameters());
        pg.put("parameters", params);
        return pg;
    }

    /**
     * Where pgBackRest reaches the leader when this member backs up as a standby. When the leader's
     * {@code conn_url} host is an address of this machine (members sharing a host), it asks the
     * leader for its {@code data_directory} and socket directory and connects locally; otherwise
     * the same data directory path on the leader's host over pgBackRest's remote protocol (the
     * module's default). Runs on the backup service's thread.
     */
    public static Function<Member, PgEndpoint> primaryLocator(BackupConfig config, String password) {
        return leader -> {
            URI uri = URI.create(leader.connUrl());
            int port = uri.getPort() > 0 ? uri.getPort() : 5432;
            if (isLocal(uri.getHost())) {
                Properties p = new Properties();
                p.setProperty("user", config.superuser());
                if (password != null) {
                    p.setProperty("password", password);
                }
                p.setProperty("connectTimeout", "5");
                try (Connection c = DriverManager.getConnection(
                                "jdbc:postgresql://" + uri.getHost() + ":" + port + "/postgres", p);
                        Statement st = c.createStatement();
                        ResultSet rs = st.executeQuery("SELECT current_setting('data_directory'),"
                                + " split_part(current_setting('unix_socket_directories'), ',', 1)")) {
                    if (rs.next() && Files.isDirectory(Path.of(rs.getString(1)))) {
                        String socket = rs.getString(2).strip();
                        return new PgEndpoint(
                                Path.of(rs.getString(1)), port, socket.isEmpty() ? null : Path.of(socket), null);
                    }
                } catch (SQLException e) {
                    // fall through to the remote default; pgBackRest's error will then name the leader
                }
            }
            return new PgEndpoint(config.dataDir(), port, null, uri.getHost());
        };
    }

    private static boolean isLocal(String host) {
        try {
            InetAddress a = InetAddress.getByName(host);
            return a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * The {@code "backup"} section of {@code GET /patroni} ({@link io.pgha.ha.NodeControl#extensions()}):
     * the gauges of {@link BackupStatus#metrics} without their {@code pgha_backup_} prefix (so
     * {@code /metrics} renders them as {@code pgha_backup_*}), plus {@code drill_failed}, the last
     * drill's summary and the last error. {@code chosen} is computed from the node's latest cluster
     * snapshot (a pure function of it, cheap), so it follows a switchover at once rather than at the
     * service's next tick.
     */
    public static Map<String, Object> statusSection(BackupStatus s, NodeState state, Instant now) {
        Map<String, Object> m = new LinkedHashMap<>();
        s.metrics(now).forEach((k, v) -> m.put(k.replaceFirst("^pgha_backup_", ""), v));
        if (state != null && state.cluster() != null) {
            m.put("chosen", BackupChooser.isChosen(state.cluster(), state.name()) ? 1 : 0);
        }
        m.put("drill_failed", s.drillFailed());
        DrillResult d = s.lastDrill();
        if (d != null) {
            m.put("last_drill", d.summary());
        }
        if (s.lastError() != null) {
            m.put("last_error", s.lastError());
        }
        return m;
    }
}
