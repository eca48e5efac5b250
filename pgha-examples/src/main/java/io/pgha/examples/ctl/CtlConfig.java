package io.pgha.examples.ctl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the control CLI takes from a Patroni-style YAML file: the cluster name ({@code scope}),
 * the {@code namespace}, the DCS section ({@code etcd3}, {@code zookeeper}, {@code consul} or
 * {@code memory}), and how to talk to the REST API ({@code ctl.authentication} or
 * {@code restapi.authentication}, {@code ctl.insecure}, {@code ctl.cacert} or
 * {@code restapi.cafile}). Immutable.
 */
final class CtlConfig {
    /** The DCS sections a config may name, in Patroni's order of preference. */
    static final List<String> DCS_TYPES = List.of("etcd3", "zookeeper", "consul", "memory");

    private static final Map<String, Integer> DEFAULT_PORTS = Map.of("etcd3", 2379, "zookeeper", 2181, "consul", 8500);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final String source;
    private final Map<String, Object> raw;
    private final String scope;
    private final String namespace;
    private final String dcsType;
    private final Map<String, Object> dcsOptions;
    private final String username;
    private final String password;
    private final boolean insecure;
    private final Path cacert;
    private final Duration ttl;
    private final Duration retryTimeout;

    private CtlConfig(String source, Map<String, Object> raw, String dcsUrl, boolean insecureFlag) {
        this.source = source;
        this.raw = raw;
        this.scope = optionalString(raw, "scope");
        String ns = optionalString(raw, "namespace");
        String type = null;
        Map<String, Object> options = null;
        if (dcsUrl != null) {
            DcsUrl url = DcsUrl.parse(dcsUrl);
            type = url.type;
            options = url.options;
            if (url.namespace != null) {
                ns = url.namespace;
            }
        } else {
            for (String t : DCS_TYPES) {
                if (raw.containsKey(t)) {
                    type = t;
                    options = section(raw, t);
                    break;
                }
            }
        }
        this.namespace = ns;
        this.dcsType = type;
        this.dcsOptions = options;
        Map<String, Object> ctl = section(raw, "ctl");
        Map<String, Object> restapi = section(raw, "restapi");
        Map<String, Object> auth = section(ctl, "authentication");
        if (auth.isEmpty() && ctl.containsKey("username")) {
            auth = ctl;
        }
        if (auth.isEmpty()) {
            auth = section(restapi, "authentication");
        }
        this.username = optionalString(auth, "username");
        this.password = optionalString(auth, "password");
        this.insecure = insecureFlag || "true".equalsIgnoreCase(String.valueOf(ctl.get("insecure")));
        String ca = optionalString(ctl, "cacert");
        if (ca == null) {
            ca = optionalString(restapi, "cafile");
        }
        this.cacert = ca == null ? null : Path.of(ca);
        Map<String, Object> dynamic = section(section(raw, "bootstrap"), "dcs");
        this.ttl = seconds(dynamic, "ttl", 30);
        this.retryTimeout = seconds(dynamic, "retry_timeout", 10);
    }

    /**
     * Reads the file (a missing default file is an empty config, like patronictl; a missing file
     * named with {@code -c} is an error).
     */
    static CtlConfig load(Path file, boolean explicit, String dcsUrl, boolean insecure) {
        if (!Files.isReadable(file)) {
            if (explicit) {
                throw new CtlException("config file " + file + " does not exist or is not readable;"
                        + " check the -c/--config-file option");
            }
            return new CtlConfig(file.toString(), Map.of(), dcsUrl, insecure);
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new CtlException("cannot read config file " + file + ": " + e.getMessage());
        }
        return parse(file.toString(), text, dcsUrl, insecure);
    }

    static CtlConfig parse(String source, String yaml, String dcsUrl, boolean insecure) {
        Object tree;
        try {
            tree = yaml.isBlank() ? Map.of() : YAML.readValue(yaml, Object.class);
        } catch (JsonProcessingException e) {
            throw new CtlException("config file " + source + " is not valid YAML " + YamlErrors.describe(e));
        }
        if (tree == null) {
            tree = Map.of();
        }
        if (!(tree instanceof Map<?, ?> map)) {
            throw new CtlException("config file " + source + " must be a YAML mapping (key: value), got a "
                    + tree.getClass().getSimpleName());
        }
        Map<String, Object> raw = new LinkedHashMap<>();
        map.forEach((k, v) -> raw.put(String.valueOf(k), v));
        return new CtlConfig(source, raw, dcsUrl, insecure);
    }

