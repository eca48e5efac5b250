package io.pgha.dcs;

import io.pgha.dcs.spi.Change;
import io.pgha.dcs.spi.ChangeListener;
import io.pgha.dcs.spi.PatroniDcs;
import io.pgha.dcs.spi.PatroniLayout;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The reference DCS, in process: a {@link Store} that members of one JVM share, each connected
 * through {@link Store#connect} as a {@link PatroniDcs} over the store's primitives (an
 * {@link InMemoryConnection}). Unit tests, the deterministic simulation and the single-JVM demo use
 * it; the adapters for real stores are held to the same contract suite.
 *
 * <p>Like a real store it holds raw strings at Patroni's keys ({@code /<namespace>/<scope>/<key>}),
 * each with a version taken from a store-wide revision counter (as etcd's {@code mod_revision}),
 * so a malformed value planted with {@link Store#putRaw(String, String, String)} is decoded
 * exactly as a real store's would be.
 *
 * <h2>Sessions and TTL</h2>
 * Each member owns at most one live session at a time, opened by the first call that writes a key
 * bound to it (the leader lock, the member record). The session expires at the last successful
 * acquire, renewal or member touch plus the ttl, measured on the store's {@link Clock}. Expiry is
 * evaluated lazily on every access to the store, so a simulated clock needs no timer thread:
 * advance the clock, and the next call of any member sees the leader and member keys of every
 * lapsed session gone. Closing a member ends its session at once. After a lapse the next writing
 * call opens a fresh session; the lock is not given back. A leader key that holds this member's
 * name on another live session (this member's previous process was killed, and its session has not
 * lapsed yet) is taken over by the renewal.
 *
 * <h2>Concurrency</h2>
 * Every member of one store shares the store's single lock: each call is atomic with respect to
 * every other call of every member. Changes are reported to the members' watches synchronously,
 * under that lock. No thread is started, and nothing blocks under the lock; a program that never
 * calls {@code awaitChange} is deterministic for a given clock and call order.
 */
public final class InMemoryDcs {

    private InMemoryDcs() {}

    /**
     * The shared state of one store: keys, versions, sessions, watches, and the faults injected
     * into it. Several members (of one or more clusters) connect to one store and see each other's
     * writes at once.
     *
     * <p>Thread-safe: every operation takes the store's single lock.
     */
    public static final class Store {
        /** The longest an {@code awaitChange} sleeps before it re-checks sessions for expiry. */
        static final Duration EXPIRY_SLICE = Duration.ofMillis(100);
        /** Changes kept for a member that cannot be reached; beyond that it is told it may have missed some. */
        private static final int QUEUED = 4096;

        final Clock clock;
        final ReentrantLock lock = new ReentrantLock();
        // guarded by lock
        final TreeMap<String, InMemoryEntry> keys = new TreeMap<>();
        private final Map<Long, InMemorySession> sessions = new HashMap<>();
        private final List<Watch> watches = new ArrayList<>();
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
            checkTtl(ttl);
            PatroniLayout layout = PatroniLayout.of(new DcsSettings(namespace, scope, member, ttl, null, Map.of()));
            return new PatroniDcs(member, layout, new InMemoryConnection(this, member, ttl));
        }

        /**
         * Makes the whole store reachable or not. While down, every call of every member throws
         * {@link DcsException} and no watch reports anything; sessions keep ageing on the clock, so
         * when the store comes back those that lapsed meanwhile are gone.
         */
        public void setAvailable(boolean available) {
            lock.lock();
            try {
                this.available = available;
                deliverQueued();
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
                    deliverQueued();
                }
            } finally {
                lock.unlock();
            }
        }

        /**
         * Writes a raw value at {@code /service/<scope>/<key>} (a persistent key, bound to no
         * session), bypassing every check: for planting values in tests as Patroni (or a broken
         * tool) would write them. A null value deletes the key. Works while the store is down.
         */
        public void putRaw(String scope, String key, String value) {
            if (scope == null || scope.isBlank() || scope.contains("/")) {
                throw new IllegalArgumentException("scope must be a non-empty name without '/', got '" + scope + "'");
            }
            if (key == null || key.isEmpty() || key.startsWith("/")) {
                throw new IllegalArgumentException("key must be relative to the cluster prefix, got '" + key + "'");
            }
            lock.lock();
            try {
                String whole = DcsSettings.DEFAULT_NAMESPACE + scope + "/" + key;
                if (value == null) {
                    delete(whole);
                } else {
                    put(whole, value, 0);
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

        // ---- for InMemoryConnection, all under the lock ----

        interface Op<T> {
            T run();
        }

        /** Runs one call of a member: refused while it cannot reach the store; lapsed sessions go first. */
        <T> T call(InMemoryConnection member, Op<T> op) throws DcsException {
            lock.lock();
            try {
                if (member.closed) {
                    throw new DcsException("this Dcs of member '" + member.name + "' is closed");
                }
                if (!available) {
                    throw new DcsException("the in-memory DCS store is unavailable");
                }
                if (cutOff.contains(member.name)) {
                    throw new DcsException("member '" + member.name + "' is cut off from the in-memory DCS store");
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
            lapsed.sort((x, y) -> Long.compare(x.id, y.id)); // one order, for a deterministic simulation
            lapsed.forEach(this::end);
        }

        InMemorySession open(String member, Instant expiresAt) {
            InMemorySession s = new InMemorySession(++lastSessionId, member, expiresAt);
            sessions.put(s.id, s);
            return s;
        }

        /** Ends a session: every key bound to it goes, in one revision (as an etcd lease's keys do). */
        void end(InMemorySession s) {
            if (s.ended) {
                return;
            }
            s.ended = true;
            sessions.remove(s.id);
            if (s.keys.isEmpty()) {
                return;
            }
            long at = ++revision;
            for (String key : s.keys) {
                keys.remove(key);
                report(new Change(key, Change.Kind.DELETED, null, at));
            }
            s.keys.clear();
        }

        /** Writes a key, bound to session {@code owner} (0: persistent); returns the revision written. */
        long put(String key, String value, long owner) {
            InMemoryEntry previous = keys.get(key);
            if (previous != null && previous.owner() != owner) {
                unbind(key, previous.owner());
            }
            long at = ++revision;
            keys.put(key, new InMemoryEntry(value, at, owner));
            if (owner != 0) {
                sessions.get(owner).keys.add(key);
            }
            report(new Change(key, previous == null ? Change.Kind.CREATED : Change.Kind.UPDATED, value, at));
            return at;
        }

        /** Deletes a key; returns the revision of the delete, or 0 when there was no such key. */
        long delete(String key) {
            InMemoryEntry previous = keys.remove(key);
            if (previous == null) {
                return 0;
            }
            unbind(key, previous.owner());
            long at = ++revision;
            report(new Change(key, Change.Kind.DELETED, null, at));
            return at;
        }

        private void unbind(String key, long owner) {
            InMemorySession s = owner == 0 ? null : sessions.get(owner);
            if (s != null) {
                s.keys.remove(key);
            }
        }

        /** A member's watch on a prefix, with what it missed while it could not reach the store. */
        static final class Watch {
            final String member;
            final String prefix;
            final ChangeListener listener;
            final List<Change> queued = new ArrayList<>();
            boolean missedSome;

            Watch(String member, String prefix, ChangeListener listener) {
                this.member = member;
                this.prefix = prefix;
                this.listener = listener;
            }
        }

        Watch watch(String member, String prefix, ChangeListener listener) {
            Watch w = new Watch(member, prefix, listener);
            watches.add(w);
            return w;
        }

        void unwatch(Watch w) {
            watches.remove(w);
        }

        /** Tells the watches of the change; a member that cannot reach the store hears of it when it can again. */
        private void report(Change change) {
            for (Watch w : watches) {
                if (!change.key().startsWith(w.prefix)) {
                    continue;
                }
                if (reachable(w.member)) {
                    w.listener.changed(change);
                } else if (w.queued.size() < QUEUED) {
                    w.queued.add(change);
                } else {
                    w.missedSome = true;
                }
            }
        }

        private void deliverQueued() {
            for (Watch w : watches) {
                if (!reachable(w.member)) {
                    continue;
                }
                w.queued.forEach(w.listener::changed);
                w.queued.clear();
                if (w.missedSome) {
                    w.missedSome = false;
                    w.listener.eventsMayBeLost();
                }
            }
        }

        /**
         * Writes (or, with a null value, deletes) a persistent key if its version matches:
         * {@link Dcs#ABSENT} only if absent, {@link Dcs#ANY} always, otherwise the exact version.
         * Returns the revision written, 0 when the condition did not hold, -1 when it held but there
         * was nothing to delete.
         */
        long compareAndSet(String key, String value, long expected) {
            InMemoryEntry current = keys.get(key);
            if (expected == Dcs.ABSENT) {
                if (current != null) {
                    return 0;
                }
            } else if (expected != Dcs.ANY && (current == null || current.version() != expected)) {
                return 0;
            }
            if (value == null) {
                long at = delete(key);
                return at == 0 ? -1 : at;
            }
            return put(key, value, 0);
        }

        static Duration checkTtl(Duration ttl) {
            if (ttl == null || ttl.isNegative() || ttl.isZero()) {
                throw new IllegalArgumentException("ttl must be positive, got " + ttl);
            }
            return ttl;
        }
    }
}
