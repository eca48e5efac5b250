package io.pgha.api;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.RoleNames;
import io.pgha.dcs.SyncState;
import io.pgha.dcs.Tags;
import io.pgha.ha.NodeState;
import io.pgha.ha.RestartRequest;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One node's state as the REST API reads it: the facts Patroni's {@code get_postgresql_status}
 * computes, and the status JSON of {@code GET /patroni} and the health checks. Built from one
 * {@link NodeState} snapshot per request, so a response never mixes two HA cycles.
 */
final class NodeView {
    private static final Set<String> QUERYABLE = Set.of("running", "restarting", "starting");

    final NodeState state;
    final PostgresStatus pg;
    final DynamicConfig config;
    /** The cluster snapshot if the DCS was seen within ttl (Patroni's {@code dcs.cluster}), else null. */
    final ClusterState cluster;

    final String version;
    /** {@link io.pgha.ha.NodeControl#extensions()}: extra status sections, by name. */
    final Map<String, Map<String, Object>> extensions;
    /** {@link io.pgha.ha.NodeControl#watchdogFailed()}. */
    final boolean watchdogFailed;

    NodeView(NodeState state, Instant now, String version) {
        this(state, now, version, Map.of());
    }

    NodeView(NodeState state, Instant now, String version, Map<String, Map<String, Object>> extensions) {
        this(state, now, version, extensions, false);
    }

    NodeView(
            NodeState state,
            Instant now,
            String version,
            Map<String, Map<String, Object>> extensions,
            boolean watchdogFailed) {
        this.state = state;
        this.watchdogFailed = watchdogFailed;
        this.extensions = extensions == null ? Map.of() : extensions;
        this.pg = state.postgres();
        this.config = state.config() != null ? state.config() : DynamicConfig.DEFAULTS;
        this.version = version;
        Instant seen = state.dcsLastSeen();
        boolean fresh = state.cluster() != null
                && seen != null
                && !seen.plus(config.ttl()).isBefore(now);
        this.cluster = fresh ? state.cluster() : null;
    }

    String pgState() {
        return pg == null || pg.state() == null ? "unknown" : pg.state();
    }

    boolean running() {
        return pg != null && pg.isRunning();
    }

    /** PostgreSQL answers queries (Patroni queries it in these states). */
    private boolean queryable() {
        return pg != null && QUERYABLE.contains(pgState()) && pg.role() != null;
    }

    /** primary / replica / standby_leader, as Patroni reports it. */
    String role() {
        if (queryable()) {
            if (pg.role() == PostgresStatus.Role.PRIMARY) {
                return "primary";
            }
            return isStandbyCluster() && "standby_leader".equals(state.role()) ? "standby_leader" : "replica";
        }
        if (state.role() != null) {
            return state.role();
        }
        if (pg != null && pg.role() != null) {
            return pg.role() == PostgresStatus.Role.PRIMARY ? "primary" : "replica";
        }
        return "uninitialized";
    }

    /** {@link #role()} as other tools read it: {@code master} for a primary where Patroni 3.x names it so ({@link RoleNames}). */
    String wireRole() {
        return RoleNames.wire(role(), state.cluster(), state.name());
    }

    boolean isReplicaRole() {
        return "replica".equals(role());
    }

    boolean isStandbyCluster() {
        Object sc = config.raw().get("standby_cluster");
        return sc instanceof Map<?, ?> m && !m.isEmpty();
    }

    boolean paused() {
        return state.isPaused();
    }

    boolean noLoadBalance() {
        return Tags.isTrue(state.tags().get(Tags.NOLOADBALANCE));
    }

    /** On a replica, the replayed position; 0 elsewhere. */
    long replayed() {
        return queryable() && pg.role() == PostgresStatus.Role.REPLICA ? pg.replayLsn() : 0;
    }

    /** On a replica, the received position (Patroni: written, else received, else replayed). */
    long received() {
        if (!queryable() || pg.role() != PostgresStatus.Role.REPLICA) {
            return 0;
        }
        return pg.receiveLsn() != 0 ? pg.receiveLsn() : pg.replayLsn();
    }

    /**
     * Patroni's {@code latest_end_lsn}: the last position the WAL receiver reported. PostgresStatus
     * carries the received position, which is at least that recent.
     */
    long latestEndLsn() {
        return queryable() && pg.role() == PostgresStatus.Role.REPLICA && pg.isStreaming() ? pg.receiveLsn() : 0;
    }

    /** The leader's position a replica's lag is measured against. */
    long leaderOptime() {
        long optime = cluster == null || cluster.status() == null
                ? 0
                : cluster.status().optime();
        return Math.max(optime, latestEndLsn());
    }

