package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.StandbySource;
import io.pgha.postgres.StopMode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The instance in its role: started as a primary or as the replica of a leader (its
 * {@code primary_conninfo}), restarted keeping its role, promoted, or made to follow another
 * leader, reloading when a running replica can switch without a restart.
 *
 * <p>Threading: runs only under the controller's action lock, except the checkpoint after a
 * promotion, which runs on a daemon thread of its own with its own connection and touches no
 * state of the controller.
 */
final class Roles {

    private static final Logger LOG = LoggerFactory.getLogger(Roles.class);

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Postmaster postmaster;
    private final Rewind rewind;

    Roles(LocalPostgresConfig config, DataDirectory dir, ManagedFiles files, Postmaster postmaster, Rewind rewind) {
        this.config = config;
        this.dir = dir;
        this.files = files;
        this.postmaster = postmaster;
        this.rewind = rewind;
    }

    /** Starts as a standby with no upstream: standby.signal, an empty primary_conninfo. */
    void startStandby(Duration timeout) throws PostgresException {
        checkStartable();
        files.write("");
        postmaster.start(timeout);
    }

    /** Starts a stopped instance as primary ({@code leader == null}) or as {@code leader}'s replica. */
    void start(Member leader, Duration timeout) throws PostgresException {
        checkStartable();
        boolean standbySignal = dir.hasStandbySignal();
        if (leader == null) {
            files.write(null);
        } else {
            files.write(upstream(leader), keepsMemberSlots(leader), StandbySource.of(leader));
        }
        postmaster.start(timeout);
        if (leader == null && standbySignal) {
            // a replica's data directory started as primary: let PostgreSQL end recovery on a new timeline
            LOG.info("{}: started in recovery (standby.signal was present); promoting", config.name());
            promote(timeout);
        }
    }

    private void checkStartable() throws PostgresException {
        PidFile running = postmaster.running();
        if (running != null) {
            throw new PostgresException("PostgreSQL in " + dir.path() + " is already running (postmaster pid "
                    + running.pid() + "); stop it first, or use follow to change its upstream");
        }
        if (dir.isEmpty() || !dir.hasCluster()) {
            throw new PostgresException("postgresql.data_dir " + dir.path() + " holds no cluster to start");
        }
        postmaster.checkPortFree();
        dir.prepareRuntime();
    }

    /** Stops (fast, after a checkpoint) and starts again with the same upstream. */
    void restart(Duration timeout) throws PostgresException {
        postmaster.stop(StopMode.FAST, true, timeout);
        postmaster.checkPortFree();
        dir.prepareRuntime();
        files.rewrite();
        postmaster.start(timeout);
    }

