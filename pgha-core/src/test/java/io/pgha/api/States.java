package io.pgha.api;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.ha.NodeState;
import io.pgha.ha.RestartRequest;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** NodeState and PostgresStatus values for the tests, with copy-and-change helpers. */
final class States {
    static final Instant STARTED = Instant.parse("2026-01-02T03:04:05.123456Z");
    static final long MB = 1024 * 1024;

    private States() {}

    static PostgresStatus primaryPg(long lsn) {
        return new PostgresStatus(
                "running",
                PostgresStatus.Role.PRIMARY,
                2,
                lsn,
                0,
                0,
                null,
                false,
                null,
                "7268616322854375442",
                150018,
                STARTED,
                List.of(new ReplicationRow("replicator", "pg1", "127.0.0.1", "streaming", "async", 0, lsn, lsn, lsn)),
                List.of(io.pgha.postgres.ReplicationSlot.physical("pg1", lsn, true)),
                false,
                null);
    }

    static PostgresStatus replicaPg(long received, long replayed, String replicationState) {
        return new PostgresStatus(
                "running",
                PostgresStatus.Role.REPLICA,
                2,
                0,
                received,
                replayed,
                Instant.parse("2026-01-02T04:00:00Z"),
                false,
                replicationState,
                "7268616322854375442",
                150018,
                STARTED,
                List.of(),
                List.of(),
                false,
                null);
    }

    static PostgresStatus stoppedPg() {
        return PostgresStatus.stopped(PostgresStatus.Role.REPLICA, "7268616322854375442", 2, 0);
    }

    static NodeState node(
            String name,
            String role,
            boolean holdsLock,
            PostgresStatus pg,
            ClusterState cluster,
            Map<String, Object> config,
            Map<String, Object> tags) {
        Instant now = Instant.now();
        return new NodeState(
                name,
                "batman",
                role,
                holdsLock,
                pg,
                cluster,
                DynamicConfig.from(config),
                now,
                now,
                tags,
                "http://127.0.0.1:8008/patroni",
                "postgres://127.0.0.1:5432/postgres",
                "no action",
                null,
                false);
    }

    static NodeState with(NodeState s, RestartRequest scheduled) {
        return new NodeState(
                s.name(),
                s.scope(),
                s.role(),
                s.holdsLock(),
                s.postgres(),
                s.cluster(),
                s.config(),
                s.lastHeartbeat(),
                s.dcsLastSeen(),
                s.tags(),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                scheduled,
                s.failsafeActive());
    }

    static NodeState with(NodeState s, PostgresStatus pg) {
        return new NodeState(
                s.name(),
                s.scope(),
                s.role(),
                s.holdsLock(),
                pg,
                s.cluster(),
                s.config(),
                s.lastHeartbeat(),
                s.dcsLastSeen(),
                s.tags(),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                s.scheduledRestart(),
                s.failsafeActive());
    }

    static NodeState withTimes(NodeState s, Instant lastHeartbeat, Instant dcsLastSeen) {
        return new NodeState(
                s.name(),
                s.scope(),
                s.role(),
                s.holdsLock(),
                s.postgres(),
                s.cluster(),
                s.config(),
                lastHeartbeat,
                dcsLastSeen,
                s.tags(),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                s.scheduledRestart(),
                s.failsafeActive());
    }

    static NodeState withCluster(NodeState s, ClusterState cluster, Map<String, Object> config) {
        return new NodeState(
                s.name(),
                s.scope(),
                s.role(),
                s.holdsLock(),
                s.postgres(),
                cluster,
                DynamicConfig.from(config),
                s.lastHeartbeat(),
                s.dcsLastSeen(),
                s.tags(),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                s.scheduledRestart(),
                s.failsafeActive());
    }

    static NodeState withRole(NodeState s, String role, boolean holdsLock) {
        return new NodeState(
                s.name(),
                s.scope(),
                role,
                holdsLock,
                s.postgres(),
                s.cluster(),
                s.config(),
                s.lastHeartbeat(),
                s.dcsLastSeen(),
                s.tags(),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                s.scheduledRestart(),
                s.failsafeActive());
    }

    static NodeState withFailsafe(NodeState s, boolean active) {
        return new NodeState(
                s.name(),
                s.scope(),
                s.role(),
                s.holdsLock(),
                s.postgres(),
                s.cluster(),
                s.config(),
                s.lastHeartbeat(),
                s.dcsLastSeen(),
                s.tags(),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                s.scheduledRestart(),
                active);
    }
}
