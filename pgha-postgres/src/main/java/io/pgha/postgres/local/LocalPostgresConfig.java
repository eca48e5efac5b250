package io.pgha.postgres.local;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How {@link LocalPostgresController} runs the local PostgreSQL: Patroni's {@code postgresql:}
 * settings, with Patroni's names and defaults. Immutable and thread-safe. Build one with
 * {@link #builder()} or read Patroni's YAML with {@link #fromPatroni(String, Map, Map)}.
 *
 * <p>Every invalid value is rejected when the config is built, with an IllegalArgumentException
 * naming the Patroni key ({@code postgresql.data_dir}, {@code bootstrap.initdb}, ...).
 */
public final class LocalPostgresConfig {

    /** The parameters pgha sets itself for replication; a {@code parameters} entry for one of them is an error. */
    static final Set<String> OWNED_PARAMETERS =
            Set.of("hba_file", "primary_conninfo", "primary_slot_name", "recovery_target_timeline");

    /**
     * Parameters pgha sets from other keys, as Patroni does, and which Patroni silently overrides
     * when they appear in {@code parameters}: pgha ignores them too (so a Patroni file runs as it
     * is), with a warning.
     */
    static final Set<String> OVERRIDDEN_PARAMETERS = Set.of("listen_addresses", "port", "synchronous_standby_names");

    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgresConfig.class);

    /** initdb options pgha passes itself and so refuses in {@code bootstrap.initdb}. */
    private static final Set<String> OWNED_INITDB_OPTIONS = Set.of(
            "pgdata",
            "D",
            "pwfile",
            "pwprompt",
            "W",
            "username",
            "U",
            "auth",
            "A",
            "auth-host",
            "auth-local",
            "waldir",
            "X");

    private final String name;
    private final Path dataDir;
    private final Path binDir;
    private final HostPort listen;
    private final HostPort connectAddress;
    private final Path pgpass;
    private final String superuser;
    private final String superuserPassword;
    private final String replicationUser;
    private final String replicationPassword;
    private final Map<String, String> parameters;
    private final List<String> pgHba;
    private final boolean usePgRewind;
    private final boolean removeDataDirectoryOnRewindFailure;
    private final boolean removeDataDirectoryOnDivergedTimelines;
    private final boolean useSlots;
    private final String runAs;
    private final List<String> initdbOptions;
    private final List<String> createReplicaMethods;

    private LocalPostgresConfig(Builder b) {
        this.name = require(b.name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank");
        }
        if (b.dataDir == null) {
            throw new IllegalArgumentException("postgresql.data_dir is required");
        }
        this.dataDir = b.dataDir.toAbsolutePath().normalize();
        if (dataDir.getParent() == null) {
            throw new IllegalArgumentException("postgresql.data_dir '" + b.dataDir + "' cannot be the root directory");
        }
        this.binDir = b.binDir == null ? null : b.binDir.toAbsolutePath().normalize();
        this.listen = HostPort.parse("postgresql.listen", b.listen);
        this.connectAddress = b.connectAddress == null
                ? new HostPort(listen.localConnectHost(), listen.port())
                : HostPort.parse("postgresql.connect_address", b.connectAddress);
        if (connectAddress.host().indexOf(',') >= 0) {
            throw new IllegalArgumentException(
                    "postgresql.connect_address '" + b.connectAddress + "' must name one host");
        }
        this.pgpass = b.pgpass == null ? null : b.pgpass.toAbsolutePath().normalize();
        this.superuser = requireText(b.superuser, "postgresql.authentication.superuser.username");
        this.superuserPassword = requireText(b.superuserPassword, "postgresql.authentication.superuser.password");
        this.replicationUser = requireText(b.replicationUser, "postgresql.authentication.replication.username");
        this.replicationPassword = requireText(b.replicationPassword, "postgresql.authentication.replication.password");
        Map<String, String> params = new LinkedHashMap<>();
        b.parameters.forEach((k, v) -> {
            if (k == null || !k.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
                throw new IllegalArgumentException("postgresql.parameters has an invalid name: '" + k + "'");
            }
            String key = k.toLowerCase(Locale.ROOT);
            if (OVERRIDDEN_PARAMETERS.contains(key)) {
                LOG.warn("postgresql.parameters.{} is ignored: pgha sets it {}", key, ownedBy(key));
                return;
            }
            if (OWNED_PARAMETERS.contains(key)) {
                throw new IllegalArgumentException("postgresql.parameters." + key + " is set by pgha (" + ownedBy(key)
                        + "); remove it from parameters");
            }
            if (v == null || v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("postgresql.parameters." + key + " has an invalid value");
            }
            params.put(key, v);
        });
        this.parameters = Collections.unmodifiableMap(params);
        for (String line : b.pgHba) {
            if (line == null || line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("postgresql.pg_hba has an invalid line: '" + line + "'");
            }
        }
        this.pgHba = List.copyOf(b.pgHba);
        this.usePgRewind = b.usePgRewind;
        this.removeDataDirectoryOnRewindFailure = b.removeDataDirectoryOnRewindFailure;
        this.removeDataDirectoryOnDivergedTimelines = b.removeDataDirectoryOnDivergedTimelines;
        this.useSlots = b.useSlots;
        this.runAs = requireText(b.runAs, "postgresql.run_as");
        if (!runAs.matches("[A-Za-z0-9_][A-Za-z0-9_.-]*")) {
            throw new IllegalArgumentException("postgresql.run_as '" + runAs + "' is not a user name");
        }
        this.initdbOptions = List.copyOf(b.initdbOptions);
        if (b.createReplicaMethods.isEmpty()) {
            throw new IllegalArgumentException("postgresql.create_replica_methods must not be empty");
        }
        if (!b.createReplicaMethods.contains("basebackup")) {
            throw new IllegalArgumentException(
                    "postgresql.create_replica_methods " + b.createReplicaMethods
                            + ": must include 'basebackup', the fallback when another method (a ReplicaPreparer such as pgha-backup's pgbackrest restore) fails");
        }
        this.createReplicaMethods = List.copyOf(b.createReplicaMethods);
    }

    private static String ownedBy(String key) {
        return switch (key) {
            case "listen_addresses", "port" -> "from postgresql.listen";
            case "synchronous_standby_names" -> "from synchronous_mode";
            default -> "for replication and pg_hba";
        };
    }

    private static <T> T require(T value, String key) {
        if (value == null) {
            throw new IllegalArgumentException(key + " is required");
        }
        return value;
    }

    private static String requireText(String value, String key) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(key + " is required");
        }
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0 || value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(key + " must be a single line");
        }
        return value;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads Patroni's YAML, already parsed into maps: the {@code postgresql:} section, the member
     * {@code name}, and the {@code bootstrap:} section (for {@code initdb} and
     * {@code dcs.postgresql.parameters}/{@code use_slots}; may be null).
     *
     * @throws IllegalArgumentException naming the key of a missing or invalid value
     */
    public static LocalPostgresConfig fromPatroni(String name, Map<String, ?> postgresql, Map<String, ?> bootstrap) {
        if (postgresql == null) {
            throw new IllegalArgumentException("postgresql: section is required");
        }
        Builder b = builder().name(name);
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

        Map<String, ?> dcs = bootstrap == null ? Map.of() : map(bootstrap, "dcs", "bootstrap.dcs");
        Map<String, ?> dcsPostgresql = map(dcs, "postgresql", "bootstrap.dcs.postgresql");
        Map<String, String> params = new LinkedHashMap<>(parameters(
                map(dcsPostgresql, "parameters", "bootstrap.dcs.postgresql.parameters"),
                "bootstrap.dcs.postgresql.parameters"));
        params.putAll(parameters(map(postgresql, "parameters", "postgresql.parameters"), "postgresql.parameters"));
        b.parameters(params);
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
            b.createReplicaMethods(stringList(methods, "postgresql.create_replica_methods"));
        }
        if (bootstrap != null && bootstrap.get("initdb") != null) {
            b.initdb(initdbOptions(bootstrap.get("initdb")));
        }
        return b.build();
    }

    /**
     * Normalizes Patroni's {@code bootstrap.initdb} list: plain strings ({@code data-checksums}) and
     * single-key maps ({@code encoding: UTF8}) become {@code --data-checksums}, {@code --encoding=UTF8}.
     */
    static List<String> initdbOptions(Object initdb) {
        if (!(initdb instanceof List<?> list)) {
            throw new IllegalArgumentException(
                    "bootstrap.initdb must be a list of options, e.g. [data-checksums, {encoding: UTF8}]");
        }
        List<String> out = new ArrayList<>();
        for (Object item : list) {
            if (item instanceof String s) {
                out.add(initdbOption(s, null));
            } else if (item instanceof Map<?, ?> m && m.size() == 1) {
                Map.Entry<?, ?> e = m.entrySet().iterator().next();
                if (e.getValue() == null || e.getValue() instanceof Map || e.getValue() instanceof List) {
                    throw new IllegalArgumentException(
                            "bootstrap.initdb option '" + e.getKey() + "' needs a plain value");
                }
                out.add(initdbOption(String.valueOf(e.getKey()), String.valueOf(e.getValue())));
            } else {
                throw new IllegalArgumentException("bootstrap.initdb entry '" + item
                        + "' is neither an option name nor a single 'name: value' pair");
            }
        }
        return out;
    }

    private static String initdbOption(String rawName, String value) {
        String option = rawName.trim();
        while (option.startsWith("-")) {
            option = option.substring(1);
        }
        if (!option.matches("[A-Za-z][A-Za-z0-9-]*")) {
            throw new IllegalArgumentException("bootstrap.initdb option '" + rawName + "' is not an option name");
        }
        if (OWNED_INITDB_OPTIONS.contains(option)) {
            throw new IllegalArgumentException("bootstrap.initdb option '" + option + "' is set by pgha; remove it");
        }
        if (value == null) {
            return "--" + option;
        }
        if (value.isEmpty() || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bootstrap.initdb option '" + option + "' has an invalid value");
        }
        return "--" + option + "=" + value;
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

    private static Map<String, String> parameters(Map<String, ?> raw, String path) {
        Map<String, String> out = new LinkedHashMap<>();
        raw.forEach((k, v) -> {
            if (v == null || v instanceof Map || v instanceof List) {
                throw new IllegalArgumentException(path + "." + k + " must be a single value");
            }
            out.put(k, v instanceof Boolean bool ? (bool ? "on" : "off") : v.toString());
        });
        return out;
    }

    private static List<String> stringList(Object v, String path) {
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

    /** The member name: application_name of its replication connection, and (sanitized) its slot name. */
    public String name() {
        return name;
    }

    /** The replication slot name the primary keeps for this member (Patroni's sanitizing). */
    public String slotName() {
        return SlotNames.fromMemberName(name);
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The configured {@code bin_dir}, or null to search for the binaries. */
    public Path binDir() {
        return binDir;
    }

    /** listen: the host part (all hosts, for listen_addresses) and the port. */
    public String listenAddresses() {
        return listen.host();
    }

    public int port() {
        return listen.port();
    }

    HostPort listen() {
        return listen;
    }

    HostPort connectAddress() {
        return connectAddress;
    }

    /** The member's {@code conn_url} as Patroni publishes it: {@code postgres://host:port/postgres}. */
    public String connUrl() {
        return "postgres://" + HostPort.urlAuthority(connectAddress.host(), connectAddress.port()) + "/postgres";
    }

    /** The configured passfile, or null for the default in pgha's runtime directory. */
    public Path pgpass() {
        return pgpass;
    }

    public String superuser() {
        return superuser;
    }

    String superuserPassword() {
        return superuserPassword;
    }

    public String replicationUser() {
        return replicationUser;
    }

    String replicationPassword() {
        return replicationPassword;
    }

    public Map<String, String> parameters() {
        return parameters;
    }

    public List<String> pgHba() {
        return pgHba;
    }

    public boolean usePgRewind() {
        return usePgRewind;
    }

    public boolean removeDataDirectoryOnRewindFailure() {
        return removeDataDirectoryOnRewindFailure;
    }

    public boolean removeDataDirectoryOnDivergedTimelines() {
        return removeDataDirectoryOnDivergedTimelines;
    }

    /** Whether a replica streams through a slot named after it ({@code primary_slot_name}). */
    public boolean useSlots() {
        return useSlots;
    }

    /** The OS user PostgreSQL runs as when the JVM runs as root. */
    public String runAs() {
        return runAs;
    }

    /** initdb options beyond pgha's own, normalized to {@code --name[=value]}. */
    public List<String> initdbOptions() {
        return initdbOptions;
    }

    public List<String> createReplicaMethods() {
        return createReplicaMethods;
    }

    @Override
    public String toString() {
        // never the passwords
        return "LocalPostgresConfig{name=" + name + ", data_dir=" + dataDir + ", listen=" + listen.host() + ":"
                + listen.port() + ", connect_address=" + connectAddress.host() + ":" + connectAddress.port()
                + ", superuser=" + superuser + ", replication=" + replicationUser + ", run_as=" + runAs + "}";
    }

    /** Builds a {@link LocalPostgresConfig}; not thread-safe. Defaults are Patroni's. */
    public static final class Builder {
        private String name;
        private Path dataDir;
        private Path binDir;
        private String listen = "127.0.0.1:5432";
        private String connectAddress;
        private Path pgpass;
        private String superuser = "postgres";
        private String superuserPassword;
        private String replicationUser;
        private String replicationPassword;
        private final Map<String, String> parameters = new LinkedHashMap<>();
        private final List<String> pgHba = new ArrayList<>();
        private boolean usePgRewind = true;
        private boolean removeDataDirectoryOnRewindFailure;
        private boolean removeDataDirectoryOnDivergedTimelines;
        private boolean useSlots = true;
        private String runAs = "postgres";
        private final List<String> initdbOptions = new ArrayList<>();
        private final List<String> createReplicaMethods = new ArrayList<>(List.of("basebackup"));

        private Builder() {}

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        public Builder binDir(Path binDir) {
            this.binDir = binDir;
            return this;
        }

        /** {@code host:port}; several hosts may precede the port ({@code 127.0.0.1,::1:5432}). */
        public Builder listen(String listen) {
            this.listen = listen;
            return this;
        }

        /** {@code host:port} other members reach this one at; defaults to listen's first host. */
        public Builder connectAddress(String connectAddress) {
            this.connectAddress = connectAddress;
            return this;
        }

        public Builder pgpass(Path pgpass) {
            this.pgpass = pgpass;
            return this;
        }

        public Builder superuser(String username, String password) {
            this.superuser = username;
            this.superuserPassword = password;
            return this;
        }

        public Builder replication(String username, String password) {
            this.replicationUser = username;
            this.replicationPassword = password;
            return this;
        }

        public Builder parameter(String name, String value) {
            this.parameters.put(name, value);
            return this;
        }

        public Builder parameters(Map<String, String> parameters) {
            this.parameters.putAll(Objects.requireNonNull(parameters, "parameters"));
            return this;
        }

        public Builder pgHba(List<String> lines) {
            this.pgHba.clear();
            this.pgHba.addAll(Objects.requireNonNull(lines, "pg_hba"));
            return this;
        }

        public Builder usePgRewind(boolean use) {
            this.usePgRewind = use;
            return this;
        }

        public Builder removeDataDirectoryOnRewindFailure(boolean remove) {
            this.removeDataDirectoryOnRewindFailure = remove;
            return this;
        }

        public Builder removeDataDirectoryOnDivergedTimelines(boolean remove) {
            this.removeDataDirectoryOnDivergedTimelines = remove;
            return this;
        }

        public Builder useSlots(boolean use) {
            this.useSlots = use;
            return this;
        }

        public Builder runAs(String user) {
            this.runAs = user;
            return this;
        }

        /** initdb options as {@code --name} or {@code --name=value} (or without the dashes). */
        public Builder initdb(List<String> options) {
            this.initdbOptions.clear();
            for (String o : Objects.requireNonNull(options, "initdb")) {
                int eq = o == null ? -1 : o.indexOf('=');
                this.initdbOptions.add(
                        o == null
                                ? initdbOption("null", null)
                                : eq < 0
                                        ? initdbOption(o, null)
                                        : initdbOption(o.substring(0, eq), o.substring(eq + 1)));
            }
            return this;
        }

        public Builder createReplicaMethods(List<String> methods) {
            this.createReplicaMethods.clear();
            this.createReplicaMethods.addAll(Objects.requireNonNull(methods, "create_replica_methods"));
            return this;
        }

        /** @throws IllegalArgumentException naming the key of a missing or invalid value */
        public LocalPostgresConfig build() {
            return new LocalPostgresConfig(this);
        }
    }
}
