package io.pgha.config;

import io.pgha.config.PatroniYamlTree.Node;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Patroni's environment overrides: {@code PATRONI_SCOPE}, {@code PATRONI_POSTGRESQL_DATA_DIR},
 * {@code PATRONI_ETCD3_HOSTS}, ... set keys of the file, and win over it. Every variable is also
 * accepted with the prefix {@code PGHA_}, which wins over {@code PATRONI_} when both are set.
 * {@code PATRONI_<user>_PASSWORD} and {@code PATRONI_<user>_OPTIONS} add a bootstrap user, as in
 * Patroni. Stateless; thread-safe.
 */
final class PatroniYamlEnv {

    static final List<String> PREFIXES = List.of("PATRONI_", "PGHA_"); // later wins

    /** Variable suffix to dotted key. */
    static final Map<String, String> KEYS = keys();

    /** Suffixes whose value is a comma-separated (or [a, b]) list. */
    private static final Set<String> LISTS = Set.of("RESTAPI_ALLOWLIST", "ZOOKEEPER_HOSTS", "CONSUL_CHECKS");

    /** First words that are sections, never bootstrap user names. */
    private static final Set<String> RESERVED = Set.of(
            "SUPERUSER",
            "REPLICATION",
            "REWIND",
            "RESTAPI",
            "ETCD",
            "ETCD3",
            "ZOOKEEPER",
            "CONSUL",
            "KUBERNETES",
            "RAFT",
            "EXHIBITOR",
            "CTL",
            "POSTGRESQL",
            "LOG",
            "CONFIGURATION",
            "CITUS",
            "WATCHDOG");

    private PatroniYamlEnv() {}

    private static Map<String, String> keys() {
        Map<String, String> k = new LinkedHashMap<>();
        k.put("SCOPE", "scope");
        k.put("NAME", "name");
        k.put("NAMESPACE", "namespace");
        k.put("LOG_LEVEL", "log.level");
        for (String s : List.of(
                "listen",
                "connect_address",
                "certfile",
                "keyfile",
                "keyfile_password",
                "cafile",
                "verify_client",
                "allowlist",
                "allowlist_include_members")) {
            k.put("RESTAPI_" + s.toUpperCase(Locale.ROOT), "restapi." + s);
        }
        k.put("RESTAPI_USERNAME", "restapi.authentication.username");
        k.put("RESTAPI_PASSWORD", "restapi.authentication.password");
        for (String s :
                List.of("listen", "connect_address", "data_dir", "bin_dir", "pgpass", "use_pg_rewind", "run_as")) {
            k.put("POSTGRESQL_" + s.toUpperCase(Locale.ROOT), "postgresql." + s);
        }
        for (String user : List.of("superuser", "replication", "rewind")) {
            for (String s : List.of(
                    "username",
                    "password",
                    "sslmode",
                    "sslkey",
                    "sslcert",
                    "sslrootcert",
                    "sslpassword",
                    "sslcrl",
                    "sslcrldir",
                    "gssencmode",
                    "channel_binding")) {
                k.put(
                        user.toUpperCase(Locale.ROOT) + "_" + s.toUpperCase(Locale.ROOT),
                        "postgresql.authentication." + user + "." + s);
            }
        }
        for (String etcd : List.of("etcd3", "etcd")) {
            for (String s : List.of(
                    "host",
                    "hosts",
                    "url",
                    "proxy",
                    "srv",
                    "protocol",
                    "username",
                    "password",
                    "cacert",
                    "cert",
                    "key")) {
                k.put(etcd.toUpperCase(Locale.ROOT) + "_" + s.toUpperCase(Locale.ROOT), etcd + "." + s);
            }
        }
        k.put("ZOOKEEPER_HOSTS", "zookeeper.hosts");
        for (String s : List.of(
                "host",
                "url",
                "port",
                "scheme",
                "token",
                "verify",
                "cacert",
                "cert",
                "key",
                "dc",
                "consistency",
                "checks",
                "register_service",
                "service_check_interval")) {
            k.put("CONSUL_" + s.toUpperCase(Locale.ROOT), "consul." + s);
        }
        return k;
    }

    /**
     * Applies the overrides to {@code root}, creating sections as needed, and returns the names of
     * the variables applied (for the log; never their values).
     */
    static List<String> apply(Node root, Map<String, String> env) {
        Map<String, String[]> chosen = new LinkedHashMap<>(); // key -> {variable, value, "list" or "scalar"}
        for (String prefix : PREFIXES) {
            KEYS.forEach((suffix, key) -> {
                String v = env.get(prefix + suffix);
                if (v != null) {
                    chosen.put(key, new String[] {prefix + suffix, v, LISTS.contains(suffix) ? "list" : "scalar"});
                }
            });
            for (String var : new TreeSet<>(env.keySet())) {
                if (!var.startsWith(prefix)) {
                    continue;
                }
                String rest = var.substring(prefix.length());
                for (String field : List.of("_PASSWORD", "_OPTIONS")) {
                    if (rest.endsWith(field) && rest.length() > field.length()) {
                        String user = rest.substring(0, rest.length() - field.length());
                        String first = user.contains("_") ? user.substring(0, user.indexOf('_')) : user;
                        if (!RESERVED.contains(first.toUpperCase(Locale.ROOT))) {
                            String key = "bootstrap.users." + user + "."
                                    + field.substring(1).toLowerCase(Locale.ROOT);
                            chosen.put(
                                    key,
                                    new String[] {var, env.get(var), "_OPTIONS".equals(field) ? "list" : "scalar"});
                        }
                    }
                }
            }
        }
        List<String> applied = new ArrayList<>();
        chosen.forEach((key, vv) -> {
            Object value = "list".equals(vv[2]) ? list(vv[1]) : vv[1];
            set(root, key, value, "environment " + vv[0]);
            applied.add(vv[0]);
        });
        return applied;
    }

    private static Object list(String v) {
        String s = v.trim();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        List<Object> out = new ArrayList<>();
        for (String part : s.split(",", -1)) {
            String p = part.trim();
            if (p.length() >= 2
                    && ((p.startsWith("'") && p.endsWith("'")) || (p.startsWith("\"") && p.endsWith("\"")))) {
                p = p.substring(1, p.length() - 1);
            }
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }

    private static void set(Node root, String dotted, Object value, String origin) {
        String[] parts = dotted.split("\\.", -1);
        Node cur = root;
        for (int i = 0; i < parts.length - 1; i++) {
            Map<String, Node> m = cur.map();
            Node next = m.get(parts[i]);
            if (next == null || next.map() == null) {
                // an absent or empty section is created; a scalar in its place is replaced, as Patroni does
                next = new Node(new LinkedHashMap<String, Node>(), origin);
                m.put(parts[i], next);
            }
            cur = next;
        }
        Object nodeValue = value;
        if (value instanceof List<?> l) {
            List<Node> nodes = new ArrayList<>();
            l.forEach(o -> nodes.add(new Node(o, origin)));
            nodeValue = nodes;
        }
        cur.map().put(parts[parts.length - 1], new Node(nodeValue, origin));
    }
}
