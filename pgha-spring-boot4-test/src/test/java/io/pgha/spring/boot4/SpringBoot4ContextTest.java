package io.pgha.spring.boot4;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgha.ha.HaNode;
import io.pgha.spring.boot.PghaBoot4HealthIndicator;
import io.pgha.spring.boot.PghaMember;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.availability.ApplicationAvailabilityAutoConfiguration;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.boot.health.application.ReadinessStateHealthIndicator;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.AvailabilityProbesAutoConfiguration;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.HealthEndpointAutoConfiguration;
import org.springframework.boot.health.autoconfigure.application.AvailabilityHealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;

/**
 * The starter's auto-configuration, as listed in its AutoConfiguration.imports, in a Spring Boot 4
 * application context with Actuator's health (Boot 4's spring-boot-health): the member (built, not
 * started), the HikariCP DataSource, the meters, the {@code pgha} health component and readiness =
 * "this member is the primary" ({@code PghaBoot4HealthAutoConfiguration}; the Boot 3 health
 * configuration's condition does not match here).
 */
class SpringBoot4ContextTest {
    @TempDir
    Path dir;

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(
                        io.pgha.spring.boot.PghaAutoConfiguration.class,
                        io.pgha.spring.boot.PghaHealthAutoConfiguration.class,
                        io.pgha.spring.boot.PghaBoot4HealthAutoConfiguration.class,
                        io.pgha.spring.boot.PghaMetricsAutoConfiguration.class,
                        io.pgha.spring.boot.PghaDataSourceAutoConfiguration.class,
                        ApplicationAvailabilityAutoConfiguration.class,
                        EndpointAutoConfiguration.class,
                        HealthContributorRegistryAutoConfiguration.class,
                        HealthEndpointAutoConfiguration.class,
                        AvailabilityHealthContributorAutoConfiguration.class,
                        AvailabilityProbesAutoConfiguration.class))
                .withPropertyValues(
                        "pgha.auto-startup=false",
                        "pgha.scope=boot4",
                        "pgha.name=m1",
                        "pgha.dcs-type=memory",
                        "pgha.dcs.store=boot4-" + System.nanoTime(),
                        "pgha.restapi.listen=127.0.0.1:18010",
                        "pgha.postgresql.listen=127.0.0.1:15440",
                        "pgha.postgresql.data-dir=" + dir.resolve("data"),
                        "pgha.postgresql.authentication.superuser.username=postgres",
                        "pgha.postgresql.authentication.superuser.password=s",
                        "pgha.postgresql.authentication.replication.username=replicator",
                        "pgha.postgresql.authentication.replication.password=r",
                        "spring.datasource.hikari.maximum-pool-size=4");
    }

    private static Status status(HealthEndpoint health, String path) {
        return health.healthForPath(path).getStatus();
    }

    /** What SpringApplication publishes once the application runs (a context runner does not). */
    private static void started(ApplicationContext context) {
        AvailabilityChangeEvent.publish(context, LivenessState.CORRECT);
        AvailabilityChangeEvent.publish(context, ReadinessState.ACCEPTING_TRAFFIC);
    }

    @Test
    void theStarterConfiguresAMemberUnderSpringBoot4() {
        assertThat(SpringBootVersion.getVersion()).startsWith("4.");
        runner().run(context -> {
            assertThat(context).hasNotFailed();
            PghaMember member = context.getBean(PghaMember.class);
            assertThat(member.configuration().name()).isEqualTo("m1");
            assertThat(context.getBean(HaNode.class)).isSameAs(member.node());
            assertThat(context.getBean(HikariDataSource.class).getMaximumPoolSize())
                    .isEqualTo(4);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            context.getBean("pghaMeterBinder", MeterBinder.class).bindTo(registry);
            assertThat(registry.find("patroni_primary").gauge()).isNotNull();
        });
    }

    @Test
    void thePghaHealthComponentUnderSpringBoot4() {
        runner().run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(PghaBoot4HealthIndicator.class);
            assertThat(context).doesNotHaveBean(io.pgha.spring.boot.PghaHealthAutoConfiguration.class);
            started(context);
            HealthEndpoint health = context.getBean(HealthEndpoint.class);
            // the member is not started: its PostgreSQL does not run
            IndicatedHealthDescriptor pgha = (IndicatedHealthDescriptor) health.healthForPath("pgha");
            assertThat(pgha.getStatus()).isEqualTo(Status.DOWN);
            assertThat(pgha.getDetails()).containsKeys("role", "state", "holdsLock");
            assertThat(pgha.getDetails()).containsEntry("holdsLock", false);
            // Boot's own readiness unless asked
            assertThat(context.getBean("readinessStateHealthIndicator"))
                    .isExactlyInstanceOf(ReadinessStateHealthIndicator.class);
            assertThat(status(health, "readiness")).isEqualTo(Status.UP);
        });
    }

    @Test
    void readinessFollowsThePrimaryRoleUnderSpringBoot4WhenAskedTo() {
        runner().withPropertyValues("pgha.readiness-primary-only=true").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean("readinessStateHealthIndicator"))
                    .isInstanceOf(ReadinessStateHealthIndicator.class)
                    .isNotExactlyInstanceOf(ReadinessStateHealthIndicator.class);
            started(context);
            HealthEndpoint health = context.getBean(HealthEndpoint.class);
            // the application is ready, but the member is not started, so it is not the primary:
            // the readiness group is out of service
            assertThat(status(health, "readiness")).isEqualTo(Status.OUT_OF_SERVICE);
            assertThat(status(health, "liveness")).isEqualTo(Status.UP);
        });
    }

    @Test
    void theHealthComponentCanBeDisabledUnderSpringBoot4() {
        runner().withPropertyValues("management.health.pgha.enabled=false").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(PghaMember.class);
            assertThat(context).doesNotHaveBean(PghaBoot4HealthIndicator.class);
            assertThat(context.getBean(HealthEndpoint.class).healthForPath("pgha"))
                    .isNull();
        });
    }

    @Test
    void withoutActuatorUnderSpringBoot4TheMemberHasNoHealthPart() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(
                        io.pgha.spring.boot.PghaAutoConfiguration.class,
                        io.pgha.spring.boot.PghaHealthAutoConfiguration.class,
                        io.pgha.spring.boot.PghaBoot4HealthAutoConfiguration.class))
                .withClassLoader(new FilteredClassLoader("org.springframework.boot.health."))
                .withPropertyValues(
                        "pgha.auto-startup=false",
                        "pgha.readiness-primary-only=true",
                        "pgha.scope=boot4",
                        "pgha.name=m1",
                        "pgha.dcs-type=memory",
                        "pgha.dcs.store=boot4-" + System.nanoTime(),
                        "pgha.restapi.listen=127.0.0.1:18010",
                        "pgha.postgresql.listen=127.0.0.1:15440",
                        "pgha.postgresql.data-dir=" + dir.resolve("data"),
                        "pgha.postgresql.authentication.superuser.username=postgres",
                        "pgha.postgresql.authentication.superuser.password=s",
                        "pgha.postgresql.authentication.replication.username=replicator",
                        "pgha.postgresql.authentication.replication.password=r")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(PghaMember.class);
                    assertThat(context).doesNotHaveBean("pghaHealthIndicator");
                    assertThat(context).doesNotHaveBean("readinessStateHealthIndicator");
                });
    }
}
