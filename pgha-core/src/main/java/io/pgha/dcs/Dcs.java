package io.pgha.dcs;

import java.io.Closeable;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The distributed configuration store, seen by one member of one cluster: Patroni's DCS
 * operations over the keys under {@code /<namespace>/<scope>/}.
 *
 * <p>An instance is bound to its member name at creation ({@link DcsProvider#create}). The leader
 * key and this member's {@code members/<name>} key live as long as the member's session/lease
 * (TTL = {@code ttl}) and vanish when it lapses.
 *
 * <h2>Results and errors</h2>
 * A write guarded by a condition (the lock is free, the lock is ours, the version matches) returns
 * {@code false} when the condition does not hold: that is an answer, not a failure. When the store
 * cannot be reached or the outcome is unknown, the method throws {@link DcsException}.
 *
 * <h2>Versions</h2>
 * Each versioned item carries the store's own version (etcd {@code mod_revision}, a znode's
 * version, Consul's {@code ModifyIndex}). Pass the version read to a compare-and-set write,
 * {@link #ABSENT} to create only if absent, or {@link #ANY} to write unconditionally.
 *
 * <h2>Concurrency</h2>
 * Implementations are thread-safe: the HA loop, the REST API and the control CLI call them from
 * different threads.
 */
public interface Dcs extends Closeable {

    /** Expected version meaning "the key must not exist". */
    long ABSENT = -1;
    /** Expected version meaning "write whatever is there". */
    long ANY = Long.MIN_VALUE;

    /** The member this instance acts for. */
    String memberName();

    /** Reads every key of the cluster in one snapshot. */
    ClusterState read() throws DcsException;

    /**
     * Creates the leader key with this member's name, on this member's TTL, only if no leader key
     * exists. Returns whether this member now holds the lock.
     */
    boolean acquireLeader() throws DcsException;

    /**
     * Extends the lock by a full TTL from now, only if the leader key still holds this member's
     * name; returns false when it does not (the lock is lost). Never writes the key without that
     * comparison: a thawed old leader must not overwrite a newer one.
     */
    boolean renewLeader() throws DcsException;

    /**
     * Takes over the leader key that {@code holder} holds at {@code expectedVersion}: deletes it only
     * if it is still exactly that (compare-and-set on the version read), then creates it with this
     * member's name on this member's TTL as {@link #acquireLeader} does. For a leader whose agent and
     * PostgreSQL are known to be gone: the old holder's next renewal finds another name (or none)
     * and fails, so a live old agent demotes and never promotes again. Returns whether this member
     * now holds the lock (false: the key changed meanwhile, or another member took it first).
     */
    boolean takeOverLeader(String holder, long expectedVersion) throws DcsException;

    /** Deletes the leader key only if it holds this member's name. */
    boolean releaseLeader() throws DcsException;

    /** Writes this member's {@code members/<name>} JSON so that it expires with the member's TTL. */
    void touchMember(Map<String, Object> data) throws DcsException;

    /**
     * Writes {@code initialize}: with {@code expectedVersion == ABSENT} only if absent (the
     * bootstrap race; the winner writes "" or the system identifier), otherwise compare-and-set.
     */
    boolean writeInitialize(String systemIdentifier, long expectedVersion) throws DcsException;

    /** Deletes {@code initialize} (a failed bootstrap gives the race back). */
    boolean cancelInitialize() throws DcsException;

    /** Compare-and-set of {@code config}. */
    boolean writeConfig(Map<String, Object> config, long expectedVersion) throws DcsException;

    /** Compare-and-set of {@code failover}; a null value deletes it (also under the version). */
    boolean writeFailover(Failover failover, long expectedVersion) throws DcsException;

    /** Compare-and-set of {@code sync}; a null value deletes it. */
    boolean writeSync(SyncState sync, long expectedVersion) throws DcsException;

    /** Writes {@code status} (the leader does, with each renewal). */
    void writeStatus(ClusterStatus status) throws DcsException;

    /** Writes {@code history}. */
    void writeHistory(List<HistoryEntry> history) throws DcsException;

    /** Writes {@code failsafe} (member name to api_url); null deletes it. */
    void writeFailsafe(Map<String, String> failsafe) throws DcsException;

    /** Deletes every key of the cluster ({@code patronictl remove}). */
    void deleteCluster() throws DcsException;

    /**
     * Changes the TTL of this member's session/lease (the dynamic config changed). Takes effect at
     * the next renewal at the latest.
     */
    void setTtl(Duration ttl) throws DcsException;

    /**
     * Changes how long one DCS operation may take, retries included (the dynamic config's
     * {@code retry_timeout} changed): from the next operation on. The default does nothing (a
     * store without such a bound).
     */
    default void setRetryTimeout(Duration retryTimeout) {}

    /**
     * Blocks until something in the cluster changes (the leader key at least), the timeout passes,
     * or {@link #wakeUp()} is called. Returns true when woken by a change or a wake-up.
     */
    boolean awaitChange(Duration timeout) throws InterruptedException;

    /** Ends a pending {@link #awaitChange} early (a REST write asked the loop to run now). */
    void wakeUp();

    /**
     * Lets go of the DCS without ending the member's session: its leader and member keys stay until
     * the session's ttl lapses, as when the agent dies (an agent stopped in pause leaves its lock, as
     * Patroni's does). Where the client cannot leave its session behind it ends it, as {@link #close}.
     * Idempotent.
     */
    default void abandon() {
        close();
    }

    /**
     * Ends the member's session: the lease is revoked or the session closed, so that its leader
     * and member keys go at once. Idempotent.
     */
    @Override
    void close();
}
