package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A new cluster in an empty data directory: initdb with the superuser's password from a file that
 * lives only for initdb's run, pgha's managed files, a first start as primary, and the replication
 * role. A failure empties the directory again, as it was empty before.
 *
 * <p>Threading: runs only under the controller's action lock.
 */
final class Bootstrap {

    private static final Logger LOG = LoggerFactory.getLogger(Bootstrap.class);

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Postmaster postmaster;
    private final Binaries bins;
    private final OsCommand exec;

    Bootstrap(
            LocalPostgresConfig config,
            DataDirectory dir,
            ManagedFiles files,
            Postmaster postmaster,
            Binaries bins,
            OsCommand exec) {
        this.config = config;
        this.dir = dir;
        this.files = files;
        this.postmaster = postmaster;
        this.bins = bins;
        this.exec = exec;
    }

    /** Bootstraps a running primary; returns its system identifier. */
    String run() throws PostgresException {
        if (!dir.isEmpty()) {
            throw new PostgresException("postgresql.data_dir " + dir.path() + " is not empty; bootstrap needs an empty "
                    + "or missing data directory");
        }
        postmaster.checkPortFree();
        dir.prepare();
        dir.prepareRuntime();
        try {
            initdb();
            files.write(null);
            postmaster.start(OsCommand.SHORT.multipliedBy(5));
            try (Connection c = Sql.local(config)) {
                createReplicationUser(c);
            }
        } catch (PostgresException | SQLException | RuntimeException e) {
            // the directory was empty: put it back as it was, so that a retry can bootstrap
            LOG.error("{}: bootstrap failed, emptying {} again: {}", config.name(), dir.path(), e.getMessage());
            postmaster.stopQuietly();
            dir.empty();
            if (e instanceof PostgresException pe) {
                throw pe;
            }
            throw new PostgresException("bootstrap failed: " + e.getMessage(), e);
        }
        String id = dir.systemIdentifier();
        LOG.info("{}: bootstrapped a new cluster, system identifier {}", config.name(), id);
        return id;
    }

    private void initdb() throws PostgresException {
        // the password reaches initdb through a 0600 file, never its command line (ps shows that to all)
        Path pwfile = dir.runtimeDir().resolve(".initdb-pw-" + HexFormat.of().formatHex(randomBytes(6)));
        try {
            dir.writeOwned(pwfile, config.superuserPassword() + "\n");
            List<String> cmd = new ArrayList<>(List.of(
                    bins.path("initdb"),
                    "-D",
                    dir.path().toString(),
                    "--username=" + config.superuser(),
                    "--pwfile=" + pwfile));
            if (!InitdbOptions.choosesAuthentication(config.initdbOptions())) {
                cmd.add("--auth-local=scram-sha-256");
                cmd.add("--auth-host=scram-sha-256");
            }
            if (!config.initdbOptions().contains("--data-checksums")
                    && !config.initdbOptions().contains("--no-data-checksums")) {
                cmd.add("--data-checksums");
            }
            cmd.addAll(config.initdbOptions());
            LOG.info("{}: initdb {}", config.name(), dir.path());
            OsCommand.Result r = exec.run(cmd, OsCommand.LONG);
            if (!r.ok()) {
                throw new PostgresException("initdb failed for postgresql.data_dir " + dir.path() + " (options "
                        + config.initdbOptions() + " from bootstrap.initdb): " + r.tail());
            }
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot write initdb's password file in " + dir.runtimeDir() + ": " + e.getMessage(), e);
        } finally {
            try {
                dir.files().deleteIfExists(pwfile);
            } catch (IOException e) {
                LOG.error("{}: cannot delete {}: {}", config.name(), pwfile, e.getMessage());
            }
        }
    }

    /**
     * Creates (or updates) the replication role. The password goes to the server as a SCRAM
     * verifier computed here (pgjdbc's alterUserPassword), and statement logging is off for the
     * session, so neither the password nor its verifier reach the server log.
     */
    private void createReplicationUser(Connection c) throws SQLException {
        if (config.replicationUser().equals(config.superuser())) {
            return;
        }
        try (Statement st = c.createStatement()) {
            st.execute("SET log_statement = 'none'");
            st.execute("SET log_min_duration_statement = -1");
            st.execute("SET log_min_error_statement = 'panic'");
            boolean exists;
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ?")) {
                ps.setString(1, config.replicationUser());
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            st.execute((exists ? "ALTER" : "CREATE") + " ROLE " + Sql.ident(config.replicationUser())
                    + " WITH REPLICATION LOGIN");
        }
        c.unwrap(PGConnection.class)
                .alterUserPassword(
                        config.replicationUser(), config.replicationPassword().toCharArray(), "scram-sha-256");
        LOG.info("{}: replication user {} ready", config.name(), config.replicationUser());
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }
}
