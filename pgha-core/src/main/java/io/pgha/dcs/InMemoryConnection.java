package io.pgha.dcs;

import io.pgha.dcs.spi.ChangeListener;
import io.pgha.dcs.spi.ClusterStore;
import io.pgha.dcs.spi.StoredTree;
import io.pgha.dcs.spi.StoredValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's connection to an {@link InMemoryDcs.Store}: the storage primitives
 * {@link io.pgha.dcs.spi.PatroniDcs} runs on, with the member's session (see {@link InMemoryDcs}
 * for how sessions lapse).
 *
 * <p>Thread-safe: every call runs under the store's lock, and the fields below are guarded by it.
 */
final class InMemoryConnection implements ClusterStore {
    /** Named after the in-memory DCS as a whole: the simulation quiets that logger. */
    private static final Logger LOG = LoggerFactory.getLogger(InMemoryDcs.class);

    private final InMemoryDcs.Store store;
    final String name;
    // guarded by store.lock
    private Duration ttl;
    private InMemorySession session;
    private ChangeListener listener;
    private InMemoryDcs.Store.Watch watch;
    boolean closed;

    InMemoryConnection(InMemoryDcs.Store store, String name, Duration ttl) {
        this.store = store;
        this.name = name;
        this.ttl = ttl;
    }

    @Override
    public StoredTree readTree(String prefix) throws DcsException {
        return store.call(this, () -> {
            List<StoredValue> values = new ArrayList<>();
            for (Map.Entry<String, InMemoryEntry> e :
                    store.keys.subMap(prefix, prefix + Character.MAX_VALUE).entrySet()) {
                values.add(new StoredValue(
                        e.getKey(), e.getValue().value(), e.getValue().version()));
            }
            return new StoredTree(values, store.revision());
        });
    }

    @Override
    public boolean put(String key, String value, long expectedVersion) throws DcsException {
        return store.call(this, () -> wrote(store.compareAndSet(key, value, expectedVersion)) != 0);
    }

    @Override
    public boolean delete(String key, long expectedVersion) throws DcsException {
        return store.call(this, () -> {
            long at = wrote(store.compareAndSet(key, null, expectedVersion));
            return expectedVersion == Dcs.ANY ? at > 0 : at != 0;
        });
    }

    @Override
    public void deleteTree(String prefix) throws DcsException {
        store.call(this, () -> {
            List<String> all = new ArrayList<>(
                    store.keys.subMap(prefix, prefix + Character.MAX_VALUE).keySet());
            all.forEach(k -> wrote(store.delete(k)));
            return null;
        });
    }

    @Override
    public boolean acquireLock(String key, String holder) throws DcsException {
        return store.call(this, () -> {
            InMemorySession s = liveSession();
            InMemoryEntry current = store.keys.get(key);
            if (current != null) {
                if (current.owner() == s.id && holder.equals(current.value())) {
                    s.refresh(store.clock.instant(), ttl);
                    return true;
                }
                return false;
            }
            wrote(store.put(key, holder, s.id));
            s.refresh(store.clock.instant(), ttl);
            return true;
        });
    }

    /**
     * Extends our session when the key holds our name on it. A key holding our name on another
     * session (the live session of this member's previous process, killed and restarted while its
     * PostgreSQL ran on, or a persistent key) is taken over: bound to our session, as Patroni moves
     * it onto its own lease or session. Atomic under the store's lock, so the move cannot overwrite
     * a newer leader.
     */
    @Override
    public boolean renewLock(String key, String holder) throws DcsException {
        return store.call(this, () -> {
            InMemoryEntry current = store.keys.get(key);
            if (current == null || !holder.equals(current.value())) {
                return false;
            }
            if (session != null && !session.ended && current.owner() == session.id) {
                session.refresh(store.clock.instant(), ttl);
                return true;
            }
            // our name, not our session: a key left by an earlier session of this very connection would be gone
            // with that session, so this is a predecessor's (or a planted) key
            InMemorySession s = liveSession();
            LOG.warn(
                    "{}: {} holds this member's name under {}; taking it over with {}",
                    name,
                    key,
                    current.owner() == 0 ? "no session" : "session " + current.owner(),
                    s);
            wrote(store.put(key, holder, s.id));
            s.refresh(store.clock.instant(), ttl);
            return true;
        });
    }

    @Override
    public boolean releaseLock(String key, String holder) throws DcsException {
        return store.call(this, () -> {
            InMemoryEntry current = store.keys.get(key);
            if (current == null || !holder.equals(current.value())) {
                return false;
            }
            wrote(store.delete(key));
            return true;
        });
    }

    @Override
    public void putOnSession(String key, String value) throws DcsException {
        store.call(this, () -> {
            InMemorySession s = liveSession();
            wrote(store.put(key, value, s.id));
            s.refresh(store.clock.instant(), ttl);
            return null;
        });
    }

    @Override
    public boolean keepOnSession(String key) throws DcsException {
        return store.call(this, () -> {
            InMemoryEntry current = store.keys.get(key);
            if (session == null || session.ended || current == null || current.owner() != session.id) {
                return false;
            }
            session.refresh(store.clock.instant(), ttl);
            return true;
        });
    }

    @Override
    public void setTtl(Duration ttl) {
        Duration checked = InMemoryDcs.Store.checkTtl(ttl);
        store.lock.lock();
        try {
            // applies from the next acquire/renew/touch, as a lease granted anew would
            this.ttl = checked;
        } finally {
            store.lock.unlock();
        }
    }

    @Override
    public void watch(String prefix, ChangeListener listener) {
        store.lock.lock();
        try {
            this.listener = listener;
            this.watch = store.watch(name, prefix, listener);
        } finally {
            store.lock.unlock();
        }
    }

    /**
     * Sessions lapse lazily: a waiting member looks for lapsed ones every
     * {@link InMemoryDcs.Store#EXPIRY_SLICE} of real time, so that a lapse on a real clock is
     * noticed while nobody else calls the store. A member that cannot reach the store sees nothing.
     */
    @Override
    public Duration beforeWait() {
        store.lock.lock();
        try {
            if (!closed && store.reachable(name)) {
                store.expireLapsed();
            }
            return InMemoryDcs.Store.EXPIRY_SLICE;
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
            if (session != null && store.reachable(name)) {
                store.end(session);
            }
            session = null;
            if (watch != null) {
                store.unwatch(watch);
            }
        } finally {
            store.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "in-memory store, member " + name;
    }

    /** Tells the watch that a revision is this member's own write; passes the revision through. */
    private long wrote(long revision) {
        if (revision > 0) {
            listener.wroteAt(revision);
        }
        return revision;
    }

    /** Our live session, opened anew when there is none or the last one lapsed. Under the lock. */
    private InMemorySession liveSession() {
        if (session == null || session.ended) {
            session = store.open(name, store.clock.instant().plus(ttl));
        }
        return session;
    }
}
