package io.pgha.config;

import io.pgha.config.PatroniYamlTree.Node;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The keys of a Patroni configuration file that pgha knows, with their types. A key outside the
 * schema is a warning (Patroni ignores it too, and a typo should not stop a node); a value of
 * the wrong type is an error. Free-form sections ({@code postgresql.parameters}, the DCS
 * sections, whose providers check their own options) accept any key; {@code tags} accepts any key
 * and checks the types of Patroni's ({@code nofailover} a boolean, {@code failover_priority} a
 * whole number >= 0, ...). {@code bootstrap.dcs} is checked by {@link DynamicConfigValidator}.
 * Immutable; thread-safe.
 */
final class PatroniYamlSchema {

    enum Kind {
        STRING,
        INT,
        NON_NEGATIVE_INT,
        NUMBER,
        BOOL,
        LIST,
        STRING_OR_LIST,
        MAP,
        ANY,
        SECTION,
        /** A SECTION whose other keys are free ({@code tags}). */
        OPEN_SECTION,
        IGNORED,
        /** A key of a Patroni feature pgha does not have, where ignoring it would do harm: an error. */
        UNSUPPORTED
    }

    /** One key's type; {@code children} for SECTION, {@code note} for IGNORED keys. */
    record Spec(Kind kind, Map<String, Spec> children, String note) {}

    static final Map<String, Spec> ROOT = root();

    private PatroniYamlSchema() {}

    private static Spec of(Kind k) {
        return new Spec(k, Map.of(), null);
    }

    private static Spec ignored(String note) {
        return new Spec(Kind.IGNORED, Map.of(), note);
    }

    private static Spec unsupported(String note) {
        return new Spec(Kind.UNSUPPORTED, Map.of(), note);
    }

    private static Spec section(Object... keyAndSpec) {
        Map<String, Spec> m = new LinkedHashMap<>();
        for (int i = 0; i < keyAndSpec.length; i += 2) {
            m.put((String) keyAndSpec[i], (Spec) keyAndSpec[i + 1]);
        }
        return new Spec(Kind.SECTION, m, null);
    }