    void promote(Duration timeout) throws PostgresException {
        int secs = (int) Math.max(1, timeout.toSeconds());
        Instant deadline = Instant.now().plus(timeout);
        try (Connection c = Sql.local(config, dir.path());
                Statement st = c.createStatement()) {
            st.setQueryTimeout(secs + 10);
            if (!Sql.inRecovery(st)) {
                LOG.info("{}: promote: already a primary", config.name());
            } else {
                LOG.info("{}: promoting", config.name());
                try (ResultSet rs = st.executeQuery("SELECT pg_promote(true, " + secs + ")")) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        throw new PostgresException("pg_promote did not finish within " + secs + "s");
                    }
                }
                while (Sql.inRecovery(st)) {
                    if (Instant.now().isAfter(deadline)) {
                        throw new PostgresException("still in recovery " + secs + "s after pg_promote");
                    }
                    Postmaster.sleep(100);
                }
            }
        } catch (SQLException e) {
            throw new PostgresException("promote failed: " + e.getMessage(), e);
        }
        checkpointAfterPromote();
        // PostgreSQL removed standby.signal itself; drop the upstream from pgha's file
        files.write(null);
        LOG.info("{}: promoted, now a primary", config.name());
    }

    /**
     * After a promotion PostgreSQL only requests a checkpoint; until it is done, pg_control still
     * names the old timeline, and a pg_rewind against this new primary would wrongly find "no
     * rewind required". Patroni checkpoints right after promoting for the same reason. It runs in
     * the background: the new primary already accepts writes and promote() need not wait for a
     * possibly long checkpoint (a rewind against it checks and checkpoints first anyway).
     */
    private void checkpointAfterPromote() {
        Thread t = new Thread(
                () -> {
                    try (Connection c = Sql.local(config, dir.path());
                            Statement st = c.createStatement()) {
                        st.execute("CHECKPOINT");
                        LOG.debug("{}: checkpoint after promote done", config.name());
                    } catch (SQLException e) {
                        LOG.warn(
                                "{}: CHECKPOINT after promote failed ({}); a rewind against this member checkpoints first",
                                config.name(),
                                e.getMessage());
                    }
                },
                "pgha-checkpoint-after-promote-" + config.name());
        t.setDaemon(true);
        t.start();
    }

    /**
     * Makes this instance a replica of {@code leader}. A running replica gets the new
     * primary_conninfo by a reload (PostgreSQL 13 and later apply it without a restart); a running
     * primary is stopped first; a former primary, or a data directory not shut down cleanly, is
     * rewound when it diverged; then it starts as the leader's replica.
     */
    void follow(Member leader, Duration timeout) throws PostgresException {
        if (leader == null) {
            streamFromNobody(timeout);
            return;
        }
        String conninfo = upstream(leader);
        PidFile pid = postmaster.running();
        if (pid != null) {
            Boolean recovery = queryInRecovery();
            if (recovery == null) {
                throw new PostgresException(
                        "PostgreSQL is running but not answering; cannot tell whether it may follow " + leader.name());
            }
            if (recovery) {
                files.write(conninfo, keepsMemberSlots(leader), StandbySource.of(leader));
                postmaster.reload();
                LOG.info("{}: now following {} (reloaded, no restart)", config.name(), leader.name());
                return;
            }
            LOG.info("{}: a primary asked to follow {}: stopping it first", config.name(), leader.name());
            postmaster.stop(StopMode.FAST, true, timeout);
        }
        boolean wasPrimary = !dir.hasStandbySignal();
        if (wasPrimary || !controlDataClean()) {
            if (rewind.needed(leader)) {
                if (!rewind.run(leader)) {
                    throw new PostgresException("diverged from " + leader.name() + " and pg_rewind was not possible ("
                            + (config.usePgRewind() ? "see the log" : "postgresql.use_pg_rewind is off")
                            + "); it needs a new clone");
                }
            }
        }
        start(leader, timeout);
        LOG.info("{}: started as a replica of {}", config.name(), leader.name());
    }

    /**
     * Patroni's {@code nostream}: a standby with no primary_conninfo, replaying what its
     * restore_command finds. A running replica reloads (PostgreSQL 13+ stops its walreceiver); a
     * stopped one starts so; a primary is not made one here (the engine demotes it first).
     */
    private void streamFromNobody(Duration timeout) throws PostgresException {
        if (postmaster.running() == null) {
            startStandby(timeout);
            LOG.info("{}: started as a standby streaming from nobody (nostream)", config.name());
            return;
        }
        if (!Boolean.TRUE.equals(queryInRecovery())) {
            throw new PostgresException(
                    "a running primary (or a server not answering) cannot stop streaming; " + "it is demoted first");
        }
        files.write("");
        postmaster.reload();
        LOG.info("{}: streaming from nobody (nostream): WAL from restore_command only", config.name());
    }

    /**
     * Whether the upstream keeps this member's replication slot: a primary (or a standby cluster's
     * leader) keeps one per member it serves; a replica named by {@code replicatefrom} keeps none in
     * pgha, so a cascade streams without a slot.
     */
    private static boolean keepsMemberSlots(Member upstream) {
        String role = upstream.role();
        return role == null || "primary".equals(role) || "master".equals(role) || "standby_leader".equals(role);
    }

    /**
     * The primary_conninfo to follow {@code leader}. A standby leader streaming through a slot on
     * the remote primary connects only to a server that takes writes (Patroni adds
     * {@code target_session_attrs=read-write}, so that a host list finds the remote primary); with
     * {@code restore_command} alone (no host) it streams from nobody.
     */
    private String upstream(Member leader) throws PostgresException {
        StandbySource standby = StandbySource.of(leader);
        if (standby != null && standby.remote() && leader.connUrl() == null) {
            return "";
        }
        ConnInfo c = ConnInfo.replication(config, dir.passfile(), leader);
        if (standby != null && standby.remote() && standby.primarySlotName() != null && config.useSlots()) {
            c.set("target_session_attrs", "read-write");
        }
        return c.toString();
    }

    private boolean controlDataClean() {
        ControlData cd = dir.controlData();
        return cd != null && cd.cleanlyShutDown();
    }

    /** Whether the running server is in recovery; null when it does not answer. */
    private Boolean queryInRecovery() {
        try (Connection c = Sql.local(config, dir.path());
                Statement st = c.createStatement()) {
            st.setQueryTimeout(Sql.TIMEOUT_SECONDS);
            return Sql.inRecovery(st);
        } catch (SQLException e) {
            return null;
        }
    }
}
