package io.pgha.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgha.ha.HaNode;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;
import org.springframework.boot.actuate.availability.ReadinessStateHealthIndicator;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.availability.ApplicationAvailabilityAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The auto-configuration's conditions and properties, in application contexts that build the member
 * but do not start it ({@code pgha.auto-startup=false}: no PostgreSQL, no port); the in-process
 * {@code memory} DCS. The member running for real: PghaStarterIT.
 */
class PghaAutoConfigurationTest {
    @TempDir
    Path dir;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(
                    PghaAutoConfiguration.class,
                    PghaHealthAutoConfiguration.class,
                    // the Spring Boot 4 variant, as in AutoConfiguration.imports: its condition does not
                    // match on this Boot 3.5 class path (the tests run without spring-boot-health)
                    PghaBoot4HealthAutoConfiguration.class,
                    PghaMetricsAutoConfiguration.class,
                    PghaDataSourceAutoConfiguration.class,
                    ApplicationAvailabilityAutoConfiguration.class,
                    DataSourceAutoConfiguration.class));

    private ApplicationContextRunner complete() {
        return runner.withPropertyValues(
                "pgha.auto-startup=false",
                "pgha.scope=ctx",
                "pgha.name=m1",
                "pgha.dcs-type=memory",
                "pgha.dcs.store=ctx-" + System.nanoTime(),
                "pgha.restapi.listen=127.0.0.1:18008",
                "pgha.postgresql.listen=127.0.0.1:15432",
                "pgha.postgresql.data-dir=" + dir.resolve("data"),
                "pgha.postgresql.authentication.superuser.username=postgres",
                "pgha.postgresql.authentication.superuser.password=s3cret",
                "pgha.postgresql.authentication.replication.username=replicator",
                "pgha.postgresql.authentication.replication.password=r3pl",
                "pgha.bootstrap-dcs.ttl=20",
                "pgha.bootstrap-dcs.loop_wait=5",
                "pgha.bootstrap-dcs.retry_timeout=5",
                "pgha.postgresql.parameters.max_connections=50",
                "pgha.tags.nofailover=true");
    }

    @Test
    void aCompleteConfigurationGivesTheMemberItsHealthItsMetersAndAPooledDataSource() {
        complete().run(context -> {
            assertThat(context).hasNotFailed();
            PghaMember member = context.getBean(PghaMember.class);
            assertThat(member.isRunning()).isFalse();
            assertThat(context.getBean(HaNode.class)).isSameAs(member.node());
            assertThat(member.configuration().name()).isEqualTo("m1");
            assertThat(member.configuration().scope()).isEqualTo("ctx");
            assertThat(member.configuration().restapi()).containsEntry("listen", "127.0.0.1:18008");
            assertThat(member.configuration().bootstrapDcs()).containsEntry("ttl", 20);
            assertThat(member.configuration().tags()).containsEntry("nofailover", true);
            assertThat(member.configuration().nodeConfig().apiUrl()).isEqualTo("http://127.0.0.1:18008/patroni");

            assertThat(context).hasSingleBean(PghaHealthIndicator.class);
            assertThat(context.getBean(PghaHealthIndicator.class).health().getStatus())
                    .isEqualTo(Status.DOWN);
            assertThat(context).doesNotHaveBean(PghaBoot4HealthAutoConfiguration.class);
            assertThat(context).hasBean("pghaMeterBinder");
            assertThat(context).hasSingleBean(DataSource.class);
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            PrimaryFollowingDataSource primary = pool.getDataSource().unwrap(PrimaryFollowingDataSource.class);
            assertThat(primary.hosts()).containsExactly("127.0.0.1:15432");
            // Boot's readiness indicator is Boot's own unless asked
            assertThat(context).doesNotHaveBean("readinessStateHealthIndicator");
        });
    }

    @Test
    void theMetersUseTheNamesOfPatronisMetrics() {
        complete().run(context -> {
            MeterRegistry registry = new SimpleMeterRegistry();
            context.getBean("pghaMeterBinder", MeterBinder.class).bindTo(registry);
            assertThat(registry.find("patroni_primary").tag("name", "m1").gauge())
                    .isNotNull();
            assertThat(registry.find("patroni_postgres_running").gauge().value())
                    .isZero();
        });
    }

    @Test
    void nothingWhenDisabled() {
        complete()
                .withPropertyValues("pgha.enabled=false", "spring.datasource.url=jdbc:postgresql://127.0.0.1:1/app")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean(PghaMember.class);
                    assertThat(context).doesNotHaveBean(HaNode.class);
                    assertThat(context).doesNotHaveBean(PghaHealthIndicator.class);
                    assertThat(context).doesNotHaveBean("pghaMeterBinder");
                    // Spring Boot's own DataSource, not the starter's
                    assertThat(context.getBean(HikariDataSource.class).getJdbcUrl())
                            .isEqualTo("jdbc:postgresql://127.0.0.1:1/app");
                });
    }

    @Test
    void noDefaultPasswordAMissingOneStopsTheStartAndNamesTheProperty() {
        runner.withPropertyValues(
                        "pgha.auto-startup=false",
                        "pgha.scope=ctx",
                        "pgha.name=m1",
                        "pgha.dcs-type=memory",
                        "pgha.restapi.listen=127.0.0.1:18008",
                        "pgha.postgresql.listen=127.0.0.1:15432",
                        "pgha.postgresql.data-dir=" + dir.resolve("data"),
                        "pgha.postgresql.authentication.superuser.username=postgres",
                        "pgha.postgresql.authentication.replication.username=replicator",
                        "pgha.postgresql.authentication.replication.password=r3pl")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(findPghaFailure(context.getStartupFailure()).getMessage())
                            .isEqualTo("pgha.postgresql.authentication.superuser.password is required");
                });
    }

    @Test
    void noDcsTypeStopsTheStart() {
        runner.withPropertyValues("pgha.name=m1").run(context -> {
            assertThat(context).hasFailed();
            assertThat(findPghaFailure(context.getStartupFailure()).getMessage())
                    .contains("pgha.dcs-type is not set");
        });
    }

    @Test
    void aPatroniFileRunsAsItIs() throws Exception {
        Path yml = patroniFile();
        runner.withPropertyValues("pgha.auto-startup=false", "pgha.patroni-config=" + yml)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    PghaMember member = context.getBean(PghaMember.class);
                    assertThat(member.configuration().name()).isEqualTo("file1");
                    assertThat(member.configuration().source()).isEqualTo(yml.toString());
                    assertThat(member.configuration().nodeConfig().apiUrl())
                            .isEqualTo("http://127.0.0.1:18009/patroni");
                    assertThat(member.superuser()).isEqualTo(java.util.Map.entry("postgres", "from-file"));
                });
    }

    @Test
    void aPatroniFileIsTheWholeConfigurationNodePropertiesNextToItAreAnError() throws Exception {
        Path yml = patroniFile();
        runner.withPropertyValues("pgha.patroni-config=" + yml, "pgha.name=other", "pgha.restapi.listen=0.0.0.0:1")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(findPghaFailure(context.getStartupFailure()).getMessage())
                            .contains("pgha.patroni-config is set and so are pgha.name, pgha.restapi");
                });
    }

    @Test
    void aMissingOrBrokenPatroniFileIsAClearError() throws Exception {
        runner.withPropertyValues("pgha.patroni-config=" + dir.resolve("nope.yml"))
                .run(context -> assertThat(
                                findPghaFailure(context.getStartupFailure()).getMessage())
                        .contains("no such file"));
        Path broken = Files.writeString(dir.resolve("broken.yml"), "scope: x\nname: y\nrestapi:\n  listen: [\n");
        runner.withPropertyValues("pgha.patroni-config=" + broken)
                .run(context -> assertThat(
                                findPghaFailure(context.getStartupFailure()).getMessage())
                        .contains(broken.toString()));
    }

    @Test
    void withoutActuatorNoHealthIndicator() {
        complete()
                .withClassLoader(new FilteredClassLoader(HealthIndicator.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(PghaMember.class);
                    assertThat(context).doesNotHaveBean(PghaHealthIndicator.class);
                });
    }

    @Test
    void withoutMicrometerNoMeters() {
        complete().withClassLoader(new FilteredClassLoader(MeterRegistry.class)).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean("pghaMeterBinder");
        });
    }

    @Test
    void withoutHikariNoDataSourceFromTheStarter() {
        complete()
                .withClassLoader(new FilteredClassLoader(HikariDataSource.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(PghaMember.class);
                    assertThat(context).doesNotHaveBean(HikariDataSource.class);
                });
    }

    @Test
    void theApplicationsOwnDataSourceWins() {
        complete().withUserConfiguration(OwnDataSource.class).run(context -> {
            assertThat(context).hasSingleBean(DataSource.class);
            assertThat(context.getBean(DataSource.class)).isInstanceOf(PGSimpleDataSource.class);
        });
        complete()
                .withPropertyValues(
                        "pgha.datasource.enabled=false", "spring.datasource.url=jdbc:postgresql://127.0.0.1:1/app")
                .run(context -> assertThat(
                                context.getBean(HikariDataSource.class).getPoolName())
                        .isNotEqualTo("pgha-primary"));
    }

    @Test
    void theDataSourceTakesItsOwnCredentialsAndHikarisSettings() {
        complete()
                .withPropertyValues(
                        "pgha.datasource.username=app",
                        "pgha.datasource.password=apppw",
                        "pgha.datasource.database=appdb",
                        "spring.datasource.hikari.maximum-pool-size=7")
                .run(context -> {
                    HikariDataSource pool = context.getBean(HikariDataSource.class);
                    assertThat(pool.getMaximumPoolSize()).isEqualTo(7);
                    PGSimpleDataSource pg = pgOf(pool);
                    assertThat(pg.getUser()).isEqualTo("app");
                    assertThat(pg.getDatabaseName()).isEqualTo("appdb");
                    assertThat(pg.getTargetServerType()).isEqualTo("primary");
                });
        complete()
                .run(context -> assertThat(
                                pgOf(context.getBean(HikariDataSource.class)).getUser())
                        .isEqualTo("postgres"));
    }

    @Test
    void readinessFollowsThePrimaryRoleWhenAskedTo() {
        complete().withPropertyValues("pgha.readiness-primary-only=true").run(context -> {
            assertThat(context).hasNotFailed();
            ReadinessStateHealthIndicator readiness =
                    context.getBean("readinessStateHealthIndicator", ReadinessStateHealthIndicator.class);
            // the member is not started, so it is not the primary
            assertThat(readiness.health().getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
        });
    }

    @Test
    void messagesAboutTheDocumentUseThePropertyNames() {
        assertThat(MemberConfiguration.propertyNames(
                        "postgresql.authentication.superuser.password is required; etcd3.hosts: bad;"
                                + " bootstrap.dcs.loop_wait too big; postgresql.parameters.max_connections"))
                .isEqualTo("pgha.postgresql.authentication.superuser.password is required; pgha.dcs.hosts: bad;"
                        + " pgha.bootstrap-dcs.loop_wait too big; pgha.postgresql.parameters.max_connections");
        assertThat(MemberConfiguration.propertyNames("postgresql.data_dir")).isEqualTo("pgha.postgresql.data-dir");
    }

    @Test
    void springBootsFailureReportSaysWhatToFix() throws Exception {
        var analysis = new PghaFailureAnalyzer()
                .analyze(new IllegalStateException(
                        "wrapped", new PghaConfigurationException("pgha.postgresql.data-dir is required")));
        assertThat(analysis.getDescription())
                .isEqualTo("The embedded pgha member cannot start: pgha.postgresql.data-dir is required");
        assertThat(analysis.getAction()).contains("pgha.*", "pgha.patroni-config");
        // registered where Spring Boot looks for failure analyzers
        java.util.List<String> factories = new java.util.ArrayList<>();
        for (java.net.URL url :
                java.util.Collections.list(getClass().getClassLoader().getResources("META-INF/spring.factories"))) {
            try (var in = url.openStream()) {
                factories.add(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        assertThat(factories)
                .anyMatch(f -> f.contains("org.springframework.boot.diagnostics.FailureAnalyzer=\\\n"
                        + PghaFailureAnalyzer.class.getName()));
    }

    private static PGSimpleDataSource pgOf(HikariDataSource pool) throws Exception {
        PrimaryFollowingDataSource primary = pool.getDataSource().unwrap(PrimaryFollowingDataSource.class);
        java.lang.reflect.Field f = PrimaryFollowingDataSource.class.getDeclaredField("delegate");
        f.setAccessible(true);
        return (PGSimpleDataSource) f.get(primary);
    }

    private Path patroniFile() throws Exception {
        return Files.writeString(dir.resolve("node.yml"), """
                scope: filecluster
                name: file1
                restapi:
                  listen: 127.0.0.1:18009
                memory:
                  store: file-%d
                postgresql:
                  listen: 127.0.0.1:15433
                  data_dir: %s
                  authentication:
                    superuser: {username: postgres, password: from-file}
                    replication: {username: replicator, password: r}
                """.formatted(System.nanoTime(), dir.resolve("filedata")));
    }

    private static PghaConfigurationException findPghaFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PghaConfigurationException p) {
                return p;
            }
        }
        return null;
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnDataSource {
        @Bean
        DataSource dataSource() {
            return new PGSimpleDataSource();
        }
    }
}
