package io.pgha.postgres.local;

import io.pgha.postgres.SlotNames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How {@link LocalPostgresController} runs the local PostgreSQL: Patroni's {@code postgresql:}
 * settings, with Patroni's names and defaults. Immutable and thread-safe. Build one with
 * {@link #builder()} or read Patroni's YAML with {@link #fromPatroni(String, Map, Map)}.
 *
 * <p>Every invalid value is rejected when the config is built, with an IllegalArgumentException
 * naming the Patroni key ({@code postgresql.data_dir}, {@code bootstrap.initdb}, ...).
 */
public final class LocalPostgresConfig {

    private final String scope;
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
    private final ClientSsl superuserSsl;
    private final ClientSsl replicationSsl;
    private final String rewindUser;
    private final String rewindPassword;
    private final ClientSsl rewindSsl;
    private final Map<String, String> parameters;
    private final Map<String, String> localParameters;
    private final List<String> pgHba;
    private final boolean usePgRewind;
    private final boolean removeDataDirectoryOnRewindFailure;
    private final boolean removeDataDirectoryOnDivergedTimelines;
    private final boolean useSlots;
    private final boolean useUnixSocket;
    private final boolean useUnixSocketRepl;
    private final String runAs;
    private final List<String> initdbOptions;
    private final List<String> createReplicaMethods;
    private final Map<String, Map<String, Object>> replicaMethodOptions;
    private final Map<String, String> recoveryConf;
    private final String bootstrapMethod;
    private final Map<String, Object> bootstrapMethodOptions;
    private final String postBootstrap;
    private final List<String> basebackupOptions;
    private final String prePromote;
    private final String beforeStop;

    private LocalPostgresConfig(Builder b) {
        this.scope = b.scope;
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
        this.superuserSsl = b.superuserSsl;
        this.replicationSsl = b.replicationSsl;
        if (b.rewindUser == null) {
            // as Patroni: without authentication.rewind, pg_rewind connects as the superuser
            this.rewindUser = superuser;
            this.rewindPassword = superuserPassword;
            this.rewindSsl = b.rewindSsl != null ? b.rewindSsl : superuserSsl;
        } else {
            this.rewindUser = requireText(b.rewindUser, "postgresql.authentication.rewind.username");
            this.rewindPassword = requireText(b.rewindPassword, "postgresql.authentication.rewind.password");
            this.rewindSsl = b.rewindSsl != null ? b.rewindSsl : ClientSsl.DEFAULT;
        }
        Map<String, String> merged = new LinkedHashMap<>(b.bootstrapParameters);
        merged.putAll(b.parameters);
        this.parameters = Collections.unmodifiableMap(ManagedConfig.userParameters(merged));
        this.localParameters = Collections.unmodifiableMap(ManagedConfig.userParameters(b.parameters));
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
        this.useUnixSocket = b.useUnixSocket;
        this.useUnixSocketRepl = b.useUnixSocketRepl;
        this.runAs = requireText(b.runAs, "postgresql.run_as");
        if (!runAs.matches("[A-Za-z0-9_][A-Za-z0-9_.-]*")) {
            throw new IllegalArgumentException("postgresql.run_as '" + runAs + "' is not a user name");
        }
        this.initdbOptions = List.copyOf(b.initdbOptions);
        if (b.createReplicaMethods.isEmpty()) {
            throw new IllegalArgumentException("postgresql.create_replica_methods must not be empty");
        }
        this.createReplicaMethods = List.copyOf(b.createReplicaMethods);
        Map<String, Map<String, Object>> options = new LinkedHashMap<>();
        b.replicaMethodOptions.forEach((k, v) -> options.put(k, Collections.unmodifiableMap(new LinkedHashMap<>(v))));
        this.replicaMethodOptions = Collections.unmodifiableMap(options);
        this.recoveryConf = Collections.unmodifiableMap(new LinkedHashMap<>(b.recoveryConf));
        this.bootstrapMethod = b.bootstrapMethod;
        this.bootstrapMethodOptions = Collections.unmodifiableMap(new LinkedHashMap<>(b.bootstrapMethodOptions));
        if (bootstrapMethod != null && bootstrapMethodOptions.get("command") == null) {
            throw new IllegalArgumentException(
                    "bootstrap." + bootstrapMethod + ".command is required for bootstrap.method " + bootstrapMethod);
        }
        this.postBootstrap = b.postBootstrap;
        this.basebackupOptions = List.copyOf(b.basebackupOptions);
        this.prePromote = b.prePromote;
        this.beforeStop = b.beforeStop;
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
        return PatroniPostgresSection.read(null, name, postgresql, bootstrap);
    }

    /** As {@link #fromPatroni(String, Map, Map)}, with the cluster's {@code scope} (replica commands get it). */
    public static LocalPostgresConfig fromPatroni(
            String scope, String name, Map<String, ?> postgresql, Map<String, ?> bootstrap) {
        return PatroniPostgresSection.read(scope, name, postgresql, bootstrap);
    }

    /** The member name: application_name of its replication connection, and (sanitized) its slot name. */
    public String name() {
        return name;
    }

    /** The cluster's name ({@code scope}), null when not given. */
    public String scope() {
        return scope;
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

    /** The TLS settings of pgha's superuser connections (postgresql.authentication.superuser). */
    public ClientSsl superuserSsl() {
        return superuserSsl;
    }

    /** The TLS settings of replication connections (postgresql.authentication.replication). */
    public ClientSsl replicationSsl() {
        return replicationSsl;
    }

    /** The user pg_rewind connects as: authentication.rewind's, else the superuser. */
    public String rewindUser() {
        return rewindUser;
    }

    String rewindPassword() {
        return rewindPassword;
    }

    /** Whether pg_rewind has a user of its own, which bootstrap creates with the grants it needs. */
    public boolean separateRewindUser() {
        return !rewindUser.equals(superuser);
    }

    /** The TLS settings of pg_rewind's source connection (authentication.rewind's, else the superuser's). */
    public ClientSsl rewindSsl() {
        return rewindSsl;
    }

    /**
     * The parameters PostgreSQL starts with before the cluster's dynamic configuration is known:
     * {@code bootstrap.dcs.postgresql.parameters}, then {@code postgresql.parameters} over them.
     */
    public Map<String, String> parameters() {
        return parameters;
    }

    /**
     * {@code postgresql.parameters} alone (the builder's {@code parameter}s): what this member's
     * own file says, which goes over the cluster's dynamic {@code postgresql.parameters}.
     */
    public Map<String, String> localParameters() {
        return localParameters;
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

    /**
     * Patroni's {@code use_unix_socket}: pgha's own superuser connections to its PostgreSQL go
     * through the Unix socket of the running server (the first of its
     * {@code unix_socket_directories}) instead of TCP.
     */
    public boolean useUnixSocket() {
        return useUnixSocket;
    }

    /**
     * Patroni's {@code use_unix_socket_repl}: pgha's replication-protocol connection to its own
     * PostgreSQL (IDENTIFY_SYSTEM before a rewind) goes through the Unix socket.
     */
    public boolean useUnixSocketRepl() {
        return useUnixSocketRepl;
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

    /**
     * A replica method's section ({@code postgresql.<method>}: {@code command}, {@code no_leader},
     * {@code keep_data}, {@code no_params} and the method's own options), empty when there is none.
     */
    public Map<String, Object> replicaMethodOptions(String method) {
        return replicaMethodOptions.getOrDefault(method, Map.of());
    }

    /**
     * Whether a method of {@code create_replica_methods} can create a replica while no member runs
     * (Patroni's {@code no_leader} or {@code no_master}, true as Python reads it).
     */
    public boolean canCreateReplicaWithoutLeader(String method) {
        Map<String, Object> o = replicaMethodOptions(method);
        return !method.equals("basebackup") && (pythonTrue(o.get("no_leader")) || pythonTrue(o.get("no_master")));
    }

    /**
     * Patroni's {@code bootstrap.method} when it is not initdb: the name of the section
     * ({@code bootstrap.<method>}) whose {@code command} creates the new cluster; null for initdb.
     */
    public String bootstrapMethod() {
        return bootstrapMethod;
    }

    /** The custom bootstrap method's section: {@code command}, {@code no_params}, {@code recovery_conf}, {@code keep_existing_recovery_conf}. */
    public Map<String, Object> bootstrapMethodOptions() {
        return bootstrapMethodOptions;
    }

    /** Patroni's {@code bootstrap.post_bootstrap} (or {@code post_init}): run once after the bootstrap; null: none. */
    public String postBootstrap() {
        return postBootstrap;
    }

    /**
     * Patroni's {@code postgresql.basebackup}, as pg_basebackup arguments ({@code --max-rate=100M},
     * {@code --checkpoint=fast}, {@code --verbose}); empty: none.
     */
    public List<String> basebackupOptions() {
        return basebackupOptions;
    }

    /** Patroni's {@code postgresql.pre_promote}: run before a promotion, which it vetoes by a non-zero exit; null: none. */
    public String prePromote() {
        return prePromote;
    }

    /** Patroni's {@code postgresql.before_stop}: run before PostgreSQL is stopped, its exit code ignored; null: none. */
    public String beforeStop() {
        return beforeStop;
    }

    /** Patroni's {@code postgresql.recovery_conf}: settings a replica starts with (a {@code restore_command}). */
    public Map<String, String> recoveryConf() {
        return recoveryConf;
    }

    /** A YAML value as Python's {@code bool()} reads it: {@code "0"} and {@code "false"} are true, as in Patroni. */
    static boolean pythonTrue(Object v) {
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Number n) {
            return n.doubleValue() != 0;
        }
        if (v instanceof java.util.Collection<?> c) {
            return !c.isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return !v.toString().isEmpty();
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
        private ClientSsl superuserSsl = ClientSsl.DEFAULT;
        private ClientSsl replicationSsl = ClientSsl.DEFAULT;
        private String rewindUser;
        private String rewindPassword;
        private ClientSsl rewindSsl;
        private final Map<String, String> parameters = new LinkedHashMap<>();
        private final Map<String, String> bootstrapParameters = new LinkedHashMap<>();
        private final List<String> pgHba = new ArrayList<>();
        private boolean usePgRewind = true;
        private boolean removeDataDirectoryOnRewindFailure;
        private boolean removeDataDirectoryOnDivergedTimelines;
        private boolean useSlots = true;
        private boolean useUnixSocket;
        private boolean useUnixSocketRepl;
        private String runAs = "postgres";
        private final List<String> initdbOptions = new ArrayList<>();
        private final List<String> createReplicaMethods = new ArrayList<>(List.of("basebackup"));
        private final Map<String, Map<String, Object>> replicaMethodOptions = new LinkedHashMap<>();
        private final Map<String, String> recoveryConf = new LinkedHashMap<>();
        private String bootstrapMethod;
        private final Map<String, Object> bootstrapMethodOptions = new LinkedHashMap<>();
        private String postBootstrap;
        private final List<String> basebackupOptions = new ArrayList<>();
        private String prePromote;
        private String beforeStop;

        private String scope;

        private Builder() {}

        public Builder scope(String scope) {
            this.scope = scope;
            return this;
        }

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

        /** Patroni's postgresql.authentication.rewind: the user pg_rewind connects as (default: the superuser). */
        public Builder rewind(String username, String password) {
            this.rewindUser = username;
            this.rewindPassword = password;
            return this;
        }

        public Builder superuserSsl(ClientSsl ssl) {
            this.superuserSsl = java.util.Objects.requireNonNull(ssl, "ssl");
            return this;
        }

        public Builder replicationSsl(ClientSsl ssl) {
            this.replicationSsl = java.util.Objects.requireNonNull(ssl, "ssl");
            return this;
        }

        public Builder rewindSsl(ClientSsl ssl) {
            this.rewindSsl = ssl;
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

        /**
         * {@code bootstrap.dcs.postgresql.parameters}: the cluster's dynamic parameters as this
         * member bootstraps it, under {@link #parameters}.
         */
        public Builder bootstrapParameters(Map<String, String> parameters) {
            this.bootstrapParameters.putAll(Objects.requireNonNull(parameters, "parameters"));
            return this;
        }

        public Builder pgHba(List<String> lines) {
            this.pgHba.clear();
            this.pgHba.addAll(Objects.requireNonNull(lines, "pg_hba"));
            return this;
        }

        /** Patroni's {@code use_unix_socket}; false (TCP) by default. */
        public Builder useUnixSocket(boolean use) {
            this.useUnixSocket = use;
            return this;
        }

        /** Patroni's {@code use_unix_socket_repl}; false (TCP) by default. */
        public Builder useUnixSocketRepl(boolean use) {
            this.useUnixSocketRepl = use;
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
                                ? InitdbOptions.option("null", null)
                                : eq < 0
                                        ? InitdbOptions.option(o, null)
                                        : InitdbOptions.option(o.substring(0, eq), o.substring(eq + 1)));
            }
            return this;
        }

        public Builder createReplicaMethods(List<String> methods) {
            this.createReplicaMethods.clear();
            this.createReplicaMethods.addAll(Objects.requireNonNull(methods, "create_replica_methods"));
            return this;
        }

        /** A replica method's section, {@code postgresql.<method>} (see {@link #replicaMethodOptions}). */
        public Builder replicaMethodOptions(String method, Map<String, ?> options) {
            this.replicaMethodOptions.put(
                    Objects.requireNonNull(method, "method"), new LinkedHashMap<>(Objects.requireNonNull(options)));
            return this;
        }

        /** A custom bootstrap method (Patroni's {@code bootstrap.method} other than initdb) and its section. */
        public Builder bootstrapMethod(String method, Map<String, ?> options) {
            this.bootstrapMethod = method;
            this.bootstrapMethodOptions.clear();
            if (options != null) {
                this.bootstrapMethodOptions.putAll(options);
            }
            return this;
        }

        /** pg_basebackup's extra arguments, already checked ({@code PatroniPostgresSection}). */
        public Builder basebackupOptions(List<String> options) {
            this.basebackupOptions.clear();
            this.basebackupOptions.addAll(options);
            return this;
        }

        public Builder prePromote(String command) {
            this.prePromote = command == null || command.isBlank() ? null : command;
            return this;
        }

        public Builder beforeStop(String command) {
            this.beforeStop = command == null || command.isBlank() ? null : command;
            return this;
        }

        public Builder postBootstrap(String command) {
            this.postBootstrap = command == null || command.isBlank() ? null : command;
            return this;
        }

        public Builder recoveryConf(Map<String, String> settings) {
            this.recoveryConf.clear();
            this.recoveryConf.putAll(settings);
            return this;
        }

        /** @throws IllegalArgumentException naming the key of a missing or invalid value */
        public LocalPostgresConfig build() {
            return new LocalPostgresConfig(this);
        }
    }
}
