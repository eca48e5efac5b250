package io.pgha.ha;

import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import io.pgha.postgres.StopMode;
import java.util.Set;

/**
 * One step of a {@link Decision}. The node executes a decision's actions in order. Lock
 * operations ({@link AcquireLock}, {@link RenewLock}, {@link ClaimInitialize}) are conditional:
 * when one fails, the node skips the rest and decides again on a fresh snapshot. The long actions
 * ({@link #isLong()}) run off the HA loop's thread; a decision holds at most one, last.
 */
public sealed interface Action {

    /** True for actions that can take seconds to minutes and run asynchronously. */
    default boolean isLong() {
        return false;
    }

    /** Take the leader lock if it is free. */
    record AcquireLock() implements Action {}

    /** Extend the lock we hold; failure means it is lost. */
    record RenewLock() implements Action {}

    /** Delete the leader key if it is ours. */
    record ReleaseLock() implements Action {}

    /** Win the bootstrap race: create {@code initialize} = "" if absent. */
    record ClaimInitialize() implements Action {}

    /** The lock holder writes {@code initialize} with the system identifier (bootstrap done or key lost). */
    record WriteInitialize(String systemIdentifier, long expectedVersion) implements Action {}

    /** The lock holder writes the bootstrap dynamic configuration when {@code config} is missing. */
    record WriteBootstrapConfig() implements Action {}

    /** The leader records its WAL position in {@code status}. */
    record WriteStatus(long optime) implements Action {}

    /**
     * Compare-and-set of the {@code sync} key on {@code expectedVersion}; a null {@code state}
     * deletes it. A refused write ends the decision and the node decides again.
     */
    record WriteSync(io.pgha.dcs.SyncState state, long expectedVersion) implements Action {}

    /** The leader writes the {@code failsafe} key (member name to api_url); null deletes it. */
    record WriteFailsafe(java.util.Map<String, String> members) implements Action {}

    /** Set {@code synchronous_standby_names} on the local PostgreSQL and reload ("" for none). */
    record SetSynchronousStandbyNames(String value) implements Action {}

    /** Delete the {@code failover} key (compare-and-set on its version). */
    record ClearFailover(Failover failover) implements Action {}

    /** initdb, start as primary, take the lock, write initialize and config. */
    record Bootstrap() implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /** Create a replica by copying the data directory from {@code source}. */
    record CloneFrom(Member source) implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /** Start the stopped instance as the primary (we hold the lock). */
    record StartPrimary() implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /**
     * Start the stopped instance as a replica of {@code leader}; first rewind it when it has
     * diverged (a former primary), re-clone when rewind fails and config allows.
     */
    record StartReplica(Member leader, boolean checkDivergence) implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /** Promote the running replica (we hold the lock). */
    record Promote() implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /**
     * Stop being a primary. {@code mode} FAST with a checkpoint is Patroni's graceful demote
     * (switchover), IMMEDIATE its immediate demote (the lock is gone). The lock is released after
     * PostgreSQL stopped when {@code releaseLock}; the instance is then left stopped and rejoins as a
     * replica in a later cycle.
     */
    record Demote(StopMode mode, boolean checkpointFirst, boolean releaseLock) implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /** Point a running replica at {@code leader}. */
    record Follow(Member leader) implements Action {}

    /** Remove the data directory and clone it again from {@code source}. */
    record Reinitialize(Member source) implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /** Restart PostgreSQL in its current role. */
    record Restart() implements Action {
        @Override
        public boolean isLong() {
            return true;
        }
    }

    /** Make the primary's physical slots those of the other members. */
    record SyncSlots(Set<String> wanted) implements Action {}

    /** The system identifier differs from the cluster's: stop the agent (PostgreSQL is left alone). */
    record Shutdown(String why) implements Action {}
}
