package io.pgha.spring.boot;

import io.pgha.ha.HaNode;
import io.pgha.ha.NodeState;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * Actuator's {@code pgha} component: UP while this member's PostgreSQL runs, DOWN otherwise, with
 * the member's role, PostgreSQL's state, whether it holds the leader lock, the cluster's leader and
 * the HA loop's last decision.
 */
public final class PghaHealthIndicator implements HealthIndicator {
    private final HaNode node;

    public PghaHealthIndicator(HaNode node) {
        this.node = node;
    }

    @Override
    public Health health() {
        NodeState s = node.state();
        Health.Builder b = s.postgres().isRunning() ? Health.up() : Health.down();
        b.withDetail("role", s.role()).withDetail("state", s.postgres().state()).withDetail("holdsLock", s.holdsLock());
        if (s.cluster() != null && s.cluster().hasLeader()) {
            b.withDetail("leader", s.cluster().leader().name());
        }
        if (s.lastReason() != null) {
            b.withDetail("lastDecision", s.lastReason());
        }
        return b.build();
    }
}
