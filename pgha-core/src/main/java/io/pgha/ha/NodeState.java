package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.postgres.PostgresStatus;
import java.time.Instant;
import java.util.Map;

/**
 * What one node knows after its last HA cycle: the snapshot the REST API, metrics and embedders
 * read. Immutable; a new one is published at the end of every cycle.
 *
 * @param name this member's name
 * @param scope the cluster name
 * @param role Patroni's role for {@code GET /patroni}: {@code primary}, {@code replica},
 *     {@code standby_leader} or {@code uninitialized}
 * @param holdsLock whether this node held the leader lock at the end of the cycle
 * @param postgres the local PostgreSQL status
 * @param cluster the last cluster snapshot read from the DCS (null before the first read)
 * @param config the dynamic configuration in force
 * @param lastHeartbeat when the last HA cycle finished (for {@code /liveness})
 * @param dcsLastSeen when the DCS last answered (null if never)
 * @param tags this member's tags
 * @param apiUrl this member's REST API URL ({@code http://host:port/patroni})
 * @param connUrl this member's PostgreSQL URL ({@code postgres://host:port/postgres})
 * @param lastReason the reason of the last decision, Patroni's log line
 * @param scheduledRestart the pending scheduled restart, or null
 * @param failsafeActive whether the primary runs on failsafe mode's authority right now
 */
public record NodeState(
        String name,
        String scope,
        String role,
        boolean holdsLock,
        PostgresStatus postgres,
        ClusterState cluster,
        DynamicConfig config,
        Instant lastHeartbeat,
        Instant dcsLastSeen,
        Map<String, Object> tags,
        String apiUrl,
        String connUrl,
        String lastReason,
        RestartRequest scheduledRestart,
        boolean failsafeActive) {

    public NodeState {
        tags = tags == null ? Map.of() : Map.copyOf(tags);
    }

    /** This state with PostgreSQL's status and the lock read again since the cycle. */
    public NodeState withLive(PostgresStatus now, boolean holdsLockNow) {
        return withLive(now, holdsLockNow, failsafeActive);
    }

    /**
     * This state with PostgreSQL's status, the lock and {@code failsafeActive} read again since the
     * cycle (a replica's failsafe activity as of a request).
     */
    public NodeState withLive(PostgresStatus now, boolean holdsLockNow, boolean failsafeActiveNow) {
        return new NodeState(
                name,
                scope,
                role,
                holdsLockNow,
                now,
                cluster,
                config,
                lastHeartbeat,
                dcsLastSeen,
                tags,
                apiUrl,
                connUrl,
                lastReason,
                scheduledRestart,
                failsafeActiveNow);
    }

    public boolean isPaused() {
        return config != null && config.isPaused();
    }
}
