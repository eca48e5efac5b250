package io.pgha.spring.boot;

import io.pgha.ha.NodeState;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the {@code pgha} health component reports, shared by the Spring Boot 3 indicator
 * ({@link PghaHealthIndicator}) and the Spring Boot 4 one ({@link PghaBoot4HealthIndicator}), whose
 * Actuator types differ only in their package.
 */
final class PghaHealthDetails {
    private PghaHealthDetails() {}

    /** UP while this member's PostgreSQL runs. */
    static boolean up(NodeState s) {
        return s.postgres().isRunning();
    }

    /** This member holds the leader lock and its PostgreSQL is a running primary: readiness with readiness-primary-only. */
    static boolean primary(NodeState s) {
        return s.holdsLock() && s.postgres().isPrimary();
    }

    /** The role, PostgreSQL's state, whether it holds the lock, the leader, the HA loop's last decision. */
    static Map<String, Object> details(NodeState s) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("role", s.role());
        d.put("state", s.postgres().state());
        d.put("holdsLock", s.holdsLock());
        if (s.cluster() != null && s.cluster().hasLeader()) {
            d.put("leader", s.cluster().leader().name());
        }
        if (s.lastReason() != null) {
            d.put("lastDecision", s.lastReason());
        }
        return d;
    }
}
