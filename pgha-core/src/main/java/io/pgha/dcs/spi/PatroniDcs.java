package io.pgha.dcs.spi;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.SyncState;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one implementation of {@link Dcs}: Patroni's keys ({@link PatroniLayout}), their values
 * ({@link PatroniCodec}) and the wait/wake rules ({@link ChangeMonitor}) over the storage
 * primitives of a {@link ClusterStore}. A provider builds it:
 *
 * <pre>
 * PatroniLayout layout = PatroniLayout.of(settings);   // checks the scope and the member name
 * return new PatroniDcs(settings.name(), layout, new EtcdStore(settings, options));
 * </pre>
 *
 * <p>Each operation maps onto one primitive: the leader lock onto the store's lock methods with
 * this member's name as the holder, the member record onto {@link ClusterStore#putOnSession},
 * every other key onto the versioned {@link ClusterStore#put} and {@link ClusterStore#delete}.
 * Every write is bracketed for the monitor, so that this member's own writes do not wake its own
 * {@link #awaitChange}.
 *
 * <h2>No write while nothing changed</h2>
 * The member record, {@code status}, {@code history} and {@code failsafe} are written only when
 * their value differs from the one this member last saw there (its last {@link #read()}, or its
 * own write since): an idle cluster sends the store no write but the leader's renewal. An
 * unchanged member record is kept alive by its session alone ({@link ClusterStore#keepOnSession}).
 * The keys written under a comparison (the lock, {@code config}, {@code failover}, {@code sync},
 * {@code initialize}) are always sent: their comparison is the point.
 *
 * <p>Thread-safe, as {@link Dcs} requires, provided the store is: this class keeps no state of its
 * own but the monitor (thread-safe) and the closed flag.
 */
public final class PatroniDcs implements Dcs {
    private final String member;
    private final PatroniLayout layout;
    private final ClusterStore store;
    private final ChangeMonitor monitor;
    private final String leaderKey;
    private final String memberKey;
    private final AtomicBoolean closed = new AtomicBoolean();
    /**
     * The raw value of each key as this member last saw it (its last read, or its own write since);
     * empty until the first read, so that nothing is skipped on a guess. A key whose write failed is
     * forgotten (its value is unknown).
     */
    private final Map<String, String> seen = new ConcurrentHashMap<>();

    private volatile boolean seenRead;

    /**
     * Takes the store over (it is closed with this Dcs) and starts its watch.
     *
     * @param member this member's name
     * @param layout the cluster's keys, of the form the store uses
     * @param store the store's primitives, not used by anyone else
     */
    public PatroniDcs(String member, PatroniLayout layout, ClusterStore store) {
        this.member = PatroniLayout.checkMemberName(member);
        this.layout = Objects.requireNonNull(layout, "layout");
        this.store = Objects.requireNonNull(store, "store");
        this.monitor = new ChangeMonitor(layout);
        this.leaderKey = layout.leaderKey();
        this.memberKey = layout.memberKey(member);
        store.watch(layout.prefix(), monitor);
    }

    @Override
    public String memberName() {
        return member;
    }

    /** The store's primitives, for an adapter's own tests (its session, its lease). */
    public ClusterStore store() {
        return store;
    }

    @Override
    public ClusterState read() throws DcsException {
        checkOpen();
        long token = monitor.readBegins();
        StoredTree tree = store.readTree(layout.prefix());
        monitor.readDone(token, tree.revision());
        remember(tree);
        return PatroniCodec.decode(layout, tree);
    }

    // ---------------------------------------------------------------- the leader lock

    @Override
    public boolean acquireLeader() throws DcsException {
        return write(() -> store.acquireLock(leaderKey, member));
    }

    @Override
    public boolean takeOverLeader(String holder, long expectedVersion) throws DcsException {
        return write(() -> {
            // the holder is checked as well as the version: a znode's version restarts at 0 when the
            // key is created again, so on ZooKeeper the version alone could name a newer leader's key
            // (the cluster's tree, read as the cycle reads it: a store reads trees, not single keys)
            StoredValue now = store.readTree(layout.prefix()).values().stream()
                    .filter(v -> v.key().equals(leaderKey))
                    .findFirst()
                    .orElse(null);
            if (now == null || !holder.equals(now.value()) || now.version() != expectedVersion) {
                return false; // renewed, released or taken meanwhile: the ordinary race decides
            }
            return store.delete(leaderKey, expectedVersion) && store.acquireLock(leaderKey, member);
        });
    }

    @Override
    public boolean renewLeader() throws DcsException {
        // a write too: the store may move the key onto a new session
        return write(() -> store.renewLock(leaderKey, member));
    }

    @Override
    public boolean releaseLeader() throws DcsException {
        return write(() -> store.releaseLock(leaderKey, member));
    }

    @Override
    public void touchMember(Map<String, Object> data) throws DcsException {
        String value = PatroniCodec.member(data);
        write(() -> {
            if (value.equals(seen.get(memberKey)) && store.keepOnSession(memberKey)) {
                return null; // unchanged: the session alone keeps it
            }
            seen.remove(memberKey);
            store.putOnSession(memberKey, value);
            seen.put(memberKey, value);
            return null;
        });
    }

    // ---------------------------------------------------------------- compare-and-set keys

    @Override
    public boolean writeInitialize(String systemIdentifier, long expectedVersion) throws DcsException {
        String value = PatroniCodec.initialize(systemIdentifier);
        return write(() -> store.put(layout.key(PatroniLayout.INITIALIZE), value, expectedVersion));
    }

    @Override
    public boolean cancelInitialize() throws DcsException {
        return write(() -> store.delete(layout.key(PatroniLayout.INITIALIZE), ANY));
    }

    @Override
    public boolean writeConfig(Map<String, Object> config, long expectedVersion) throws DcsException {
        return compareAndSet(PatroniLayout.CONFIG, PatroniCodec.config(config), expectedVersion);
    }

    @Override
    public boolean writeFailover(Failover failover, long expectedVersion) throws DcsException {
        return compareAndSet(
                PatroniLayout.FAILOVER, failover == null ? null : PatroniCodec.failover(failover), expectedVersion);
    }

    @Override
    public boolean writeSync(SyncState sync, long expectedVersion) throws DcsException {
        return compareAndSet(PatroniLayout.SYNC, sync == null ? null : PatroniCodec.sync(sync), expectedVersion);
    }

    /** Writes, or for a null value deletes, a key if its version matches; deleting with ANY always succeeds. */
    private boolean compareAndSet(String relative, String value, long expectedVersion) throws DcsException {
        checkVersion(relative, expectedVersion);
        String key = layout.key(relative);
        if (value != null) {
            return write(() -> store.put(key, value, expectedVersion));
        }
        boolean deleted = write(() -> store.delete(key, expectedVersion));
        return expectedVersion == ANY || deleted;
    }

    /**
     * A plain key ({@code status}, {@code history}, {@code failsafe}; null: absent) written, or
     * deleted, only when it differs from what this member last saw there. Only the leader writes
     * these keys, so what it last saw is what the store holds, but for an operator's hand.
     */
    private void writeIfChanged(String relative, String value) throws DcsException {
        String key = layout.key(relative);
        String wanted = value == null ? ABSENT_VALUE : value;
        if (seenRead && wanted.equals(seen.get(key))) {
            return;
        }
        seen.remove(key); // unknown until the write answers
        compareAndSet(relative, value, ANY);
        seen.put(key, wanted);
    }

    /** Replaces what this member saw with a whole tree it read. */
    private void remember(StoredTree tree) {
        Map<String, String> now = new java.util.HashMap<>();
        for (String plain : List.of(PatroniLayout.STATUS, PatroniLayout.HISTORY, PatroniLayout.FAILSAFE)) {
            now.put(layout.key(plain), ABSENT_VALUE);
        }
        now.put(memberKey, ABSENT_VALUE);
        for (StoredValue v : tree.values()) {
            if (now.containsKey(v.key())) {
                now.put(v.key(), v.value());
            }
        }
        seen.putAll(now);
        seenRead = true;
    }

    private static void checkVersion(String relative, long expected) {
        if (expected < 0 && expected != ABSENT && expected != ANY) {
            throw new IllegalArgumentException(
                    "expected version of " + relative + " must be >= 0, ABSENT or ANY, not " + expected);
        }
    }

    // ---------------------------------------------------------------- plain keys

    @Override
    public void writeStatus(ClusterStatus status) throws DcsException {
        writeIfChanged(PatroniLayout.STATUS, PatroniCodec.status(status));
    }

    @Override
    public void writeHistory(List<HistoryEntry> history) throws DcsException {
        writeIfChanged(PatroniLayout.HISTORY, PatroniCodec.history(history));
    }

    @Override
    public void writeFailsafe(Map<String, String> failsafe) throws DcsException {
        writeIfChanged(PatroniLayout.FAILSAFE, failsafe == null ? null : PatroniCodec.failsafe(failsafe));
    }

    @Override
    public void deleteCluster() throws DcsException {
        seen.clear();
        seenRead = false;
        write(() -> {
            store.deleteTree(layout.prefix());
            return null;
        });
    }

    @Override
    public void setTtl(Duration ttl) throws DcsException {
        if (ttl == null || ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, got " + ttl);
        }
        store.setTtl(ttl);
    }

    @Override
    public void setRetryTimeout(Duration retryTimeout) {
        if (retryTimeout == null || retryTimeout.isNegative() || retryTimeout.isZero()) {
            throw new IllegalArgumentException("retry_timeout must be positive, got " + retryTimeout);
        }
        store.setRetryTimeout(retryTimeout);
    }

    // ---------------------------------------------------------------- waiting

    /**
     * Returns true at once if news is pending: since this member's last {@link #read()} or
     * {@code awaitChange}, someone else (another member, or the store expiring a session) changed
     * the {@code leader}, {@code config}, {@code failover}, {@code sync} or {@code initialize} key,
     * or a member came or went, or the watch may have missed something. This member's own writes
     * do not count, nor do routine rewrites of member records, {@code status}, {@code history} and
     * {@code failsafe}. A returned change counts as seen.
     */
    @Override
    public boolean awaitChange(Duration timeout) throws InterruptedException {
        return monitor.await(timeout, store::beforeWait);
    }

    @Override
    public void wakeUp() {
        monitor.wakeUp();
    }

    /** Ends the watch and lets go of the store, its session left to lapse ({@link Dcs#abandon}). */
    @Override
    public void abandon() {
        if (closed.compareAndSet(false, true)) {
            monitor.close();
            store.abandon();
        }
    }

    /** Ends the session (the leader and member keys go at once) and the watch. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            monitor.close();
            store.close();
        }
    }

    @Override
    public String toString() {
        return "PatroniDcs{" + layout.prefix() + ", member=" + member + ", " + store + "}";
    }

    // ---------------------------------------------------------------- internals

    /** What {@link #seen} holds for an absent key (a map of this kind holds no null). */
    private static final String ABSENT_VALUE = "\u0000absent";

    private interface StoreCall<T> {
        T run() throws DcsException;
    }

    /** Runs a call that may write, so that the monitor knows its changes for this member's own. */
    private <T> T write(StoreCall<T> call) throws DcsException {
        checkOpen();
        monitor.writeBegins();
        try {
            return call.run();
        } finally {
            monitor.writeEnds();
        }
    }

    private void checkOpen() throws DcsException {
        if (closed.get()) {
            throw new DcsException("this Dcs of member '" + member + "' is closed (" + store + ")");
        }
    }
}