    String source() {
        return source;
    }

    Map<String, Object> raw() {
        return raw;
    }

    /** The {@code scope}, or null. */
    String scope() {
        return scope;
    }

    String namespace() {
        return namespace;
    }

    /** The DCS type, or null when the config names none. */
    String dcsType() {
        return dcsType;
    }

    Map<String, Object> dcsOptions() {
        return dcsOptions;
    }

    String username() {
        return username;
    }

    String password() {
        return password;
    }

    boolean insecure() {
        return insecure;
    }

    Path cacert() {
        return cacert;
    }

    Duration ttl() {
        return ttl;
    }

    Duration retryTimeout() {
        return retryTimeout;
    }

    /** The cluster name: the argument, else {@code scope}, else a clear error. */
    String clusterName(String argument) {
        if (argument != null && !argument.isBlank()) {
            return argument;
        }
        if (scope != null && !scope.isBlank()) {
            return scope;
        }
        throw new CtlException("no cluster name: pass it as an argument or set 'scope' in the config file " + source);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> section(Map<String, Object> parent, String key) {
        Object v = parent.get(key);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map)) {
            throw new CtlException("'" + key + "' in config file " + source + " must be a mapping, got: " + v);
        }
        Map<String, Object> copy = new LinkedHashMap<>();
        ((Map<Object, Object>) v).forEach((k, val) -> copy.put(String.valueOf(k), val));
        return copy;
    }

    private String optionalString(Map<String, Object> map, String key) {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map || v instanceof List) {
            throw new CtlException("'" + key + "' in config file " + source + " must be a string, got: " + v);
        }
        return v.toString();
    }

    private Duration seconds(Map<String, Object> map, String key, int fallback) {
        Object v = map.get(key);
        if (v == null) {
            return Duration.ofSeconds(fallback);
        }
        try {
            return Duration.ofSeconds(Long.parseLong(v.toString().trim()));
        } catch (NumberFormatException e) {
            throw new CtlException(
                    "'bootstrap.dcs." + key + "' in config file " + source + " must be a number of seconds, got: " + v);
        }
    }

    /**
     * patronictl's {@code --dcs-url}: {@code TYPE://HOST:PORT/NAMESPACE}, where TYPE is etcd3,
     * zookeeper, consul or memory (for memory, HOST names the in-process store).
     */
    static final class DcsUrl {
        final String type;
        final Map<String, Object> options;
        final String namespace;

        private DcsUrl(String type, Map<String, Object> options, String namespace) {
            this.type = type;
            this.options = options;
            this.namespace = namespace;
        }

        static DcsUrl parse(String text) {
            String t = text.contains("//") ? text : "//" + text;
            URI uri;
            try {
                uri = new URI(t);
            } catch (URISyntaxException e) {
                throw new CtlException(
                        "--dcs-url '" + text + "' is not a URL like etcd3://127.0.0.1:2379: " + e.getReason());
            }
            String scheme = uri.getScheme();
            if (scheme == null) {
                // as patronictl: the backend whose default port is given, else etcd
                scheme = DEFAULT_PORTS.entrySet().stream()
                        .filter(e -> e.getValue() == uri.getPort())
                        .map(Map.Entry::getKey)
                        .findFirst()
                        .orElse("etcd3");
            }
            if (scheme.equals("etcd")) {
                throw new CtlException("--dcs-url '" + text + "': the etcd v2 API is not supported, use etcd3://");
            }
            if (!DCS_TYPES.contains(scheme)) {
                throw new CtlException(
                        "--dcs-url '" + text + "': unknown DCS scheme '" + scheme + "' (known: " + DCS_TYPES + ")");
            }
            String host = uri.getHost() == null ? "localhost" : uri.getHost();
            String path = uri.getPath();
            String namespace = path == null || path.isBlank() || path.equals("/") ? null : path.strip();
            Map<String, Object> options = new LinkedHashMap<>();
            if (scheme.equals("memory")) {
                options.put("store", uri.getHost() == null ? "default" : uri.getHost());
            } else {
                String hostPort = host + ":" + (uri.getPort() > 0 ? uri.getPort() : DEFAULT_PORTS.get(scheme));
                if (scheme.equals("zookeeper")) {
                    options.put("hosts", List.of(hostPort));
                } else {
                    options.put("host", hostPort);
                }
            }
            return new DcsUrl(scheme, options, namespace);
        }
    }
}
