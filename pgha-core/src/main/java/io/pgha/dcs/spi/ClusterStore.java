package io.pgha.dcs.spi;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import java.time.Duration;

/**
 * What a DCS adapter implements: the storage primitives of one store, as one member uses them.
 * {@link PatroniDcs} builds the whole {@link Dcs} on top (Patroni's keys, their JSON, which
 * changes wake the loop), so an adapter knows nothing of the layout: every key it is given is
 * whole ({@code /service/batman/leader}), and it stores and returns values as raw strings.
 *
 * <h2>Versions</h2>
 * Each key has the store's own version (etcd {@code mod_revision}, a znode's {@code mzxid},
 * Consul's {@code ModifyIndex}): {@link #readTree} reports it and the compare-and-set writes
 * compare it. {@link Dcs#ABSENT} means "only if the key does not exist", {@link Dcs#ANY} "whatever
 * is there". A version must never match a key deleted and created again since it was read.
 *
 * <h2>The member's session</h2>
 * The member owns one session or lease (an etcd lease, a ZooKeeper session, a Consul session)
 * with a time to live of {@code ttl} from its last renewal; keys written on it vanish when it
 * lapses or is ended. The leader lock is such a key holding the member's name. The lock methods
 * must keep these rules, each adapter with its store's means:
 * <ul>
 *   <li>{@link #acquireLock} creates the key only if it does not exist (or, in Consul, no session
 *       holds it);</li>
 *   <li>{@link #renewLock} extends the session only after proving that the key holds the holder's
 *       name; a key holding that name under another session (this member's previous process,
 *       killed and restarted while its PostgreSQL ran on) is taken over onto the current session
 *       by a write that compares the key first;</li>
 *   <li>{@link #releaseLock} deletes the key only if it holds the holder's name;</li>
 *   <li>nothing ever writes the lock key without such a comparison: a thawed old leader must not
 *       overwrite a newer one (Patroni PR #2689);</li>
 *   <li>a lock is claimed only while the session is known to be alive: when the store cannot
 *       vouch for it (a renewal took longer than the ttl, the connection is suspended), the
 *       answer is false or a {@link DcsException}, never true.</li>
 * </ul>
 *
 * <h2>Results and errors</h2>
 * A write whose condition does not hold returns false. A store that cannot be reached, or a write
 * whose outcome is unknown (a conditional write retried after a lost connection that then found
 * its condition false may have been applied by the lost attempt), throws {@link DcsException}
 * naming the store. Every call is bounded by the retry timeout the adapter was configured with.
 *
 * <h2>Own writes</h2>
 * Every write the store makes (put, delete, a key moved onto a new session) is reported to the
 * {@link ChangeListener} given to {@link #watch}, with its revision when the store tells it
 * ({@link ChangeListener#wroteAt}), so that this member's own writes do not wake its own loop.
 *
 * <h2>Threading</h2>
 * Implementations are thread-safe: {@link PatroniDcs} calls them from the HA loop, the REST API
 * and the control CLI at once, and from the thread waiting in {@code awaitChange}
 * ({@link #beforeWait}). {@link #watch} is called once, by {@link PatroniDcs}'s constructor,
 * before any other method.
 */
public interface ClusterStore extends AutoCloseable {

    // ---- reading

    /** Every key under {@code prefix} (whole keys), with its value and version. */
    StoredTree readTree(String prefix) throws DcsException;

    // ---- persistent keys, compared on their version

    /**
     * Writes {@code key = value} if its version is {@code expectedVersion} ({@link Dcs#ABSENT}:
     * create only if absent, {@link Dcs#ANY}: unconditionally). Returns whether it wrote.
     */
    boolean put(String key, String value, long expectedVersion) throws DcsException;

