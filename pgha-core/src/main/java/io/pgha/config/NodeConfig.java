package io.pgha.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One node's own configuration: who it is and where it can be reached. The cluster-wide settings
 * (ttl, loop_wait, ...) live in the DCS ({@link DynamicConfig}); {@link #bootstrapDcs()} is what
 * the node that bootstraps the cluster writes there first (Patroni's {@code bootstrap.dcs}).
 * Immutable; build with {@link #builder(String, String)}.
 */
public final class NodeConfig {
    private final String scope;
    private final String name;
    private final String namespace;
    private final Map<String, Object> tags;
    private final String apiUrl;
    private final String connUrl;
    private final Map<String, Object> bootstrapDcs;
    private final Map<String, Object> postgresql;

    private NodeConfig(Builder b) {
        this.scope = requireName(b.scope, "scope");
        this.name = requireName(b.name, "name");
        this.namespace = b.namespace == null ? "/service/" : b.namespace;
        this.tags = Collections.unmodifiableMap(new LinkedHashMap<>(b.tags));
        this.apiUrl = b.apiUrl;
        this.connUrl = b.connUrl;
        this.bootstrapDcs = Collections.unmodifiableMap(new LinkedHashMap<>(b.bootstrapDcs));
        this.postgresql = Collections.unmodifiableMap(new LinkedHashMap<>(b.postgresql));
    }

    public static Builder builder(String scope, String name) {
        return new Builder().scope(scope).name(name);
    }

    public String scope() {
        return scope;
    }

    public String name() {
        return name;
    }

    public String namespace() {
        return namespace;
    }

    public Map<String, Object> tags() {
        return tags;
    }

    /** {@code http://host:port/patroni}, published in the member key. */
    public String apiUrl() {
        return apiUrl;
    }

    /** {@code postgres://host:port/postgres}, published in the member key. */
    public String connUrl() {
        return connUrl;
    }

    /** The dynamic configuration to write when the cluster has none (bootstrap.dcs). */
    public Map<String, Object> bootstrapDcs() {
        return bootstrapDcs;
    }

    /**
     * The node's local {@code postgresql:} settings that also exist in the dynamic configuration
     * (use_pg_rewind, remove_data_directory_on_rewind_failure, ...): as in Patroni, a key set here
     * wins over the cluster-wide value.
     */
    public Map<String, Object> postgresql() {
        return postgresql;
    }

    /** The dynamic configuration with this node's local postgresql settings laid over it. */
    public DynamicConfig withLocalOverrides(DynamicConfig dynamic) {
        if (postgresql.isEmpty()) {
            return dynamic;
        }
        Map<String, Object> raw = new LinkedHashMap<>(dynamic.raw());
        Map<String, Object> pg = new LinkedHashMap<>(dynamic.postgresql());
        pg.putAll(postgresql);
        raw.put("postgresql", pg);
        return DynamicConfig.from(raw);
    }

    /** The dynamic configuration in force before the DCS has one. */
    public DynamicConfig initialDynamicConfig() {
        return DynamicConfig.from(bootstrapDcs);
    }

    private static String requireName(String value, String key) {
        Objects.requireNonNull(value, key);
        if (value.isBlank() || value.contains("/")) {
            throw new IllegalArgumentException(key + " must be a non-empty name without '/': '" + value + "'");
        }
        return value;
    }

    /** Not thread-safe. */
    public static final class Builder {
        private String scope;
        private String name;
        private String namespace;
        private final Map<String, Object> tags = new LinkedHashMap<>();
        private String apiUrl;
        private String connUrl;
        private final Map<String, Object> bootstrapDcs = new LinkedHashMap<>();
        private final Map<String, Object> postgresql = new LinkedHashMap<>();

        public Builder scope(String v) {
            scope = v;
            return this;
        }

        public Builder name(String v) {
            name = v;
            return this;
        }

        public Builder namespace(String v) {
            namespace = v;
            return this;
        }

        public Builder tag(String key, Object value) {
            tags.put(key, value);
            return this;
        }

        public Builder tags(Map<String, Object> v) {
            tags.clear();
            if (v != null) {
                tags.putAll(v);
            }
            return this;
        }

        public Builder apiUrl(String v) {
            apiUrl = v;
            return this;
        }

        public Builder connUrl(String v) {
            connUrl = v;
            return this;
        }

        /** One bootstrap.dcs setting, e.g. {@code ("ttl", 10)}. */
        public Builder bootstrapDcs(String key, Object value) {
            bootstrapDcs.put(key, value);
            return this;
        }

        public Builder bootstrapDcs(Map<String, Object> v) {
            bootstrapDcs.clear();
            if (v != null) {
                bootstrapDcs.putAll(v);
            }
            return this;
        }

        /** Local postgresql settings that override the dynamic configuration's (see {@link #postgresql()}). */
        public Builder postgresql(Map<String, Object> v) {
            postgresql.clear();
            if (v != null) {
                postgresql.putAll(v);
            }
            return this;
        }

        /**
         * @throws IllegalArgumentException naming each bad {@code bootstrap.dcs} value ({@link
         *     DynamicConfigValidator}), which the node would otherwise write into the DCS
         */
        public NodeConfig build() {
            List<String> problems = new ArrayList<>();
            DynamicConfigValidator.validate(bootstrapDcs).forEach(p -> problems.add(p.message("bootstrap.dcs.")));
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException(String.join("; ", problems));
            }
            return new NodeConfig(this);
        }
    }
}
