package io.pgha.backup;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import io.pgha.ha.HaListener;
import io.pgha.ha.NodeState;
import java.io.Closeable;
import java.net.URI;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the cluster's backup schedule from this member. Attach it to the node as an
 * {@link HaListener} and give it the node's {@code state()}: every tick (and on every role or
 * leader change) it asks {@link BackupChooser} whether this member is the one that backs up; if
 * so, it reads the repository ({@code pgbackrest info}) to see whether a full or differential
 * backup is due, takes it, then runs a logical dump and a restore drill when those are due.
 *
 * <p>Why no DCS key: every member computes the same choice from the same snapshot, pgBackRest's
 * repository lock refuses a second concurrent backup, and the schedule's memory (when the last
 * full/diff finished, the last drill) lives in the repository and beside it, so a failover loses
 * nothing and needs no hand.
 *
 * <p>Concurrency: all work runs on one private thread, so backups, dumps and drills of this member
 * never overlap; {@link #backupNow} and {@link #verifyNow} queue behind a running job. Nothing
 * here ever stops or blocks PostgreSQL or the HA loop: every failure is logged and kept in
 * {@link #status()}.
 */
public final class BackupService implements HaListener, Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(BackupService.class);

    private final BackupConfig config;
    private final PgBackRest pgbackrest;
    private final RestoreDrill drill;
    private final LogicalDump dumps;
    private final Supplier<NodeState> state;
    private final Function<Member, PgEndpoint> primaryLocator;
    private final Clock clock;
    private final Duration tick;
    private final ScheduledExecutorService executor;
    private volatile String lastError;
    private volatile RepoInfo lastInfo;
    private volatile Instant lastLogical;
    private volatile long archiveFailures = -1;
    private volatile boolean chosen;
    private volatile boolean stanzaReady;

    /**
     * @param state the node's state (e.g. {@code haNode::state}); may return null before the first cycle
     * @param primaryLocator how to reach the leader from here when backing up from a replica (pgBackRest
     *     needs the primary for the start/stop calls); null: same data directory path on the leader's
     *     host from its conn_url, over pgBackRest's remote protocol
     * @param tick how often the schedule is checked (e.g. one minute)
     */
    public BackupService(
            BackupConfig config,
            Supplier<NodeState> state,
            Function<Member, PgEndpoint> primaryLocator,
            Clock clock,
            Duration tick)
            throws BackupException {
        this.config = Objects.requireNonNull(config, "config");
        this.pgbackrest = new PgBackRest(config);
        this.drill = new RestoreDrill(pgbackrest, clock);
        this.dumps = new LogicalDump(pgbackrest, clock);
        this.state = Objects.requireNonNull(state, "state");
        this.primaryLocator = primaryLocator != null ? primaryLocator : this::remotePrimary;
        this.clock = clock;
        this.tick = tick;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgha-backup-" + config.memberName());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Writes pgbackrest.conf (so that archive_command works from the first WAL segment) and starts
     * the schedule. A missing binary or an unusable repository is logged at ERROR and kept in
     * {@link #status()}; it never prevents the node from running.
     */
    public void start() {
        try {
            pgbackrest.requireBinary();
            pgbackrest.writeConfig();
        } catch (BackupException e) {
            fail("backups are not available", e);
        }
        // safeTick catches everything, so the schedule never ends in an exception; close() stops it
        ScheduledFuture<?> unused = executor.scheduleWithFixedDelay(
                this::safeTick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
    }

    public PgBackRest pgbackrest() {
        return pgbackrest;
    }

    public RestoreDrill drill() {
        return drill;
    }

    public LogicalDump dumps() {
        return dumps;
    }

    public BackupConfig config() {
        return config;
    }

    /** Checks the schedule now (also on role and leader changes). */
    public void wakeUp() {
        if (!executor.isShutdown()) {
            executor.execute(this::safeTick);
        }
    }

    @Override
    public void roleChanged(String from, String to) {
        if ("primary".equals(to)) {
            stanzaReady = false;
        }
        wakeUp();
    }

    @Override
    public void leaderChanged(String from, String to) {
        wakeUp();
    }

    @Override
    public void failoverHappened(String previousLeader, String newLeader) {
        wakeUp();
    }

    /** Takes a backup of {@code type} on this member now, whoever is chosen; waits for it. */
    public String backupNow(BackupType type) throws BackupException {
        return await(executor.submit(() -> {
            if (type == BackupType.LOGICAL) {
                List<Path> files = dumps.dumpAll();
                lastLogical = clock.instant();
                return files.isEmpty()
                        ? "no databases configured (backup.logical.databases)"
                        : "logical dumps written: " + files;
            }
            BackupSet set = physical(type);
            return type.label() + " backup " + set.label() + " taken (" + set.repoSize() + " bytes in the repository)";
        }));
    }

    /** Runs a restore drill now; waits for it. */
    public DrillResult verifyNow() throws BackupException {
        return await(executor.submit(drill::run));
    }

    /** The repository's contents, read now. */
    public RepoInfo repoInfo() throws BackupException {
        RepoInfo info = pgbackrest.info();
        lastInfo = info;
        return info;
    }

    /** What the runner publishes; cheap (no command runs). */
    public BackupStatus status() {
        RepoInfo info = lastInfo;
        BackupSet full = info == null ? null : info.latest("full");
        BackupSet diff = info == null ? null : info.latest("diff");
        return new BackupStatus(
                full == null ? null : full.stop(),
                diff == null ? null : diff.stop(),
                lastLogical,
                drill.lastResult(),
                archiveFailures,
                lastError,
                chosen);
    }

    private void safeTick() {
        try {
            tickOnce();
        } catch (BackupException e) {
            fail("backup schedule", e);
        } catch (RuntimeException e) {
            fail("backup schedule (unexpected)", e);
        }
    }

    /** One pass of the schedule; package-private for tests. */
    void tickOnce() throws BackupException {
        NodeState s = state.get();
        if (s == null || s.cluster() == null) {
            return;
        }
        archiveFailures = archiveFailures();
        if ("primary".equals(s.role()) && !stanzaReady) {
            pgbackrest.stanzaCreate();
            stanzaReady = true;
        }
        chosen = BackupChooser.isChosen(s.cluster(), config.memberName());
        if (!chosen) {
            return;
        }
        RepoInfo info = repoInfo();
        Instant now = clock.instant();
        BackupSet full = info.latest("full");
        if (config.fullEvery() != null
                && (full == null || full.stop().plus(config.fullEvery()).isBefore(now))) {
            physical(BackupType.FULL);
        } else if (full != null && config.diffEvery() != null) {
            BackupSet diff = info.latest("diff");
            Instant newest = diff != null && diff.stop().isAfter(full.stop()) ? diff.stop() : full.stop();
            if (newest.plus(config.diffEvery()).isBefore(now)) {
                physical(BackupType.DIFF);
            }
        }
        if (config.logicalEvery() != null
                && (lastLogical == null
                        || lastLogical.plus(config.logicalEvery()).isBefore(now))) {
            dumps.dumpAll();
            lastLogical = clock.instant();
        }
        DrillResult last = drill.lastResult();
        if (config.drillEvery() != null
                && repoInfo().latest() != null
                && (last == null || last.finishedAt().plus(config.drillEvery()).isBefore(now))) {
            drill.run();
        }
        lastError = null;
    }

    private BackupSet physical(BackupType type) throws BackupException {
        NodeState s = state.get();
        PgEndpoint primary = null;
        if (s != null && !"primary".equals(s.role())) {
            ClusterState cluster = s.cluster();
            Member leader = cluster == null ? null : cluster.leaderMember().orElse(null);
            if (leader == null) {
                throw new BackupException(
                        "cannot back up from this replica: no leader to run the backup's " + "start/stop calls on");
            }
            primary = primaryLocator.apply(leader);
        }
        BackupSet set = pgbackrest.backup(type, primary);
        repoInfo();
        return set;
    }

    private PgEndpoint remotePrimary(Member leader) {
        URI uri = URI.create(leader.connUrl());
        return new PgEndpoint(config.dataDir(), uri.getPort() > 0 ? uri.getPort() : 5432, null, uri.getHost());
    }

    private long archiveFailures() {
        Properties p = new Properties();
        p.setProperty("user", config.superuser());
        if (config.superuserPassword() != null) {
            p.setProperty("password", config.superuserPassword());
        }
        p.setProperty("connectTimeout", "5");
        try (Connection c =
                        DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + config.port() + "/postgres", p);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT failed_count, last_failed_wal, last_failed_time > "
                        + "coalesce(last_archived_time, 'epoch') FROM pg_stat_archiver")) {
            if (rs.next()) {
                if (rs.getBoolean(3)) {
                    LOG.warn(
                            "{}: archive_command is failing (last failed WAL {}): WAL piles up in pg_wal until "
                                    + "the repository is reachable again",
                            config.memberName(),
                            rs.getString(2));
                }
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            LOG.debug("cannot read pg_stat_archiver: {}", e.getMessage());
        }
        return -1;
    }

    private void fail(String what, Exception e) {
        lastError = what + ": " + e.getMessage();
        LOG.error("{}: {}", config.memberName(), lastError);
    }

    private static <T> T await(Future<T> f) throws BackupException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BackupException b) {
                throw b;
            }
            throw new BackupException(String.valueOf(e.getCause()), e.getCause());
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new BackupException("the backup service is closed", e);
        }
    }

    /** Stops the schedule; a running backup or drill is interrupted (its child processes killed). */
    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
