package io.pgha.spring.boot;

import io.pgha.ha.HaNode;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.health.application.ReadinessStateHealthIndicator;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.AvailabilityProbesAutoConfiguration;
import org.springframework.boot.health.autoconfigure.application.AvailabilityHealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * {@link PghaHealthAutoConfiguration} under Spring Boot 4: the {@code pgha} health component and,
 * with {@code pgha.readiness-primary-only=true}, readiness that means "this member is the primary".
 *
 * <p>Spring Boot 4 moved Actuator's health API ({@code HealthIndicator}, {@code Health}, the
 * availability indicators, {@code @ConditionalOnEnabledHealthIndicator} and the auto-configurations
 * that collect them) out of spring-boot-actuator into the module spring-boot-health, under
 * {@code org.springframework.boot.health}. The same starter jar serves both: this class sits next to
 * the Spring Boot 3 one in the same AutoConfiguration.imports, and each one's class condition names
 * a type only its own Boot has, so exactly one of them applies (none without Actuator). It is
 * compiled against spring-boot-health 4 declared {@code provided} with every transitive dependency
 * excluded (the starter's pom): Boot 3 applications never see that jar, the starter's class path
 * stays Boot 3.5's, and Boot 3's own tests run without it. One source tree rather than a separate
 * module: a second jar would be one more dependency for Boot 4 users to know about, for two classes.
 */
@AutoConfiguration(
        after = PghaAutoConfiguration.class,
        before = {AvailabilityHealthContributorAutoConfiguration.class, AvailabilityProbesAutoConfiguration.class})
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(PghaMember.class)
public class PghaBoot4HealthAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "pghaHealthIndicator")
    @ConditionalOnEnabledHealthIndicator("pgha")
    PghaBoot4HealthIndicator pghaHealthIndicator(HaNode node) {
        return new PghaBoot4HealthIndicator(node);
    }

    /**
     * Boot's own readiness indicator (the bean name its AvailabilityHealthContributorAutoConfiguration
     * and AvailabilityProbesAutoConfiguration back off for), ready only while the application is and
     * this member is the leader with a running primary.
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
