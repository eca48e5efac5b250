package io.pgha.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Patroni's health-check rules ({@code RestApiHandler.do_GET}, {@code do_GET_liveness},
 * {@code _readiness}): the HTTP status for one path, 200 when the condition holds, else 503.
 */
final class HealthCheck {
    static final Set<String> PATHS = Set.of(
            "/",
            "/primary",
            "/master",
            "/read-write",
            "/leader",
            "/standby-leader",
            "/standby_leader",
            "/replica",
            "/read-only",
            "/sync",
            "/synchronous",
            "/async",
            "/asynchronous",
            "/read-only-sync",
            "/read-only-synchronous",
            "/quorum",
            "/read-only-quorum",
            "/health");

    private HealthCheck() {}

    /** The status code of a role health check ({@link #PATHS}). */
    static int status(NodeView v, String path, Map<String, String> query) {
        long maxLag = lagParameter(query, Long.MAX_VALUE);
        long leaderOptime = v.leaderOptime();
        boolean lagging = leaderOptime != 0 && leaderOptime - v.replayed() > maxLag;
        String wantedState = query.get("replication_state");
        boolean stateMatches = wantedState == null || wantedState.equals(v.replicationState());
        int replica = !v.noLoadBalance() && !lagging && v.isReplicaRole() && v.running() && stateMatches ? 200 : 503;

        String role = v.role();
        int leader;
        int primary;
        int standbyLeader;
        if (v.cluster == null && v.paused()) {
            // the DCS is out of reach in maintenance mode: trust PostgreSQL's own role
            leader = role.equals("primary") || role.equals("standby_leader") ? 200 : 503;
            primary = role.equals("primary") ? 200 : 503;
            standbyLeader = role.equals("standby_leader") ? 200 : 503;
        } else if (v.state.holdsLock()) {
            leader = 200;
            if (v.isStandbyCluster()) {
                primary = 503;
                replica = 503;
                standbyLeader = role.equals("replica") || role.equals("standby_leader") ? 200 : 503;
            } else {
                primary = 200;
                standbyLeader = 503;
            }
        } else {
            leader = 503;
            primary = 503;
            standbyLeader = 503;
        }

        int status = 503;
        boolean ignoreTags = false;
        switch (path) {
            case "/standby-leader", "/standby_leader" -> {
                status = standbyLeader;
                ignoreTags = true;
            }
            case "/leader" -> {
                status = leader;
                ignoreTags = true;
            }
            case "/", "/primary", "/master", "/read-write" -> {
                status = primary;
                ignoreTags = true;
            }
            case "/replica" -> status = replica;
            case "/read-only" -> status = primary == 200 || standbyLeader == 200 ? 200 : replica;
            case "/health" -> status = v.running() ? 200 : 503;
            default -> {
                if (v.cluster != null) {
                    boolean sync = v.syncStandby();
                    boolean quorum = v.quorumStandby();
                    switch (path) {
                        case "/sync", "/synchronous" -> status = sync ? replica : 503;
                        case "/quorum" -> status = quorum ? replica : 503;
                        case "/async", "/asynchronous" -> status = !sync && !quorum ? replica : 503;
                        case "/read-only-quorum" ->
                            status = primary == 200 || standbyLeader == 200 ? 200 : quorum ? replica : 503;
                        case "/read-only-sync", "/read-only-synchronous" ->
                            status = primary == 200 || standbyLeader == 200 ? 200 : sync ? replica : 503;
                        default -> status = 503;
                    }
                }
            }
        }
        if (!ignoreTags && status == 200 && !tagsMatch(v, query)) {
            status = 503;
        }
        return status;
    }

    /** {@code ?tag_<key>=<value>}: every named tag must exist with that value (non-strings compared lower-cased). */
    private static boolean tagsMatch(NodeView v, Map<String, String> query) {
        for (Map.Entry<String, String> e : query.entrySet()) {
            if (!e.getKey().startsWith("tag_")) {
                continue;
            }
            Object tag = v.state.tags().get(e.getKey().substring(4));
            if (tag == null) {
                return false;
            }
            String actual = tag instanceof String s ? s : String.valueOf(tag).toLowerCase(Locale.ROOT);
            if (!actual.equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code GET /liveness}: the HA loop ran within ttl (on a running primary) or 2 * ttl
     * (elsewhere); always 200 in maintenance mode, where the loop may legitimately be idle.
     */
    static int liveness(NodeView v, Instant now, Instant startedAt) {
        if (v.paused()) {
            return 200;
        }
        boolean primary = v.pg != null && v.pg.isPrimary();
        Duration threshold = v.config.ttl().multipliedBy(primary ? 1 : 2);
        Instant last = v.state.lastHeartbeat() != null ? v.state.lastHeartbeat() : startedAt;
        return last.plus(threshold).isAfter(now) ? 200 : 503;
    }

    /** {@code GET /readiness}: null when ready, else the reason (logged at debug). */
    static String notReadyReason(NodeView v, Map<String, String> query) {
        if (v.state.holdsLock()) {
            return null;
        }
        if (!v.running()) {
            return "PostgreSQL is not running";
        }
        if (!"streaming".equals(v.replicationState())) {
            return "PostgreSQL replication state is not streaming";
        }
        long latestEnd = v.latestEndLsn();
        if (v.cluster == null && latestEnd == 0) {
            return v.state.failsafeActive() ? null : "DCS is not accessible";
        }
        boolean write = "write".equals(query.get("mode"));
        long location = write ? v.received() : v.replayed();
        long lag = v.leaderOptime() - location;
        long max = lagParameter(query, v.config.maximumLagOnFailover());
        if (lag > max) {
            return "Replication " + (write ? "write" : "apply") + " lag " + lag + " exceeds maximum allowable " + max;
        }
        return null;
    }

    /**
     * Rejects a query whose {@code ?lag=} is longer than {@link Units#MAX_LENGTH} characters or
     * out of a long's range (400): Patroni computes {@code 1e300000000} in full, pgha refuses it.
     */
    static void validate(Map<String, String> query) throws ApiError {
        String lag = query.get("lag");
        if (lag == null) {
            return;
        }
        try {
            Units.bytes(lag);
        } catch (Units.OutOfRange e) {
            throw new ApiError(400, "lag: " + e.getMessage());
        }
    }

    /** {@code ?lag=}; as Patroni, a value that does not parse is no limit (the fallback). */
    private static long lagParameter(Map<String, String> query, long fallback) {
        String lag = query.get("lag");
        Long parsed;
        try {
            parsed = lag == null ? null : Units.bytes(lag);
        } catch (Units.OutOfRange e) {
            parsed = null; // validate() answered 400 before; a direct caller gets no limit
        }
        return parsed == null ? fallback : parsed;
    }
}
