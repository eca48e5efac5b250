package io.pgha.postgres;

import io.pgha.dcs.Member;
import java.io.Closeable;
import java.time.Duration;

/**
 * Drives the local PostgreSQL instance for the HA loop. pgha-postgres implements it over the
 * machine's PostgreSQL binaries; tests and the simulation implement it in memory; embedders may
 * decorate it (to record or veto actions).
 *
 * <p>Methods block until the action is done or has failed. The HA loop runs the long ones
 * (bootstrap, clone, rewind, start, restart) off its own thread so that lock renewal never waits
 * on them. Implementations must be thread-safe for {@link #status()} running alongside an action.
 *
 * <p>A member to clone from or follow is given as its DCS record: its {@code conn_url} says where
 * it listens.
 */
public interface PostgresController extends Closeable {

    /** The current status; never throws (a failed query shows as an unknown or crashed state). */
    PostgresStatus status();

    /** True when the data directory is missing or empty: this member needs a bootstrap or a clone. */
    boolean isDataDirectoryEmpty();

    /**
     * Creates a new cluster (initdb with checksums, the superuser and replication users, pg_hba)
     * and starts it as a primary. Returns the new system identifier.
     */
    String bootstrap() throws PostgresException;

    /**
     * Copies the data directory from {@code source} (pg_basebackup, or a method of Patroni's
     * {@code create_replica_methods}) and configures it as its replica. With {@code source} null,
     * only where {@link #canCreateReplicaWithoutLeader()}: by a method that needs no member (a
     * restore from a backup), configured as a standby with no upstream.
     */
    void cloneFrom(Member source) throws PostgresException;

    /**
     * Whether a replica can be created with no member to copy from (Patroni's {@code no_leader}
     * replica methods). The default: no.
     */
    default boolean canCreateReplicaWithoutLeader() {
        return false;
    }

    /** Starts as a primary ({@code leader == null}) or as a replica streaming from {@code leader}. */
    void start(Member leader, Duration timeout) throws PostgresException;

    /**
     * Starts as a standby with no upstream (no leader to stream from yet): it replays what it has
     * and what its {@code restore_command} finds, and waits, as Patroni starts a stopped member
     * when nobody holds the lock. The default throws: a controller that cannot must not be asked.
     */
    default void startStandby(Duration timeout) throws PostgresException {
        throw new PostgresException("this PostgreSQL controller cannot start a standby with no upstream");
    }

    /** Stops; with {@code checkpointFirst} a CHECKPOINT runs before a FAST stop so it is short. */
    void stop(StopMode mode, boolean checkpointFirst, Duration timeout) throws PostgresException;

    /**
     * Runs Patroni's {@code pre_promote} script (a fencing hook) after this member took the lock and
     * before it promotes; false vetoes the promotion (a non-zero exit, or a script that cannot run),
     * and the node then releases the lock. The default: no script, true.
     */
    default boolean prePromote() throws PostgresException {
        return true;
    }

    /** Promotes a running replica and waits until it accepts writes. */
    void promote(Duration timeout) throws PostgresException;

    /**
     * Points a replica at {@code upstream}, the member it streams from (the leader, or with
     * Patroni's {@code replicatefrom} tag another replica): rewrites primary_conninfo and reloads
     * where the server allows it, restarts where it must. A stopped instance is started as that
     * member's replica. With {@code upstream} null the replica streams from nobody (Patroni's
     * {@code nostream} tag): no primary_conninfo, WAL from its {@code restore_command} only.
     */
    void follow(Member upstream, Duration timeout) throws PostgresException;

    /**
     * Makes a diverged former primary a replica of {@code leader} again with pg_rewind. Returns false
     * when the rewind was not possible (the caller may then re-clone if allowed).
     */
    boolean rewind(Member leader) throws PostgresException;

    /** True when this instance's WAL has diverged from {@code leader}'s timeline history. */
    boolean needsRewind(Member leader) throws PostgresException;

    /** Removes the data directory (only called where configuration allows it). */
    void removeDataDirectory() throws PostgresException;

    void restart(Duration timeout) throws PostgresException;

    void reload() throws PostgresException;

    /**
     * Takes the {@code postgresql} section of the cluster's dynamic configuration (the DCS
     * {@code config} key: {@code parameters}, {@code pg_hba}, ...), merged with the member's own
     * settings by Patroni's rules, and reloads PostgreSQL when that changes its configuration. A
     * parameter that needs a restart shows as {@link PostgresStatus#pendingRestart()} afterwards.
     * The node calls it whenever the section changes, on its loop thread, never during a long
     * action. The default does nothing (a controller without managed configuration files).
     *
     * @return whether PostgreSQL's configuration changed
     * @throws PostgresException for a value that cannot be applied (the previous ones stay)
     */
    default boolean applyDynamicConfig(java.util.Map<String, ?> postgresql) throws PostgresException {
        return false;
    }

    /**
     * The candidate-side fence (docs/safety.md): before this member promotes because the former
     * primary's lock lapsed, makes that member's PostgreSQL, if it still answers and runs out of
     * recovery, stop acknowledging commits and drop its clients, leaving nothing behind on its disk.
     * Bounded by short timeouts (a few seconds in all); never throws: every failure is an outcome,
     * and the promotion goes on whatever it is (the old side's fence and the ttl remain the
     * guarantee). The default does nothing: {@link FenceResult#notSupported()}.
     *
     * @param former the former primary's member record ({@code conn_url} says where it listens)
     * @param fencedBy this member's name, recorded in the value that fences it
     */
    default FenceResult fenceFormerPrimary(Member former, String fencedBy) {
        return FenceResult.notSupported();
    }

    /** Sets {@code synchronous_standby_names} and reloads; null or "" turns synchronous replication off. */
    void setSynchronousStandbyNames(String value) throws PostgresException;

    /**
     * Carries out the engine's replication slot changes on the running instance ({@link SlotChanges}:
     * drop, create, advance, and remember which slots pgha manages). A failing step is logged and
     * the others still run; the exception reports the first failure.
     */
    void changeReplicationSlots(SlotChanges changes) throws PostgresException;

    /**
     * Copies the logical slots {@code names} from the {@code leader}'s PostgreSQL onto this replica,
     * as Patroni does: a standby cannot create a logical slot (PostgreSQL 15 and older refuse logical
     * decoding in recovery), so the slots' state files are read from the primary
     * ({@code pg_read_binary_file}), PostgreSQL is stopped, the files written into {@code pg_replslot},
     * and PostgreSQL started again as the leader's replica. A slot whose type, database or plugin on
     * the primary differs from {@code wanted} is not copied. The default refuses.
     *
     * @param wanted the slots as the configuration defines them, by name
     */
    default void copyLogicalSlots(Member leader, java.util.Map<String, SlotChanges.NewSlot> wanted, Duration timeout)
            throws PostgresException {
        throw new PostgresException("this PostgreSQL controller cannot copy logical replication slots");
    }

    /** Stops whatever this controller started (by PID). Idempotent. */
    @Override
    void close();
}
