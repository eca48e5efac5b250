package io.pgha.spring.boot4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgha.dcs.etcd.EtcdServer;
import io.pgha.ha.HaNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * PghaStarterIT under Spring Boot 4: two Boot 4 applications, each embedding a member through the
 * starter alone (properties, no code, every auto-configuration on the class path: Boot 4's health,
 * JDBC and metrics ones too), against a real etcd and real PostgreSQL. The first becomes the
 * primary, the second a replica; Actuator's {@code pgha} component, the readiness group (readiness
 * = this member is the primary) and the meters follow the roles; a switchover through the REST API
 * moves the primary, and the first application's pooled DataSource, the starter's, reaches the new
 * one.
 */
class PghaStarterBoot4IT {
    private static EtcdServer etcd;
    private static final List<ConfigurableApplicationContext> apps = new ArrayList<>();
    private static final List<Path> dirs = new ArrayList<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {}

    @BeforeAll
    static void startEtcd() throws Exception {
        EtcdServer.assumeInstalled();
        etcd = EtcdServer.start();
    }

    @AfterAll
    static void stopAll() throws Exception {
        for (ConfigurableApplicationContext app : apps) {
            app.close(); // stops the member: the HA loop, the REST API, then PostgreSQL
        }
        if (etcd != null) {
            etcd.close();
        }
        for (Path d : dirs) {
            deleteQuietly(d);
        }
    }

    private record Member(ConfigurableApplicationContext app, int pgPort, int apiPort) {
        boolean isPrimary() {
            HaNode node = app.getBean(HaNode.class);
            return node.state().holdsLock() && node.state().postgres().isPrimary();
        }

        Status health(String path) {
            return app.getBean(HealthEndpoint.class).healthForPath(path).getStatus();
        }
    }

    private static Member start(String name) throws IOException {
        Path base = Files.createTempDirectory(
                "pgha-boot4-it-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        dirs.add(base);
        int pgPort = freePort();
        int apiPort = freePort();
        ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class)
                .web(WebApplicationType.NONE)
                .run(
                        "--spring.application.name=" + name,
                        "--pgha.scope=boot4-it",
                        "--pgha.name=" + name,
                        "--pgha.dcs-type=etcd3",
                        "--pgha.dcs.hosts=" + etcd.hostPort(),
                        "--pgha.restapi.listen=127.0.0.1:" + apiPort,
                        "--pgha.postgresql.listen=127.0.0.1:" + pgPort,
                        "--pgha.postgresql.data-dir=" + base.resolve("data"),
                        "--pgha.postgresql.authentication.superuser.username=postgres",
                        "--pgha.postgresql.authentication.superuser.password=it-superuser",
                        "--pgha.postgresql.authentication.replication.username=replicator",
                        "--pgha.postgresql.authentication.replication.password=it-replicator",
                        "--pgha.postgresql.pg-hba[0]=local all all trust",
                        "--pgha.postgresql.pg-hba[1]=host all all 127.0.0.1/32 md5",
                        "--pgha.postgresql.pg-hba[2]=host replication replicator 127.0.0.1/32 md5",
                        "--pgha.bootstrap-dcs.ttl=20",
                        "--pgha.bootstrap-dcs.loop_wait=2",
                        "--pgha.bootstrap-dcs.retry_timeout=5",
                        "--pgha.readiness-primary-only=true",
                        "--spring.datasource.hikari.maximum-pool-size=3",
                        "--spring.datasource.hikari.minimum-idle=3");
        apps.add(app);
        return new Member(app, pgPort, apiPort);
    }

    @Test
    void aBoot4ApplicationsMemberHasItsHealthItsReadinessAndAPrimaryFollowingDataSource() throws Exception {
        assertThat(SpringBootVersion.getVersion()).startsWith("4.");
        Member a = start("a");
        await().atMost(Duration.ofMinutes(2)).until(a::isPrimary);

        // Actuator (Boot 4's spring-boot-health): the pgha component, readiness = this member is the primary
        assertThat(a.health("pgha")).isEqualTo(Status.UP);
        assertThat(a.health("readiness")).isEqualTo(Status.UP);
        assertThat(a.health("liveness")).isEqualTo(Status.UP);
        // Micrometer (Boot 4's spring-boot-micrometer-metrics): Patroni's names
        MeterRegistry meters = a.app().getBean(MeterRegistry.class);
        assertThat(meters.get("patroni_primary").tag("name", "a").gauge().value())
                .isEqualTo(1.0);

        // the application's DataSource is the starter's pool, ahead of Boot 4's own JDBC auto-configuration
        assertThat(a.app().getBeansOfType(DataSource.class)).hasSize(1);
        HikariDataSource pool = a.app().getBean(HikariDataSource.class);
        assertThat(pool.getPoolName()).isEqualTo("pgha-primary");
        try (Connection c = pool.getConnection();
                Statement st = c.createStatement()) {
            st.execute("create table boot4_it(v text)");
            st.execute("insert into boot4_it values ('before')");
            assertThat(serverPort(c)).isEqualTo(a.pgPort());
        }

        Member b = start("b");
        await().atMost(Duration.ofMinutes(2)).until(() -> call(b, "GET", "/replica") == 200);
        // the component reads the HA loop's state, which sees PostgreSQL running at its next cycle
        await().atMost(Duration.ofSeconds(30)).until(() -> b.health("pgha").equals(Status.UP));
        assertThat(b.health("readiness")).isEqualTo(Status.OUT_OF_SERVICE);

        HttpResponse<String> switchover = http.send(
                HttpRequest.newBuilder(api(a, "/switchover"))
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"leader\":\"a\",\"candidate\":\"b\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(switchover.statusCode()).as(switchover.body()).isEqualTo(200);
        await().atMost(Duration.ofMinutes(2)).until(b::isPrimary);
        await().atMost(Duration.ofMinutes(1)).until(() -> call(a, "GET", "/replica") == 200);

        // the pool's connections now reach the new primary and write
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            try (Connection c = pool.getConnection()) {
                assertThat(serverPort(c)).isEqualTo(b.pgPort());
            }
        });
        try (Connection c = pool.getConnection();
                Statement st = c.createStatement()) {
            st.execute("insert into boot4_it values ('after')");
            try (ResultSet rs = st.executeQuery("select count(*) from boot4_it")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(2);
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> a.health("readiness").equals(Status.OUT_OF_SERVICE));
        assertThat(b.health("readiness")).isEqualTo(Status.UP);
        assertThat(meters.get("patroni_primary").tag("name", "a").gauge().value())
                .isEqualTo(0.0);
        assertThat(meters.get("patroni_replica").tag("name", "a").gauge().value())
                .isEqualTo(1.0);
    }

    private static int serverPort(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select inet_server_port(), pg_is_in_recovery()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(2)).as("the connection reaches a primary").isFalse();
            return rs.getInt(1);
        }
    }

    private static URI api(Member m, String path) {
        return URI.create("http://127.0.0.1:" + m.apiPort() + path);
    }

    private int call(Member m, String method, String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(api(m, path))
                                    .timeout(Duration.ofSeconds(5))
                                    .method(method, HttpRequest.BodyPublishers.noBody())
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
