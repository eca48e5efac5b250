package io.pgha.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgha.examples.TestDirs;
import io.pgha.ha.HaNode;
import io.pgha.spring.boot.PghaEvents;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.context.event.EventListener;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The Spring Boot example (the starter and application.properties) against a real PostgreSQL and
 * the in-process DCS: events, health, readiness, the pooled DataSource, the REST API, the meters.
 */
// metrics export (/actuator/prometheus) is off in Spring Boot tests unless asked for
@AutoConfigureObservability(tracing = false)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class PghaSpringApplicationIT {
    private static Path base;
    private static int apiPort;
    private static int pgPort;

    @DynamicPropertySource
    static void pgha(DynamicPropertyRegistry registry) throws Exception {
        // not deleted by the test: Spring closes the context (and the node stops PostgreSQL) only
        // when the JVM exits, after every JUnit callback has run; a data directory removed under a
        // running postmaster would leave it running
        base = TestDirs.traversableTempDir("pgha-spring-it-");
        int port = TestDirs.freePort();
        pgPort = port;
        apiPort = TestDirs.freePort();
        registry.add("pgha.postgresql.data-dir", () -> base.resolve("data").toString());
        registry.add("pgha.postgresql.listen", () -> "127.0.0.1:" + port);
        registry.add("pgha.restapi.listen", () -> "127.0.0.1:" + apiPort);
        registry.add("pgha.dcs.store", () -> "spring-it");
        // the example's application.properties takes them from the environment
        registry.add("PGHA_SUPERUSER_PASSWORD", () -> "it-superuser");
        registry.add("PGHA_REPLICATION_PASSWORD", () -> "it-replicator");
    }

    /** Collects the application events the example publishes. */
    @TestConfiguration
    static class Events {
        final List<PghaEvents.RoleChanged> roles = new CopyOnWriteArrayList<>();
        final List<PghaEvents.LeaderChanged> leaders = new CopyOnWriteArrayList<>();

        @EventListener
        void on(PghaEvents.RoleChanged e) {
            roles.add(e);
        }

        @EventListener
        void on(PghaEvents.LeaderChanged e) {
            leaders.add(e);
        }
    }

    @Autowired
    Events events;

    @Autowired
    HaNode node;

    @Autowired
    HealthEndpoint health;

    @Autowired
    ApplicationAvailability availability;

    @Autowired
    DataSource dataSource;

    @Autowired
    MeterRegistry meters;

    @Autowired
    TestRestTemplate web;

    @Test
    void theEmbeddedNodeBecomesPrimaryAndTheApplicationFollowsIt() throws Exception {
        await().atMost(Duration.ofMinutes(2))
                .until(() -> node.state().holdsLock() && node.state().postgres().isPrimary());
        await().atMost(Duration.ofSeconds(20))
                .until(() -> events.roles.stream().anyMatch(PghaEvents.RoleChanged::isGranted));
        await().atMost(Duration.ofSeconds(20))
                .until(() -> events.leaders.stream().anyMatch(e -> "app1".equals(e.to())));
        assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
        var component = health.healthForPath("pgha");
        assertThat(component.getStatus()).isEqualTo(Status.UP);
        // the starter's pooled DataSource, which the application's own endpoint uses
        assertThat(dataSource).isInstanceOf(HikariDataSource.class);
        try (Connection c = dataSource.getConnection();
                ResultSet rs = c.createStatement().executeQuery("select pg_is_in_recovery()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(1)).isFalse();
        }
        assertThat(web.getForObject("/primary", String.class)).endsWith(":" + pgPort);
        // the member's REST API, as HAProxy and patronictl reach it
        HttpResponse<String> primary = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/primary"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(primary.statusCode()).isEqualTo(200);
        // Patroni's metric names on /actuator/prometheus
        assertThat(meters.get("patroni_primary").gauge().value()).isEqualTo(1.0);
        assertThat(web.getForObject("/actuator/prometheus", String.class))
                .contains("patroni_primary{name=\"app1\",scope=\"spring\"} 1.0");
    }
}