    String replicationState() {
        return queryable() ? pg.replicationState() : null;
    }

    private boolean inSync() {
        if (!queryable() || !isReplicaRole() || !config.isSynchronousMode() || cluster == null) {
            return false;
        }
        SyncState sync = cluster.sync();
        if (sync == null) {
            return false;
        }
        String me = state.name().toLowerCase(Locale.ROOT);
        return sync.syncStandbys().stream()
                .anyMatch(s -> s.toLowerCase(Locale.ROOT).equals(me));
    }

    boolean syncStandby() {
        return inSync() && !"quorum".equals(config.synchronousMode());
    }

    boolean quorumStandby() {
        return inSync() && "quorum".equals(config.synchronousMode());
    }

    boolean clusterUnlocked() {
        return cluster == null || !cluster.hasLeader();
    }

    long dcsLastSeen() {
        return state.dcsLastSeen() == null ? 0 : state.dcsLastSeen().getEpochSecond();
    }

    /** The status JSON: {@code GET /patroni} and every health GET. */
    Map<String, Object> statusJson() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("state", pgState());
        if (queryable()) {
            r.put(
                    "postmaster_start_time",
                    pg.postmasterStartTime() == null ? null : Json.pythonStr(pg.postmasterStartTime()));
            r.put("role", wireRole());
            r.put("server_version", pg.serverVersion());
            Map<String, Object> xlog = new LinkedHashMap<>();
            if (pg.role() == PostgresStatus.Role.PRIMARY) {
                xlog.put("location", pg.writeLsn());
            } else {
                xlog.put("received_location", received());
                xlog.put("replayed_location", pg.replayLsn());
                xlog.put(
                        "replayed_timestamp",
                        pg.replayTimestamp() == null ? null : Json.pythonStr(pg.replayTimestamp()));
                xlog.put("paused", pg.replayPaused());
            }
            r.put("xlog", xlog);
            if (syncStandby()) {
                r.put("sync_standby", true);
            }
            if (quorumStandby()) {
                r.put("quorum_standby", true);
            }
            r.put("timeline", pg.timeline());
            if (pg.replicationState() != null) {
                r.put("replication_state", pg.replicationState());
            }
            if (!pg.replication().isEmpty()) {
                List<Map<String, Object>> rows = new ArrayList<>();
                for (ReplicationRow row : pg.replication()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("usename", row.usename());
                    m.put("application_name", row.applicationName());
                    m.put("client_addr", row.clientAddr());
                    m.put("state", row.state());
                    m.put("sync_state", row.syncState());
                    m.put("sync_priority", row.syncPriority());
                    rows.add(m);
                }
                r.put("replication", rows);
            }
        } else {
            r.put("role", wireRole());
        }
        if (paused()) {
            r.put("pause", true);
        }
        if (clusterUnlocked()) {
            r.put("cluster_unlocked", true);
        }
        if (state.failsafeActive()) {
            r.put("failsafe_mode_is_active", true);
        }
        r.put("dcs_last_seen", dcsLastSeen());
        if (!state.tags().isEmpty()) {
            r.put("tags", new LinkedHashMap<>(state.tags()));
        }
        if (pg != null && pg.systemIdentifier() != null) {
            r.put("database_system_identifier", pg.systemIdentifier());
        }
        if (pg != null && pg.pendingRestart()) {
            r.put("pending_restart", true);
        }
        Map<String, Object> patroni = new LinkedHashMap<>();
        patroni.put("version", version);
        patroni.put("scope", state.scope());
        patroni.put("name", state.name());
        r.put("patroni", patroni);
        if (state.scheduledRestart() != null) {
            r.put("scheduled_restart", scheduledRestartJson(state.scheduledRestart()));
        }
        if (watchdogFailed) {
            r.put("watchdog_failed", true);
        }
        extensions.forEach((section, value) -> r.putIfAbsent(section, new LinkedHashMap<>(value)));
        return r;
    }

    static Map<String, Object> scheduledRestartJson(RestartRequest req) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (req.schedule() != null) {
            m.put("schedule", Json.pythonIso(req.schedule()));
        }
        if (req.role() != null) {
            m.put("role", req.role());
        }
        if (req.postgresVersion() != null) {
            m.put("postgres_version", req.postgresVersion());
        }
        if (req.restartPending()) {
            m.put("restart_pending", true);
        }
        if (req.timeout() != null) {
            m.put("timeout", req.timeout().toSeconds());
        }
        return m;
    }
}
