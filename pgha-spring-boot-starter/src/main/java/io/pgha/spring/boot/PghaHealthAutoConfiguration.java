package io.pgha.spring.boot;

import io.pgha.ha.HaNode;
import org.springframework.boot.actuate.autoconfigure.availability.AvailabilityHealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.availability.AvailabilityProbesAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.availability.ReadinessStateHealthIndicator;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.annotation.Bean;

/**
 * With Spring Boot Actuator: the {@code pgha} health component ({@link PghaHealthIndicator}), and,
 * opted in with {@code pgha.readiness-primary-only=true}, readiness that means "this member is the
 * primary": Actuator's readiness group ({@code /actuator/health/readiness}) is OUT_OF_SERVICE on a
 * replica, so that a Kubernetes Service or a load balancer that follows readiness sends the
 * application's traffic to the primary's instance only.
 */
@AutoConfiguration(
        after = PghaAutoConfiguration.class,
        before = {AvailabilityHealthContributorAutoConfiguration.class, AvailabilityProbesAutoConfiguration.class})
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(PghaMember.class)
public class PghaHealthAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "pghaHealthIndicator")
    @ConditionalOnEnabledHealthIndicator("pgha")
    PghaHealthIndicator pghaHealthIndicator(HaNode node) {
        return new PghaHealthIndicator(node);
    }

    /**
     * Boot's own readiness indicator (the bean name it backs off for), ready only while the
     * application is and this member is the leader with a running primary.
     */
    @Bean("readinessStateHealthIndicator")
    @ConditionalOnProperty(prefix = "pgha", name = "readiness-primary-only", havingValue = "true")
    ReadinessStateHealthIndicator pghaPrimaryReadiness(ApplicationAvailability availability, HaNode node) {
        return new ReadinessStateHealthIndicator(availability) {
            @Override
            protected AvailabilityState getState(ApplicationAvailability applicationAvailability) {
                return PghaHealthDetails.primary(node.state())
                        ? super.getState(applicationAvailability)
                        : ReadinessState.REFUSING_TRAFFIC;
            }
        };
    }
}
