package io.pgha.api;

import io.pgha.config.DynamicConfigValidator;
import io.pgha.dcs.ClusterConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code PATCH /config} (Patroni's {@code patch_config}: a JSON merge where null deletes and
 * objects merge recursively) and {@code PUT /config}, both compare-and-set on the version read, so
 * that two operators editing at once cannot silently overwrite each other.
 */
final class ConfigWrites {
    private ConfigWrites() {}

    /** The new config, as written. */
    static Map<String, Object> patch(Dcs dcs, Map<String, Object> request) throws ApiError {
        ClusterState cluster = read(dcs);
        ClusterConfig current = cluster.config();
        if (current == null || current.version() == Dcs.ABSENT) {
            throw new ApiError(503, "no configuration in the DCS to patch (PUT /config creates one)");
        }
        Map<String, Object> data = Json.deepCopy(current.data());
        if (merge(data, request)) {
            validate(data);
            write(dcs, data, current.version());
        }
        return data;
    }

    static Map<String, Object> put(Dcs dcs, Map<String, Object> request) throws ApiError {
        validate(request);
        ClusterState cluster = read(dcs);
        ClusterConfig current = cluster.config();
        if (current == null || !Objects.equals(current.data(), request)) {
            write(dcs, request, current == null ? Dcs.ABSENT : current.version());
        }
        return request;
    }

    private static ClusterState read(Dcs dcs) throws ApiError {
        try {
            return dcs.read();
        } catch (DcsException e) {
            throw new ApiError(503, "DCS is not accessible: " + e.getMessage());
        }
    }

    private static void write(Dcs dcs, Map<String, Object> data, long version) throws ApiError {
        try {
            if (!dcs.writeConfig(data, version)) {
                throw new ApiError(
                        409, "the configuration changed in the DCS since it was read; read it again and retry");
            }
        } catch (DcsException e) {
            throw new ApiError(503, "DCS is not accessible, the configuration was not written: " + e.getMessage());
        }
    }

    /** Patroni's patch_config: returns whether anything changed. */
    @SuppressWarnings("unchecked")
    static boolean merge(Map<String, Object> config, Map<String, Object> patch) {
        boolean changed = false;
        for (Map.Entry<String, Object> e : patch.entrySet()) {
            String name = e.getKey();
            Object value = e.getValue();
            if (value == null) {
                if (config.remove(name) != null) {
                    changed = true;
                }
            } else if (config.containsKey(name)) {
                Object old = config.get(name);
                if (value instanceof Map<?, ?> vm) {
                    if (old instanceof Map<?, ?>) {
                        Map<String, Object> copy = new LinkedHashMap<>((Map<String, Object>) old);
                        if (merge(copy, (Map<String, Object>) vm)) {
                            config.put(name, copy);
                            changed = true;
                        }
                    } else {
                        config.put(name, withoutNulls((Map<String, Object>) vm));
                        changed = true;
                    }
                } else if (!String.valueOf(old).equals(String.valueOf(value))) {
                    config.put(name, value);
                    changed = true;
                }
            } else {
                config.put(name, value instanceof Map<?, ?> vm ? withoutNulls((Map<String, Object>) vm) : value);
                changed = true;
            }
        }
        return changed;
    }

    /** A new object from a patch keeps no null members (they mean "delete", and there is nothing to delete). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> withoutNulls(Map<String, Object> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (v != null) {
                out.put(k, v instanceof Map<?, ?> sub ? withoutNulls((Map<String, Object>) sub) : v);
            }
        });
        return out;
    }

    /**
     * Rejects a value of the wrong type or out of range ({@link DynamicConfigValidator}, the rules the
     * file check at start uses too), naming the key; nothing is written then.
     */
    static void validate(Map<String, Object> config) throws ApiError {
        List<DynamicConfigValidator.Problem> problems = DynamicConfigValidator.validate(config);
        if (!problems.isEmpty()) {
            List<String> lines = new ArrayList<>();
            for (DynamicConfigValidator.Problem p : problems) {
                lines.add("config key '" + p.key() + "' must be " + p.expected() + ", got: "
                        + DynamicConfigValidator.render(p.value()));
            }
            throw new ApiError(400, String.join("\n", lines));
        }
    }
}
