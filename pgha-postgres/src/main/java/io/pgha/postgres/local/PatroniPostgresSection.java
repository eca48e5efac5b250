package io.pgha.postgres.local;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Patroni's YAML for the local PostgreSQL (the {@code postgresql:} section, and from
 * {@code bootstrap:} the initdb options and {@code dcs.postgresql}), already parsed into maps,
 * read into a {@link LocalPostgresConfig} through its builder, which validates the values. This
 * class checks the shapes (a mapping, a list, a single value, a boolean) and names the YAML key
 * of anything wrong. Stateless.
 */
final class PatroniPostgresSection {

    private PatroniPostgresSection() {}

    /**
     * Reads Patroni's YAML, already parsed into maps: the {@code postgresql:} section, the member
     * {@code name}, and the {@code bootstrap:} section (for {@code initdb} and
     * {@code dcs.postgresql.parameters}/{@code use_slots}; may be null).
     *
     * @throws IllegalArgumentException naming the key of a missing or invalid value
     */
    static LocalPostgresConfig read(String scope, String name, Map<String, ?> postgresql, Map<String, ?> bootstrap) {
        if (postgresql == null) {
            throw new IllegalArgumentException("postgresql: section is required");
        }
        LocalPostgresConfig.Builder b =
                LocalPostgresConfig.builder().scope(scope).name(name);
        String dataDir = string(postgresql, "data_dir", "postgresql.data_dir");
        if (dataDir == null) {
            throw new IllegalArgumentException("postgresql.data_dir is required");
        }
        b.dataDir(Path.of(dataDir));
        String binDir = string(postgresql, "bin_dir", "postgresql.bin_dir");
        if (binDir != null && !binDir.isBlank()) {
            b.binDir(Path.of(binDir));
        }
        String listen = string(postgresql, "listen", "postgresql.listen");
        if (listen != null) {
            b.listen(listen);
        }
        b.connectAddress(string(postgresql, "connect_address", "postgresql.connect_address"));
        String pgpass = string(postgresql, "pgpass", "postgresql.pgpass");
        if (pgpass != null) {
            b.pgpass(Path.of(pgpass));
        }
        Map<String, ?> auth = map(postgresql, "authentication", "postgresql.authentication");
        Map<String, ?> su = map(auth, "superuser", "postgresql.authentication.superuser");
        Map<String, ?> repl = map(auth, "replication", "postgresql.authentication.replication");
        String suName = string(su, "username", "postgresql.authentication.superuser.username");
        b.superuser(
                suName == null ? "postgres" : suName,
                string(su, "password", "postgresql.authentication.superuser.password"));
        b.replication(
                string(repl, "username", "postgresql.authentication.replication.username"),
                string(repl, "password", "postgresql.authentication.replication.password"));
        b.superuserSsl(ClientSsl.fromPatroni(su, "postgresql.authentication.superuser"));
        b.replicationSsl(ClientSsl.fromPatroni(repl, "postgresql.authentication.replication"));
        if (auth.get("rewind") != null) {
            Map<String, ?> rw = map(auth, "rewind", "postgresql.authentication.rewind");
            b.rewind(
                    string(rw, "username", "postgresql.authentication.rewind.username"),
                    string(rw, "password", "postgresql.authentication.rewind.password"));
            b.rewindSsl(ClientSsl.fromPatroni(rw, "postgresql.authentication.rewind"));
        }

        Map<String, ?> dcs = bootstrap == null ? Map.of() : map(bootstrap, "dcs", "bootstrap.dcs");
        Map<String, ?> dcsPostgresql = map(dcs, "postgresql", "bootstrap.dcs.postgresql");
        b.bootstrapParameters(parameters(
                map(dcsPostgresql, "parameters", "bootstrap.dcs.postgresql.parameters"),
                "bootstrap.dcs.postgresql.parameters"));
        b.parameters(parameters(map(postgresql, "parameters", "postgresql.parameters"), "postgresql.parameters"));
        Object useSlots = dcsPostgresql.get("use_slots");
        if (useSlots != null) {
            b.useSlots(bool(useSlots, "bootstrap.dcs.postgresql.use_slots"));
        }

        b.pgHba(stringList(postgresql.get("pg_hba"), "postgresql.pg_hba"));
        // the engine's rule (DynamicConfig.usePgRewind): the local value, else bootstrap.dcs's, else true —
        // Patroni's files often set it under bootstrap.dcs.postgresql only
        Object rewind = postgresql.get("use_pg_rewind") != null
                ? postgresql.get("use_pg_rewind")
                : dcsPostgresql.get("use_pg_rewind");
        b.usePgRewind(rewind == null
                || bool(
                        rewind,
                        postgresql.get("use_pg_rewind") != null
                                ? "postgresql.use_pg_rewind"
                                : "bootstrap.dcs.postgresql.use_pg_rewind"));
        b.useUnixSocket(bool(postgresql.get("use_unix_socket"), "postgresql.use_unix_socket"));
        b.useUnixSocketRepl(bool(postgresql.get("use_unix_socket_repl"), "postgresql.use_unix_socket_repl"));
        b.removeDataDirectoryOnRewindFailure(bool(
                postgresql.get("remove_data_directory_on_rewind_failure"),
                "postgresql.remove_data_directory_on_rewind_failure"));
        b.removeDataDirectoryOnDivergedTimelines(bool(
                postgresql.get("remove_data_directory_on_diverged_timelines"),
                "postgresql.remove_data_directory_on_diverged_timelines"));
        String runAs = string(postgresql, "run_as", "postgresql.run_as");
        if (runAs != null) {
            b.runAs(runAs);
        }
        Object methods = postgresql.get("create_replica_methods");
        if (methods != null) {
            List<String> names = stringList(methods, "postgresql.create_replica_methods");
            b.createReplicaMethods(names);
            for (String method : names) {
                if (!method.equals("basebackup")) {
                    b.replicaMethodOptions(method, map(postgresql, method, "postgresql." + method));
                }
            }
        }
        b.recoveryConf(
                parameters(map(postgresql, "recovery_conf", "postgresql.recovery_conf"), "postgresql.recovery_conf"));
        b.basebackupOptions(basebackupOptions(postgresql.get("basebackup")));
        b.prePromote(string(postgresql, "pre_promote", "postgresql.pre_promote"));
        b.beforeStop(string(postgresql, "before_stop", "postgresql.before_stop"));
        if (bootstrap != null) {
            String method = string(bootstrap, "method", "bootstrap.method");
            if (method != null && !method.equals("initdb")) {
                Map<String, ?> section = map(bootstrap, method, "bootstrap." + method);
                // Patroni falls back to initdb here; a cluster meant to start from a backup must not
                // come up empty instead, so pgha refuses to start
                if (section.get("command") == null
                        || section.get("command").toString().isBlank()) {
                    throw new IllegalArgumentException("bootstrap.method is '" + method + "' but bootstrap." + method
                            + ".command is missing: pgha does not fall back to initdb (set the command, or remove"
                            + " bootstrap.method to bootstrap with initdb)");
                }
                b.bootstrapMethod(method, section);
            }
            String post = string(bootstrap, "post_bootstrap", "bootstrap.post_bootstrap");
            b.postBootstrap(post != null ? post : string(bootstrap, "post_init", "bootstrap.post_init"));
        }
        if (bootstrap != null && bootstrap.get("initdb") != null) {
            b.initdb(InitdbOptions.fromPatroni(bootstrap.get("initdb")));
        }
        return b.build();
    }

