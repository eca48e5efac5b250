package io.pgha.postgres.local;

import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import io.pgha.postgres.ReplicationSlot;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link PostgresStatus} of the local instance: from SQL on a connection kept open while the
 * postmaster answers, else from postmaster.pid and pg_controldata (starting, stopping, crashed or
 * stopped, with the role from standby.signal).
 *
 * <p>Threading: {@link #read()} takes no action lock, never throws, and runs alongside any action
 * (the HA loop reads the status while a clone or a rewind runs on the action thread). The kept
 * connection is guarded by its own monitor, held only for one status query; an action that must
 * not find it open (a smart stop, a rewind, a data directory removal) closes it with
 * {@link #closeConnection()} before it takes the action lock, so that the two locks are never
 * held in the other order.
 */
final class StatusReader {

    private static final Logger LOG = LoggerFactory.getLogger(StatusReader.class);

    private static final String STATUS_SQL = "SELECT pg_is_in_recovery(), current_setting('server_version_num')::int, "
            + "pg_postmaster_start_time(), (SELECT system_identifier::text FROM pg_control_system()), "
            + "current_setting('synchronous_standby_names'), "
            + "EXISTS (SELECT 1 FROM pg_settings WHERE pending_restart), "
            + "CASE WHEN pg_is_in_recovery() THEN 0 "
            + "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END, "
            + "CASE WHEN pg_is_in_recovery() THEN 0 ELSE (pg_current_wal_lsn() - '0/0')::bigint END, "
            + "COALESCE((pg_last_wal_receive_lsn() - '0/0')::bigint, 0), "
            + "COALESCE((pg_last_wal_replay_lsn() - '0/0')::bigint, 0), "
            + "pg_last_xact_replay_timestamp(), "
            + "CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END, "
            + "(SELECT status FROM pg_stat_wal_receiver), "
            + "(SELECT received_tli FROM pg_stat_wal_receiver), "
            + "(SELECT timeline_id FROM pg_control_checkpoint())";

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final Slots slots;
    private final Object connectionLock = new Object();
    private Connection connection; // guarded by connectionLock
    private long connectionPid; // guarded by connectionLock

    StatusReader(LocalPostgresConfig config, DataDirectory dir, Slots slots) {
        this.config = config;
        this.dir = dir;
        this.slots = slots;
    }

    /** The status; {@code unknown} when reading it failed unexpectedly. */
    PostgresStatus read() {
        try {
            return readStatus();
        } catch (RuntimeException e) {
            LOG.warn("{}: status failed: {}", config.name(), e.toString());
            return new PostgresStatus(
                    "unknown", null, 0, 0, 0, 0, null, false, null, null, 0, null, List.of(), List.of(), false, null);
        }
    }

    private PostgresStatus readStatus() {
        if (dir.isEmpty()) {
            return PostgresStatus.stopped(null, null, 0, 0);
        }
        PidFile pid = PidFile.read(dir.path());
        if (pid != null && pid.alive()) {
            try {
                return withConnection(pid.pid(), this::query);
            } catch (SQLException e) {
                String state = "stopping".equals(pid.status()) ? "stopping" : PostgresStatus.STARTING;
                if ("ready".equals(pid.status()) || "standby".equals(pid.status())) {
                    // it says it accepts connections, yet pgha cannot connect: likely credentials or pg_hba
                    LOG.warn(
                            "{}: postmaster {} is {} but pgha cannot connect as {}: {}",
                            config.name(),
                            pid.pid(),
                            pid.status(),
                            config.superuser(),
                            e.getMessage());
                } else {
                    LOG.debug("{}: postmaster {} not answering yet ({})", config.name(), pid.pid(), e.getMessage());
                }
                return withState(fromControlData(), state);
            }
        }
        PostgresStatus stopped = fromControlData();
        ControlData cd = dir.controlData();
        boolean crashed = pid != null || (cd != null && !cd.cleanlyShutDown());
        return crashed ? withState(stopped, PostgresStatus.CRASHED) : stopped;
    }

    private PostgresStatus fromControlData() {
        ControlData cd = dir.controlData();
        PostgresStatus.Role role = dir.hasStandbySignal() ? PostgresStatus.Role.REPLICA : PostgresStatus.Role.PRIMARY;
        if (cd == null) {
            return PostgresStatus.stopped(role, null, 0, 0);
        }
        long[] t = cd.localTimelineLsn();
        long timeline = t[0] != 0 ? t[0] : cd.checkpointTimeline();
        long lsn = t[1] != 0 ? t[1] : cd.checkpointLsn();
        return PostgresStatus.stopped(role, cd.systemIdentifier(), timeline, lsn);
    }

    private static PostgresStatus withState(PostgresStatus s, String state) {
        return new PostgresStatus(
                state,
                s.role(),
                s.timeline(),
                s.writeLsn(),
                s.receiveLsn(),
                s.replayLsn(),
                s.replayTimestamp(),
                s.replayPaused(),
                s.replicationState(),
                s.systemIdentifier(),
                s.serverVersion(),
                s.postmasterStartTime(),
                s.replication(),
                s.slots(),
                s.pendingRestart(),
                s.synchronousStandbyNames());
    }

    private PostgresStatus query(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.setQueryTimeout(Sql.TIMEOUT_SECONDS);
            boolean recovery;
            int version;
            Instant started;
            String sysid;
            String syncNames;
            boolean pendingRestart;
            long timeline;
            long writeLsn;
            long receiveLsn;
            long replayLsn;
            Instant replayTs;
            boolean paused;
            String receiverStatus;
            try (ResultSet rs = st.executeQuery(STATUS_SQL)) {
                rs.next();
                recovery = rs.getBoolean(1);
                version = rs.getInt(2);
                Timestamp ts = rs.getTimestamp(3);
                started = ts == null ? null : ts.toInstant();
                sysid = rs.getString(4);
                syncNames = rs.getString(5);
                pendingRestart = rs.getBoolean(6);
                timeline = rs.getLong(7);
                writeLsn = rs.getLong(8);
                receiveLsn = rs.getLong(9);
                replayLsn = rs.getLong(10);
                Timestamp rts = rs.getTimestamp(11);
                replayTs = rts == null ? null : rts.toInstant();
                paused = rs.getBoolean(12);
                receiverStatus = rs.getString(13);
                long receivedTli = rs.getLong(14);
                long checkpointTli = rs.getLong(15);
                if (recovery) {
                    // a standby has no WAL position of its own to name its timeline: the receiver's,
                    // else the last restartpoint's
                    timeline = receivedTli != 0 ? receivedTli : checkpointTli;
                }
            }
            List<ReplicationRow> rows = recovery ? new ArrayList<>() : replicationRows(st);
            List<ReplicationSlot> slotRows = slots.read(st);
            String replicationState =
                    !recovery ? null : "streaming".equals(receiverStatus) ? "streaming" : "in archive recovery";
            return new PostgresStatus(
                    PostgresStatus.RUNNING,
                    recovery ? PostgresStatus.Role.REPLICA : PostgresStatus.Role.PRIMARY,
                    timeline,
                    recovery ? 0 : writeLsn,
                    receiveLsn,
                    replayLsn,
                    replayTs,
                    paused,
                    replicationState,
                    sysid,
                    version,
                    started,
                    rows,
                    slotRows,
                    pendingRestart,
                    syncNames);
        }
    }

    /** A primary's pg_stat_replication, by application_name. */
    private static List<ReplicationRow> replicationRows(Statement st) throws SQLException {
        List<ReplicationRow> rows = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT usename, application_name, client_addr::text, state, "
                + "sync_state, sync_priority, COALESCE((write_lsn - '0/0')::bigint, 0), "
                + "COALESCE((flush_lsn - '0/0')::bigint, 0), COALESCE((replay_lsn - '0/0')::bigint, 0) "
                + "FROM pg_stat_replication ORDER BY application_name")) {
            while (rs.next()) {
                rows.add(new ReplicationRow(
                        rs.getString(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getString(5),
                        rs.getInt(6),
                        rs.getLong(7),
                        rs.getLong(8),
                        rs.getLong(9)));
            }
        }
        return rows;
    }

    @FunctionalInterface
    private interface SqlCall<T> {
        T apply(Connection c) throws SQLException;
    }

    /**
     * Runs {@code call} on the one connection kept open for status queries (the HA loop reads the
     * status several times a cycle: a new login each time cost a thread and a SCRAM handshake). It
     * is re-opened when the postmaster changed or the connection broke, once per call.
     */
    private <T> T withConnection(long postmasterPid, SqlCall<T> call) throws SQLException {
        synchronized (connectionLock) {
            for (int attempt = 0; ; attempt++) {
                if (connection == null || connectionPid != postmasterPid) {
                    closeConnection();
                    connection = Sql.local(config, dir.path());
                    connectionPid = postmasterPid;
                }
                try {
                    return call.apply(connection);
                } catch (SQLException e) {
                    closeConnection();
                    if (attempt >= 1) {
                        throw e;
                    }
                }
            }
        }
    }

    /** Closes the kept connection (before a stop: a smart shutdown would wait for it). */
    void closeConnection() {
        synchronized (connectionLock) {
            if (connection != null) {
                try {
                    connection.close();
                } catch (SQLException e) {
                    LOG.debug("closing the status connection: {}", e.getMessage());
                }
                connection = null;
            }
        }
    }
}
