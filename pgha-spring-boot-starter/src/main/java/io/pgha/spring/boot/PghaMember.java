package io.pgha.spring.boot;

import io.pgha.api.RestApiServer;
import io.pgha.config.PatroniYaml;
import io.pgha.dcs.Dcs;
import io.pgha.ha.HaNode;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.local.LocalPostgresController;
import io.pgha.postgres.local.PatroniMember;
import java.io.IOException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.SmartLifecycle;

/**
 * The embedded member, built as {@code pgha run} builds one ({@link PatroniMember}) and started and
 * stopped with the application context: on start its REST API (Patroni's paths on
 * {@code restapi.listen}, so that HAProxy, patronictl and the other members reach it) and then the
 * HA loop; on stop the loop (a leader hands over cleanly), the REST API, then PostgreSQL, which is
 * left running when the cluster is paused, as Patroni leaves it.
 *
 * <p>It starts before the application's web server and stops after it (its phase is lower), so the
 * application's traffic ends before the database goes.
 */
public final class PghaMember implements SmartLifecycle, DisposableBean {
    /** Before the web server's start and after its graceful stop. */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private static final Logger log = LoggerFactory.getLogger(PghaMember.class);

    private final PatroniMember.Parts parts;
    private final LocalPostgresController postgres;
    private final HaNode node;
    private volatile RestApiServer api;
    private volatile boolean running;
    private boolean closed;

    private final boolean autoStartup;

    private PghaMember(PatroniMember.Parts parts, LocalPostgresController postgres, Dcs dcs, boolean autoStartup) {
        this.parts = parts;
        this.autoStartup = autoStartup;
        this.postgres = postgres;
        // the HA loop died (an Error: HaNode logged it): the REST API stops answering with stale
        // state, so HAProxy and the other members see this member gone; the fence stops a primary
        this.node = PatroniMember.buildNode(parts, dcs, postgres, e -> closeApi());
    }

    /**
     * Checks the configuration, connects the DCS (retrying while it is unreachable) and builds the
     * node; starts nothing.
     *
     * @throws PghaConfigurationException naming the property or file key that is wrong
     */
    static PghaMember create(PatroniYaml yaml, boolean autoStartup) {
        PatroniMember.Parts parts;
        try {
            parts = PatroniMember.check(yaml);
        } catch (IllegalArgumentException e) {
            String message = yaml.locate(e.getMessage());
            throw new PghaConfigurationException(
                    MemberConfiguration.PROPERTIES_SOURCE.equals(yaml.source())
                            ? MemberConfiguration.propertyNames(e.getMessage())
                            : message,
                    e);
        }
        yaml.warnings().forEach(w -> log.warn("{}: {}", yaml.source(), w));
        LocalPostgresController postgres;
        try {
            postgres = new LocalPostgresController(parts.postgres());
        } catch (PostgresException e) {
            throw new IllegalStateException(
                    "pgha: cannot set up PostgreSQL for member " + yaml.name() + ": " + e.getMessage(), e);
        }
        Dcs dcs;
        try {
            dcs = PatroniMember.connectDcs(parts);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            postgres.close();
            throw new IllegalStateException("pgha: interrupted while connecting to the DCS", e);
        }
        return new PghaMember(parts, postgres, dcs, autoStartup);
    }

    /** The node: its state, listeners, and the operations the REST API offers. */
    public HaNode node() {
        return node;
    }

    /** The configuration the member runs (Patroni's document, from the file or the properties). */
    public PatroniYaml configuration() {
        return parts.yaml();
    }

    /** Where the REST API listens (null before start). */
    public RestApiServer restApi() {
        return api;
    }

    /** The superuser's name and password from the configuration (the DataSource's default credentials). */
    Map.Entry<String, String> superuser() {
        Object auth = parts.yaml().postgresql().get("authentication");
        Object su = auth instanceof Map<?, ?> a ? a.get("superuser") : null;
        Object name = su instanceof Map<?, ?> s ? s.get("username") : null;
        Object password = su instanceof Map<?, ?> s ? s.get("password") : null;
        return Map.entry(name == null ? "postgres" : name.toString(), password == null ? "" : password.toString());
    }

    /** host:port of this member's PostgreSQL, as the other members reach it. */
    String postgresAddress() {
        java.net.URI u = java.net.URI.create(parts.postgres().connUrl());
        return u.getHost() + ":" + (u.getPort() > 0 ? u.getPort() : 5432);
    }

    @Override
    public synchronized void start() {
        if (running) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("pgha: member " + node.name() + " was stopped; it does not start again");
        }
        try {
            api = RestApiServer.start(parts.restApi(), node);
        } catch (IOException e) {
            throw new IllegalStateException(
                    "pgha: REST API cannot listen on " + parts.yaml().restapi().get("listen") + ": " + e.getMessage(),
                    e);
        }
        node.start();
        running = true;
        log.info(
                "member {} of cluster {} running: REST API {}, PostgreSQL {}, DCS {}",
                parts.yaml().name(),
                parts.yaml().scope(),
                parts.yaml().nodeConfig().apiUrl(),
                parts.postgres().connUrl(),
                parts.yaml().dcsType());
    }

    @Override
    public synchronized void stop() {
        if (!running) {
            return;
        }
        running = false;
        log.info("stopping member {}", node.name());
        shutDown();
    }

    private void shutDown() {
        if (closed) {
            return;
        }
        closed = true;
        boolean paused = node.state().isPaused();
        node.close();
        closeApi();
        if (paused) {
            postgres.closeLeavingServerRunning();
        } else {
            postgres.close();
        }
    }

    private void closeApi() {
        RestApiServer a = api;
        if (a != null) {
            a.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public boolean isAutoStartup() {
        return autoStartup;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /** The context failed or closed without stopping the member: release the DCS session and PostgreSQL. */
    @Override
    public synchronized void destroy() {
        running = false;
        shutDown();
    }
}