    /** What pg_basebackup's arguments pgha sets itself (or that would break the copy), as Patroni's list. */
    private static final java.util.Set<String> BASEBACKUP_NOT_ALLOWED = java.util.Set.of(
            "pgdata",
            "format",
            "wal-method",
            "xlog-method",
            "gzip",
            "version",
            "compress",
            "dbname",
            "host",
            "port",
            "username",
            "password");

    /**
     * Patroni's {@code postgresql.basebackup}: a list of flags and one-key mappings
     * ({@code [verbose, {max-rate: 100M}]}) or a mapping ({@code {max-rate: 100M, checkpoint: fast}},
     * a key with an empty or false value left out, as Patroni), turned into {@code --key=value}
     * arguments. An option pgha sets itself is an error here, where Patroni logs it and goes on.
     */
    static List<String> basebackupOptions(Object raw) {
        List<String> out = new ArrayList<>();
        if (raw == null) {
            return out;
        }
        String path = "postgresql.basebackup";
        if (raw instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                String key = allowedBasebackupKey(String.valueOf(k));
                if (v != null && !Boolean.FALSE.equals(v) && !v.toString().isEmpty()) {
                    out.add("--" + key + "=" + v);
                }
            });
            return out;
        }
        if (!(raw instanceof List<?> list)) {
            throw new IllegalArgumentException(path + " must be a list or a mapping");
        }
        for (Object o : list) {
            if (o instanceof Map<?, ?> one) {
                if (one.size() != 1) {
                    throw new IllegalArgumentException(
                            path + ": a key-value option holds exactly one key, found " + one.keySet());
                }
                Map.Entry<?, ?> e = one.entrySet().iterator().next();
                if (e.getValue() == null || e.getValue() instanceof Map || e.getValue() instanceof List) {
                    throw new IllegalArgumentException(path + "." + e.getKey() + " must be a single value");
                }
                out.add("--" + allowedBasebackupKey(String.valueOf(e.getKey())) + "=" + e.getValue());
            } else if (o instanceof String flag && !flag.isBlank()) {
                out.add("--" + allowedBasebackupKey(flag));
            } else {
                throw new IllegalArgumentException(
                        path + " entries are option names or one-key mappings, found '" + o + "'");
            }
        }
        return out;
    }

    private static String allowedBasebackupKey(String key) {
        String k = key.startsWith("--") ? key.substring(2) : key;
        if (BASEBACKUP_NOT_ALLOWED.contains(k) || k.isBlank()) {
            throw new IllegalArgumentException("postgresql.basebackup: option " + key
                    + " is not allowed (pgha sets it itself, as Patroni); not allowed: " + BASEBACKUP_NOT_ALLOWED);
        }
        return k;
    }

    private static String string(Map<String, ?> map, String key, String path) {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map || v instanceof List) {
            throw new IllegalArgumentException(path + " must be a single value");
        }
        return v.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> map(Map<String, ?> map, String key, String path) {
        Object v = map.get(key);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException(path + " must be a mapping");
        }
        return (Map<String, ?>) v;
    }

    static Map<String, String> parameters(Map<String, ?> raw, String path) {
        Map<String, String> out = new LinkedHashMap<>();
        raw.forEach((k, v) -> {
            if (v == null || v instanceof Map || v instanceof List) {
                throw new IllegalArgumentException(path + "." + k + " must be a single value");
            }
            out.put(k, v instanceof Boolean bool ? (bool ? "on" : "off") : v.toString());
        });
        return out;
    }

    static List<String> stringList(Object v, String path) {
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(path + " must be a list");
        }
        List<String> out = new ArrayList<>();
        for (Object o : list) {
            if (o == null || o instanceof Map || o instanceof List) {
                throw new IllegalArgumentException(path + " must be a list of strings; found '" + o + "'");
            }
            out.add(o.toString());
        }
        return out;
    }

    private static boolean bool(Object v, String path) {
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = v.toString().trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "true", "on", "yes", "1" -> true;
            case "false", "off", "no", "0" -> false;
            default -> throw new IllegalArgumentException(path + " must be true or false, not '" + v + "'");
        };
    }
}
