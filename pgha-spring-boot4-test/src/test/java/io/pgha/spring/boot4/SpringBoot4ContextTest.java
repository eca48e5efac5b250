package io.pgha.spring.boot4;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgha.ha.HaNode;
import io.pgha.spring.boot.PghaMember;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The starter's auto-configuration, as listed in its AutoConfiguration.imports, in a Spring Boot 4
 * application context: the member (built, not started), the HikariCP DataSource and the meters.
 * Actuator's health classes moved to new packages in Spring Boot 4, so the health part is absent
 * there (its condition does not match) until the starter carries a Boot 4 variant.
 */
class SpringBoot4ContextTest {
    @TempDir
    Path dir;

    @Test
    void theStarterConfiguresAMemberUnderSpringBoot4() {
        assertThat(SpringBootVersion.getVersion()).startsWith("4.");
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(
                        io.pgha.spring.boot.PghaAutoConfiguration.class,
                        io.pgha.spring.boot.PghaHealthAutoConfiguration.class,
                        io.pgha.spring.boot.PghaMetricsAutoConfiguration.class,
                        io.pgha.spring.boot.PghaDataSourceAutoConfiguration.class))
                .withPropertyValues(
                        "pgha.auto-startup=false",
                        "pgha.scope=boot4",
                        "pgha.name=m1",
                        "pgha.dcs-type=memory",
                        "pgha.dcs.store=boot4",
                        "pgha.restapi.listen=127.0.0.1:18010",
                        "pgha.postgresql.listen=127.0.0.1:15440",
                        "pgha.postgresql.data-dir=" + dir.resolve("data"),
                        "pgha.postgresql.authentication.superuser.username=postgres",
                        "pgha.postgresql.authentication.superuser.password=s",
                        "pgha.postgresql.authentication.replication.username=replicator",
                        "pgha.postgresql.authentication.replication.password=r",
                        "spring.datasource.hikari.maximum-pool-size=4")
                .run(context -> {
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
}
