package io.pgha.examples.ctl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The edits of {@code edit-config}: patronictl's {@code apply_config_changes} ({@code -s a.b=v},
 * {@code -p guc=v}, values read as YAML, an empty or null value deletes the key, and
 * {@code postgresql.parameters.*} keys keep their dots) and {@code patch_config} (a merge where
 * null deletes). Works on deep copies; never changes its input.
 */
final class ConfigEdit {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigEdit() {}

    static Map<String, Object> applyPairs(Map<String, Object> config, List<String> pairs) {
        Map<String, Object> changed = deepCopy(config);
        for (String pair : pairs) {
            int eq = pair == null ? -1 : pair.indexOf('=');
            if (eq <= 0) {
                throw new CtlException("invalid parameter setting '" + pair + "': expected key=value");
            }
            String key = pair.substring(0, eq).strip();
            Object value = yamlValue(pair.substring(eq + 1), key);
            List<String> path = new ArrayList<>(Arrays.asList(key.split("\\.", -1)));
            if (path.stream().anyMatch(String::isEmpty)) {
                throw new CtlException("invalid parameter setting '" + pair + "': empty element in key '" + key + "'");
            }
            set(changed, path, value, new ArrayList<>());
        }
        return changed;
    }

    @SuppressWarnings("unchecked")
    private static void set(Map<String, Object> config, List<String> path, Object value, List<String> prefix) {
        if (prefix.equals(List.of("postgresql", "parameters"))) {
            path = List.of(String.join(".", path)); // GUCs may contain dots
        }
        String key = path.get(0);
        if (path.size() == 1) {
            if (value == null) {
                config.remove(key);
            } else {
                config.put(key, value);
            }
            return;
        }
        if (!(config.get(key) instanceof Map)) {
            config.put(key, new LinkedHashMap<String, Object>());
        }
        Map<String, Object> child = (Map<String, Object>) config.get(key);
        List<String> next = new ArrayList<>(prefix);
        next.add(key);
        set(child, path.subList(1, path.size()), value, next);
        if (child.isEmpty()) {
            config.remove(key);
        }
    }

    /** patch_config: nested maps merge, null deletes, anything else replaces. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> merge(Map<String, Object> config, Map<String, Object> patch) {
        Map<String, Object> changed = deepCopy(config);
        for (Map.Entry<String, Object> e : patch.entrySet()) {
            Object v = e.getValue();
            if (v == null) {
                changed.remove(e.getKey());
            } else if (v instanceof Map && changed.get(e.getKey()) instanceof Map) {
                changed.put(e.getKey(), merge((Map<String, Object>) changed.get(e.getKey()), (Map<String, Object>) v));
            } else {
                changed.put(e.getKey(), deepCopy(v));
            }
        }
        return changed;
    }

    /** Reads a YAML document that must be a mapping (an --apply/--replace file); errors name the line. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readYamlMap(String text, String source) {
        Object v;
        try {
            v = text.isBlank() ? Map.of() : YAML.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            throw new CtlException(source + " is not valid YAML " + YamlErrors.describe(e));
        }
        if (v == null) {
            return new LinkedHashMap<>();
        }
        if (!(v instanceof Map)) {
            throw new CtlException(source + " must hold a YAML mapping, got: " + v);
        }
        return (Map<String, Object>) deepCopy(v);
    }

    private static Object yamlValue(String text, String key) {
        if (text.isBlank()) {
            return null;
        }
        try {
            return YAML.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            throw new CtlException(
                    "the value of '" + key + "' is not valid YAML: " + firstLine(e.getOriginalMessage()));
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    @SuppressWarnings("unchecked")
    static <T> T deepCopy(T value) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, v) -> copy.put(String.valueOf(k), deepCopy(v)));
            return (T) copy;
        }
        if (value instanceof List<?> l) {
            List<Object> copy = new ArrayList<>();
            l.forEach(v -> copy.add(deepCopy(v)));
            return (T) copy;
        }
        return value;
    }
}
