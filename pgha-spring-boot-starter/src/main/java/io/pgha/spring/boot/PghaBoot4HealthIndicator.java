package io.pgha.spring.boot;

import io.pgha.ha.HaNode;
import io.pgha.ha.NodeState;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The {@code pgha} health component under Spring Boot 4, whose Actuator health API is the module
 * spring-boot-health ({@code org.springframework.boot.health.contributor}): what
 * {@link PghaHealthIndicator} reports under Spring Boot 3. Only {@link PghaBoot4HealthAutoConfiguration}
 * creates it, and only when that API is on the class path.
 */
public final class PghaBoot4HealthIndicator implements HealthIndicator {
    private final HaNode node;

    public PghaBoot4HealthIndicator(HaNode node) {
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
