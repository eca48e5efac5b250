package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.Member;
import io.pgha.postgres.StandbySource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Patroni's standby cluster ({@code standby_cluster} in the dynamic configuration) as the engine
 * sees it: the remote primary the standby leader replicates from, as a member record the
 * controller can clone from and follow, and the recovery settings the other members take with
 * their upstream. Pure and stateless.
 */
final class StandbyCluster {

    /** The name the remote primary goes by (Patroni: {@code remote_member:<uuid>}), before its fingerprint. */
    static final String REMOTE_NAME = "remote_member";

    private StandbyCluster() {}

    static boolean isActive(DynamicConfig config) {
        return config != null && config.isStandbyCluster();
    }

    /**
     * The remote primary of the standby cluster, or null when it is not one. Its name ends with a
     * fingerprint of the section, so that a change of host, port, slot or recovery settings reads
     * as a new upstream to follow. It has a {@code conn_url} only with a {@code host} (streaming);
     * with {@code restore_command} alone the standby leader replays the archive.
     */
    static Member remote(DynamicConfig config) {
        Map<String, Object> sc = config == null ? null : config.standbyCluster();
        if (sc == null) {
            return null;
        }
        String host = text(sc.get("host"));
        String port = text(sc.get("port"));
        StandbySource source = new StandbySource(
                true,
                text(sc.get("primary_slot_name")),
                text(sc.get("restore_command")),
                text(sc.get("archive_cleanup_command")),
                text(sc.get("recovery_min_apply_delay")),
                methods(sc.get("create_replica_methods")));
        Map<String, Object> data = new LinkedHashMap<>();
        if (host != null) {
            String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
            data.put("conn_url", "postgres://" + h + ":" + (port == null ? "5432" : port) + "/postgres");
        }
        data.put(StandbySource.KEY, source);
        String fingerprint = Integer.toHexString(Objects.hash(host, port, source));
        return new Member(REMOTE_NAME + ":" + fingerprint, -1, data);
    }

    /** Whether {@code m} is the remote primary of a standby cluster (not a member of this one). */
    static boolean isRemote(Member m) {
        StandbySource s = StandbySource.of(m);
        return s != null && s.remote();
    }

    /**
     * The leader as the other members of a standby cluster follow it: with the section's
     * {@code restore_command} and {@code archive_cleanup_command}, as Patroni; {@code leader} as it
     * is outside a standby cluster.
     */
    static Member upstream(DynamicConfig config, Member leader) {
        Map<String, Object> sc = config == null ? null : config.standbyCluster();
        if (sc == null || leader == null || isRemote(leader)) {
            return leader;
        }
        String restore = text(sc.get("restore_command"));
        String cleanup = text(sc.get("archive_cleanup_command"));
        if (restore == null && cleanup == null) {
            return leader;
        }
        Map<String, Object> data = new LinkedHashMap<>(leader.data());
        data.put(StandbySource.KEY, new StandbySource(false, null, restore, cleanup, null, List.of()));
        return new Member(leader.name(), leader.version(), data);
    }

    private static List<String> methods(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof List<?> l) {
            for (Object o : l) {
                if (o != null) {
                    out.add(o.toString());
                }
            }
        }
        return out;
    }

    private static String text(Object v) {
        if (v == null) {
            return null;
        }
        String s = v.toString();
        return s.isEmpty() ? null : s;
    }
}
