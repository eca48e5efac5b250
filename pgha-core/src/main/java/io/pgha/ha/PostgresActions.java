package io.pgha.ha;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL work behind the engine's long actions (and the two short ones that touch a
 * replica's upstream), each step as the decision says: bootstrap, clone, start (after a rewind or a
 * re-clone when the engine chose one), promote, demote, reinitialize, restart, stop. Also what the
 * node remembers of that work: the leader the replica follows, the leader a rewind failed against,
 * the member state shown while an action runs.
 *
 * <p>Threading: {@link #run} runs on the action thread (or, at shutdown, the closing thread), one
 * action at a time; {@link #follow} and {@link #stopToRewind} on the loop thread while no long
 * action runs. The remembered fields are volatile and read from any thread.
 */
final class PostgresActions {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresActions.class);
    /** How long one pg_ctl step may take. */
    static final Duration PG_TIMEOUT = Duration.ofSeconds(120);

    private final NodeConfig config;
    private final Dcs dcs;
    private final PostgresController postgres;
    private final Clock clock;
    private final Lease lease;
    private final NodeEvents events;
    private final Runnable reinitializeStarted;
    private volatile String activity;
    private volatile String following;
    private volatile String rewindFailedFrom;
    private volatile Instant promotionVetoedAt;

    PostgresActions(
            NodeConfig config,
            Dcs dcs,
            PostgresController postgres,
            Clock clock,
            Lease lease,
            NodeEvents events,
            Runnable reinitializeStarted) {
        this.config = config;
        this.dcs = dcs;
        this.postgres = postgres;
        this.clock = clock;
        this.lease = lease;
        this.events = events;
        this.reinitializeStarted = reinitializeStarted;
    }

    String activity() {
        return activity;
    }

    String following() {
        return following;
    }

    String rewindFailedFrom() {
        return rewindFailedFrom;
    }

    Instant promotionVetoedAt() {
        return promotionVetoedAt;
    }

    /** A long action is about to start: the member state Patroni shows meanwhile. */
    void starting(Action.Long a) {
        activity = activityOf(a);
        if (a instanceof Action.Reinitialize) {
            reinitializeStarted.run();
        }
    }

    void finished() {
        activity = null;
    }

    void run(Action.Long a) throws PostgresException, DcsException {
        if (a instanceof Action.Bootstrap) {
            bootstrap();
        } else if (a instanceof Action.BootstrapStandbyLeader b) {
            bootstrapStandbyLeader(b.remote());
        } else if (a instanceof Action.CloneFrom c) {
            postgres.cloneFrom(c.source());
            ClusterState cluster = dcs.read();
            Member leader = cluster.leaderMember().orElse(c.source());
            if (leader == null || !c.streams()) {
                postgres.startStandby(PG_TIMEOUT);
                following = null;
            } else {
                postgres.start(leader, PG_TIMEOUT);
                following = leader.name();
            }
            events.fire(l -> l.postgresStarted("replica"));
        } else if (a instanceof Action.StartStandby) {
            postgres.startStandby(PG_TIMEOUT);
            following = null;
            events.fire(l -> l.postgresStarted("replica"));
        } else if (a instanceof Action.StartPrimary) {
            postgres.start(null, PG_TIMEOUT);
            following = null;
            events.fire(l -> l.postgresStarted("primary"));
        } else if (a instanceof Action.StartReplica s) {
            startReplica(s);
        } else if (a instanceof Action.Promote) {
            promote();
        } else if (a instanceof Action.Demote d) {
            demote(d);
        } else if (a instanceof Action.Reinitialize r) {
            postgres.stop(StopMode.FAST, false, PG_TIMEOUT);
            postgres.removeDataDirectory();
            postgres.cloneFrom(r.source());
            postgres.start(r.source(), PG_TIMEOUT);
            following = r.source().name();
        } else if (a instanceof Action.Restart) {
            restart(PG_TIMEOUT);
        } else if (a instanceof Action.CopyLogicalSlots c) {
            postgres.copyLogicalSlots(c.leader(), c.slots(), PG_TIMEOUT);
            events.fire(l -> l.postgresStarted("replica"));
        } else if (a instanceof Action.Stop) {
            String role = postgres.status().isPrimary() ? "primary" : "replica";
            postgres.stop(StopMode.FAST, false, PG_TIMEOUT);
            events.fire(l -> l.postgresStopped(role));
        } else {
            throw new IllegalStateException("unhandled long action " + a);
        }
    }

    /**
     * Points the running replica at {@code upstream} (null: streaming from nobody); remembers it only
     * once the check against the leader was final.
     */
    void follow(Member upstream, boolean leaderIsPrimary) throws PostgresException {
        postgres.follow(upstream, PG_TIMEOUT);
        following = leaderIsPrimary ? upstreamName(upstream) : null;
    }

    private static String upstreamName(Member upstream) {
        return upstream == null ? Upstream.NONE : upstream.name();
    }

    /** Stops a replica that diverged from its new leader, so that it can be rewound. */
    void stopToRewind() throws PostgresException {
        postgres.stop(StopMode.FAST, false, PG_TIMEOUT);
        following = null;
    }

    void restart(Duration timeout) throws PostgresException {
        activity = "restarting";
        try {
            postgres.restart(timeout);
            String r = postgres.status().isPrimary() ? "primary" : "replica";
            events.fire(l -> l.postgresRestarted(r));
        } finally {
            activity = null;
        }
    }

    private void bootstrap() throws PostgresException, DcsException {
        String sysid;
        try {
            sysid = postgres.bootstrap();
        } catch (PostgresException e) {
            LOG.error(
                    "[{}] bootstrap failed: {}; giving the bootstrap back to the cluster",
                    config.name(),
                    e.getMessage());
            try {
                postgres.stop(StopMode.IMMEDIATE, false, PG_TIMEOUT);
                postgres.removeDataDirectory();
            } finally {
                dcs.cancelInitialize();
            }
            throw e;
        }
        Instant t = clock.instant();
        if (dcs.acquireLeader()) {
            lease.proven(t);
        }
        ClusterState cluster = dcs.read();
        dcs.writeInitialize(sysid, cluster.initialize() == null ? Dcs.ABSENT : cluster.initializeVersion());
        if (cluster.config() == null) {
            dcs.writeConfig(config.bootstrapDcs(), Dcs.ABSENT);
        }
        LOG.info("[{}] initialized a new cluster with system identifier {}", config.name(), sysid);
    }

    private void bootstrapStandbyLeader(Member remote) throws PostgresException, DcsException {
        try {
            postgres.cloneFrom(remote);
            postgres.start(remote, PG_TIMEOUT);
        } catch (PostgresException e) {
            LOG.error(
                    "[{}] bootstrap of the standby leader from the remote primary failed: {}; giving the bootstrap"
                            + " back to the cluster",
                    config.name(),
                    e.getMessage());
            try {
                postgres.stop(StopMode.IMMEDIATE, false, PG_TIMEOUT);
                postgres.removeDataDirectory();
            } finally {
                dcs.cancelInitialize();
            }
            throw e;
        }
        following = remote.name();
        events.fire(l -> l.postgresStarted("replica"));
        Instant t = clock.instant();
        if (dcs.acquireLeader()) {
            lease.proven(t);
        }
        ClusterState cluster = dcs.read();
        String sysid = postgres.status().systemIdentifier();
        if (sysid != null) {
            dcs.writeInitialize(sysid, cluster.initialize() == null ? Dcs.ABSENT : cluster.initializeVersion());
        }
        if (cluster.config() == null) {
            dcs.writeConfig(config.bootstrapDcs(), Dcs.ABSENT);
        }
        LOG.info(
                "[{}] bootstrapped a standby leader from the remote primary (system identifier {})",
                config.name(),
                sysid);
    }

    private void startReplica(Action.StartReplica s) throws PostgresException {
        Member leader = s.leader();
        switch (s.preparation()) {
            case REWIND -> {
                LOG.info("[{}] rewinding from leader {}", config.name(), leader.name());
                if (!postgres.rewind(leader)) {
                    rewindFailedFrom = leader.name();
                    throw new PostgresException("pg_rewind from the leader " + leader.name() + " failed");
                }
            }
            case RECLONE -> {
                LOG.warn(
                        "[{}] removing the diverged data directory and cloning again from {}",
                        config.name(),
                        leader.name());
                postgres.removeDataDirectory();
                postgres.cloneFrom(leader);
            }
            case NONE -> {}
        }
        if (s.upstream() == null) {
            postgres.startStandby(PG_TIMEOUT);
        } else {
            postgres.start(s.upstream(), PG_TIMEOUT);
        }
        rewindFailedFrom = null;
        following = s.leaderIsPrimary() ? upstreamName(s.upstream()) : null;
        events.fire(l -> l.postgresStarted("replica"));
    }

    /**
     * The {@code history} entry was written before (the engine's {@link Action.WriteHistory}). A
     * {@code pre_promote} script that exits non-zero vetoes the promotion: as Patroni, the lock is
     * released at once and this node keeps out of the race for a ttl (the engine reads
     * {@link #promotionVetoedAt}).
     */
    private void promote() throws PostgresException, DcsException {
        if (!postgres.prePromote()) {
            promotionVetoedAt = clock.instant();
            LOG.warn("[{}] Releasing the leader key voluntarily because the pre-promote script failed", config.name());
            dcs.releaseLeader();
            lease.lost();
            throw new PostgresException("Promotion cancelled because the pre-promote script failed");
        }
        // listeners (on_role_change) hear of it as the promotion starts, as with Patroni
        events.roleIs("primary");
        postgres.promote(PG_TIMEOUT);
        following = null;
        try {
            PostgresStatus after = postgres.status();
            dcs.writeStatus(new ClusterStatus(after.writeLsn(), Map.of(), List.of()));
        } catch (DcsException e) {
            LOG.warn("[{}] promoted, but could not record the position: {}", config.name(), e.getMessage());
        }
    }

    private void demote(Action.Demote d) throws PostgresException, DcsException {
        events.fire(l -> l.aboutToDemote(d.cause().words()));
        if (d.stopTimeout() != null) {
            try {
                postgres.stop(d.mode(), d.checkpointFirst(), d.stopTimeout());
            } catch (PostgresException e) {
                // Patroni's primary_stop_timeout: the stop took too long, end it at once
                LOG.warn(
                        "[{}] the primary did not stop within primary_stop_timeout ({} s): stopping it immediately",
                        config.name(),
                        d.stopTimeout().toSeconds());
                postgres.stop(StopMode.IMMEDIATE, false, PG_TIMEOUT);
            }
        } else {
            postgres.stop(d.mode(), d.checkpointFirst(), PG_TIMEOUT);
        }
        following = null;
        events.fire(l -> l.postgresStopped("primary"));
        if (d.releaseLock()) {
            PostgresStatus stopped = postgres.status();
            if (stopped.lastLsn() > 0) {
                dcs.writeStatus(new ClusterStatus(stopped.lastLsn(), Map.of(), List.of()));
            }
            dcs.releaseLeader();
            lease.lost();
        }
        if (d.rejoin() != null) {
            // its new leader is not promoted yet: followed unchecked, the engine checks once it is
            postgres.start(d.rejoin(), PG_TIMEOUT);
            events.fire(l -> l.postgresStarted("replica"));
        } else if (d.cause() == Action.DemoteCause.DCS_UNREACHABLE) {
            // as Patroni's offline demotion: read-only at once, for whoever still reads from it
            postgres.startStandby(PG_TIMEOUT);
            events.fire(l -> l.postgresStarted("replica"));
        }
    }

    private static String activityOf(Action.Long a) {
        if (a instanceof Action.Bootstrap) {
            return "initializing new cluster";
        } else if (a instanceof Action.BootstrapStandbyLeader
                || a instanceof Action.CloneFrom
                || a instanceof Action.Reinitialize) {
            return "creating replica";
        } else if (a instanceof Action.Demote || a instanceof Action.Stop) {
            return "stopping";
        } else if (a instanceof Action.Restart || a instanceof Action.CopyLogicalSlots) {
            return "restarting";
        } else if (a instanceof Action.StartPrimary
                || a instanceof Action.StartReplica
                || a instanceof Action.StartStandby) {
            return "starting";
        }
        return null;
    }
}
