package io.pgha.examples.spring;

import io.pgha.spring.boot.PghaEvents;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Boot application with an embedded pgha member: pgha-spring-boot-starter does the wiring
 * from application.properties; this is the application's own code. Run it with
 * {@code PGHA_SUPERUSER_PASSWORD=... PGHA_REPLICATION_PASSWORD=... mvn -pl pgha-examples-embedding spring-boot:run}.
 */
@SpringBootApplication
@RestController
public class PghaSpringApplication {
    private static final Logger log = LoggerFactory.getLogger(PghaSpringApplication.class);
    private final JdbcTemplate jdbc;

    public PghaSpringApplication(JdbcTemplate jdbc) {
        this.jdbc = jdbc; // over the starter's DataSource: always the cluster's primary
    }

    public static void main(String[] args) {
        SpringApplication.run(PghaSpringApplication.class, args);
    }

    @EventListener
    void onRole(PghaEvents.RoleChanged e) {
        log.info("this member is now {} (was {})", e.to(), e.from());
    }

    /** Which PostgreSQL the application's connections reach. */
    @GetMapping("/primary")
    String primary() {
        return jdbc.queryForObject("select inet_server_addr() || ':' || inet_server_port()", String.class);
    }
}
