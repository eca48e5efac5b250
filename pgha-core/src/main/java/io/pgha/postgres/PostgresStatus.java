package io.pgha.postgres;

import java.time.Instant;
import java.util.List;

/**
 * What a node knows of its local PostgreSQL at one moment. Immutable.
 *
 * @param state Patroni's state string for the instance: {@code running}, {@code stopped},
 *     {@code starting}, {@code stopping}, {@code crashed}, {@code creating replica}, ...
 * @param role the role PostgreSQL reports (or, stopped, the role its data directory would start
 *     in); null when unknown
 * @param timeline the current timeline (the received one on a replica), 0 when unknown
 * @param writeLsn on a primary, {@code pg_current_wal_lsn()}; 0 on a replica
 * @param receiveLsn on a replica, the last WAL position received; 0 when none
 * @param replayLsn on a replica, the last WAL position replayed
 * @param replayTimestamp on a replica, the commit time of the last replayed transaction
 * @param replayPaused on a replica, whether replay is paused
 * @param replicationState on a replica, {@code streaming} or {@code in archive recovery}; null otherwise
 * @param systemIdentifier the database system identifier, null when there is no data directory
 * @param serverVersion {@code server_version_num}, e.g. 150018; 0 when unknown
 * @param postmasterStartTime when the postmaster started
 * @param replication {@code pg_stat_replication} rows on a primary
 * @param slots the replication slots that exist (temporary ones left out)
 * @param pendingRestart a changed parameter needs a restart to take effect
 * @param synchronousStandbyNames the current {@code synchronous_standby_names}
 */
public record PostgresStatus(
        String state,
        Role role,
        long timeline,
        long writeLsn,
        long receiveLsn,
        long replayLsn,
        Instant replayTimestamp,
        boolean replayPaused,
        String replicationState,
        String systemIdentifier,
        int serverVersion,
        Instant postmasterStartTime,
        List<ReplicationRow> replication,
        List<ReplicationSlot> slots,
        boolean pendingRestart,
        String synchronousStandbyNames) {

    public static final String RUNNING = "running";
    public static final String STOPPED = "stopped";
    public static final String STARTING = "starting";
    public static final String CRASHED = "crashed";

    public PostgresStatus {
        replication = replication == null ? List.of() : List.copyOf(replication);
        slots = slots == null ? List.of() : List.copyOf(slots);
    }

    /** Nothing running; {@code role} is what the data directory would start as. */
    public static PostgresStatus stopped(Role role, String systemIdentifier, long timeline, long lastLsn) {
        return new PostgresStatus(
                STOPPED,
                role,
                timeline,
                role == Role.PRIMARY ? lastLsn : 0,
                role == Role.PRIMARY ? 0 : lastLsn,
                role == Role.PRIMARY ? 0 : lastLsn,
                null,
                false,
                null,
                systemIdentifier,
                0,
                null,
                List.of(),
                List.of(),
                false,
                null);
    }

    public boolean isRunning() {
        return RUNNING.equals(state);
    }

    /** The slot named {@code name}, or null. */
    public ReplicationSlot slot(String name) {
        for (ReplicationSlot s : slots) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** Running and not in recovery. */
    public boolean isPrimary() {
        return isRunning() && role == Role.PRIMARY;
    }

    /** Running in recovery. */
    public boolean isReplica() {
        return isRunning() && role == Role.REPLICA;
    }

    /** The WAL position a failover compares: the write LSN on a primary, max(received, replayed) elsewhere. */
    public long lastLsn() {
        return role == Role.PRIMARY ? writeLsn : Math.max(receiveLsn, replayLsn);
    }

    /** Whether this instance streams from a primary right now. */
    public boolean isStreaming() {
        return "streaming".equals(replicationState);
    }

    /** Which role an instance runs in, or would start in. */
    public enum Role {
        PRIMARY,
        REPLICA
    }
}
