package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this member's data diverged from a leader's (Patroni's rule, {@link TimelineHistory}),
 * and pg_rewind onto that leader: a crashed instance goes through single-user crash recovery
 * first, the leader checkpoints first when it has not since its promotion, and afterwards the
 * managed files name the leader as upstream.
 *
 * <p>Threading: runs only under the controller's action lock. The divergence check reads the
 * status through {@link StatusReader}, which may at the same moment serve the HA loop.
 */
final class Rewind {

    private static final Logger LOG = LoggerFactory.getLogger(Rewind.class);
    private static final Pattern WALDUMP_END = Pattern.compile("invalid record length at ([0-9A-Fa-f]+/[0-9A-Fa-f]+)");
    private static final Pattern WALDUMP_LSN = Pattern.compile("lsn: ([0-9A-Fa-f]+/[0-9A-Fa-f]+)");

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Postmaster postmaster;
    private final StatusReader status;
    private final Binaries bins;
    private final OsCommand exec;

    Rewind(
            LocalPostgresConfig config,
            DataDirectory dir,
            ManagedFiles files,
            Postmaster postmaster,
            StatusReader status,
            Binaries bins,
            OsCommand exec) {
        this.config = config;
        this.dir = dir;
        this.files = files;
        this.postmaster = postmaster;
        this.status = status;
        this.bins = bins;
        this.exec = exec;
    }

    /** Whether this member's WAL diverged from {@code leader}'s history (see docs/postgres.md). */
    boolean needed(Member leader) throws PostgresException {
        long localTimeline;
        long localLsn;
        boolean inRecovery;
        long checkpointEnd = 0;
        PostgresStatus s = status.read();
        if (s.isRunning()) {
            localTimeline = s.timeline();
            localLsn = s.lastLsn();
            inRecovery = s.role() == PostgresStatus.Role.REPLICA;
            if (inRecovery) {
                // the status names the WAL receiver's timeline, or, with no receiver (its leader just
                // went away), pg_control's: the last restartpoint's, stale after a timeline switch, so
                // a replica that replayed past a switch looked diverged. IDENTIFY_SYSTEM on a standby
                // answers its replay timeline (Patroni asks the same way).
                long replay = replayTimeline();
                if (replay > 0) {
                    localTimeline = replay;
                }
            }
        } else {
            ControlData cd = dir.controlData();
            if (cd == null) {
                throw new PostgresException("postgresql.data_dir " + dir.path() + " holds no cluster");
            }
            long[] t = cd.localTimelineLsn();
            if (t[0] == 0) {
                LOG.info("{}: not shut down cleanly (state '{}'); a rewind decides", config.name(), cd.state());
                return true;
            }
            localTimeline = t[0];
            localLsn = t[1];
            inRecovery = t[2] == 1;
            if (!inRecovery) {
                checkpointEnd = checkpointEnd(localTimeline, localLsn);
            }
        }
        HostPort hp = HostPort.of(leader);
        long leaderTimeline;
        List<TimelineHistory.Entry> history = List.of();
        try (Connection c = Sql.superuser(config, hp);
                Statement st = c.createStatement()) {
            st.setQueryTimeout(Sql.TIMEOUT_SECONDS);
            try (ResultSet rs = st.executeQuery("SELECT CASE WHEN pg_is_in_recovery() THEN COALESCE("
                    + "(SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint())) "
                    + "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END")) {
                rs.next();
                leaderTimeline = rs.getLong(1);
            }
            if (leaderTimeline > localTimeline && leaderTimeline > 1) {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_read_file(?)")) {
                    ps.setString(1, String.format(Locale.ROOT, "pg_wal/%08X.history", leaderTimeline));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        history = TimelineHistory.parse(rs.getString(1));
                    }
                }
            }
        } catch (SQLException e) {
            throw new PostgresException(
                    "cannot read the timeline history of " + leader.name() + " (" + leader.connUrl() + "): "
                            + e.getMessage(),
                    e);
        }
        boolean diverged =
                TimelineHistory.diverged(localTimeline, localLsn, inRecovery, checkpointEnd, leaderTimeline, history);
        LOG.info(
                "{}: local timeline {} lsn {}{}, leader {} on timeline {}: {}",
                config.name(),
                localTimeline,
                Lsn.format(localLsn),
                inRecovery ? " (replica)" : checkpointEnd == 0 ? "" : " checkpoint end " + Lsn.format(checkpointEnd),
                leader.name(),
                leaderTimeline,
                diverged ? "diverged, needs a rewind" : "no rewind needed");
        return diverged;
    }

    /** The running standby's replay timeline from IDENTIFY_SYSTEM, 0 when it cannot tell. */
    private long replayTimeline() {
        try (Connection c = Sql.localReplication(config, dir.path());
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            return rs.next() ? rs.getLong("timeline") : 0;
        } catch (SQLException e) {
            LOG.debug("{}: IDENTIFY_SYSTEM failed: {}", config.name(), e.getMessage());
            return 0;
        }
    }

    /** Where the shutdown checkpoint record at {@code lsn} ends (pg_waldump), 0 when it cannot tell. */
    private long checkpointEnd(long timeline, long lsn) {
        try {
            OsCommand.Result r = exec.run(
                    List.of(
                            bins.path("pg_waldump"),
                            "-p",
                            dir.path().resolve("pg_wal").toString(),
                            "-t",
                            String.valueOf(timeline),
                            "-s",
                            Lsn.format(lsn),
                            "-n",
                            "2"),
                    OsCommand.SHORT);
            return parseCheckpointEnd(r.output(), lsn);
        } catch (PostgresException e) {
            LOG.warn("{}: pg_waldump failed: {}", config.name(), e.getMessage());
            return 0;
        }
    }

    /**
     * From {@code pg_waldump -n 2} output: one record at {@code lsn}, then the error at the end of
     * WAL, whose LSN is where that record ends. Anything else (a second record) means 0.
     */
    static long parseCheckpointEnd(String output, long lsn) {
        Matcher first = WALDUMP_LSN.matcher(output);
        if (!first.find() || Lsn.parse(first.group(1)) != lsn || first.find()) {
            return 0;
        }
        Matcher end = WALDUMP_END.matcher(output);
        return end.find() ? Lsn.parse(end.group(1)) : 0;
    }

    /**
     * Rewinds onto {@code leader}, stopping the instance first if it runs; false when
     * {@code use_pg_rewind} is off or pg_rewind failed.
     */
    boolean run(Member leader) throws PostgresException {
        if (!config.usePgRewind()) {
            LOG.warn("{}: rewind needed but postgresql.use_pg_rewind is off", config.name());
            return false;
        }
        HostPort hp = HostPort.of(leader);
        if (postmaster.running() != null) {
            postmaster.stop(StopMode.FAST, true, OsCommand.SHORT);
        }
        dir.prepareRuntime();
        boolean hadSignal = dir.hasStandbySignal();
        try {
            return rewindStopped(leader, hp);
        } finally {
            if (hadSignal && !dir.hasStandbySignal()) {
                // crash recovery moved it away and the rewind failed: a replica's data directory stays a replica's
                try {
                    dir.writeOwned(dir.standbySignal(), "");
                } catch (IOException e) {
                    LOG.error("{}: cannot restore standby.signal: {}", config.name(), e.getMessage());
                }
            }
        }
    }

    private boolean rewindStopped(Member leader, HostPort hp) throws PostgresException {
        ensureCleanShutdown();
        ensureCheckpointedOn(leader, hp);
        String source = sourceConninfo(config, hp, dir.passfile().toString());
        LOG.info("{}: pg_rewind from {} ({})", config.name(), leader.name(), leader.connUrl());
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("pg_rewind"),
                        "--target-pgdata=" + dir.path(),
                        "--source-server=" + source,
                        "--no-ensure-shutdown"),
                OsCommand.LONG);
        if (!r.ok()) {
            LOG.error("{}: pg_rewind from {} failed: {}", config.name(), leader.name(), r.tail());
            return false;
        }
        LOG.info("{}: pg_rewind done: {}", config.name(), r.tail());
        files.write(ConnInfo.replication(config, dir.passfile(), leader).toString());
        return true;
    }

    /**
     * pg_rewind's {@code --source-server}: authentication.rewind's user (the superuser without one)
     * and TLS settings, the password from the passfile (never on the command line).
     */
    static String sourceConninfo(LocalPostgresConfig config, HostPort hp, String passfile) {
        return config.rewindSsl()
                .applyTo(new ConnInfo()
                        .set("host", hp.host())
                        .set("port", hp.port())
                        .set("user", config.rewindUser())
                        .set("dbname", "postgres")
                        .set("passfile", passfile)
                        .set("connect_timeout", 10)
                        .set("application_name", config.name() + "_rewind"))
                .toString();
    }

    /**
     * pg_rewind needs a target shut down cleanly. A crashed instance is taken through crash
     * recovery in single-user mode first, as Patroni does: {@code postgres --single} with
     * archive_mode off, which replays WAL and shuts down cleanly. standby.signal is moved out of the
     * way for that (single-user mode refuses standby mode); the replica configuration written after
     * the rewind puts it back.
     */
    private void ensureCleanShutdown() throws PostgresException {
        ControlData cd = dir.controlData();
        if (cd == null) {
            throw new PostgresException("postgresql.data_dir " + dir.path() + " holds no cluster to rewind");
        }
        if (cd.cleanlyShutDown()) {
            return;
        }
        LOG.info("{}: state '{}': crash recovery in single-user mode before pg_rewind", config.name(), cd.state());
        try {
            dir.files().deleteIfExists(dir.standbySignal());
            dir.files().deleteIfExists(dir.path().resolve("recovery.signal"));
        } catch (IOException e) {
            throw new PostgresException("cannot move standby.signal away in " + dir.path() + ": " + e.getMessage(), e);
        }
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("postgres"),
                        "--single",
                        "-F",
                        "-D",
                        dir.path().toString(),
                        "-c",
                        "archive_mode=off",
                        "-c",
                        "hot_standby=off",
                        "postgres"),
                OsCommand.LONG);
        ControlData after = dir.controlData();
        if (!r.ok() || after == null || !after.cleanlyShutDown()) {
            throw new PostgresException("crash recovery of " + dir.path() + " in single-user mode failed: " + r.tail());
        }
    }

    /**
     * Makes {@code leader}'s pg_control show its current timeline. After a promotion PostgreSQL only
     * requests a checkpoint, and until it is done a pg_rewind against the new primary would wrongly
     * find "no rewind required" (see {@link Roles#promote}).
     */
    private void ensureCheckpointedOn(Member leader, HostPort hp) throws PostgresException {
        try (Connection c = Sql.superuser(config, hp);
                Statement st = c.createStatement()) {
            st.setQueryTimeout((int) OsCommand.SHORT.toSeconds() * 5);
            try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), (SELECT timeline_id FROM "
                    + "pg_control_checkpoint()), CASE WHEN pg_is_in_recovery() THEN 0 ELSE "
                    + "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END")) {
                rs.next();
                if (rs.getBoolean(1) || rs.getLong(2) == rs.getLong(3)) {
                    return;
                }
            }
            LOG.info(
                    "{}: {} has not checkpointed since its promotion; CHECKPOINT there before pg_rewind",
                    config.name(),
                    leader.name());
            st.execute("CHECKPOINT");
        } catch (SQLException e) {
            throw new PostgresException(
                    "cannot prepare " + leader.name() + " (" + leader.connUrl() + ") for pg_rewind: " + e.getMessage(),
                    e);
        }
    }
}