    private static Map<String, Spec> root() {
        Spec str = of(Kind.STRING);
        Spec bool = of(Kind.BOOL);
        Spec integer = of(Kind.INT);
        Spec map = of(Kind.MAP);
        Spec list = of(Kind.LIST);
        Spec credentials = section("username", str, "password", str);
        Spec pgUser = section(
                "username",
                str,
                "password",
                str,
                "sslmode",
                str,
                "sslkey",
                str,
                "sslcert",
                str,
                "sslrootcert",
                str,
                "sslpassword",
                str,
                "sslcrl",
                str,
                "sslcrldir",
                str,
                "gssencmode",
                str,
                "channel_binding",
                str);
        Spec dcsSection = map;
        return section(
                        "scope",
                        str,
                        "name",
                        str,
                        "namespace",
                        str,
                        "restapi",
                        section(
                                "listen",
                                str,
                                "connect_address",
                                str,
                                "authentication",
                                credentials,
                                "certfile",
                                str,
                                "keyfile",
                                str,
                                "keyfile_password",
                                str,
                                "cafile",
                                str,
                                "verify_client",
                                str,
                                "allowlist",
                                list,
                                "allowlist_include_members",
                                bool,
                                "http_extra_headers",
                                map,
                                "https_extra_headers",
                                map,
                                "thread_pool_size",
                                integer,
                                "ciphers",
                                ignored("TLS ciphers are the JDK's defaults"),
                                "server_tokens",
                                ignored("pgha sends no Server version token"),
                                "request_queue_size",
                                ignored("the JDK HTTP server sizes its own queue")),
                        "ctl",
                        ignored("read by patronictl, not by the node"),
                        "etcd3",
                        dcsSection,
                        "etcd",
                        dcsSection,
                        "zookeeper",
                        dcsSection,
                        "consul",
                        dcsSection,
                        "memory",
                        dcsSection,
                        "exhibitor",
                        dcsSection,
                        "kubernetes",
                        dcsSection,
                        "raft",
                        dcsSection,
                        "bootstrap",
                        section(
                                "dcs", map,
                                "method", str,
                                "initdb", list,
                                "pg_hba", ignored("removed in Patroni 3; write the lines in postgresql.pg_hba"),
                                "users", ignored("removed in Patroni 3; create users in a migration of your own"),
                                "post_bootstrap", str,
                                "post_init", str),
                        "postgresql",
                        section(
                                "listen",
                                str,
                                "connect_address",
                                str,
                                "proxy_address",
                                ignored("pgha publishes no proxy_url"),
                                "data_dir",
                                str,
                                "bin_dir",
                                str,
                                "config_dir",
                                ignored("pgha keeps its configuration files in data_dir"),
                                "pgpass",
                                str,
                                "authentication",
                                section("superuser", pgUser, "replication", pgUser, "rewind", pgUser),
                                "parameters",
                                map,
                                "pg_hba",
                                list,
                                "pg_ident",
                                ignored("pg_ident.conf is left as initdb wrote it"),
                                "use_pg_rewind",
                                bool,
                                "remove_data_directory_on_rewind_failure",
                                bool,
                                "remove_data_directory_on_diverged_timelines",
                                bool,
                                "callbacks",
                                map,
                                "create_replica_methods",
                                list,
                                "basebackup",
                                of(Kind.ANY), // a list or a mapping, checked by pgha-postgres
                                "pre_promote",
                                str,
                                "pgbackrest",
                                map,
                                "recovery_conf",
                                map,
                                "custom_conf",
                                ignored("put the settings in postgresql.parameters"),
                                "pg_ctl_timeout",
                                ignored("pgha's PostgreSQL actions have their own timeouts"),
                                "use_unix_socket",
                                bool,
                                "use_unix_socket_repl",
                                bool,
                                "bin_name",
                                ignored("the binaries keep their names; set bin_dir"),
                                "before_stop",
                                str,
                                "run_as",
                                str),
                        "tags",
                        new Spec(
                                Kind.OPEN_SECTION,
                                section(
                                                "nofailover",
                                                bool,
                                                "failover_priority",
                                                of(Kind.NON_NEGATIVE_INT),
                                                "clonefrom",
                                                bool,
                                                "noloadbalance",
                                                bool,
                                                "replicatefrom",
                                                str,
                                                "nosync",
                                                bool,
                                                "nostream",
                                                bool)
                                        .children(),
                                null),
                        "backup",
                        backupSection(str, bool, integer, list),
                        "log",
                        logSection(str),
                        "watchdog",
                        section(
                                "mode",
                                of(Kind.ANY),
                                "device",
                                str,
                                "safety_margin",
                                of(Kind.ANY),
                                "driver",
                                of(Kind.ANY)),
                        "citus",
                        // a warning would let the node run with the wrong DCS path (Patroni's Citus
                        // members live under <scope>/<group>/) and without the coordinator's work
                        unsupported("pgha does not support Citus clusters; run this node with Patroni, or"
                                + " remove the citus section for a plain PostgreSQL cluster"),
                        "synchronous_mode",
                        ignored("set synchronous_mode in bootstrap.dcs (the DCS config)"),
                        "synchronous_mode_strict",
                        ignored("set it in bootstrap.dcs (the DCS config)"))
                .children();
    }

    /**
     * pgha's own {@code backup:} section (read by pgha-backup's {@code BackupConfig.fromPatroniYaml},
     * which checks the values). Durations are ANY: {@code 7d} is a string, {@code 30} a number of
     * seconds and YAML 1.1 reads {@code off} as a boolean.
     */
    private static Spec backupSection(Spec str, Spec bool, Spec integer, Spec list) {
        Spec duration = of(Kind.ANY);
        return section(
                "repo_path",
                str,
                "stanza",
                str,
                "pgbackrest",
                str,
                "work_dir",
                str,
                "archive",
                bool,
                "retention",
                section("full", integer, "diff", integer),
                "schedule",
                section("full", duration, "diff", duration, "logical", duration, "drill", duration),
                "logical",
                section("databases", list, "directory", str),
                "drill",
                section("tables", of(Kind.ANY), "timeout", duration, "directory", str));
    }

    private static Spec logSection(Spec str) {
        Spec notUsed = ignored("not used by pgha's log (Logback); see docs/operations.md");
        return section(
                "level",
                str,
                "traceback_level",
                notUsed,
                "format",
                of(Kind.STRING_OR_LIST), // a list of attribute names for type json, as Patroni 3.2+
                "dateformat",
                str,
                "type",
                str,
                "max_queue_size",
                notUsed,
                "dir",
                str,
                "file_num",
                of(Kind.NON_NEGATIVE_INT),
                "file_size",
                of(Kind.NON_NEGATIVE_INT),
                "mode",
                notUsed,
                "loggers",
                of(Kind.MAP),
                "static_fields",
                of(Kind.MAP),
                "deduplicate_heartbeat_logs",
                notUsed);
    }

