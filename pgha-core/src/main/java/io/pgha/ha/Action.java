package io.pgha.ha;

import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.Member;
import io.pgha.dcs.SyncState;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.StopMode;
import java.util.List;
import java.util.Map;

/**
 * One step of a {@link Decision}, of one of three kinds, told apart by type:
 *
 * <ul>
 *   <li>{@link Inquiry}: the engine needs one more fact before it can decide (the other members'
 *       status, their failsafe promise, whether this data directory diverged from the leader). The
 *       node finds it out on the loop thread, adds it to the cycle's input and asks the engine again;
 *       an inquiry is always a decision's only action.
 *   <li>{@link Short}: a DCS write or a quick PostgreSQL change, run in order on the loop thread.
 *       Lock operations are conditional: when one is refused the node skips the rest of the decision
 *       and decides again on a fresh snapshot.
 *   <li>{@link Long}: seconds to minutes of PostgreSQL work (bootstrap, clone, start, promote, demote,
 *       rewind, restart) run on the node's action thread, so the loop keeps renewing the lock
 *       meanwhile. A decision holds at most one, last.
 * </ul>
 *
 * Package-private: the engine's vocabulary, not an API.
 */
sealed interface Action permits Action.Inquiry, Action.Short, Action.Long {

    /** Asks the node for one more input; the engine decides again with the answer. */
    sealed interface Inquiry extends Action permits ProbePeers, CallFailsafe, CheckDivergence, ConfirmLeaderGone {}

    /** Runs on the HA loop's thread, in order. */
    sealed interface Short extends Action
            permits AcquireLock,
                    TakeOverLock,
                    RenewLock,
                    ReleaseLock,
                    ClaimInitialize,
                    WriteInitialize,
                    WriteBootstrapConfig,
                    WriteStatus,
                    WriteSync,
                    WriteFailsafe,
                    WriteHistory,
                    SetSynchronousStandbyNames,
                    FenceFormerPrimary,
                    ClearFailover,
                    ChangeSlots,
                    Follow,
                    StopToRewind,
                    Shutdown {}

    /** Runs on the node's action thread; the loop goes on meanwhile. */
    sealed interface Long extends Action
            permits Bootstrap,
                    BootstrapStandbyLeader,
                    CloneFrom,
                    StartPrimary,
                    StartStandby,
                    StartReplica,
                    Promote,
                    Demote,
                    Reinitialize,
                    Restart,
                    Stop,
                    CopyLogicalSlots {}

    // ---- inquiries -------------------------------------------------------------------------------

    /**
     * Ask these members for {@code GET /patroni} (in parallel, 2 s): the race for a free lock and a
     * switchover's candidate check compare against their answers.
     */
    record ProbePeers(List<Member> members) implements Inquiry {
        public ProbePeers {
            members = List.copyOf(members);
        }
    }

    /**
     * Failsafe mode, a primary cut off from the DCS: {@code POST /failsafe} to these members (name to
     * api_url). When all of them agree, each promised not to race for the lock for a ttl, which the
     * node counts as a proof of the lock from the round's start.
     */
    record CallFailsafe(Map<String, String> members) implements Inquiry {
        public CallFailsafe {
            members = Map.copyOf(members);
        }
    }

    /**
     * Whether this data directory's history left the leader's timeline history (a former primary that
     * was ahead when another member was promoted): it then cannot stream from it as it is.
     */
    record CheckDivergence(Member leader) implements Inquiry {}

    /**
     * Try the leader's REST API and PostgreSQL ports once more: the {@link LeaderWatch} saw both
     * refuse; the answer is {@link HaInput#leaderGone} confirmed, or none when either answers or
     * does not answer at all.
     */
    record ConfirmLeaderGone(Member leader) implements Inquiry {}

    // ---- short actions ---------------------------------------------------------------------------

    /** Take the leader lock if it is free. */
    record AcquireLock() implements Short {}

    /**
     * Take over the leader key that {@code holder} held at {@code version} (its agent and PostgreSQL
     * are gone from a live host): replace it with this member's, only if it is still exactly as read
     * ({@link io.pgha.dcs.Dcs#takeOverLeader}). A live old agent then only loses its next renewal.
     */
    record TakeOverLock(String holder, long version) implements Short {}

    /** Extend the lock we hold; failure means it is lost. */
    record RenewLock() implements Short {}

    /** Delete the leader key if it is ours. */
    record ReleaseLock() implements Short {}

    /** Win the bootstrap race: create {@code initialize} = "" if absent. */
    record ClaimInitialize() implements Short {}

