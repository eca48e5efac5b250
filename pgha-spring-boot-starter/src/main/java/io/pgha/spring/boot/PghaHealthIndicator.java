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
        Health.Builder b = PghaHealthDetails.up(s) ? Health.up() : Health.down();
        b.withDetails(PghaHealthDetails.details(s));
        return b.build();
    }
}
