package io.pgha.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.examples.TestDirs;
import io.pgha.ha.HaNode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.event.EventListener;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The Spring Boot example against a real PostgreSQL and the embedded (in-process) DCS. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class PghaSpringApplicationIT {
    private static Path base;

    @DynamicPropertySource
    static void pgha(DynamicPropertyRegistry registry) throws Exception {
        // not deleted by the test: Spring closes the context (and the node stops PostgreSQL) only
        // when the JVM exits, after every JUnit callback has run; a data directory removed under a
        // running postmaster would leave it running
        base = TestDirs.traversableTempDir("pgha-spring-it-");
        int port = TestDirs.freePort();
        registry.add("pgha.data-dir", () -> base.resolve("data").toString());
        registry.add("pgha.port", () -> port);
        registry.add("pgha.dcs.store", () -> "spring-it");
        registry.add("pgha.readiness-primary-only", () -> true);
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
    PrimaryRoutingDataSource dataSource;

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
        assertThat(dataSource.url()).contains("targetServerType=primary");
        try (Connection c = dataSource.getConnection();
                ResultSet rs = c.createStatement().executeQuery("select pg_is_in_recovery()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(1)).isFalse();
        }
    }
}