    /** The lock holder writes {@code initialize} with the system identifier (bootstrap done or key lost). */
    record WriteInitialize(String systemIdentifier, long expectedVersion) implements Short {}

    /** The lock holder writes the bootstrap dynamic configuration when {@code config} is missing. */
    record WriteBootstrapConfig() implements Short {}

    /**
     * The leader records its WAL position in {@code status}, the positions of its slots
     * ({@code slots}: what replicas advance their copies to) and the member slots it retains
     * ({@code retain_slots}, Patroni 4).
     */
    record WriteStatus(long optime, Map<String, java.lang.Long> slots, List<String> retainSlots) implements Short {
        public WriteStatus {
            slots = slots == null ? Map.of() : Map.copyOf(slots);
            retainSlots = retainSlots == null ? List.of() : List.copyOf(retainSlots);
        }

        WriteStatus(long optime) {
            this(optime, Map.of(), List.of());
        }
    }

    /**
     * Compare-and-set of the {@code sync} key on {@code expectedVersion}; a null {@code state} deletes
     * it. A refused write ends the decision and the node decides again.
     */
    record WriteSync(SyncState state, long expectedVersion) implements Short {}

    /**
     * Write the {@code history} key as given. A lock holder about to promote records the timeline it
     * leaves before {@link Promote}: if the write fails, the decision ends there and PostgreSQL never
     * accepts a write on a timeline the DCS does not know of (quorum commit's race reads it).
     */
    record WriteHistory(List<HistoryEntry> history) implements Short {
        public WriteHistory {
            history = List.copyOf(history);
        }
    }

    /** The leader writes the {@code failsafe} key (member name to api_url); null deletes it. */
    record WriteFailsafe(Map<String, String> members) implements Short {}

    /** Set {@code synchronous_standby_names} on the local PostgreSQL and reload ("" for none). */
    record SetSynchronousStandbyNames(String value) implements Short {}

    /**
     * The candidate-side fence: before promoting because the former primary's lock lapsed, make its
     * PostgreSQL, if it still answers as a primary, stop acknowledging commits
     * ({@link io.pgha.postgres.PostgresController#fenceFormerPrimary}). Whatever comes of it, the
     * decision goes on: it is defence in depth; the former primary's own fence and the ttl are the
     * guarantee.
     */
    record FenceFormerPrimary(Member former) implements Short {}

    /** Delete the {@code failover} key (compare-and-set on its version). */
    record ClearFailover(Failover failover) implements Short {}

    /** Change the local replication slots ({@link SlotPlan}): drop, create, advance, claim. */
    record ChangeSlots(SlotChanges changes) implements Short {}

    /**
     * Point a running replica at {@code upstream} ({@link Upstream}: the leader, the member its
     * {@code replicatefrom} names, or null: stream from nobody, WAL from restore_command only).
     * {@code leaderIsPrimary}: the leader already runs as a primary, so the divergence check before
     * this was final and the node remembers whom it follows; a leader still being promoted is
     * followed and checked again next cycle.
     */
    record Follow(Member upstream, boolean leaderIsPrimary) implements Short {}

    /**
     * A running replica diverged from the new leader (it received WAL the leader never had): stop it
     * (fast), then decide again, which rewinds or re-clones it as a stopped member.
     */
    record StopToRewind(Member leader) implements Short {}

    /** The system identifier differs from the cluster's: stop the agent (PostgreSQL is left alone). */
    record Shutdown(String why) implements Short {}

    // ---- long actions ----------------------------------------------------------------------------

    /** initdb, start as primary, take the lock, write initialize and config. */
    record Bootstrap() implements Long {}

    /**
     * Bootstrap a standby cluster (Patroni's {@code bootstrap_standby_leader}): copy the remote
     * primary (the standby cluster's {@code create_replica_methods}, basebackup by default), start as
     * its replica, take the lock, write {@code initialize} and {@code config}. A failed copy gives the
     * bootstrap back to the cluster, as a failed {@link Bootstrap} does.
     */
    record BootstrapStandbyLeader(Member remote) implements Long {}

    /**
     * Create a replica by copying the data directory from {@code source}; with {@code source} null,
     * by a replica method that needs no member (Patroni's {@code no_leader}), then started as a
     * standby with no upstream. Without {@code streams} (a {@code nostream} member) it starts as a
     * standby with no upstream in any case.
     */
    record CloneFrom(Member source, boolean streams) implements Long {
        /** A clone that then streams from the leader (the next cycle moves it to its {@link Upstream}). */
        CloneFrom(Member source) {
            this(source, true);
        }
    }

