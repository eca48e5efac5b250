package io.pgha.dcs;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code config} key: the cluster's dynamic configuration as a JSON object (ttl, loop_wait,
 * retry_timeout, maximum_lag_on_failover, postgresql.parameters, ...), with the store's version
 * for compare-and-set. {@code io.pgha.config.DynamicConfig} gives the typed view with Patroni's
 * defaults.
 */
public record ClusterConfig(Map<String, Object> data, long version) {
    public ClusterConfig {
        data = Collections.unmodifiableMap(new LinkedHashMap<>(data == null ? Map.of() : data));
    }
}
