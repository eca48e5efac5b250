package io.pgha.dcs;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference implementation of {@link Dcs}: one member's view of an in-process {@link Store}.
 * Unit tests, the deterministic simulation and the single-JVM demo use it; the adapters for real
 * stores are held to the same contract suite.
 *
 * <p>Like a real adapter it stores raw JSON strings at Patroni's paths
 * ({@code /<namespace>/<scope>/<key>}), each with a version taken from a store-wide revision
 * counter (as etcd's {@code mod_revision}), and reads them back through
 * {@link ClusterState#builder(String)}, so a malformed value planted with
 * {@link Store#putRaw(String, String, String)} is decoded exactly as a real store's would be.
 *
 * <h2>Sessions and TTL</h2>
 * Each instance owns at most one live session at a time, opened by the first call that writes a
 * key bound to it ({@link #acquireLeader()}, {@link #touchMember(Map)}). The session expires at
 * the last successful {@code acquireLeader}/{@code renewLeader}/{@code touchMember} plus the ttl,
 * measured on the store's {@link Clock}. Expiry is evaluated lazily on every access to the store,
 * so a simulated clock needs no timer thread: advance the clock, and the next call of any member
 * sees the leader and member keys of every lapsed session gone. {@link #close()} ends the session
 * at once. After a lapse the next writing call opens a fresh session; the lock is not given back.
 * A leader key that holds this member's name on another live session (this member's previous
 * process was killed, and its session has not lapsed yet) is taken over by {@link #renewLeader()}.
 *
 * <h2>Concurrency</h2>
 * Every instance of one store shares the store's single lock: each call is atomic with respect
 * to every other call of every member, and the calls of one instance are thread-safe. Nothing
 * blocks under the lock except {@link #awaitChange(Duration)}, which waits on the store's
 * condition (releasing the lock). No thread is started; a program that never calls
 * {@code awaitChange} is deterministic for a given clock and call order.
 */
public final class InMemoryDcs implements Dcs {
    private static final Logger LOG = LoggerFactory.getLogger(InMemoryDcs.class);

    private final Store store;
    private final String prefix;
    private final String scope;
    private final String member;
    // the fields below are guarded by store.lock
    private Duration ttl;
    private InMemorySession session;
    private long seenRevision;
    private boolean wakeRequested;
    private boolean closed;

    private InMemoryDcs(Store store, String namespace, String scope, String member, Duration ttl) {
        this.store = store;
        this.scope = scope;
        this.member = member;
        this.prefix = namespace + scope + "/";
        this.ttl = ttl;
    }

    @Override
    public String memberName() {
        return member;
    }

    @Override
    public ClusterState read() throws DcsException {
        return store.call(this, () -> {
            seenRevision = store.clusterRevision(prefix);
            ClusterState.Builder b = ClusterState.builder(scope);
            for (Map.Entry<String, InMemoryEntry> e :
                    store.keys.subMap(prefix, prefix + Character.MAX_VALUE).entrySet()) {
                String key = e.getKey().substring(prefix.length());
                String raw = e.getValue().value();
                long version = e.getValue().version();
                switch (key) {
                    case "initialize" -> b.initialize(raw, version);
                    case "config" -> b.config(raw, version);
                    case "leader" -> b.leader(raw, version);
                    case "status" -> b.status(raw);
                    case "failover" -> b.failover(raw, version);
                    case "sync" -> b.sync(raw, version);
                    case "history" -> b.history(raw, version);
                    case "failsafe" -> b.failsafe(raw);
                    default -> {
                        if (key.startsWith("members/")
                                && key.indexOf('/', "members/".length()) < 0
                                && key.length() > "members/".length()) {
                            b.member(key.substring("members/".length()), raw, version);
                        }
                        // anything else (optime/leader of old Patroni versions, foreign keys) is not ours to read
                    }
                }
            }
            return b.build();
        });
    }

    @Override
    public boolean acquireLeader() throws DcsException {
        return store.call(
                this,
                () -> ownWrite(() -> {
                    InMemorySession s = liveSession();
                    InMemoryEntry current = store.keys.get(prefix + "leader");
                    if (current != null) {
                        if (current.owner() == s.id && member.equals(current.value())) {
                            s.refresh(store.clock.instant(), ttl);
                            return true;
                        }
                        return false;
                    }
                    store.put(prefix, "leader", member, s.id);
                    s.refresh(store.clock.instant(), ttl);
                    return true;
                }));
    }

    /**
     * Extends our session when the leader key holds our name on it. A key holding our name on
     * another session (the live session of this member's previous process, killed and restarted
     * while its PostgreSQL ran on, or a persistent key) is taken over: bound to our session, as
     * Patroni moves it onto its own lease or session. Atomic under the store's lock, so the move
     * cannot overwrite a newer leader.
     */
    @Override
    public boolean renewLeader() throws DcsException {
        return store.call(this, () -> {
            InMemoryEntry current = store.keys.get(prefix + "leader");
            if (current == null || !member.equals(current.value())) {
                return false;
            }
            if (session != null && !session.ended && current.owner() == session.id) {
                session.refresh(store.clock.instant(), ttl);
                return true;
            }
            // our name, not our session: a key left by an earlier session of this very instance would be gone
            // with that session, so this is a predecessor's (or a planted) key
            return ownWrite(() -> {
                InMemorySession s = liveSession();
                LOG.warn(
                        "{}: the leader key holds this member's name under {}; taking it over with {}",
                        member,
                        current.owner() == 0 ? "no session" : "session " + current.owner(),
                        s);
                store.put(prefix, "leader", member, s.id);
                s.refresh(store.clock.instant(), ttl);
                return true;
            });
        });
    }

    @Override
    public boolean releaseLeader() throws DcsException {
        return store.call(
                this,
                () -> ownWrite(() -> {
                    InMemoryEntry current = store.keys.get(prefix + "leader");
                    if (current == null || !member.equals(current.value())) {
                        return false;
                    }
                    store.delete(prefix, "leader");
                    return true;
                }));
    }

    @Override
    public void touchMember(Map<String, Object> data) throws DcsException {
        Objects.requireNonNull(data, "data");
        String json = DcsJson.write(data);
        store.call(
                this,
                () -> ownWrite(() -> {
                    InMemorySession s = liveSession();
                    store.put(prefix, "members/" + member, json, s.id);
                    s.refresh(store.clock.instant(), ttl);
                    return null;
                }));
    }

    @Override
    public boolean writeInitialize(String systemIdentifier, long expectedVersion) throws DcsException {
        String value = systemIdentifier == null ? "" : systemIdentifier;
        return store.call(
                this, () -> ownWrite(() -> store.compareAndSet(prefix, "initialize", value, expectedVersion)));
    }

    @Override
    public boolean cancelInitialize() throws DcsException {
        return store.call(this, () -> ownWrite(() -> store.delete(prefix, "initialize")));
    }

    @Override
    public boolean writeConfig(Map<String, Object> config, long expectedVersion) throws DcsException {
        Objects.requireNonNull(config, "config");
        String json = DcsJson.write(config);
        return store.call(this, () -> ownWrite(() -> store.compareAndSet(prefix, "config", json, expectedVersion)));
    }

    @Override
    public boolean writeFailover(Failover failover, long expectedVersion) throws DcsException {
        String json = failover == null ? null : DcsJson.write(failover.toJson());
        return store.call(this, () -> ownWrite(() -> store.compareAndSet(prefix, "failover", json, expectedVersion)));
    }

    @Override
    public boolean writeSync(SyncState sync, long expectedVersion) throws DcsException {
        String json = sync == null ? null : DcsJson.write(sync.toJson());
        return store.call(this, () -> ownWrite(() -> store.compareAndSet(prefix, "sync", json, expectedVersion)));
    }

    @Override
    public void writeStatus(ClusterStatus status) throws DcsException {
        String json = DcsJson.write(Objects.requireNonNull(status, "status").toJson());
        store.call(this, () -> ownWrite(() -> store.compareAndSet(prefix, "status", json, ANY)));
    }

    @Override
    public void writeHistory(List<HistoryEntry> history) throws DcsException {
        Objects.requireNonNull(history, "history");
        List<Object> rows = new ArrayList<>(history.size());
        history.forEach(h -> rows.add(h.toJson()));
        String json = DcsJson.write(rows);
        store.call(this, () -> ownWrite(() -> store.compareAndSet(prefix, "history", json, ANY)));
    }

    @Override
    public void writeFailsafe(Map<String, String> failsafe) throws DcsException {
        String json = failsafe == null ? null : DcsJson.write(failsafe);
        store.call(this, () -> ownWrite(() -> store.compareAndSet(prefix, "failsafe", json, ANY)));
    }

    @Override
    public void deleteCluster() throws DcsException {
        store.call(
                this,
                () -> ownWrite(() -> {
                    List<String> keys = new ArrayList<>(store.keys
                            .subMap(prefix, prefix + Character.MAX_VALUE)
                            .keySet());
                    keys.forEach(k -> store.delete(prefix, k.substring(prefix.length())));
                    return null;
                }));
    }

    @Override
    public void setTtl(Duration ttl) throws DcsException {
        Duration checked = Store.checkTtl(ttl);
        store.lock.lock();
        try {
            // applies from the next acquire/renew/touch, as a lease granted anew would
            this.ttl = checked;
        } finally {
            store.lock.unlock();
        }
    }

    /**
     * Returns true at once if a change is pending: since this member's last {@link #read()} or
     * {@code awaitChange}, another member or a lapsing session changed the {@code leader},
     * {@code config}, {@code failover}, {@code sync} or {@code initialize} key, or created or
     * removed a member key. This member's own writes do not count, so a loop that reads, writes
     * and waits does not spin; nor do rewrites of member records, {@code status}, {@code history}
     * and {@code failsafe}, which every member makes each cycle (the ZooKeeper adapter watches
     * the same set). A returned change counts as seen. While the store is down or this member is cut off, only
     * {@link #wakeUp()} or the timeout ends the wait.
     *
     * <p>Waits on the store's condition in slices of at most {@link Store#EXPIRY_SLICE} real time,
     * so that sessions lapsing on a real clock are noticed while nobody else calls the store.
     */
    @Override
    public boolean awaitChange(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        store.lock.lockInterruptibly();
        try {
            while (true) {
                if (wakeRequested) {
                    wakeRequested = false;
                    return true;
                }
                if (closed) {
                    return false;
                }
                if (store.reachable(member)) {
                    store.expireLapsed();
                    long now = store.clusterRevision(prefix);
                    if (now != seenRevision) {
                        seenRevision = now;
                        return true;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                store.changed.awaitNanos(Math.min(left, Store.EXPIRY_SLICE.toNanos()));
            }
        } finally {
            store.lock.unlock();
        }
    }

    /** Wakes a pending {@link #awaitChange}; if none is pending, the next one returns at once. */
    @Override
    public void wakeUp() {
        store.lock.lock();
        try {
            wakeRequested = true;
            store.changed.signalAll();
        } finally {
            store.lock.unlock();
        }
    }

    /**
     * Ends the session so that its keys go at once. If the store is down or this member is cut
     * off, the close cannot reach it: the keys then lapse with the session's ttl, as with a real
     * store.
     */
    @Override
    public void close() {
        store.lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (session != null && store.reachable(member)) {
                store.end(session);
            }
            session = null;
            store.changed.signalAll();
        } finally {
            store.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "InMemoryDcs{" + prefix + ", member=" + member + "}";
    }

    /**
     * Runs one of our own writes so that it does not wake our own {@link #awaitChange}: if nothing
     * foreign was pending before it, what we wrote counts as seen. Under the lock.
     */
    private <T> T ownWrite(Store.Op<T> write) {
        boolean nothingPending = seenRevision == store.clusterRevision(prefix);
        T result = write.run();
        if (nothingPending) {
            seenRevision = store.clusterRevision(prefix);
        }
        return result;
    }

    /** Our live session, opened anew when there is none or the last one lapsed. Under the lock. */
    private InMemorySession liveSession() {
        if (session == null || session.ended) {
            session = store.open(member, prefix, store.clock.instant().plus(ttl));
        }
        return session;
    }

    /**
     * The shared state of one store: keys, versions, sessions, and the faults injected into it.
     * Several members (several {@link InMemoryDcs} instances, of one or more clusters) connect to
     * one store and see each other's writes at once.
     *
     * <p>Thread-safe: every operation takes the store's single lock.
     */
    public static final class Store {
        /** The longest an {@link #awaitChange} sleeps before it re-checks sessions for expiry. */
        static final Duration EXPIRY_SLICE = Duration.ofMillis(100);

        private final Clock clock;
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();
        // guarded by lock
        final TreeMap<String, InMemoryEntry> keys = new TreeMap<>();
        private final Map<Long, InMemorySession> sessions = new HashMap<>();
        private final Map<String, Long> clusterRevisions = new HashMap<>();
        private final Set<String> cutOff = new HashSet<>();
        private long revision;
        private long lastSessionId;
        private boolean available = true;

        public Store(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
        }

        /**
         * A member of cluster {@code scope} under {@code namespace} (normalized as Patroni does,
         * null for {@code /service/}), whose sessions last {@code ttl}.
         */
        public Dcs connect(String namespace, String scope, String member, Duration ttl) {
            checkName("scope", scope);
            checkName("member", member);
            return new InMemoryDcs(this, DcsSettings.normalizeNamespace(namespace), scope, member, checkTtl(ttl));
        }

        /**
         * Makes the whole store reachable or not. While down, every call of every member throws
         * {@link DcsException}; sessions keep ageing on the clock, so when the store comes back
         * those that lapsed meanwhile are gone.
         */
        public void setAvailable(boolean available) {
            lock.lock();
            try {
                this.available = available;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** Cuts one member (by name, in every cluster) off from the store, or reconnects it. */
        public void partition(String member, boolean cutOff) {
            lock.lock();
            try {
                if (cutOff) {
                    this.cutOff.add(member);
                } else {
                    this.cutOff.remove(member);
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /**
         * Writes a raw value at {@code /service/<scope>/<key>} (a persistent key, bound to no
         * session), bypassing every check: for planting malformed values in tests. A null value
         * deletes the key. Works while the store is down.
         */
        public void putRaw(String scope, String key, String value) {
            checkName("scope", scope);
            if (key == null || key.isEmpty() || key.startsWith("/")) {
                throw new IllegalArgumentException("key must be relative to the cluster prefix, got '" + key + "'");
            }
            lock.lock();
            try {
                String p = DcsSettings.DEFAULT_NAMESPACE + scope + "/";
                if (value == null) {
                    delete(p, key);
                } else {
                    put(p, key, value, 0);
                }
            } finally {
                lock.unlock();
            }
        }

        /** The store-wide revision: the version the next write will be given, minus one. */
        public long revision() {
            lock.lock();
            try {
                return revision;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public String toString() {
            lock.lock();
            try {
                return "InMemoryDcs.Store{revision=" + revision + ", keys=" + keys.size() + ", sessions="
                        + sessions.size() + (available ? "" : ", DOWN") + (cutOff.isEmpty() ? "" : ", cutOff=" + cutOff)
                        + "}";
            } finally {
                lock.unlock();
            }
        }

        // ---- internals, all under the lock ----

        interface Op<T> {
            T run();
        }

        <T> T call(InMemoryDcs dcs, Op<T> op) throws DcsException {
            lock.lock();
            try {
                if (dcs.closed) {
                    throw new DcsException("this Dcs of member '" + dcs.member + "' is closed");
                }
                if (!available) {
                    throw new DcsException("the in-memory DCS store is unavailable");
                }
                if (cutOff.contains(dcs.member)) {
                    throw new DcsException("member '" + dcs.member + "' is cut off from the in-memory DCS store");
                }
                expireLapsed();
                return op.run();
            } finally {
                lock.unlock();
            }
        }

        boolean reachable(String member) {
            return available && !cutOff.contains(member);
        }

        /** Ends every session whose expiry has passed on the clock. */
        void expireLapsed() {
            if (sessions.isEmpty()) {
                return;
            }
            Instant now = clock.instant();
            List<InMemorySession> lapsed = new ArrayList<>();
            for (InMemorySession s : sessions.values()) {
                if (!now.isBefore(s.expiresAt)) {
                    lapsed.add(s);
                }
            }
            lapsed.forEach(this::end);
        }

        InMemorySession open(String member, String prefix, Instant expiresAt) {
            InMemorySession s = new InMemorySession(++lastSessionId, member, prefix, expiresAt);
            sessions.put(s.id, s);
            return s;
        }

        /** Ends a session: every key bound to it goes. */
        void end(InMemorySession s) {
            if (s.ended) {
                return;
            }
            s.ended = true;
            sessions.remove(s.id);
            Iterator<Map.Entry<String, InMemoryEntry>> it = keys.subMap(s.prefix, s.prefix + Character.MAX_VALUE)
                    .entrySet()
                    .iterator();
            boolean removed = false;
            while (it.hasNext()) {
                if (it.next().getValue().owner() == s.id) {
                    it.remove();
                    removed = true;
                }
            }
            if (removed) {
                // only the leader and member keys are bound to sessions: always worth waking for
                bump(s.prefix, true);
            }
        }

        void put(String prefix, String key, String value, long owner) {
            boolean created = !keys.containsKey(prefix + key);
            long version = bump(prefix, isUrgent(key, created));
            keys.put(prefix + key, new InMemoryEntry(value, version, owner));
        }

        boolean delete(String prefix, String key) {
            if (keys.remove(prefix + key) == null) {
                return false;
            }
            bump(prefix, isUrgent(key, true));
            return true;
        }

        /**
         * Whether a change wakes {@link InMemoryDcs#awaitChange}: the keys the HA loop must react
         * to at once, and members coming and going. Not the data of member records, status,
         * history or failsafe: every member rewrites those each cycle, and waking the others for
         * them would make the loops of a cluster wake each other in turn without end.
         */
        private static boolean isUrgent(String key, boolean createdOrDeleted) {
            return switch (key) {
                case "leader", "config", "failover", "sync", "initialize" -> true;
                default -> createdOrDeleted && key.startsWith("members/");
            };
        }

        /**
         * Writes (or, with a null value, deletes) a persistent key if its version matches:
         * {@link Dcs#ABSENT} only if absent, {@link Dcs#ANY} always, otherwise the exact version.
         */
        boolean compareAndSet(String prefix, String key, String value, long expected) {
            InMemoryEntry current = keys.get(prefix + key);
            if (expected == Dcs.ABSENT) {
                if (current != null) {
                    return false;
                }
            } else if (expected != Dcs.ANY && (current == null || current.version() != expected)) {
                return false;
            }
            if (value == null) {
                delete(prefix, key);
            } else {
                put(prefix, key, value, 0);
            }
            return true;
        }

        /** The revision of the last change of the cluster that wakes {@code awaitChange}. */
        long clusterRevision(String prefix) {
            return clusterRevisions.getOrDefault(prefix, 0L);
        }

        private long bump(String prefix, boolean urgent) {
            revision++;
            if (urgent) {
                clusterRevisions.put(prefix, revision);
                changed.signalAll();
            }
            return revision;
        }

        static Duration checkTtl(Duration ttl) {
            if (ttl == null || ttl.isNegative() || ttl.isZero()) {
                throw new IllegalArgumentException("ttl must be positive, got " + ttl);
            }
            return ttl;
        }

        private static void checkName(String what, String name) {
            if (name == null || name.isBlank() || name.contains("/")) {
                throw new IllegalArgumentException(what + " must be a non-empty name without '/', got '" + name + "'");
            }
        }
    }
}