    /** Start the stopped instance as the primary (we hold the lock). */
    record StartPrimary() implements Long {}

    /**
     * Start the stopped instance as a standby with no upstream (nobody holds the lock, and this
     * member may not take it): as Patroni, which starts a stopped member as a secondary.
     */
    record StartStandby() implements Long {}

    /** What a stopped instance needs before it can start as the leader's replica. */
    enum Preparation {
        /** Nothing: its history is part of the leader's (or the leader is not a primary yet). */
        NONE,
        /** pg_rewind from the leader (it diverged). */
        REWIND,
        /** Remove the data directory and clone it again from the leader (diverged, no rewind). */
        RECLONE
    }

    /**
     * Start the stopped instance as a replica streaming from {@code upstream} (as for {@link
     * Follow}; null: from nobody), after the {@code preparation} against {@code leader} the engine
     * chose. {@code leaderIsPrimary} as for {@link Follow}.
     */
    record StartReplica(Member leader, Member upstream, Preparation preparation, boolean leaderIsPrimary)
            implements Long {}

    /**
     * Promote the running replica (we hold the lock; the {@code history} entry of the timeline it
     * leaves is written before, by {@link WriteHistory}).
     */
    record Promote() implements Long {}

    /** Why a primary stops being one, for the listeners ({@code aboutToDemote}). */
    enum DemoteCause {
        SWITCHOVER("switchover"),
        LOST_LOCK("lost the leader lock"),
        /**
         * The DCS is not accessible (Patroni's {@code demote('offline')}): PostgreSQL is started
         * again at once as a read-only standby following nobody, since no later cycle can learn
         * whom to follow until the DCS returns.
         */
        DCS_UNREACHABLE("the DCS is not accessible"),
        SHUTDOWN("shutdown");

        private final String words;

        DemoteCause(String words) {
            this.words = words;
        }

        String words() {
            return words;
        }
    }

    /**
     * Stop being a primary. {@code mode} FAST with a checkpoint is Patroni's graceful demote
     * (switchover), IMMEDIATE its immediate demote (the lock is gone). The lock is released after
     * PostgreSQL stopped when {@code releaseLock}, with the last WAL position in {@code status}; the
     * instance is then left stopped and rejoins as a replica in a later cycle, unless {@code rejoin}
     * names whom to follow at once (a switchover in pause, where no later cycle starts PostgreSQL: as
     * Patroni's graceful demote, which restarts the old primary as a replica itself), or the cause is
     * {@link DemoteCause#DCS_UNREACHABLE} (started again as a standby following nobody).
     */
    record Demote(
            StopMode mode,
            boolean checkpointFirst,
            boolean releaseLock,
            DemoteCause cause,
            Member rejoin,
            java.time.Duration stopTimeout)
            implements Long {
        Demote(StopMode mode, boolean checkpointFirst, boolean releaseLock, DemoteCause cause, Member rejoin) {
            this(mode, checkpointFirst, releaseLock, cause, rejoin, null);
        }

        Demote(StopMode mode, boolean checkpointFirst, boolean releaseLock, DemoteCause cause) {
            this(mode, checkpointFirst, releaseLock, cause, null);
        }

        /**
         * Patroni's {@code primary_stop_timeout} (synchronous mode only): a stop still running after
         * it is cut short by an immediate stop; the demote's stop is bounded by it.
         */
        Demote withStopTimeout(java.time.Duration timeout) {
            return new Demote(mode, checkpointFirst, releaseLock, cause, rejoin, timeout);
        }

        Demote(StopMode mode, boolean checkpointFirst, boolean releaseLock) {
            this(mode, checkpointFirst, releaseLock, releaseLock ? DemoteCause.SWITCHOVER : DemoteCause.LOST_LOCK);
        }
    }

    /** Remove the data directory and clone it again from {@code source}. */
    record Reinitialize(Member source) implements Long {}

    /** Restart PostgreSQL in its current role. */
    record Restart() implements Long {}

    /** Stop PostgreSQL (fast) and leave the lock alone: the agent shuts down as a replica. */
    record Stop() implements Long {}

    /**
     * A replica copies the permanent logical slots {@code slots} from the {@code leader}'s PostgreSQL
     * (their state files) and restarts, as Patroni does: PostgreSQL 15 cannot create a logical slot
     * in recovery.
     */
    record CopyLogicalSlots(Member leader, Map<String, SlotChanges.NewSlot> slots) implements Long {
        public CopyLogicalSlots {
            slots = Map.copyOf(slots);
        }
    }
}
