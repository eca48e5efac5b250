package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresStatus;
import java.io.Closeable;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's eye on its leader between cycles: every {@link #INTERVAL} a TCP connection to the
 * leader's REST API port and PostgreSQL port, as its member record publishes them. When both
 * refuse twice in a row, the leader's agent and PostgreSQL are gone from a host that is up (a
 * crash, the OOM killer, kill -9), and the watch wakes the loop with a suspicion for the next
 * cycle ({@link #suspicion}). It decides nothing: the engine re-checks ({@link
 * Action.ConfirmLeaderGone}) and decides whether to take the lock over before the ttl ends
 * (docs/engine.md, rows 36a–36c). A host that does not answer at all (down, cut off) raises no
 * suspicion: that case waits for the ttl.
 *
 * <p>Threading: {@link #watch} is called by the loop thread after it read the cluster, {@link
 * #checkOnce} by the watch's own thread (or by the simulation, which has none), {@link #suspicion}
 * by the loop thread; the shared state is two volatile fields. {@link #close} ends the thread.
 */
final class LeaderWatch implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderWatch.class);

    /** How often the leader's ports are tried. */
    static final Duration INTERVAL = Duration.ofMillis(500);
    /** How long one connection attempt may take before the host counts as not answering. */
    static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);
    /** A suspicion older than this is stale (the leader may have come back meanwhile). */
    static final Duration FRESH = Duration.ofSeconds(3);

    /** Where the leader listens, from the cluster as last read. */
    record Target(String leader, long lockVersion, String pgHost, int pgPort, String apiHost, int apiPort) {}

    private final String name;
    private final EndpointProbe probe;
    private final Clock clock;
    private final Runnable wake;
    private volatile Target target;
    private volatile HaInput.LeaderGone suspicion;
    private volatile Instant suspectedAt;
    // watch thread only
    private Target refusedOnce;
    private Thread thread;
    private volatile boolean closed;

    LeaderWatch(String name, EndpointProbe probe, Clock clock, Runnable wake) {
        this.name = name;
        this.probe = probe;
        this.clock = clock;
        this.wake = wake;
    }

    /** Starts the watch's thread (a daemon); once. */
    synchronized void start() {
        if (thread != null || closed) {
            return;
        }
        thread = new Thread(this::run, "pgha-" + name + "-leader-watch");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * What to watch after this cycle's read: the leader of {@code cluster} when this node is a running
     * replica of it, not paused, and its record gives both ports; else nothing.
     */
    void watch(ClusterState cluster, PostgresStatus pg, DynamicConfig config) {
        Target t = target(name, cluster, pg, config);
        target = t;
        HaInput.LeaderGone s = suspicion;
        if (s != null && (t == null || !t.leader().equals(s.leader()) || t.lockVersion() != s.lockVersion())) {
            suspicion = null;
        }
    }

    /** The suspicion for this cycle: a leader whose ports refused twice lately, else null. */
    HaInput.LeaderGone suspicion() {
        HaInput.LeaderGone s = suspicion;
        Instant at = suspectedAt;
        if (s == null || at == null || clock.instant().isAfter(at.plus(FRESH))) {
            return null;
        }
        return s;
    }

    /** One look at the leader's ports. */
    void checkOnce() {
        Target t = target;
        if (t == null) {
            refusedOnce = null;
            return;
        }
        if (!bothRefuse(t)) {
            refusedOnce = null;
            return;
        }
        if (!t.equals(refusedOnce)) {
            refusedOnce = t; // once may be a restart's blink: look again
            return;
        }
        if (suspicion == null) {
            LOG.warn(
                    "[{}] the leader ({}) refuses connections on its REST API ({}:{}) and PostgreSQL ({}:{}) ports:"
                            + " its agent and PostgreSQL are gone from a live host",
                    name,
                    t.leader(),
                    t.apiHost(),
                    t.apiPort(),
                    t.pgHost(),
                    t.pgPort());
        }
        suspectedAt = clock.instant();
        suspicion = new HaInput.LeaderGone(t.leader(), t.lockVersion(), false);
        wake.run();
    }

    /** Whether both of the target's ports refuse now: the engine's re-check. */
    boolean bothRefuse(Member leader) {
        return endpoints(leader, 0).map(this::bothRefuse).orElse(false);
    }

    /** The REST API port first: PostgreSQL is not connected to while the agent answers. */
    private boolean bothRefuse(Target t) {
        return probe.reach(t.apiHost(), t.apiPort(), CONNECT_TIMEOUT) == EndpointProbe.Reach.REFUSED
                && probe.reach(t.pgHost(), t.pgPort(), CONNECT_TIMEOUT) == EndpointProbe.Reach.REFUSED;
    }

    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        while (!closed) {
            try {
                checkOnce();
            } catch (RuntimeException e) {
                LOG.debug("[{}] leader watch: {}", name, e.toString());
            }
            try {
                Thread.sleep(INTERVAL.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    static Target target(String self, ClusterState cluster, PostgresStatus pg, DynamicConfig config) {
        if (cluster == null
                || !cluster.hasLeader()
                || cluster.isLeader(self)
                || (config != null && config.isPaused())
                || pg == null
                || !pg.isRunning()
                || pg.isPrimary()) {
            return null;
        }
        Optional<Member> leader = cluster.leaderMember();
        return leader.flatMap(m -> endpoints(m, cluster.leader().version())).orElse(null);
    }

    private static Optional<Target> endpoints(Member m, long version) {
        HostPort pg = HostPort.of(m.connUrl());
        HostPort api = HostPort.of(m.apiUrl());
        if (pg == null || api == null) {
            return Optional.empty();
        }
        return Optional.of(new Target(m.name(), version, pg.host(), pg.port(), api.host(), api.port()));
    }

    private record HostPort(String host, int port) {
        static HostPort of(String url) {
            if (url == null) {
                return null;
            }
            try {
                URI u = URI.create(url);
                return u.getHost() == null || u.getPort() <= 0 ? null : new HostPort(u.getHost(), u.getPort());
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
    }
}
