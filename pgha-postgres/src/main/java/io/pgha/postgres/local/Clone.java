package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.StandbySource;
import io.pgha.process.Progress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's data directory made as Patroni's {@code create_replica_methods} say, tried in order
 * until one succeeds: {@code basebackup} ({@code pg_basebackup -X stream} from the member's
 * {@code conn_url}); a method with a {@code command} in its section ({@code postgresql.<method>}),
 * run as Patroni runs it; a method without one that a {@link ReplicaPreparer} serves (pgha-backup's
 * {@code pgbackrest}); else the method's name as the command. Then pgha's managed files naming the
 * member as upstream, or none when there is no member to copy from (a method with
 * {@code no_leader}: the replica starts from its archive's {@code restore_command}). Only into an
 * empty data directory, and a failure of every method empties it again.
 *
 * <p>A command runs as PostgreSQL's OS user, split into words as a shell would (no shell runs),
 * with Patroni's arguments {@code --scope= --role=replica --datadir= --connstring=} after the
 * section's other keys as {@code --key=value}, or none with {@code no_params}; {@code PGPASSFILE}
 * holds the replication user's password. It must exit 0. Before it runs, what an earlier method
 * left is removed unless its section says {@code keep_data}; a missing data directory is left for
 * the command to create (a restore that copies a whole directory needs that), unless pgha runs
 * as root, where the directory is created for the PostgreSQL user first.
 *
 * <p>Threading: {@link #from} runs only under the controller's action lock. The preparer may be
 * set from any thread (the embedding application wires it after construction): it is volatile
 * and read once per clone.
 */
final class Clone {

    private static final Logger LOG = LoggerFactory.getLogger(Clone.class);

    /** The section keys Patroni drops from a command's arguments with {@code no_params}. */
    private static final Set<String> CONTROL_KEYS =
            Set.of("command", "no_params", "no_master", "no_leader", "keep_data");

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Binaries bins;
    private final OsCommand exec;
    private volatile String replicaMethod;
    private volatile ReplicaPreparer replicaPreparer;

    Clone(LocalPostgresConfig config, DataDirectory dir, ManagedFiles files, Binaries bins, OsCommand exec) {
        this.config = config;
        this.dir = dir;
        this.files = files;
        this.bins = bins;
        this.exec = exec;
    }

    /** The method a preparer serves and the preparer; null removes it. */
    void preparer(String method, ReplicaPreparer preparer) {
        this.replicaMethod = method;
        this.replicaPreparer = preparer;
    }

    /** Whether a configured method can create a replica with no member to copy from. */
    boolean canWorkWithoutLeader() {
        return config.createReplicaMethods().stream().anyMatch(config::canCreateReplicaWithoutLeader);
    }

    /**
     * Fills the empty data directory with a copy of {@code source}'s cluster, ready to start as its
     * replica; with {@code source} null, by the methods that need no member ({@code no_leader}),
     * ready to start as a standby with no upstream.
     */
    void from(Member source) throws PostgresException {
        if (!dir.isEmpty()) {
            throw new PostgresException("postgresql.data_dir " + dir.path()
                    + " is not empty; a clone needs an empty or missing data directory");
        }
        dir.prepareRuntime();
        StandbySource standby = StandbySource.of(source);
        // a standby cluster's own create_replica_methods for the copy of the remote primary, as Patroni
        List<String> methods = new ArrayList<>(
                standby != null && !standby.createReplicaMethods().isEmpty()
                        ? standby.createReplicaMethods()
                        : config.createReplicaMethods());
        if (source == null || source.connUrl() == null) {
            methods.removeIf(m -> !config.canCreateReplicaWithoutLeader(m));
            if (methods.isEmpty()) {
                throw new PostgresException("no member to clone from, and no method of create_replica_methods "
                        + config.createReplicaMethods() + " has no_leader set");
            }
        }
        String upstream = source == null || source.connUrl() == null
                ? ""
                : ConnInfo.replication(config, dir.passfile(), source).toString();
        List<String> failures = new ArrayList<>();
        for (String method : methods) {
            try {
                if (method.equals("basebackup")) {
                    basebackup(source);
                } else {
                    other(method, source);
                }
                if (!dir.hasCluster()) {
                    throw new PostgresException("it left no cluster (no PG_VERSION) in " + dir.path());
                }
                dir.prepare(); // the PostgreSQL user's, mode 0700, whatever the method left
                files.write(upstream, standby);
                LOG.info(
                        "{}: replica created with {}{}",
                        config.name(),
                        method,
                        source == null ? " (without a leader)" : " from " + source.name());
                return;
            } catch (PostgresException e) {
                LOG.warn("{}: create_replica_methods: {} failed: {}", config.name(), method, e.getMessage());
                failures.add(method + ": " + e.getMessage());
            }
        }
        dir.empty();
        throw new PostgresException("no method of create_replica_methods " + methods + " created the replica ("
                + String.join("; ", failures) + ")");
    }

    private void basebackup(Member source) throws PostgresException {
        dir.empty();
        dir.prepare();
        HostPort from = HostPort.of(source);
        String conninfo = ConnInfo.replication(config, dir.passfile(), source)
                .set("connect_timeout", 10)
                .toString();
        LOG.info("{}: pg_basebackup from {} ({}) into {}", config.name(), source.name(), source.connUrl(), dir.path());
        OsCommand.Result r = exec.run(
                basebackupCommand(bins.path("pg_basebackup"), conninfo),
                OsCommand.LONG,
                Map.of(),
                new BasebackupProgress(
                        new Progress(config.name() + ": clone from " + source.name(), BasebackupProgress.EVERY)));
        if (!r.ok()) {
            dir.empty();
            throw new PostgresException("pg_basebackup from member " + source.name() + " (conn_url " + source.connUrl()
                    + ", " + from.host() + ":" + from.port() + ") failed: " + r.tail());
        }
        try {
            // pg_basebackup copied the source's postmaster log (and managed files): this member writes its own
            dir.files().deleteIfExists(dir.path().resolve("log").resolve("pgha-postmaster.log"));
        } catch (IOException e) {
            LOG.debug("cannot remove the copied log: {}", e.getMessage());
        }
    }

    /**
     * pg_basebackup's command line: pgha's own arguments, then {@code postgresql.basebackup}'s
     * ({@code --max-rate=}, {@code --checkpoint=}, ...). pgha asks for a fast checkpoint unless the
     * options choose one (a spread checkpoint spares a busy primary at the cost of a slower clone).
     */
    List<String> basebackupCommand(String pgBasebackup, String conninfo) {
        return basebackupCommandFor(pgBasebackup, dir.path().toString(), conninfo);
    }

    List<String> basebackupCommandFor(String pgBasebackup, String dataDir, String conninfo) {
        List<String> cmd =
                new ArrayList<>(List.of(pgBasebackup, "-D", dataDir, "-X", "stream", "--no-password", "-d", conninfo));
        List<String> options = config.basebackupOptions();
        if (options.stream().noneMatch(o -> o.startsWith("--checkpoint"))) {
            cmd.add("--checkpoint=fast");
        }
        if (options.stream().noneMatch(o -> o.equals("--progress") || o.equals("-P"))) {
            cmd.add("--progress"); // read by BasebackupProgress
        }
        cmd.addAll(options);
        return cmd;
    }

    /** A method other than basebackup: its command, or the preparer that serves it. */
    private void other(String method, Member source) throws PostgresException {
        Map<String, Object> options = config.replicaMethodOptions(method);
        if (!LocalPostgresConfig.pythonTrue(options.get("keep_data"))) {
            dir.empty();
        }
        ReplicaPreparer preparer = replicaPreparer;
        if (options.get("command") == null && preparer != null && method.equals(replicaMethod)) {
            dir.prepare();
            LOG.info("{}: creating the replica with {}", config.name(), method);
            try {
                preparer.prepare(dir.path());
            } catch (Exception e) {
                throw new PostgresException(e.getMessage(), e);
            }
            return;
        }
        dir.prepareForUserCommand(exec.user().switchUser());
        List<String> command = command(method, options, source);
        LOG.info("{}: creating the replica with {}: {}", config.name(), method, command);
        OsCommand.Result r = exec.runUserCommand(
                command, OsCommand.LONG, Map.of("PGPASSFILE", dir.passfile().toString()));
        if (!r.ok()) {
            throw new PostgresException(command.get(0) + " exited with code " + r.exitCode() + ": " + r.tail());
        }
    }

    /** Patroni's command line for a custom method: the command's words, then {@code --key=value}s. */
    List<String> command(String method, Map<String, Object> options, Member source) throws PostgresException {
        Object cmd = options.get("command");
        List<String> words =
                OsCommand.userCommandWords("postgresql." + method + ".command", cmd == null ? method : cmd.toString());
        if (words.isEmpty()) {
            throw new PostgresException("postgresql." + method + ".command is empty");
        }
        Map<String, Object> params = new LinkedHashMap<>(options);
        params.remove("command");
        if (LocalPostgresConfig.pythonTrue(options.get("no_params"))) {
            params.keySet().removeAll(CONTROL_KEYS);
        } else {
            params.put("scope", config.scope() == null ? "" : config.scope());
            params.put("role", "replica");
            params.put("datadir", dir.path().toString());
            params.put(
                    "connstring",
                    source == null || source.connUrl() == null
                            ? ""
                            : ConnInfo.replication(config, dir.passfile(), source)
                                    .toString());
        }
        params.forEach((k, v) -> words.add("--" + k + "=" + pythonStr(v)));
        return words;
    }

    /** A YAML value as Python's {@code str()} prints it (True, not true), as Patroni passes it. */
    private static String pythonStr(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        return v.toString();
    }
}
