package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's data directory made from another member: by a {@link ReplicaPreparer} when
 * {@code create_replica_methods} lists its method before {@code basebackup}, else by
 * {@code pg_basebackup -X stream} from the member's {@code conn_url}; then pgha's managed files
 * naming that member as upstream. Only into an empty data directory, and a failure empties it
 * again.
 *
 * <p>Threading: {@link #from} runs only under the controller's action lock. The preparer may be
 * set from any thread (the embedding application wires it after construction): it is volatile
 * and read once per clone.
 */
final class Clone {

    private static final Logger LOG = LoggerFactory.getLogger(Clone.class);

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

    /** The other method than basebackup and what carries it out; null removes it. */
    void preparer(String method, ReplicaPreparer preparer) {
        this.replicaMethod = method;
        this.replicaPreparer = preparer;
    }

    /** Fills the empty data directory with a copy of {@code source}'s cluster, ready to start as its replica. */
    void from(Member source) throws PostgresException {
        if (!dir.isEmpty()) {
            throw new PostgresException("postgresql.data_dir " + dir.path()
                    + " is not empty; a clone needs an empty or missing data directory");
        }
        HostPort from = HostPort.of(source);
        dir.prepare();
        dir.prepareRuntime();
        if (prepareFromOtherMethod(source)) {
            return;
        }
        String conninfo = ConnInfo.replication(config, dir.passfile(), source)
                .set("connect_timeout", 10)
                .toString();
        LOG.info("{}: pg_basebackup from {} ({}) into {}", config.name(), source.name(), source.connUrl(), dir.path());
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("pg_basebackup"),
                        "-D",
                        dir.path().toString(),
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                        "--no-password",
                        "-d",
                        conninfo),
                OsCommand.LONG);
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
        files.write(ConnInfo.replication(config, dir.passfile(), source).toString());
        LOG.info("{}: cloned from {}", config.name(), source.name());
    }

    /** Tries the configured method that comes before basebackup; true when it created the replica. */
    private boolean prepareFromOtherMethod(Member source) throws PostgresException {
        ReplicaPreparer preparer = replicaPreparer;
        String method = replicaMethod;
        List<String> methods = config.createReplicaMethods();
        if (preparer == null
                || method == null
                || !methods.contains(method)
                || (methods.contains("basebackup") && methods.indexOf(method) > methods.indexOf("basebackup"))) {
            return false;
        }
        try {
            LOG.info("{}: creating the replica with {} (create_replica_methods {})", config.name(), method, methods);
            preparer.prepare(dir.path());
            files.write(ConnInfo.replication(config, dir.passfile(), source).toString());
            LOG.info("{}: replica created with {}", config.name(), method);
            return true;
        } catch (Exception e) {
            dir.empty();
            if (!methods.contains("basebackup")) {
                throw new PostgresException(
                        "create_replica_methods: " + method + " failed and basebackup is not"
                                + " configured as a fallback: " + e.getMessage(),
                        e);
            }
            LOG.warn(
                    "{}: {} could not create the replica ({}); falling back to pg_basebackup",
                    config.name(),
                    method,
                    e.getMessage());
            return false;
        }
    }
}
