package io.pgha.dcs;

import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;

/**
 * A member's session in an {@link InMemoryDcs.Store}, the in-process counterpart of an etcd lease
 * or a ZooKeeper session: the keys bound to it vanish when it ends. Guarded by the store's lock.
 */
final class InMemorySession {
    final long id;
    final String member;
    /** The keys bound to this session (a key rebound to another session leaves this set), sorted so that a lapse removes them in one order. */
    final Set<String> keys = new TreeSet<>();

    Instant expiresAt;
    boolean ended;

    InMemorySession(long id, String member, Instant expiresAt) {
        this.id = id;
        this.member = member;
        this.expiresAt = expiresAt;
    }

    void refresh(Instant now, Duration ttl) {
        expiresAt = now.plus(ttl);
    }

    @Override
    public String toString() {
        return "session " + id + " of " + member + (ended ? " (ended)" : " until " + expiresAt);
    }
}
