package io.pgha.dcs.spi;

import java.util.List;

/**
 * Every key under a prefix, as {@link ClusterStore#readTree} found it.
 *
 * @param values the keys, in any order
 * @param revision the store's revision the read saw (etcd header revision, Consul
 *     {@code X-Consul-Index}): every change at or below it is in {@code values}. 0 when the store
 *     reads key by key and has no such revision (ZooKeeper); then a read counts as having seen
 *     whatever the watch reported before the read began.
 */
public record StoredTree(List<StoredValue> values, long revision) {
    public StoredTree {
        values = List.copyOf(values);
        revision = Math.max(0, revision);
    }
}
