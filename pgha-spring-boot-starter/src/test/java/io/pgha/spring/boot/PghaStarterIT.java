package io.pgha.spring.boot;

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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.actuate.availability.ReadinessStateHealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two Spring Boot applications, each embedding a member through the starter alone (properties, no
 * code), against a real etcd and real PostgreSQL: the first becomes the primary, the second a
 * streaming replica of it; their REST APIs answer HAProxy's checks; a switchover through the REST
 * API (which the leader carries out by asking the candidate's REST API) moves the primary; the
 * first application's pooled DataSource then reaches the new primary, on every pooled connection.
 */
class PghaStarterIT {
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
        HaNode node() {
            return app.getBean(HaNode.class);
        }

        boolean isPrimary() {
            return node().state().holdsLock() && node().state().postgres().isPrimary();
        }
    }

    private static Member start(String name) throws IOException {
        Path base = Files.createTempDirectory(
                "pgha-starter-it-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        dirs.add(base);
        int pgPort = freePort();
        int apiPort = freePort();
        ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class)
                .web(WebApplicationType.NONE)
                .run(
                        "--spring.application.name=" + name,
                        "--pgha.scope=starter-it",
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
    void anApplicationsMemberIsAFullMemberAndItsDataSourceFollowsThePrimary() throws Exception {
        Member a = start("a");
        await().atMost(Duration.ofMinutes(2)).until(a::isPrimary);

        // the REST API answers as Patroni's does: HAProxy's check, the status, Patroni's metrics
        assertThat(call(a, "OPTIONS", "/primary", null)).isEqualTo(200);
        assertThat(call(a, "GET", "/replica", null)).isEqualTo(503);
        // Patroni 3.0 calls the primary "master" in /patroni
        assertThat(get(a, "/patroni")).contains("\"role\":\"master\"");
        assertThat(get(a, "/metrics")).contains("patroni_primary{scope=\"starter-it\",name=\"a\"} 1");

        // Actuator: the pgha component, readiness = this member is the primary
        assertThat(a.app().getBean(PghaHealthIndicator.class).health().getStatus())
                .isEqualTo(Status.UP);
        assertThat(readiness(a)).isEqualTo(Status.UP);
        // Micrometer: Patroni's names, the same values /metrics serves
        MeterRegistry meters = a.app().getBean(MeterRegistry.class);
        assertThat(meters.get("patroni_primary").tag("name", "a").gauge().value())
                .isEqualTo(1.0);

        HikariDataSource pool = a.app().getBean(HikariDataSource.class);
        try (Connection c = pool.getConnection();
                Statement st = c.createStatement()) {
            st.execute("create table starter_it(v text)");
            st.execute("insert into starter_it values ('before')");
            assertThat(serverPort(c)).isEqualTo(a.pgPort());
        }

        Member b = start("b");
        await().atMost(Duration.ofMinutes(2)).until(() -> call(b, "GET", "/replica", null) == 200);
        assertThat(readiness(b)).isEqualTo(Status.OUT_OF_SERVICE);
        assertThat(get(b, "/patroni")).contains("\"role\":\"replica\"");

        // a connection the application holds across the switchover
        Connection held = pool.getConnection();
        assertThat(serverPort(held)).isEqualTo(a.pgPort());

        HttpResponse<String> switchover = http.send(
                HttpRequest.newBuilder(api(a, "/switchover"))
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"leader\":\"a\",\"candidate\":\"b\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(switchover.statusCode()).as(switchover.body()).isEqualTo(200);
        await().atMost(Duration.ofMinutes(2)).until(b::isPrimary);
        await().atMost(Duration.ofMinutes(1)).until(() -> call(a, "GET", "/replica", null) == 200);

        held.close(); // returned to the pool, which evicts it: it was opened to the former primary
        // every connection the pool hands out now reaches the new primary and writes
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            List<Connection> all = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    Connection c = pool.getConnection();
                    all.add(c);
                    assertThat(serverPort(c)).isEqualTo(b.pgPort());
                }
            } finally {
                for (Connection c : all) {
                    c.close();
                }
            }
        });
        try (Connection c = pool.getConnection();
                Statement st = c.createStatement()) {
            st.execute("insert into starter_it values ('after')");
            try (ResultSet rs = st.executeQuery("select count(*) from starter_it")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(2);
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> readiness(a) == Status.OUT_OF_SERVICE);
        assertThat(readiness(b)).isEqualTo(Status.UP);
        assertThat(meters.get("patroni_primary").tag("name", "a").gauge().value())
                .isEqualTo(0.0);
        assertThat(meters.get("patroni_replica").tag("name", "a").gauge().value())
                .isEqualTo(1.0);
    }

    private static Status readiness(Member m) {
        return m.app()
                .getBean("readinessStateHealthIndicator", ReadinessStateHealthIndicator.class)
                .health()
                .getStatus();
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

    private int call(Member m, String method, String path, String body) {
        try {
            return http.send(
                            HttpRequest.newBuilder(api(m, path))
                                    .timeout(Duration.ofSeconds(5))
                                    .method(
                                            method,
                                            body == null
                                                    ? HttpRequest.BodyPublishers.noBody()
                                                    : HttpRequest.BodyPublishers.ofString(body))
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

    private String get(Member m, String path) throws Exception {
        return http.send(
                        HttpRequest.newBuilder(api(m, path))
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
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
            // best effort: a temporary directory
        }
    }
}