    /**
     * Checks a section against its schema: wrong types become {@code errors}, unknown and ignored
     * keys {@code warnings}. Each message names the dotted key and its origin.
     */
    static void check(String path, Node node, Spec spec, List<String> errors, List<String> warnings) {
        if (spec.kind() == Kind.UNSUPPORTED) {
            errors.add(path + ": " + spec.note() + " (" + node.origin + ")");
            return;
        }
        if (spec.kind() == Kind.IGNORED) {
            warnings.add(path + " is not used by pgha: " + spec.note() + " (" + node.origin + ")");
            return;
        }
        if (node.value == null) {
            return; // an empty value is the same as no value, as in Patroni
        }
        String problem = switch (spec.kind()) {
            case STRING -> node.isScalar() ? null : "must be a single value";
            case INT -> isInt(node.value) ? null : "must be a whole number";
            case NON_NEGATIVE_INT ->
                isInt(node.value) && !node.value.toString().trim().startsWith("-")
                        ? null
                        : "must be a whole number >= 0";
            case NUMBER -> isNumber(node.value) ? null : "must be a number";
            case BOOL -> isBool(node.value) ? null : "must be true or false";
            case LIST -> node.list() != null ? null : "must be a list";
            case STRING_OR_LIST -> node.value instanceof Map ? "must be a value or a list" : null;
            case MAP, SECTION, OPEN_SECTION -> node.map() != null ? null : "must be a mapping";
            default -> null;
        };
        if (problem != null) {
            errors.add(path + " " + problem + ", found " + PatroniYamlTree.describe(node) + " (" + node.origin + ")");
            return;
        }
        if (spec.kind() == Kind.SECTION || spec.kind() == Kind.OPEN_SECTION) {
            node.map().forEach((key, child) -> {
                String childPath = path.isEmpty() ? key : path + "." + key;
                Spec childSpec = spec.children().get(key);
                if (childSpec == null && spec.kind() == Kind.OPEN_SECTION) {
                    return; // a tag of the operator's own
                }
                if (childSpec == null && path.equals("postgresql") && namesReplicaMethod(node, key)) {
                    check(childPath, child, of(Kind.MAP), errors, warnings); // a create_replica_methods section
                } else if (childSpec == null && path.equals("bootstrap") && namesBootstrapMethod(node, key)) {
                    check(childPath, child, of(Kind.MAP), errors, warnings); // bootstrap.method's section
                } else if (childSpec == null) {
                    warnings.add("unknown key " + childPath + " (" + child.origin + ") is ignored");
                } else {
                    check(childPath, child, childSpec, errors, warnings);
                }
            });
        }
    }

    /** Whether {@code postgresql.create_replica_methods} lists {@code key}: its section is Patroni's. */
    private static boolean namesReplicaMethod(Node postgresql, String key) {
        Node methods = postgresql.map().get("create_replica_methods");
        return methods != null
                && methods.list() != null
                && methods.list().stream().anyMatch(m -> key.equals(String.valueOf(m.value)));
    }

    /** Whether {@code bootstrap.method} names {@code key}: its section is Patroni's custom bootstrap. */
    private static boolean namesBootstrapMethod(Node bootstrap, String key) {
        Node method = bootstrap.map().get("method");
        return method != null && key.equals(String.valueOf(method.value));
    }

    static boolean isInt(Object v) {
        if (v instanceof Integer || v instanceof Long || v instanceof java.math.BigInteger) {
            return true;
        }
        return v instanceof String s && s.trim().matches("-?\\d+");
    }

    static boolean isNumber(Object v) {
        if (v instanceof Number) {
            return true;
        }
        return v instanceof String s && s.trim().matches("-?\\d+(\\.\\d+)?");
    }

    static boolean isBool(Object v) {
        return v instanceof Boolean || (v instanceof String s && parseBool(s) != null);
    }

    /** YAML 1.1 booleans, as Patroni (PyYAML) reads them; null when {@code s} is none. */
    static Boolean parseBool(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "true", "on", "yes", "y", "1" -> Boolean.TRUE;
            case "false", "off", "no", "n", "0" -> Boolean.FALSE;
            default -> null;
        };
    }
}
