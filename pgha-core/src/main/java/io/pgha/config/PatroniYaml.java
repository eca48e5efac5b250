package io.pgha.config;

import io.pgha.config.PatroniYamlTree.Node;
import io.pgha.dcs.DcsSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Patroni configuration file as it stands, checked and typed: {@code scope}, {@code name},
 * {@code namespace}, {@code restapi}, one DCS section ({@code etcd3}, {@code zookeeper},
 * {@code consul}, or pgha's in-process {@code memory}), {@code bootstrap}, {@code postgresql},
 * {@code tags}, {@code log}, {@code watchdog}.
 *
 * <p>Environment variables override the file as Patroni's {@code PATRONI_*} variables do
 * ({@code PATRONI_SCOPE}, {@code PATRONI_POSTGRESQL_DATA_DIR}, {@code PATRONI_ETCD3_HOSTS}, ...);
 * each is also accepted as {@code PGHA_*}, which wins.
 *
 * <p>Problems are found before anything starts. A key pgha does not know is a {@linkplain
 * #warnings() warning} naming the key and its line (Patroni ignores unknown keys too). A value of
 * the wrong type, a missing required key ({@code scope}, {@code name}, {@code restapi.listen},
 * {@code postgresql.data_dir}, {@code postgresql.listen}, a DCS section) or two DCS sections are a
 * {@link PatroniYamlException} listing every problem with its key and line (or the environment
 * variable that set it). Messages never contain a value, so no password reaches a log; the one
 * exception is {@code bootstrap.dcs}, whose keys hold no secret: its values are checked with
 * {@link DynamicConfigValidator} (type and range, the rules {@code PATCH /config} applies) and a bad
 * one is shown.
 *
 * <p>The sections are handed out as plain, unmodifiable maps of strings, numbers, booleans, lists
 * and maps, for the modules that read them ({@code LocalPostgresConfig.fromPatroni},
 * {@code RestApiConfig.fromPatroni}, the DCS providers). Immutable and thread-safe.
 */
public final class PatroniYaml {

    /** The DCS sections pgha can run on, in the order they are looked for. */
    public static final List<String> DCS_TYPES = List.of("etcd3", "zookeeper", "consul", "memory");

    private final String source;
    private final Map<String, Object> raw;
    private final Map<String, String> origins;
    private final List<String> warnings;
    private final List<String> environment;
    private final String dcsType;

    private PatroniYaml(
            String source,
            Map<String, Object> raw,
            Map<String, String> origins,
            List<String> warnings,
            List<String> environment,
            String dcsType) {
        this.source = source;
        this.raw = raw;
        this.origins = origins;
        this.warnings = warnings;
        this.environment = environment;
        this.dcsType = dcsType;
    }

    /** Reads a file with the process environment's overrides. */
    public static PatroniYaml load(Path file) throws IOException {
        return load(file, System.getenv());
    }

    /** Reads a file with the given environment's overrides. */
    public static PatroniYaml load(Path file, Map<String, String> env) throws IOException {
        Objects.requireNonNull(file, "file");
        long size = Files.size(file);
        if (size > PatroniYamlTree.MAX_CHARS * 4L) {
            throw new PatroniYamlException(
                    file.toString(),
                    List.of("the file has " + size + " bytes, more than a Patroni configuration can ("
                            + PatroniYamlTree.MAX_CHARS + " characters)"));
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        return parse(text, file.toString(), env);
    }

    /**
     * Parses a document.
     *
     * @param source how to name the document in messages (its file name)
     * @param env the environment whose {@code PATRONI_*} / {@code PGHA_*} variables override it
     * @throws PatroniYamlException listing every error, with key and line
     */
    public static PatroniYaml parse(String text, String source, Map<String, String> env) {
        Objects.requireNonNull(text, "text");
        Map<String, String> environment = env == null ? Map.of() : env;
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Node root = PatroniYamlTree.parse(text, errors);
        if (root == null) {
            throw new PatroniYamlException(source, errors);
        }
        List<String> applied = PatroniYamlEnv.apply(root, environment);
        PatroniYamlSchema.check(
                "",
                root,
                new PatroniYamlSchema.Spec(PatroniYamlSchema.Kind.SECTION, PatroniYamlSchema.ROOT, null),
                errors,
                warnings);
        Map<String, Node> top = root.map();

        requireText(top, "", "scope", root, errors);
        requireText(top, "", "name", root, errors);
        requireNameShape(top, "scope", errors);
        requireNameShape(top, "name", errors);
        Node restapi = top.get("restapi");
        if (restapi == null || restapi.map() == null) {
            if (restapi == null || restapi.value == null) {
                errors.add("restapi is required, with at least listen: <host>:<port>");
            }
        } else {
            requireText(restapi.map(), "restapi.", "listen", restapi, errors);
        }
        Node postgresql = top.get("postgresql");
        if (postgresql == null || postgresql.value == null) {
            errors.add("postgresql is required, with at least data_dir and listen");
        } else if (postgresql.map() != null) {
            requireText(postgresql.map(), "postgresql.", "data_dir", postgresql, errors);
            requireText(postgresql.map(), "postgresql.", "listen", postgresql, errors);
        }

        checkBootstrapDcs(top, errors);
        String dcsType = chooseDcs(top, errors);
        checkWatchdog(top, errors);
        if (!errors.isEmpty()) {
            throw new PatroniYamlException(source, errors);
        }
        Map<String, String> origins = new LinkedHashMap<>();
        collectOrigins("", root, origins);
        @SuppressWarnings("unchecked")
        Map<String, Object> plain = (Map<String, Object>) root.plain();
        return new PatroniYaml(
                source,
                deepUnmodifiable(plain),
                Collections.unmodifiableMap(origins),
                List.copyOf(warnings),
                List.copyOf(applied),
                dcsType);
    }

    private static void requireText(
            Map<String, Node> map, String prefix, String key, Node parent, List<String> errors) {
        Node n = map.get(key);
        if (n == null || n.value == null || n.value.toString().isBlank()) {
            errors.add(prefix + key + " is required" + (prefix.isEmpty() ? "" : " (section at " + parent.origin + ")"));
        }
    }

    private static void requireNameShape(Map<String, Node> top, String key, List<String> errors) {
        Node n = top.get(key);
        if (n != null && n.isScalar() && n.value != null && n.value.toString().contains("/")) {
            errors.add(key + " must not contain '/' (" + n.origin + ")");
        }
    }

    /**
     * {@code bootstrap.dcs}, the dynamic configuration the node would write to the DCS: each value
     * checked by {@link DynamicConfigValidator}, the rules {@code PATCH /config} applies too. The
     * message shows the bad value (these keys hold no secret) and its line.
     */
    private static void checkBootstrapDcs(Map<String, Node> top, List<String> errors) {
        Node bootstrap = top.get("bootstrap");
        Node dcs = bootstrap == null || bootstrap.map() == null
                ? null
                : bootstrap.map().get("dcs");
        if (dcs == null || dcs.map() == null) {
            return; // absent, or not a mapping: the schema said so
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> plain = (Map<String, Object>) dcs.plain();
        for (DynamicConfigValidator.Problem p : DynamicConfigValidator.validate(plain)) {
            errors.add(p.message("bootstrap.dcs.") + " (" + originOf(dcs, p.path()) + ")");
        }
    }

    /** The origin of the deepest node of a key path that the tree has. */
    private static String originOf(Node node, List<String> path) {
        Node n = node;
        for (String key : path) {
            Node child = n.map() == null ? null : n.map().get(key);
            if (child == null) {
                break;
            }
            n = child;
        }
        return n.origin;
    }

    private static String chooseDcs(Map<String, Node> top, List<String> errors) {
        List<String> present = new ArrayList<>();
        for (String type :
                List.of("etcd3", "etcd", "zookeeper", "consul", "memory", "exhibitor", "kubernetes", "raft")) {
            if (top.containsKey(type)) {
                present.add(type);
            }
        }
        if (present.isEmpty()) {
            errors.add("a DCS section is required: one of etcd3, zookeeper, consul (or memory for a single-JVM demo)");
            return null;
        }
        if (present.size() > 1) {
            List<String> where = new ArrayList<>();
            present.forEach(t -> where.add(t + " (" + top.get(t).origin + ")"));
            errors.add("only one DCS section may be set, found " + String.join(", ", where));
            return null;
        }
        String type = present.get(0);
        Node section = top.get(type);
        switch (type) {
            case "etcd" ->
                errors.add("etcd (etcd's v2 API, " + section.origin + ") is not supported by pgha;"
                        + " use an etcd3 section with the same hosts (etcd 3.x serves the v3 API)");
            case "exhibitor", "kubernetes", "raft" ->
                errors.add(type + " (" + section.origin + ") is not supported by pgha; use etcd3, zookeeper or consul");
            default -> {
                return type;
            }
        }
        return null;
    }

    /**
     * Patroni's watchdog keys, checked here so that a bad value stops the file with its line: a
     * mode other than off / automatic / required (or Patroni's aliases), an empty device, a
     * safety_margin below -1, a driver other than default / testing.
     * {@link WatchdogConfig#fromPatroni} reads the same rules.
     */
    private static void checkWatchdog(Map<String, Node> top, List<String> errors) {
        Node w = top.get("watchdog");
        if (w == null || w.map() == null) {
            return;
        }
        Node mode = w.map().get("mode");
        if (mode != null && mode.value != null && (!mode.isScalar() || WatchdogConfig.parseMode(mode.value) == null)) {
            errors.add(WatchdogConfig.modeError() + ", found " + PatroniYamlTree.describe(mode) + " (" + mode.origin
                    + ")");
        }
        Node device = w.map().get("device");
        if (device != null
                && device.value != null
                && device.isScalar()
                && device.value.toString().isBlank()) {
            errors.add(WatchdogConfig.deviceError() + " (" + device.origin + ")");
        }
        Node margin = w.map().get("safety_margin");
        if (margin != null && margin.value != null && WatchdogConfig.parseMargin(margin.value) == null) {
            errors.add(WatchdogConfig.marginError() + ", found " + PatroniYamlTree.describe(margin) + " ("
                    + margin.origin + ")");
        }
        Node driver = w.map().get("driver");
        if (driver != null
                && driver.value != null
                && (!driver.isScalar() || WatchdogConfig.parseDriver(driver.value) == null)) {
            errors.add(WatchdogConfig.driverError() + ", found " + PatroniYamlTree.describe(driver) + " ("
                    + driver.origin + ")");
        }
    }

    private static void collectOrigins(String path, Node node, Map<String, String> out) {
        if (!path.isEmpty()) {
            out.put(path, node.origin);
        }
        if (node.map() != null) {
            node.map().forEach((k, v) -> collectOrigins(path.isEmpty() ? k : path + "." + k, v, out));
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> T deepUnmodifiable(T value) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put((String) k, deepUnmodifiable(v)));
            return (T) Collections.unmodifiableMap(out);
        }
        if (value instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(v -> out.add(deepUnmodifiable(v)));
            return (T) Collections.unmodifiableList(out);
        }
        return value;
    }

    // ---- the typed view ----------------------------------------------------------------------------

    /** The file name (or other source) the configuration came from. */
    public String source() {
        return source;
    }

    public String scope() {
        return raw.get("scope").toString();
    }

    public String name() {
        return raw.get("name").toString();
    }

    /** The namespace, normalized with leading and trailing slashes; default {@code /service/}. */
    public String namespace() {
        Object ns = raw.get("namespace");
        return DcsSettings.normalizeNamespace(ns == null ? null : ns.toString());
    }

    /** {@code etcd3}, {@code zookeeper}, {@code consul} or {@code memory}. */
    public String dcsType() {
        return dcsType;
    }

    /** The chosen DCS section's options (hosts, protocol, ...), as the provider reads them. */
    public Map<String, Object> dcsOptions() {
        return section(dcsType);
    }

    public Map<String, Object> restapi() {
        return section("restapi");
    }

    public Map<String, Object> postgresql() {
        return section("postgresql");
    }

    public Map<String, Object> bootstrap() {
        return section("bootstrap");
    }

    /** {@code bootstrap.dcs}: the dynamic configuration a new cluster starts with. */
    public Map<String, Object> bootstrapDcs() {
        return subsection(bootstrap(), "dcs");
    }

    public Map<String, Object> tags() {
        return section("tags");
    }

    public Map<String, Object> log() {
        return section("log");
    }

    public Map<String, Object> watchdog() {
        return section("watchdog");
    }

    /**
     * The {@code watchdog} section, typed: {@link WatchdogConfig#OFF} when the file has none (Patroni
     * would try {@code /dev/watchdog} in automatic mode; see {@link WatchdogConfig}), automatic with
     * Patroni's defaults when it is present but empty.
     */
    public WatchdogConfig watchdogConfig() {
        return raw.containsKey("watchdog") ? WatchdogConfig.fromPatroni(watchdog()) : WatchdogConfig.OFF;
    }

    /** {@code log.level} (Patroni's names: DEBUG, INFO, WARNING, ERROR, CRITICAL); default INFO. */
    public String logLevel() {
        Object level = log().get("level");
        return level == null ? "INFO" : level.toString().trim().toUpperCase(java.util.Locale.ROOT);
    }

    /** The whole document after overrides, as plain unmodifiable maps. */
    public Map<String, Object> raw() {
        return raw;
    }

    /** Warnings found while reading (unknown or unused keys), each naming the key and its line. */
    public List<String> warnings() {
        return warnings;
    }

    /** The names (never the values) of the environment variables that overrode the file. */
    public List<String> environmentOverrides() {
        return environment;
    }

    /** Where a dotted key came from: {@code line 12} or {@code environment PATRONI_SCOPE}; null if absent. */
    public String origin(String dottedKey) {
        return origins.get(dottedKey);
    }

    /**
     * Adds the origin of the longest dotted key named in a message, so that an error a module
     * raises about this file ({@code postgresql.authentication.superuser.password is required})
     * points at the line to fix.
     */
    public String locate(String message) {
        if (message == null) {
            return null;
        }
        String best = null;
        for (String key : origins.keySet()) {
            if (message.contains(key) && (best == null || key.length() > best.length())) {
                best = key;
            }
        }
        return best == null
                ? source + ": " + message
                : source + ": " + message + " (" + best + ": " + origins.get(best) + ")";
    }

    /** The node's identity and addresses, with {@code bootstrap.dcs} and the tags. */
    public NodeConfig nodeConfig() {
        Map<String, Object> rest = restapi();
        boolean tls =
                rest.get("certfile") != null && !rest.get("certfile").toString().isBlank();
        String apiAddress = connectAddress(rest);
        String pgAddress = connectAddress(postgresql());
        return NodeConfig.builder(scope(), name())
                .namespace(namespace())
                .tags(tags())
                .apiUrl((tls ? "https://" : "http://") + apiAddress + "/patroni")
                .connUrl("postgres://" + pgAddress + "/postgres")
                .bootstrapDcs(bootstrapDcs())
                .build();
    }

    /** What the DCS provider of {@link #dcsType()} needs; ttl and retry_timeout from bootstrap.dcs. */
    public DcsSettings dcsSettings() {
        DynamicConfig initial = DynamicConfig.from(new LinkedHashMap<>(bootstrapDcs()));
        return new DcsSettings(namespace(), scope(), name(), initial.ttl(), initial.retryTimeout(), dcsOptions());
    }

    /**
     * {@code connect_address}, or {@code listen} when it is not set; a wildcard listen host
     * ({@code 0.0.0.0}, {@code *}, {@code ::}) becomes 127.0.0.1, since others could not reach it.
     */
    static String connectAddress(Map<String, Object> section) {
        Object ca = section.get("connect_address");
        if (ca != null && !ca.toString().isBlank()) {
            return ca.toString().trim();
        }
        String listen = section.get("listen").toString().trim();
        String first = listen.split(",", 2)[0].trim();
        int colon = first.lastIndexOf(':');
        String host = colon < 0 ? first : first.substring(0, colon);
        String port = colon < 0 ? "" : first.substring(colon);
        if (host.isEmpty() || host.equals("0.0.0.0") || host.equals("*") || host.equals("::") || host.equals("[::]")) {
            host = "127.0.0.1";
        }
        return host + port;
    }

    private Map<String, Object> section(String key) {
        return subsection(raw, key);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> subsection(Map<String, Object> parent, String key) {
        Object v = parent.get(key);
        return v instanceof Map ? (Map<String, Object>) v : Map.of();
    }

    @Override
    public String toString() {
        return "PatroniYaml[" + source + ": scope=" + scope() + ", name=" + name() + ", dcs=" + dcsType + "]";
    }
}
