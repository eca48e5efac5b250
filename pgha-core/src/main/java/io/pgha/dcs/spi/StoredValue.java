package io.pgha.dcs.spi;

import java.util.Objects;

/**
 * One key as a {@link ClusterStore} holds it.
 *
 * @param key the whole key, as the store names it
 * @param value the raw value (an empty value is "", never null)
 * @param version the store's version of the key, the one its compare-and-set writes compare
 *     (etcd {@code mod_revision}, ZooKeeper {@code mzxid}, Consul {@code ModifyIndex})
 */
public record StoredValue(String key, String value, long version) {
    public StoredValue {
        Objects.requireNonNull(key, "key");
        value = value == null ? "" : value;
    }
}
