package io.pgha.dcs.spi;

import java.util.Objects;

/**
 * One change a store's watch saw: a key created, rewritten or deleted by anyone (this member
 * included) or by the store itself (a lapsed session taking its keys along).
 *
 * <p>The value and revision are what the store tells; they let a later cache keep the cluster
 * from the watch instead of reading it each cycle. Today only the revision is used, to tell this
 * member's own writes and what a read already saw from news.
 *
 * @param key the whole key, as the store names it (under the cluster prefix)
 * @param kind created, rewritten or deleted
 * @param value the new value; null when deleted, or when the watch does not carry values (ZooKeeper)
 * @param revision the store's revision of the change (etcd revision, ZooKeeper zxid, Consul index,
 *     comparable with {@link StoredTree#revision()} and {@link ChangeListener#wroteAt}); 0 when unknown
 */
public record Change(String key, Kind kind, String value, long revision) {

    /** How the key changed. A key deleted and created again between two looks is {@code UPDATED}. */
    public enum Kind {
        CREATED,
        UPDATED,
        DELETED
    }

    public Change {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(kind, "kind");
        revision = Math.max(0, revision);
    }
}
