package io.pgha.ha;

import io.pgha.PghaVersion;
import io.pgha.config.DynamicConfig;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.RoleNames;
import io.pgha.postgres.PostgresStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes what a cycle ended with: this member's {@code members/<name>} record in the DCS (the
 * JSON Patroni writes), and the {@link NodeState} the REST API, metrics and embedders read.
 *
 * <p>Threading: {@link #publish} runs on the loop thread; {@link #state} is read from any thread
 * (the state is immutable and replaced whole).
 */
final class MemberRecord {
    private static final Logger LOG = LoggerFactory.getLogger(MemberRecord.class);
    /** The {@code version} field of the member key: the form Patroni parses (PghaVersion). */
    static final String VERSION = PghaVersion.patroniVersion();

    private final NodeConfig config;
    private final java.util.function.Supplier<Map<String, Object>> tags;
    private final java.util.function.Supplier<String> apiUrl;
    private final Dcs dcs;
    private volatile NodeState state;

    /**
     * @param tags this member's tags now (a reload of the node's file may change them)
     * @param apiUrl this member's api_url now (a reload may move the REST API)
     */
    MemberRecord(
            NodeConfig config,
            java.util.function.Supplier<Map<String, Object>> tags,
            java.util.function.Supplier<String> apiUrl,
            Dcs dcs,
            NodeState initial) {
        this.tags = tags;
        this.apiUrl = apiUrl;
        this.config = config;
        this.dcs = dcs;
        this.state = initial;
    }

    NodeState state() {
        return state;
    }

    /** What the cycle ended with, for {@link #publish}. */
    record CycleEnd(
            PostgresStatus postgres,
            boolean dataDirectoryEmpty,
            ClusterState cluster,
            boolean holdsLock,
            DynamicConfig config,
            String activity,
            RestartRequest scheduledRestart,
            java.time.Instant now,
            java.time.Instant dcsLastSeen,
            String reason,
            boolean failsafeActive,
            boolean touchMember) {}

    /**
     * Writes the member record (when the DCS was read this cycle and the agent goes on) and replaces
     * the node state. Returns the state before.
     */
    NodeState publish(CycleEnd end) {
        PostgresStatus pg = end.postgres();
        String role = roleOf(pg, end.dataDirectoryEmpty());
        if ("replica".equals(role) && end.holdsLock() && StandbyCluster.isActive(end.config())) {
            role = "standby_leader"; // Patroni's role of a standby cluster's lock holder
        }
        if (end.cluster() != null && end.touchMember()) {
            try {
                dcs.touchMember(memberData(end, role));
            } catch (DcsException e) {
                LOG.warn("[{}] could not update the member key: {}", config.name(), e.getMessage());
            }
        }
        NodeState previous = state;
        state = new NodeState(
                config.name(),
                config.scope(),
                role,
                end.holdsLock(),
                pg,
                end.cluster() != null ? end.cluster() : previous.cluster(),
                end.config(),
                end.now(),
                end.dcsLastSeen(),
                tags.get(),
                apiUrl.get(),
                config.connUrl(),
                end.reason(),
                end.scheduledRestart(),
                end.failsafeActive());
        return previous;
    }

    /** Patroni's role of a member: primary, replica, or uninitialized before its first data directory. */
    static String roleOf(PostgresStatus pg, boolean empty) {
        if (pg.isRunning()) {
            return pg.isPrimary() ? "primary" : "replica";
        }
        if (empty) {
            return "uninitialized";
        }
        return pg.role() == PostgresStatus.Role.PRIMARY ? "primary" : "replica";
    }

    /** The member key's JSON, field for field as Patroni writes it. */
    private Map<String, Object> memberData(CycleEnd end, String role) {
        PostgresStatus pg = end.postgres();
        Map<String, Object> m = new LinkedHashMap<>();
        if (config.connUrl() != null) {
            m.put("conn_url", config.connUrl());
        }
        String api = apiUrl.get();
        if (api != null) {
            m.put("api_url", api);
        }
        m.put("state", end.activity() != null ? end.activity() : pg.state());
        m.put("role", RoleNames.wire(role, end.cluster(), config.name()));
        m.put("version", VERSION);
        if (pg.isRunning() || pg.lastLsn() > 0) {
            m.put("xlog_location", pg.lastLsn());
        }
        if (pg.role() == PostgresStatus.Role.REPLICA && pg.isRunning()) {
            m.put("replay_lsn", pg.replayLsn());
            m.put("receive_lsn", pg.receiveLsn());
            if (pg.replicationState() != null) {
                m.put("replication_state", pg.replicationState());
            }
        }
        if (pg.timeline() > 0) {
            m.put("timeline", pg.timeline());
        }
        if (pg.pendingRestart()) {
            m.put("pending_restart", true);
        }
        if (end.config().isPaused()) {
            m.put("pause", true);
        }
        RestartRequest scheduled = end.scheduledRestart();
        if (scheduled != null && scheduled.schedule() != null) {
            Map<String, Object> sr = new LinkedHashMap<>();
            sr.put("schedule", DcsJson.formatTimestamp(scheduled.schedule()));
            if (scheduled.role() != null) {
                sr.put("role", scheduled.role());
            }
            if (scheduled.postgresVersion() != null) {
                sr.put("postgres_version", scheduled.postgresVersion());
            }
            if (scheduled.restartPending()) {
                sr.put("restart_pending", true);
            }
            m.put("scheduled_restart", sr);
        }
        Map<String, Object> t = tags.get();
        if (!t.isEmpty()) {
            m.put("tags", t);
        }
        return m;
    }
}
