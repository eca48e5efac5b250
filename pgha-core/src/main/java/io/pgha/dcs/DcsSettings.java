package io.pgha.dcs;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link DcsProvider} needs to connect one member to one cluster.
 *
 * @param namespace Patroni's namespace, default {@code /service/}
 * @param scope the cluster name
 * @param name this member's name
 * @param ttl the leader lock and member session TTL
 * @param retryTimeout how long one DCS operation may retry before it fails
 * @param options the backend section of the node config as parsed from YAML
 *     (for example the {@code etcd3:} map with {@code hosts}, {@code protocol}, ...)
 */
public record DcsSettings(
        String namespace, String scope, String name, Duration ttl, Duration retryTimeout, Map<String, Object> options) {

    public static final String DEFAULT_NAMESPACE = "/service/";

    public DcsSettings {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(name, "name");
        namespace = normalizeNamespace(namespace);
        ttl = ttl == null ? Duration.ofSeconds(30) : ttl;
        retryTimeout = retryTimeout == null ? Duration.ofSeconds(10) : retryTimeout;
        // a key given with no value (hosts: ~) is as if absent
        options = options == null ? Map.of() : withoutNulls(options);
    }

    private static Map<String, Object> withoutNulls(Map<String, Object> options) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        options.forEach((k, v) -> {
            if (k != null && v != null) {
                m.put(k, v);
            }
        });
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The key prefix of the cluster, {@code /service/<scope>/}. */
    public String clusterPrefix() {
        return namespace + scope + "/";
    }

    /** Patroni's normalization: always a leading and a trailing slash. */
    public static String normalizeNamespace(String namespace) {
        String ns = namespace == null || namespace.isBlank() ? DEFAULT_NAMESPACE : namespace.trim();
        if (!ns.startsWith("/")) {
            ns = "/" + ns;
        }
        if (!ns.endsWith("/")) {
            ns = ns + "/";
        }
        return ns;
    }

    /** A string option, or the default. */
    public String option(String key, String fallback) {
        Object v = options.get(key);
        return v == null ? fallback : v.toString();
    }
}
