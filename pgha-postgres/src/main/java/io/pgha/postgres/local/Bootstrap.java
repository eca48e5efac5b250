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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /**
     * Bootstraps a running primary; returns its system identifier. With Patroni's
     * {@code bootstrap.method} (a custom command, e.g. a restore from a backup) instead of initdb:
     * the command fills the data directory, PostgreSQL recovers as the method's
     * {@code recovery_conf} says (to its target, then promotes), and the superuser's password and
     * the replication role are set as this member's file says. Then {@code post_bootstrap}.
     */
    String run() throws PostgresException {
        if (!dir.isEmpty()) {
            throw new PostgresException("postgresql.data_dir " + dir.path() + " is not empty; bootstrap needs an empty "
                    + "or missing data directory");
        }
        postmaster.checkPortFree();
        if (config.bootstrapMethod() != null) {
            dir.prepareForUserCommand(exec.user().switchUser());
        } else {
            dir.prepare();
        }
        dir.prepareRuntime();
        try {
            if (config.bootstrapMethod() != null) {
                customBootstrap();
            } else {
                initdb();
                files.write(null);
                postmaster.start(OsCommand.SHORT.multipliedBy(5));
                try (Connection c = Sql.local(config, dir.path())) {
                    createReplicationUser(c);
                    createRewindUser(c);
                }
            }
            postBootstrap();
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

    /** Patroni's custom bootstrap: the method's command, its recovery, then this member's users and files. */
    private void customBootstrap() throws PostgresException, SQLException {
        String method = config.bootstrapMethod();
        Map<String, Object> options = config.bootstrapMethodOptions();
        List<String> cmd = OsCommand.userCommandWords(
                "bootstrap." + method + ".command", options.get("command").toString());
        if (!LocalPostgresConfig.pythonTrue(options.get("no_params"))) {
            cmd.add("--scope=" + (config.scope() == null ? "" : config.scope()));
            cmd.add("--datadir=" + dir.path());
        }
        LOG.info("{}: running the custom bootstrap method {}: {}", config.name(), method, cmd);
        OsCommand.Result r = exec.runUserCommand(cmd, OsCommand.LONG, Map.of());
        if (!r.ok()) {
            throw new PostgresException(
                    "bootstrap." + method + ".command exited with code " + r.exitCode() + ": " + r.tail());
        }
        if (!dir.hasCluster()) {
            throw new PostgresException(
                    "bootstrap." + method + ".command left no cluster (no PG_VERSION) in " + dir.path());
        }
        dir.prepare(); // the PostgreSQL user's, mode 0700, whatever the command left
        Map<String, String> recovery = new LinkedHashMap<>();
        if (options.get("recovery_conf") instanceof Map<?, ?> rc) {
            rc.forEach((k, v) ->
                    recovery.put(String.valueOf(k), v instanceof Boolean b ? (b ? "on" : "off") : String.valueOf(v)));
        }
        try {
            // a promote trigger left in the copy would end recovery at once; without a recovery_conf
            // (and without keep_existing_recovery_conf) the copy starts as a primary
            dir.files().deleteIfExists(dir.path().resolve("promote"));
            if (recovery.isEmpty() && !LocalPostgresConfig.pythonTrue(options.get("keep_existing_recovery_conf"))) {
                dir.files().deleteIfExists(dir.path().resolve("recovery.signal"));
                dir.files().deleteIfExists(dir.standbySignal());
            } else if (!recovery.isEmpty() && !isOn(recovery.remove("standby_mode"))) {
                // as Patroni's write_recovery_conf: a recovery_conf means archive recovery to its
                // target (recovery.signal), not standby mode, even if the backup carried standby.signal
                // (a backup of a replica does): standby mode would wait for WAL forever and never promote
                dir.files().deleteIfExists(dir.standbySignal());
            }
        } catch (IOException e) {
            throw new PostgresException("cannot prepare the restored data directory: " + e.getMessage(), e);
        }
        files.writeForCustomBootstrap(recovery);
        postmaster.start(OsCommand.LONG);
        awaitEndOfRecovery();
        try (Connection c = Sql.local(config, dir.path())) {
            setSuperuserPassword(c);
            createReplicationUser(c);
            createRewindUser(c);
        }
        files.write(null);
        postmaster.reload();
    }

    /** Patroni's parse_bool for a recovery_conf value ("on" once Bootstrap turned a YAML true into it). */
    private static boolean isOn(String v) {
        return v != null && List.of("on", "true", "yes", "1").contains(v.trim().toLowerCase(java.util.Locale.ROOT));
    }

    /** Waits until the restored cluster has recovered to its target and promoted itself (recovery_target_action). */
    private void awaitEndOfRecovery() throws PostgresException, SQLException {
        long deadline = System.nanoTime() + OsCommand.LONG.toNanos();
        while (true) {
            try (Connection c = Sql.local(config, dir.path());
                    Statement st = c.createStatement()) {
                if (!Sql.inRecovery(st)) {
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new PostgresException("the custom bootstrap's recovery did not end");
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PostgresException("interrupted waiting for the custom bootstrap's recovery", e);
            }
        }
    }

    /** The restored cluster's superuser gets this member's password (pgha connects with it from now on). */
    private void setSuperuserPassword(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET log_statement = 'none'");
            st.execute("SET log_min_duration_statement = -1");
            st.execute("SET log_min_error_statement = 'panic'");
        }
        c.unwrap(PGConnection.class)
                .alterUserPassword(
                        config.superuser(), config.superuserPassword().toCharArray(), "scram-sha-256");
    }

    /**
     * Patroni's {@code post_bootstrap}: the command with the local connection string as its last
     * argument, the superuser's password in a passfile, {@code synchronous_commit=local}. A failure
     * fails the bootstrap.
     */
    private void postBootstrap() throws PostgresException {
        String post = config.postBootstrap();
        if (post == null) {
            return;
        }
        List<String> cmd = OsCommand.userCommandWords("bootstrap.post_bootstrap", post);
        // as Patroni's local_connect_kwargs (the Unix socket's directory with use_unix_socket), in
        // Patroni's order (its format_dsn): dbname, user, host, port
        java.nio.file.Path socket = config.useUnixSocket() ? Sql.localSocket(dir.path(), config.port()) : null;
        String host =
                socket != null ? socket.getParent().toString() : config.listen().localConnectHost();
        cmd.add("dbname=postgres user=" + ConnInfo.quote(config.superuser()) + " host=" + ConnInfo.quote(host)
                + " port=" + config.port());
        Path pass = dir.runtimeDir().resolve(".post-bootstrap-" + HexFormat.of().formatHex(randomBytes(6)));
        try {
            dir.writeOwned(
                    pass,
                    "*:*:*:" + ManagedConfig.pgpassEscape(config.superuser()) + ":"
                            + ManagedConfig.pgpassEscape(config.superuserPassword()) + "\n");
            LOG.info("{}: running bootstrap.post_bootstrap: {}", config.name(), cmd);
            OsCommand.Result r = exec.runUserCommand(
                    cmd,
                    OsCommand.LONG,
                    Map.of("PGPASSFILE", pass.toString(), "PGOPTIONS", "-c synchronous_commit=local"));
            if (!r.ok()) {
                throw new PostgresException(
                        "bootstrap.post_bootstrap " + post + " exited with code " + r.exitCode() + ": " + r.tail());
            }
        } catch (IOException e) {
            throw new PostgresException("cannot write post_bootstrap's passfile: " + e.getMessage(), e);
        } finally {
            try {
                dir.files().deleteIfExists(pass);
            } catch (IOException e) {
                LOG.error("{}: cannot delete {}: {}", config.name(), pass, e.getMessage());
            }
        }
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
        createOrUpdateRole(c, config.replicationUser(), config.replicationPassword(), "REPLICATION LOGIN");
        LOG.info("{}: replication user {} ready", config.name(), config.replicationUser());
    }

    /** The functions pg_rewind calls on its source, granted to a rewind user that is not a superuser. */
    static final List<String> REWIND_FUNCTIONS = List.of(
            "pg_catalog.pg_ls_dir(text, boolean, boolean)",
            "pg_catalog.pg_stat_file(text, boolean)",
            "pg_catalog.pg_read_binary_file(text)",
            "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)");

    /**
     * As Patroni's post_bootstrap: a rewind user other than the superuser (authentication.rewind)
     * is created with LOGIN and its password, and may execute the functions pg_rewind needs.
     */
    private void createRewindUser(Connection c) throws SQLException {
        if (!config.separateRewindUser()) {
            return;
        }
        if (!config.rewindUser().equals(config.replicationUser())) {
            createOrUpdateRole(c, config.rewindUser(), config.rewindPassword(), "LOGIN");
        }
        try (Statement st = c.createStatement()) {
            for (String f : REWIND_FUNCTIONS) {
                st.execute("GRANT EXECUTE ON FUNCTION " + f + " TO " + Sql.ident(config.rewindUser()));
            }
        }
        LOG.info("{}: rewind user {} ready", config.name(), config.rewindUser());
    }

    /**
     * Creates (or updates) a role. The password goes to the server as a SCRAM verifier computed
     * here (pgjdbc's alterUserPassword), and statement logging is off for the session, so neither
     * the password nor its verifier reach the server log.
     */
    private static void createOrUpdateRole(Connection c, String role, String password, String options)
            throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET log_statement = 'none'");
            st.execute("SET log_min_duration_statement = -1");
            st.execute("SET log_min_error_statement = 'panic'");
            boolean exists;
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ?")) {
                ps.setString(1, role);
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            st.execute((exists ? "ALTER" : "CREATE") + " ROLE " + Sql.ident(role) + " WITH " + options);
        }
        c.unwrap(PGConnection.class).alterUserPassword(role, password.toCharArray(), "scram-sha-256");
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }
}