    /**
     * Deletes {@code key} if its version is {@code expectedVersion}. With {@link Dcs#ABSENT}
     * nothing is deleted and the answer is whether the key is absent; with {@link Dcs#ANY} the key
     * goes unconditionally and the answer is whether there was one (true when the store cannot
     * tell).
     */
    boolean delete(String key, long expectedVersion) throws DcsException;

    /** Deletes every key under {@code prefix}, and nothing else. */
    void deleteTree(String prefix) throws DcsException;

    // ---- keys on the member's session or lease

    /**
     * The lock: creates {@code key = holder} on this member's session, only if no such key
     * exists (Consul, as Patroni: or no session holds it, which in Consul's model is a free lock).
     * True when the key now holds {@code holder} on the current session (also when an earlier
     * attempt of this call, retried after a lost answer, created it).
     */
    boolean acquireLock(String key, String holder) throws DcsException;

    /**
     * Extends the session and the lock by a full ttl, only if {@code key} holds {@code holder};
     * takes over a key holding {@code holder} under another session (see the class comment).
     * False when the key is absent or holds another name: the lock is lost.
     */
    boolean renewLock(String key, String holder) throws DcsException;

    /** Deletes {@code key} only if it holds {@code holder}. Returns whether it did. */
    boolean releaseLock(String key, String holder) throws DcsException;

    /**
     * Writes {@code key = value} on this member's session (its member record), renewing the
     * session, and taking the key over from another session of this member (a killed
     * predecessor's) rather than leaving it to lapse with that one.
     */
    void putOnSession(String key, String value) throws DcsException;

    /**
     * Keeps the member record at {@code key} alive without writing it: called instead of {@link
     * #putOnSession} when the record is unchanged (the value this member last wrote, and the one
     * its last read saw). True when this store wrote {@code key} on its current session and has
     * kept that session alive at least as long as a write would have (etcd: the lease refreshed
     * once less than half its ttl is left; ZooKeeper: one existence check proving the znode is the
     * session's; Consul: the session renewal a write would have made). False when the key must be
     * written (a new session, a key not written by this store, or a store that cannot tell: the
     * default), and {@link PatroniDcs} then calls {@link #putOnSession}.
     */
    default boolean keepOnSession(String key) throws DcsException {
        return false;
    }

    /** The session's ttl from now on: applied to the current session or the next one, at the next renewal at the latest. */
    void setTtl(Duration ttl) throws DcsException;

    /** How long one operation may take from the next one on ({@link io.pgha.dcs.Dcs#setRetryTimeout}); default: kept. */
    default void setRetryTimeout(Duration retryTimeout) {}

    // ---- the watch

    /**
     * Starts reporting changes under {@code prefix} to {@code listener} (and this store's own
     * writes). Called once, before any other method. From then on a change made after the latest
     * {@link #readTree} must be reported, or {@link ChangeListener#eventsMayBeLost} called; a
     * store may start its watching thread lazily, in {@link #beforeWait}. A change carries the new
     * value when the watch has it, and the revision comparable with {@link StoredTree#revision()},
     * so that the cluster could later be kept from the watch instead of read each cycle.
     */
    void watch(String prefix, ChangeListener listener);

    /**
     * Called by {@code awaitChange} on the waiting thread, with no lock held, when a wait begins
     * and again each time the slice it returns has run out. A store whose watch runs on a thread
     * of its own may start it on the first call; a store without one looks for changes here (the
     * in-memory store expires lapsed sessions). Returns the longest the waiter may sleep before
     * calling again, or null to sleep until a change, a wake-up or the timeout.
     */
    default Duration beforeWait() {
        return null;
    }

    /**
     * Releases the client without ending the session: the keys on it lapse with its ttl
     * ({@link io.pgha.dcs.Dcs#abandon}). By default the session is ended, as {@link #close}.
     */
    default void abandon() {
        close();
    }

    /**
     * Ends the session, so that the keys on it go at once, and releases the client; when the
     * store cannot be reached the keys lapse with the session's ttl. Idempotent; never throws.
     */
    @Override
    void close();
}
