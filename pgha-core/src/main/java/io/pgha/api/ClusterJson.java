package io.pgha.api;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.Member;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Patroni's {@code cluster_as_json} ({@code GET /cluster}) and the {@code GET /history} rows. */
final class ClusterJson {
    private ClusterJson() {}

    static Map<String, Object> of(ClusterState cluster, String scope) {
        DynamicConfig config = DynamicConfig.from(
                cluster.config() == null ? Map.of() : cluster.config().data());
        String leaderName = cluster.leader() == null ? null : cluster.leader().name();
        long clusterLsn = cluster.status() == null ? 0 : cluster.status().optime();
        Object sc = config.raw().get("standby_cluster");
        boolean standbyCluster = sc instanceof Map<?, ?> m && !m.isEmpty();
        String syncRole = "quorum".equals(config.synchronousMode()) ? "quorum_standby" : "sync_standby";

        List<Map<String, Object>> members = new ArrayList<>();
        for (Member m : cluster.members()) {
            String role;
            if (m.name().equals(leaderName)) {
                role = standbyCluster ? "standby_leader" : "leader";
            } else if (config.isSynchronousMode() && cluster.sync() != null && inSync(cluster, m.name())) {
                role = syncRole;
            } else {
                role = "replica";
            }
            String replState = role.equals("leader") ? null : m.string("replication_state");
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("name", m.name());
            json.put("role", role);
            json.put(
                    "state",
                    replState != null && !replState.isEmpty() ? replState : (m.state() == null ? "" : m.state()));
            json.put("api_url", m.apiUrl());
            URI conn = connUri(m.connUrl());
            if (conn != null && conn.getHost() != null) {
                json.put("host", conn.getHost());
                if (conn.getPort() > 0) {
                    json.put("port", conn.getPort());
                }
            }
            for (String key :
                    List.of("timeline", "pending_restart", "pending_restart_reason", "scheduled_restart", "tags")) {
                if (m.data().containsKey(key)) {
                    json.put(key, m.data().get(key));
                }
            }
            if (!m.name().equals(leaderName)) {
                for (String prefix : List.of("receive_", "replay_", "")) {
                    String lsnKey = prefix + "lsn";
                    String lagKey = prefix + "lag";
                    long lsn = m.number(prefix.isEmpty() ? "xlog_location" : prefix + "lsn", 0L);
                    if (lsn == 0) {
                        json.put(lsnKey, "unknown");
                        json.put(lagKey, "unknown");
                    } else {
                        json.put(lagKey, clusterLsn >= lsn ? clusterLsn - lsn : 0);
                        json.put(lsnKey, formatLsn(lsn));
                    }
                }
            }
            members.add(json);
        }
        Map<String, Object> ret = new LinkedHashMap<>();
        ret.put("members", members);
        if (config.isPaused()) {
            ret.put("pause", true);
        }
        Failover f = cluster.failover();
        if (f != null && f.scheduledAt() != null) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("at", Json.pythonIso(f.scheduledAt()));
            if (f.leader() != null) {
                s.put("from", f.leader());
            }
            if (f.member() != null) {
                s.put("to", f.member());
            }
            ret.put("scheduled_switchover", s);
        }
        ret.put("scope", scope);
        return ret;
    }

    static List<Object> history(ClusterState cluster) {
        List<Object> rows = new ArrayList<>();
        for (HistoryEntry e : cluster.history()) {
            rows.add(e.toJson());
        }
        return rows;
    }

    static boolean inSync(ClusterState cluster, String name) {
        if (cluster.sync() == null || name == null) {
            return false;
        }
        String n = name.toLowerCase(Locale.ROOT);
        return cluster.sync().syncStandbys().stream()
                .anyMatch(s -> s.toLowerCase(Locale.ROOT).equals(n));
    }

    /** PostgreSQL's {@code X/X} notation. */
    static String formatLsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(Locale.ROOT);
    }

    private static URI connUri(String connUrl) {
        if (connUrl == null) {
            return null;
        }
        try {
            return URI.create(connUrl);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
