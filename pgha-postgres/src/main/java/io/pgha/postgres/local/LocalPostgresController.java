package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.FenceResult;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.StopMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link PostgresController} over the PostgreSQL binaries of this machine: initdb, pg_ctl,
 * pg_basebackup, pg_rewind, pg_controldata, pg_waldump, and JDBC for status and SQL actions.
 *
 * <p>What it writes into the data directory: {@code postgresql.pgha.conf} (its settings, included
 * once from the end of postgresql.conf), {@code pgha.hba.conf} (named by {@code hba_file}),
 * {@code standby.signal} on a replica, and the postmaster's log under {@code log/}. It never
 * edits the user's settings, runs no ALTER SYSTEM on its own server (the candidate-side fence runs
 * one on a former primary's and puts postgresql.auto.conf back, {@link FormerPrimaryFence}), and
 * never removes a data directory unless
 * {@link #removeDataDirectory()} is called (or a bootstrap or clone into an empty directory
 * failed, which leaves the directory empty again).
 *
 * <p>When the JVM runs as root every PostgreSQL binary runs as {@code postgresql.run_as}
 * (default {@code postgres}) through {@code setpriv}, and the data directory, the passfile and
 * pgha's runtime directory belong to that user.
 *
 * <p>This class is a facade: it serializes the actions and hands each to the part that carries it
 * out ({@link DataDirectory}, {@link ManagedFiles}, {@link Postmaster}, {@link Bootstrap},
 * {@link Clone}, {@link Rewind}, {@link Roles}, {@link Replication}, {@link StatusReader}). It
 * carries out what the HA engine decides; the few choices still made inside (a rewind within
 * follow, the promotion within start(null), the create_replica_methods fallback) are named in
 * docs/postgres.md, to move to the engine.
 *
 * <p>Concurrency: actions (bootstrap, clone, start, stop, promote, follow, rewind, ...) are
 * serialized by one lock; {@link #status()} takes no lock, never throws, and may run alongside an
 * action. The superuser password is kept in memory and passed to pgjdbc in connection properties;
 * PostgreSQL's own tools read the passwords from the passfile.
 */
public final class LocalPostgresController implements PostgresController {

    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgresController.class);

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Postmaster postmaster;
    private final StatusReader status;
    private final Bootstrap bootstrap;
    private final Clone clone;
    private final Rewind rewind;
    private final Roles roles;
    private final Replication replication;
    private final Slots slots;
    private final FormerPrimaryFence formerPrimaryFence;
    private final OsCommand exec;
    private final ReentrantLock actions = new ReentrantLock();
    private volatile boolean closed;

    /**
     * Checks the binaries, the OS user and the data directory, and changes nothing on disk.
     *
     * @throws PostgresException naming {@code postgresql.bin_dir}, {@code postgresql.run_as} or
     *     {@code postgresql.data_dir} when one of them cannot be used
     */
    public LocalPostgresController(LocalPostgresConfig config) throws PostgresException {
        this.config = config;
        Binaries bins = Binaries.locate(config.binDir());
        for (String b : List.of("postgres", "pg_ctl", "pg_controldata", "initdb")) {
            bins.path(b);
        }
        OsUser user = OsUser.resolve(config.runAs());
        OsCommand exec = new OsCommand(user);
        this.exec = exec;
        ServerFacts facts = ServerFacts.probe(bins, exec);
        this.dir = new DataDirectory(config, bins, user, exec);
        dir.check(facts.majorVersion());
        this.files = new ManagedFiles(config, dir, facts);
        this.postmaster = new Postmaster(config, dir, bins, user, exec);
        this.slots = new Slots(config, dir);
        this.status = new StatusReader(config, dir, slots);
        this.bootstrap = new Bootstrap(config, dir, files, postmaster, bins, exec);
        this.clone = new Clone(config, dir, files, bins, exec);
        this.rewind = new Rewind(config, dir, files, postmaster, status, bins, exec);
        this.roles = new Roles(config, dir, files, postmaster, rewind);
        this.replication = new Replication(config, dir, files, postmaster);
        this.formerPrimaryFence = new FormerPrimaryFence(config, this::walReceived);
        LOG.info("{}: PostgreSQL {} as {}, data directory {}", config.name(), bins.dir(), user.describe(), dir.path());
    }

    public LocalPostgresConfig config() {
        return config;
    }

    /** pgha's runtime directory for this data directory: the unix socket and the default passfile. */
    Path runtimeDir() {
        return dir.runtimeDir();
    }

    /** The passfile PostgreSQL's tools read the passwords from. */
    Path passfile() {
        return dir.passfile();
    }

    /**
     * The data directory's database system identifier (from pg_controldata), or null when there
     * is no cluster in it.
     */
    public String systemIdentifier() {
        return dir.systemIdentifier();
    }

    /**
     * Fails unless the data directory holds the cluster with system identifier {@code expected}
     * (the DCS {@code initialize} key): a data directory of another cluster must not join.
     */
    public void verifySystemIdentifier(String expected) throws PostgresException {
        dir.verifySystemIdentifier(expected);
    }

    /**
     * Sets how a replica is created when {@code create_replica_methods} lists a method before
     * {@code basebackup} (e.g. {@code [pgbackrest, basebackup]}); null removes it.
     */
    public void replicaPreparer(String method, ReplicaPreparer preparer) {
        clone.preparer(method, preparer);
    }

    // ------------------------------------------------------------------ SPI

    @Override
    public boolean isDataDirectoryEmpty() {
        return dir.isEmpty();
    }

    @Override
    public String bootstrap() throws PostgresException {
        return call(true, bootstrap::run);
    }

    @Override
    public void cloneFrom(Member source) throws PostgresException {
        act(true, () -> {
            slots.reload();
            clone.from(source);
            slots.reload();
        });
    }

    @Override
    public boolean canCreateReplicaWithoutLeader() {
        return clone.canWorkWithoutLeader();
    }

    @Override
    public void start(Member leader, Duration timeout) throws PostgresException {
        act(true, () -> roles.start(leader, timeout));
    }

    @Override
    public void startStandby(Duration timeout) throws PostgresException {
        act(true, () -> roles.startStandby(timeout));
    }

    @Override
    public void stop(StopMode mode, boolean checkpointFirst, Duration timeout) throws PostgresException {
        if (mode == StopMode.SMART) {
            // only a smart shutdown waits for clients; a fence (immediate) must never wait on the status lock
            status.closeConnection();
        }
        act(false, () -> postmaster.stop(mode, checkpointFirst, timeout));
    }

    /**
     * Patroni's {@code postgresql.pre_promote}: the script's words (no arguments added), run as
     * PostgreSQL's OS user; exit 0 lets the promotion go on, anything else vetoes it, as does a
     * script that cannot be run (Patroni: {@code ret == 0}).
     */
    @Override
    public boolean prePromote() throws PostgresException {
        String cmd = config.prePromote();
        if (cmd == null) {
            return true;
        }
        List<String> words = OsCommand.userCommandWords("postgresql.pre_promote", cmd);
        OsCommand.Result r;
        try {
            r = exec.runUserCommand(words, OsCommand.SHORT, Map.of());
        } catch (PostgresException e) {
            LOG.error("{}: pre_promote script `{}` could not run: {}", config.name(), cmd, e.getMessage());
            return false;
        }
        LOG.info("{}: pre_promote script `{}` exited with {}", config.name(), cmd, r.exitCode());
        return r.ok();
    }

    @Override
    public void promote(Duration timeout) throws PostgresException {
        act(true, () -> roles.promote(timeout));
    }

    @Override
    public void follow(Member leader, Duration timeout) throws PostgresException {
        act(true, () -> roles.follow(leader, timeout));
    }

    @Override
    public boolean needsRewind(Member leader) throws PostgresException {
        return call(false, () -> rewind.needed(leader));
    }

    @Override
    public boolean rewind(Member leader) throws PostgresException {
        status.closeConnection();
        return call(true, () -> rewind.run(leader));
    }

    @Override
    public void removeDataDirectory() throws PostgresException {
        status.closeConnection();
        act(false, () -> {
            PidFile pid = postmaster.running();
            if (pid != null) {
                throw new PostgresException("PostgreSQL is running (postmaster pid " + pid.pid() + "); stop it before "
                        + "removing postgresql.data_dir " + dir.path());
            }
            LOG.warn("{}: removing the contents of postgresql.data_dir {}", config.name(), dir.path());
            dir.empty();
            slots.reload();
            files.forgetUpstream();
        });
    }

    @Override
    public void restart(Duration timeout) throws PostgresException {
        status.closeConnection();
        act(true, () -> roles.restart(timeout));
    }

    @Override
    public void reload() throws PostgresException {
        act(true, () -> {
            files.rewrite();
            postmaster.reload();
        });
    }

    /**
     * Takes a re-read of the member's file (SIGHUP, {@code POST /reload}): its parameters and
     * pg_hba go into the managed files at the next {@link #reload}. Settings this controller was
     * built with (data directory, listen address, users and passwords, binaries, OS user) keep
     * their old values until the agent restarts; they are returned by their Patroni key.
     *
     * @return the keys whose new values need an agent restart (empty when none)
     */
    public List<String> reconfigure(LocalPostgresConfig next) throws PostgresException {
        List<String> needRestart = new java.util.ArrayList<>();
        LocalPostgresConfig now = config;
        check(needRestart, "postgresql.data_dir", now.dataDir(), next.dataDir());
        check(needRestart, "postgresql.bin_dir", now.binDir(), next.binDir());
        check(needRestart, "postgresql.listen", now.listen(), next.listen());
        check(needRestart, "postgresql.connect_address", now.connUrl(), next.connUrl());
        check(needRestart, "postgresql.authentication.superuser", now.superuser(), next.superuser());
        check(
                needRestart,
                "postgresql.authentication.superuser.password",
                now.superuserPassword(),
                next.superuserPassword());
        check(needRestart, "postgresql.authentication.replication", now.replicationUser(), next.replicationUser());
        check(
                needRestart,
                "postgresql.authentication.replication.password",
                now.replicationPassword(),
                next.replicationPassword());
        check(needRestart, "postgresql.authentication.rewind", now.rewindUser(), next.rewindUser());
        check(needRestart, "postgresql.authentication.rewind.password", now.rewindPassword(), next.rewindPassword());
        check(needRestart, "postgresql.authentication.superuser TLS keys", now.superuserSsl(), next.superuserSsl());
        check(
                needRestart,
                "postgresql.authentication.replication TLS keys",
                now.replicationSsl(),
                next.replicationSsl());
        check(needRestart, "postgresql.authentication.rewind TLS keys", now.rewindSsl(), next.rewindSsl());
        check(needRestart, "postgresql.run_as", now.runAs(), next.runAs());
        check(needRestart, "postgresql.pgpass", now.pgpass(), next.pgpass());
        act(true, () -> files.reconfigure(next));
        return needRestart;
    }

    private static void check(List<String> out, String key, Object before, Object after) {
        if (!java.util.Objects.equals(before, after)) {
            out.add(key);
        }
    }

    @Override
    public boolean applyDynamicConfig(Map<String, ?> postgresql) throws PostgresException {
        DynamicPostgres next;
        try {
            next = DynamicPostgres.from(postgresql);
        } catch (IllegalArgumentException e) {
            throw new PostgresException("the cluster's dynamic configuration: " + e.getMessage(), e);
        }
        return call(true, () -> {
            if (!files.applyDynamic(next)) {
                return false;
            }
            LOG.info("{}: the cluster's dynamic configuration changed pgha's files: reloading", config.name());
            postmaster.reload();
            return true;
        });
    }

    @Override
    public void setSynchronousStandbyNames(String value) throws PostgresException {
        String v = Replication.checkSynchronousStandbyNames(value);
        act(true, () -> replication.setSynchronousStandbyNames(v));
    }

    /**
     * Fences another member's PostgreSQL ({@link FormerPrimaryFence}); takes no action lock, since it
     * changes nothing of the local server, and never throws.
     */
    @Override
    public FenceResult fenceFormerPrimary(Member former, String fencedBy) {
        // only a server of this very cluster: a remembered address may belong to another one by now
        return formerPrimaryFence.fence(former, fencedBy, dir.systemIdentifier());
    }

    /** This replica's {@code pg_last_wal_receive_lsn()}, 0 when it receives none. */
    private long walReceived() throws java.sql.SQLException {
        try (java.sql.Connection c = Sql.local(config, dir.path());
                java.sql.Statement st = c.createStatement();
                java.sql.ResultSet rs =
                        st.executeQuery("SELECT COALESCE((pg_last_wal_receive_lsn() - '0/0')::bigint, 0)")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Override
    public void changeReplicationSlots(SlotChanges changes) throws PostgresException {
        act(false, () -> slots.change(changes));
    }

    @Override
    public void copyLogicalSlots(Member leader, Map<String, SlotChanges.NewSlot> wanted, Duration timeout)
            throws PostgresException {
        List<Slots.Copied> copied = slots.readFromPrimary(leader, wanted);
        if (copied.isEmpty()) {
            return;
        }
        status.closeConnection();
        act(true, () -> {
            LOG.info("{}: restarting to install logical slots copied from {}", config.name(), leader.name());
            postmaster.stop(StopMode.FAST, false, timeout);
            slots.install(copied);
            roles.start(leader, timeout);
        });
    }

    @Override
    public PostgresStatus status() {
        return status.read();
    }

    /**
     * Stops the postmaster this controller started, if it still runs: a fast shutdown, then an
     * immediate one, then SIGKILL to that PID. Leaves alone a postmaster it did not start.
     */
    @Override
    public void close() {
        close(true);
    }

    /**
     * Closes this controller and leaves PostgreSQL running: for an agent stopped in pause, where
     * the operator owns PostgreSQL (as with Patroni). A later controller on the same data
     * directory finds the server running and takes it over.
     */
    public void closeLeavingServerRunning() {
        close(false);
    }

    private void close(boolean stopServer) {
        status.closeConnection();
        actions.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (stopServer) {
                postmaster.stopStarted();
            } else {
                LOG.info("{}: leaving PostgreSQL running (pause)", config.name());
            }
        } finally {
            actions.unlock();
        }
    }

    // ------------------------------------------------------------------ the action lock

    @FunctionalInterface
    private interface Action<T> {
        T run() throws PostgresException;
    }

    @FunctionalInterface
    private interface Step {
        void run() throws PostgresException;
    }

    /** Runs {@code action} under the action lock; with {@code open}, refused once the controller is closed. */
    private <T> T call(boolean open, Action<T> action) throws PostgresException {
        actions.lock();
        try {
            if (open && closed) {
                throw new PostgresException("this controller is closed");
            }
            return action.run();
        } finally {
            actions.unlock();
        }
    }

    private void act(boolean open, Step step) throws PostgresException {
        call(open, () -> {
            step.run();
            return null;
        });
    }
}
