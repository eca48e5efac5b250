package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import io.pgha.postgres.StopMode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link PostgresController} over the PostgreSQL binaries of this machine: initdb, pg_ctl,
 * pg_basebackup, pg_rewind, pg_controldata, pg_waldump, and JDBC for status and SQL actions.
 *
 * <p>What it writes into the data directory: {@code postgresql.pgha.conf} (its settings, included
 * once from the end of postgresql.conf), {@code pgha.hba.conf} (named by {@code hba_file}),
 * {@code standby.signal} on a replica, and the postmaster's log under {@code log/}. It never
 * edits the user's settings, runs no ALTER SYSTEM, and never removes a data directory unless
 * {@link #removeDataDirectory()} is called (or a bootstrap or clone into an empty directory
 * failed, which leaves the directory empty again).
 *
 * <p>When the JVM runs as root every PostgreSQL binary runs as {@code postgresql.run_as}
 * (default {@code postgres}) through {@code setpriv}, and the data directory, the passfile and
 * pgha's runtime directory belong to that user.
 *
 * <p>Concurrency: actions (bootstrap, clone, start, stop, promote, follow, rewind, ...) are
 * serialized by one lock; {@link #status()} takes no lock, never throws, and may run alongside an
 * action. The superuser password is kept in memory and passed to pgjdbc in connection properties;
 * PostgreSQL's own tools read the passwords from the passfile.
 */
public final class LocalPostgresController implements PostgresController {

    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgresController.class);
    private static final Duration LONG = Duration.ofHours(12);
    private static final Duration SHORT = Duration.ofSeconds(60);
    private static final int SQL_TIMEOUT_SECONDS = 10;
    private static final Pattern WALDUMP_END = Pattern.compile("invalid record length at ([0-9A-Fa-f]+/[0-9A-Fa-f]+)");
    private static final Pattern WALDUMP_LSN = Pattern.compile("lsn: ([0-9A-Fa-f]+/[0-9A-Fa-f]+)");

    private final LocalPostgresConfig config;
    private final Binaries bins;
    private final OsUser user;
    private final OsCommand exec;
    private final Path dataDir;
    private final Path runtimeDir;
    private final Path passfile;
    private final ReentrantLock actions = new ReentrantLock();
    private final Set<Long> startedPids = ConcurrentHashMap.newKeySet();

    /** The upstream conninfo in the managed file; null on a primary. Guarded by {@link #actions}. */
    private volatile String upstreamConninfo;

    private volatile String synchronousStandbyNames = "";
    private volatile boolean closed;
    private final Object statusLock = new Object();
    private Connection statusConnection; // guarded by statusLock
    private long statusConnectionPid; // guarded by statusLock
    private volatile String replicaMethod;
    private volatile ReplicaPreparer replicaPreparer;

    /**
     * Checks the binaries, the OS user and the data directory, and changes nothing on disk.
     *
     * @throws PostgresException naming {@code postgresql.bin_dir}, {@code postgresql.run_as} or
     *     {@code postgresql.data_dir} when one of them cannot be used
     */
    public LocalPostgresController(LocalPostgresConfig config) throws PostgresException {
        this.config = config;
        this.bins = Binaries.locate(config.binDir());
        for (String b : List.of("postgres", "pg_ctl", "pg_controldata", "initdb")) {
            bins.path(b);
        }
        this.user = OsUser.resolve(config.runAs());
        this.exec = new OsCommand(user);
        this.dataDir = config.dataDir();
        this.runtimeDir = Path.of(
                System.getProperty("java.io.tmpdir"), "pgha-" + user.uid() + "-" + shortHash(dataDir.toString()));
        this.passfile = config.pgpass() != null ? config.pgpass() : runtimeDir.resolve("pgpass");
        checkDataDirectory();
        readManagedState();
        LOG.info("{}: PostgreSQL {} as {}, data directory {}", config.name(), bins.dir(), user.describe(), dataDir);
    }

    public LocalPostgresConfig config() {
        return config;
    }

    /** pgha's runtime directory for this data directory: the unix socket and the default passfile. */
    Path runtimeDir() {
        return runtimeDir;
    }

    /** The passfile PostgreSQL's tools read the passwords from. */
    Path passfile() {
        return passfile;
    }

    // ------------------------------------------------------------------ checks

    private void checkDataDirectory() throws PostgresException {
        if (!Files.exists(dataDir, LinkOption.NOFOLLOW_LINKS) && !Files.exists(dataDir)) {
            return;
        }
        if (!Files.isDirectory(dataDir)) {
            throw new PostgresException("postgresql.data_dir " + dataDir + " exists and is not a directory");
        }
        try {
            if (!isDataDirectoryEmpty() && !user.owns(dataDir.toRealPath())) {
                Object owner = Files.getAttribute(dataDir.toRealPath(), "unix:uid");
                throw new PostgresException("postgresql.data_dir " + dataDir + " is owned by uid " + owner + ", not by "
                        + user.describe() + " that PostgreSQL runs as; refusing to use it");
            }
        } catch (IOException e) {
            throw new PostgresException("postgresql.data_dir " + dataDir + " cannot be read: " + e.getMessage(), e);
        }
        Path version = dataDir.resolve("PG_VERSION");
        if (Files.isRegularFile(version)) {
            try {
                String dataMajor = Files.readString(version).strip();
                String binMajor = binariesMajorVersion();
                if (binMajor != null && !binMajor.equals(dataMajor)) {
                    throw new PostgresException("postgresql.data_dir " + dataDir + " holds a PostgreSQL " + dataMajor
                            + " cluster but postgresql.bin_dir " + bins.dir() + " has PostgreSQL " + binMajor);
                }
            } catch (IOException e) {
                throw new PostgresException("cannot read " + version + ": " + e.getMessage(), e);
            }
        }
    }

    private String binariesMajorVersion() throws PostgresException {
        OsCommand.Result r = new OsCommand(new OsUser(null, -1, -1, null, false))
                .run(List.of(bins.path("postgres"), "--version"), SHORT);
        Matcher m = Pattern.compile("\\) (\\d+)").matcher(r.output());
        return r.ok() && m.find() ? m.group(1) : null;
    }

    /**
     * The data directory's database system identifier (from pg_controldata), or null when there
     * is no cluster in it.
     */
    public String systemIdentifier() {
        ControlData cd = controlData();
        return cd == null ? null : cd.systemIdentifier();
    }

    /**
     * Fails unless the data directory holds the cluster with system identifier {@code expected}
     * (the DCS {@code initialize} key): a data directory of another cluster must not join.
     */
    public void verifySystemIdentifier(String expected) throws PostgresException {
        String actual = systemIdentifier();
        if (actual == null) {
            throw new PostgresException(
                    "postgresql.data_dir " + dataDir + " holds no cluster (pg_controldata found none)");
        }
        if (!actual.equals(expected)) {
            throw new PostgresException("postgresql.data_dir " + dataDir + " holds another cluster: system identifier "
                    + actual + ", the cluster's is " + expected);
        }
    }

    private void checkPortFree() throws PostgresException {
        String host = config.listen().firstHost();
        String bindHost = host.equals("*") ? "0.0.0.0" : host;
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(bindHost, config.port()));
        } catch (IOException e) {
            throw new PostgresException(
                    "port " + config.port() + " on " + host
                            + " (postgresql.listen) is already in use or cannot be bound: " + e.getMessage(),
                    e);
        }
    }

    // ------------------------------------------------------------------ files

    /** Creates the data directory if needed, gives it to the PostgreSQL user with mode 0700. */
    private void prepareDataDirectory() throws PostgresException {
        try {
            Path parent = dataDir.getParent();
            if (!Files.isDirectory(parent)) {
                throw new PostgresException(
                        "postgresql.data_dir " + dataDir + ": parent directory " + parent + " does not exist");
            }
            checkTraversable(parent, "postgresql.data_dir");
            if (!Files.exists(dataDir)) {
                Files.createDirectory(dataDir);
            }
            user.own(dataDir, "rwx------");
        } catch (IOException e) {
            throw new PostgresException("postgresql.data_dir " + dataDir + " cannot be prepared: " + e.getMessage(), e);
        }
    }

    private void checkTraversable(Path dir, String key) throws PostgresException, IOException {
        Path bad = user.firstUntraversable(dir.toRealPath());
        if (bad != null && user.switchUser()) {
            // the mode bits say no, but a supplementary group or an ACL may still allow it: ask the OS
            if (exec.run(List.of("test", "-x", bad.toString()), SHORT).ok()) {
                return;
            }
        }
        if (bad != null) {
            throw new PostgresException(key + " " + dir + ": " + user.describe() + " cannot enter " + bad
                    + " (make it traversable, e.g. chmod o+x " + bad + ")");
        }
    }

    /** pgha's runtime directory (unix socket, default passfile) and the passfile, owned by the PostgreSQL user. */
    private void prepareRuntime() throws PostgresException {
        try {
            if (!Files.isDirectory(runtimeDir)) {
                Files.createDirectories(runtimeDir);
            }
            if (!Files.isSymbolicLink(runtimeDir) && (user.owns(runtimeDir) || isOwnedByJvm(runtimeDir))) {
                user.own(runtimeDir, "rwx------");
            } else {
                throw new PostgresException("pgha's runtime directory " + runtimeDir
                        + " belongs to another user; remove it or fix its owner");
            }
            checkTraversable(runtimeDir, "pgha's runtime directory (java.io.tmpdir)");
            checkTraversable(passfile.getParent(), "postgresql.pgpass");
            writeFile(passfile, ManagedConfig.passfile(config));
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot prepare " + runtimeDir + " or postgresql.pgpass " + passfile + ": " + e.getMessage(), e);
        }
    }

    private static boolean isOwnedByJvm(Path p) throws IOException, PostgresException {
        return ((Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == OsUser.currentUid();
    }

    /** Writes a file atomically, owned by the PostgreSQL user, mode 0600. */
    private void writeFile(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".pgha-tmp");
        Files.deleteIfExists(tmp);
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        user.own(tmp, "rw-------");
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Writes pgha's managed files: the include line (once), postgresql.pgha.conf and
     * pgha.hba.conf; on a replica ({@code conninfo != null}) also standby.signal.
     */
    private void writeManagedFiles(String conninfo) throws PostgresException {
        try {
            Path conf = dataDir.resolve("postgresql.conf");
            String current = Files.isRegularFile(conf) ? Files.readString(conf, StandardCharsets.UTF_8) : "";
            if (!ManagedConfig.hasInclude(current)) {
                writeFile(conf, ManagedConfig.withInclude(current));
            }
            writeFile(dataDir.resolve(ManagedConfig.HBA_FILE), ManagedConfig.hba(config));
            writeFile(
                    dataDir.resolve(ManagedConfig.CONF_FILE),
                    ManagedConfig.render(
                            config,
                            runtimeDir,
                            dataDir.resolve(ManagedConfig.HBA_FILE),
                            conninfo,
                            config.useSlots() ? config.slotName() : null,
                            synchronousStandbyNames));
            upstreamConninfo = conninfo;
            if (conninfo != null) {
                Path signal = dataDir.resolve("standby.signal");
                if (!Files.exists(signal)) {
                    writeFile(signal, "");
                }
            }
            Path logDir = dataDir.resolve("log");
            if (!Files.isDirectory(logDir)) {
                Files.createDirectory(logDir);
            }
            user.own(logDir, "rwx------");
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot write pgha's configuration into postgresql.data_dir " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /** Re-reads what a previous run left in postgresql.pgha.conf (upstream, synchronous_standby_names). */
    private void readManagedState() {
        Path conf = dataDir.resolve(ManagedConfig.CONF_FILE);
        if (!Files.isRegularFile(conf)) {
            return;
        }
        try {
            for (String line : Files.readAllLines(conf, StandardCharsets.UTF_8)) {
                int eq = line.indexOf(" = ");
                if (eq < 0 || line.startsWith("#")) {
                    continue;
                }
                String key = line.substring(0, eq).trim();
                String raw = line.substring(eq + 3).trim();
                if (raw.length() < 2 || !raw.startsWith("'") || !raw.endsWith("'")) {
                    continue;
                }
                String value =
                        raw.substring(1, raw.length() - 1).replace("''", "'").replace("\\\\", "\\");
                if (key.equals("primary_conninfo")) {
                    upstreamConninfo = value.isEmpty() ? null : value;
                } else if (key.equals("synchronous_standby_names")) {
                    synchronousStandbyNames = value;
                }
            }
        } catch (IOException e) {
            LOG.warn("{}: cannot read {}: {}", config.name(), conf, e.getMessage());
        }
    }

    private String conninfoTo(Member leader, boolean withTimeout) throws PostgresException {
        HostPort hp = hostPort(leader);
        ConnInfo ci = ConnInfo.to(hp, config.replicationUser(), passfile.toString(), config.name());
        if (withTimeout) {
            ci.set("connect_timeout", 10);
        }
        return ci.toString();
    }

    private static HostPort hostPort(Member member) throws PostgresException {
        if (member == null) {
            throw new PostgresException("no member given");
        }
        try {
            return HostPort.fromConnUrl(member.connUrl());
        } catch (IllegalArgumentException e) {
            throw new PostgresException("member " + member.name() + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ SPI

    @Override
    public boolean isDataDirectoryEmpty() {
        if (!Files.isDirectory(dataDir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dataDir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public String bootstrap() throws PostgresException {
        actions.lock();
        try {
            ensureOpen();
            if (!isDataDirectoryEmpty()) {
                throw new PostgresException("postgresql.data_dir " + dataDir
                        + " is not empty; bootstrap needs an empty " + "or missing data directory");
            }
            checkPortFree();
            prepareDataDirectory();
            prepareRuntime();
            try {
                initdb();
                writeManagedFiles(null);
                startPostmaster(SHORT.multipliedBy(5));
                try (Connection c = connectLocal()) {
                    createReplicationUser(c);
                }
            } catch (PostgresException | SQLException | RuntimeException e) {
                // the directory was empty: put it back as it was, so that a retry can bootstrap
                LOG.error("{}: bootstrap failed, emptying {} again: {}", config.name(), dataDir, e.getMessage());
                stopQuietly();
                emptyDataDirectory();
                if (e instanceof PostgresException pe) {
                    throw pe;
                }
                throw new PostgresException("bootstrap failed: " + e.getMessage(), e);
            }
            String id = systemIdentifier();
            LOG.info("{}: bootstrapped a new cluster, system identifier {}", config.name(), id);
            return id;
        } finally {
            actions.unlock();
        }
    }

    private void initdb() throws PostgresException {
        Path pwfile = runtimeDir.resolve(".initdb-pw-" + HexFormat.of().formatHex(randomBytes(6)));
        try {
            writeFile(pwfile, config.superuserPassword() + "\n");
            List<String> cmd = new ArrayList<>(List.of(
                    bins.path("initdb"),
                    "-D",
                    dataDir.toString(),
                    "--username=" + config.superuser(),
                    "--pwfile=" + pwfile,
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256"));
            if (!config.initdbOptions().contains("--data-checksums")
                    && !config.initdbOptions().contains("--no-data-checksums")) {
                cmd.add("--data-checksums");
            }
            cmd.addAll(config.initdbOptions());
            LOG.info("{}: initdb {}", config.name(), dataDir);
            OsCommand.Result r = exec.run(cmd, LONG);
            if (!r.ok()) {
                throw new PostgresException("initdb failed for postgresql.data_dir " + dataDir + " (options "
                        + config.initdbOptions() + " from bootstrap.initdb): " + r.tail());
            }
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot write initdb's password file in " + runtimeDir + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(pwfile);
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

    @Override
    public void cloneFrom(Member source) throws PostgresException {
        actions.lock();
        try {
            ensureOpen();
            if (!isDataDirectoryEmpty()) {
                throw new PostgresException("postgresql.data_dir " + dataDir
                        + " is not empty; a clone needs an empty or missing data directory");
            }
            HostPort from = hostPort(source);
            prepareDataDirectory();
            prepareRuntime();
            if (prepareFromOtherMethod(source)) {
                return;
            }
            String conninfo = conninfoTo(source, true);
            LOG.info("{}: pg_basebackup from {} ({}) into {}", config.name(), source.name(), source.connUrl(), dataDir);
            OsCommand.Result r = exec.run(
                    List.of(
                            bins.path("pg_basebackup"),
                            "-D",
                            dataDir.toString(),
                            "-X",
                            "stream",
                            "-c",
                            "fast",
                            "--no-password",
                            "-d",
                            conninfo),
                    LONG);
            if (!r.ok()) {
                emptyDataDirectory();
                throw new PostgresException("pg_basebackup from member " + source.name() + " (conn_url "
                        + source.connUrl() + ", " + from.host() + ":" + from.port() + ") failed: " + r.tail());
            }
            try {
                // pg_basebackup copied the source's postmaster log and our own managed files: this member writes its
                // own
                Files.deleteIfExists(dataDir.resolve("log").resolve("pgha-postmaster.log"));
            } catch (IOException e) {
                LOG.debug("cannot remove the copied log: {}", e.getMessage());
            }
            writeManagedFiles(conninfoTo(source, false));
            LOG.info("{}: cloned from {}", config.name(), source.name());
        } finally {
            actions.unlock();
        }
    }

    /**
     * Sets how a replica is created when {@code create_replica_methods} lists a method before
     * {@code basebackup} (e.g. {@code [pgbackrest, basebackup]}); null removes it.
     */
    public void replicaPreparer(String method, ReplicaPreparer preparer) {
        this.replicaMethod = method;
        this.replicaPreparer = preparer;
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
            preparer.prepare(dataDir);
            writeManagedFiles(conninfoTo(source, false));
            LOG.info("{}: replica created with {}", config.name(), method);
            return true;
        } catch (Exception e) {
            emptyDataDirectory();
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

    @Override
    public void start(Member leader, Duration timeout) throws PostgresException {
        actions.lock();
        try {
            ensureOpen();
            startLocked(leader, timeout);
        } finally {
            actions.unlock();
        }
    }

    private void startLocked(Member leader, Duration timeout) throws PostgresException {
        PidFile running = runningPostmaster();
        if (running != null) {
            throw new PostgresException("PostgreSQL in " + dataDir + " is already running (postmaster pid "
                    + running.pid() + "); stop it first, or use follow to change its upstream");
        }
        if (isDataDirectoryEmpty() || !Files.isRegularFile(dataDir.resolve("PG_VERSION"))) {
            throw new PostgresException("postgresql.data_dir " + dataDir + " holds no cluster to start");
        }
        checkPortFree();
        prepareRuntime();
        boolean standbySignal = Files.exists(dataDir.resolve("standby.signal"));
        writeManagedFiles(leader == null ? null : conninfoTo(leader, false));
        startPostmaster(timeout);
        if (leader == null && standbySignal) {
            // a replica's data directory started as primary: let PostgreSQL end recovery on a new timeline
            LOG.info("{}: started in recovery (standby.signal was present); promoting", config.name());
            promoteLocked(timeout);
        }
    }

    /**
     * Starts the postmaster as a child of this JVM (like Patroni, not through {@code pg_ctl start},
     * which would leave it to init to reap) and waits, as {@code pg_ctl -w} does, until
     * postmaster.pid says it accepts connections ({@code ready}, or {@code standby} on a hot
     * standby), or it exits, or {@code timeout} passes (then it is left starting).
     */
    private void startPostmaster(Duration timeout) throws PostgresException {
        Path log = dataDir.resolve("log").resolve("pgha-postmaster.log");
        try {
            if (!Files.exists(log)) {
                Files.createFile(log);
            }
            user.own(log, "rw-------");
        } catch (IOException e) {
            throw new PostgresException("cannot create the postmaster log " + log + ": " + e.getMessage(), e);
        }
        long secs = Math.max(1, timeout.toSeconds());
        LOG.info("{}: starting PostgreSQL ({}:{})", config.name(), config.listenAddresses(), config.port());
        long logStart = sizeOf(log);
        Process p = exec.launch(List.of(bins.path("postgres"), "-D", dataDir.toString()), log);
        startedPids.add(p.pid());
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            PidFile pid = PidFile.read(dataDir);
            boolean ours =
                    pid != null && (pid.pid() == p.pid() || p.descendants().anyMatch(d -> d.pid() == pid.pid()));
            if (ours && pid.pid() != p.pid()) {
                startedPids.add(pid.pid());
            }
            if (ours && ("ready".equals(pid.status()) || "standby".equals(pid.status()))) {
                LOG.info("{}: PostgreSQL started, postmaster pid {}", config.name(), pid.pid());
                return;
            }
            if (!p.isAlive()) {
                startedPids.remove(p.pid());
                String logTail = tailFrom(log, logStart, 20);
                if (logTail.contains("Address already in use")) {
                    throw new PostgresException("port " + config.port() + " (postgresql.listen) is already in use: "
                            + lastLines(logTail, 3));
                }
                throw new PostgresException("PostgreSQL in " + dataDir + " exited during start (code " + p.exitValue()
                        + "): " + lastLines(logTail, 5));
            }
            if (Instant.now().isAfter(deadline)) {
                throw new PostgresException("PostgreSQL did not become ready within " + secs
                        + "s; it is still starting " + "(postmaster pid " + p.pid() + "), see " + log);
            }
            sleep(50);
        }
    }

    @Override
    public void stop(StopMode mode, boolean checkpointFirst, Duration timeout) throws PostgresException {
        if (mode == StopMode.SMART) {
            // only a smart shutdown waits for clients; a fence (immediate) must never wait on this lock
            closeStatusConnection();
        }
        actions.lock();
        try {
            stopLocked(mode, checkpointFirst, timeout);
        } finally {
            actions.unlock();
        }
    }

    private void stopLocked(StopMode mode, boolean checkpointFirst, Duration timeout) throws PostgresException {
        PidFile pid = runningPostmaster();
        if (pid == null) {
            LOG.info("{}: stop: PostgreSQL is not running", config.name());
            return;
        }
        if (checkpointFirst && mode != StopMode.IMMEDIATE) {
            try (Connection c = connectLocal();
                    Statement st = c.createStatement()) {
                st.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
                boolean recovery;
                try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                    rs.next();
                    recovery = rs.getBoolean(1);
                }
                if (!recovery) {
                    st.execute("CHECKPOINT");
                }
            } catch (SQLException e) {
                LOG.warn("{}: CHECKPOINT before stop failed ({}); stopping anyway", config.name(), e.getMessage());
            }
        }
        String m = mode.name().toLowerCase(Locale.ROOT);
        long secs = Math.max(1, timeout.toSeconds());
        LOG.info("{}: pg_ctl stop -m {}", config.name(), m);
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("pg_ctl"),
                        "stop",
                        "-D",
                        dataDir.toString(),
                        "-m",
                        m,
                        "-w",
                        "-t",
                        String.valueOf(secs)),
                timeout.plusSeconds(30));
        if (!r.ok() && PidFile.isAlive(pid.pid())) {
            throw new PostgresException("pg_ctl stop -m " + m + " failed for " + dataDir + ": " + r.tail());
        }
        startedPids.remove(pid.pid());
    }

    @Override
    public void promote(Duration timeout) throws PostgresException {
        actions.lock();
        try {
            ensureOpen();
            promoteLocked(timeout);
        } finally {
            actions.unlock();
        }
    }

    private void promoteLocked(Duration timeout) throws PostgresException {
        int secs = (int) Math.max(1, timeout.toSeconds());
        Instant deadline = Instant.now().plus(timeout);
        try (Connection c = connectLocal();
                Statement st = c.createStatement()) {
            st.setQueryTimeout(secs + 10);
            if (!inRecovery(st)) {
                LOG.info("{}: promote: already a primary", config.name());
            } else {
                LOG.info("{}: promoting", config.name());
                try (ResultSet rs = st.executeQuery("SELECT pg_promote(true, " + secs + ")")) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        throw new PostgresException("pg_promote did not finish within " + secs + "s");
                    }
                }
                while (inRecovery(st)) {
                    if (Instant.now().isAfter(deadline)) {
                        throw new PostgresException("still in recovery " + secs + "s after pg_promote");
                    }
                    sleep(100);
                }
            }
        } catch (SQLException e) {
            throw new PostgresException("promote failed: " + e.getMessage(), e);
        }
        checkpointAfterPromote();
        // PostgreSQL removed standby.signal itself; drop the upstream from pgha's file
        writeManagedFiles(null);
        LOG.info("{}: promoted, now a primary", config.name());
    }

    /**
     * After a promotion PostgreSQL only requests a checkpoint; until it is done, pg_control still
     * names the old timeline, and a pg_rewind against this new primary would wrongly find "no
     * rewind required". Patroni checkpoints right after promoting for the same reason. It runs in
     * the background: the new primary already accepts writes and promote() need not wait for a
     * possibly long checkpoint (a rewind against it checks and checkpoints first anyway).
     */
    private void checkpointAfterPromote() {
        Thread t = new Thread(
                () -> {
                    try (Connection c = connectLocal();
                            Statement st = c.createStatement()) {
                        st.execute("CHECKPOINT");
                        LOG.debug("{}: checkpoint after promote done", config.name());
                    } catch (SQLException e) {
                        LOG.warn(
                                "{}: CHECKPOINT after promote failed ({}); a rewind against this member checkpoints first",
                                config.name(),
                                e.getMessage());
                    }
                },
                "pgha-checkpoint-after-promote-" + config.name());
        t.setDaemon(true);
        t.start();
    }

    /** Makes {@code leader}'s pg_control show its current timeline (see {@link #checkpointAfterPromote()}). */
    private void ensureCheckpointedOn(Member leader, HostPort hp) throws PostgresException {
        try (Connection c = Sql.connect(
                        hp.host(), hp.port(), config.superuser(), config.superuserPassword(), SQL_TIMEOUT_SECONDS);
                Statement st = c.createStatement()) {
            st.setQueryTimeout((int) SHORT.toSeconds() * 5);
            try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), (SELECT timeline_id FROM "
                    + "pg_control_checkpoint()), CASE WHEN pg_is_in_recovery() THEN 0 ELSE "
                    + "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END")) {
                rs.next();
                if (rs.getBoolean(1) || rs.getLong(2) == rs.getLong(3)) {
                    return;
                }
            }
            LOG.info(
                    "{}: {} has not checkpointed since its promotion; CHECKPOINT there before pg_rewind",
                    config.name(),
                    leader.name());
            st.execute("CHECKPOINT");
        } catch (SQLException e) {
            throw new PostgresException(
                    "cannot prepare " + leader.name() + " (" + leader.connUrl() + ") for pg_rewind: " + e.getMessage(),
                    e);
        }
    }

    private static boolean inRecovery(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    @Override
    public void follow(Member leader, Duration timeout) throws PostgresException {
        actions.lock();
        try {
            ensureOpen();
            String conninfo = conninfoTo(leader, false);
            PidFile pid = runningPostmaster();
            if (pid != null) {
                Boolean recovery = queryInRecovery();
                if (recovery == null) {
                    throw new PostgresException(
                            "PostgreSQL is running but not answering; cannot tell whether it may follow "
                                    + leader.name());
                }
                if (recovery) {
                    writeManagedFiles(conninfo);
                    reloadLocked();
                    LOG.info("{}: now following {} (reloaded, no restart)", config.name(), leader.name());
                    return;
                }
                LOG.info("{}: a primary asked to follow {}: stopping it first", config.name(), leader.name());
                stopLocked(StopMode.FAST, true, timeout);
            }
            boolean wasPrimary = !Files.exists(dataDir.resolve("standby.signal"));
            if (wasPrimary || !controlDataClean()) {
                if (needsRewindLocked(leader)) {
                    if (!rewindLocked(leader)) {
                        throw new PostgresException(
                                "diverged from " + leader.name() + " and pg_rewind was not possible ("
                                        + (config.usePgRewind() ? "see the log" : "postgresql.use_pg_rewind is off")
                                        + "); it needs a new clone");
                    }
                }
            }
            startLocked(leader, timeout);
            LOG.info("{}: started as a replica of {}", config.name(), leader.name());
        } finally {
            actions.unlock();
        }
    }

    private boolean controlDataClean() {
        ControlData cd = controlData();
        return cd != null && cd.cleanlyShutDown();
    }

    @Override
    public boolean needsRewind(Member leader) throws PostgresException {
        actions.lock();
        try {
            return needsRewindLocked(leader);
        } finally {
            actions.unlock();
        }
    }

    private boolean needsRewindLocked(Member leader) throws PostgresException {
        long localTimeline;
        long localLsn;
        boolean inRecovery;
        long checkpointEnd = 0;
        PostgresStatus s = status();
        if (s.isRunning()) {
            localTimeline = s.timeline();
            localLsn = s.lastLsn();
            inRecovery = s.role() == PostgresStatus.Role.REPLICA;
            if (inRecovery) {
                // the status names the WAL receiver's timeline, or, with no receiver (its leader just
                // went away), pg_control's: the last restartpoint's, stale after a timeline switch, so
                // a replica that replayed past a switch looked diverged. IDENTIFY_SYSTEM on a standby
                // answers its replay timeline (Patroni asks the same way).
                long replay = replayTimeline();
                if (replay > 0) {
                    localTimeline = replay;
                }
            }
        } else {
            ControlData cd = controlData();
            if (cd == null) {
                throw new PostgresException("postgresql.data_dir " + dataDir + " holds no cluster");
            }
            long[] t = cd.localTimelineLsn();
            if (t[0] == 0) {
                LOG.info("{}: not shut down cleanly (state '{}'); a rewind decides", config.name(), cd.state());
                return true;
            }
            localTimeline = t[0];
            localLsn = t[1];
            inRecovery = t[2] == 1;
            if (!inRecovery) {
                checkpointEnd = checkpointEnd(localTimeline, localLsn);
            }
        }
        HostPort hp = hostPort(leader);
        long leaderTimeline;
        List<TimelineHistory.Entry> history = List.of();
        try (Connection c = Sql.connect(
                        hp.host(), hp.port(), config.superuser(), config.superuserPassword(), SQL_TIMEOUT_SECONDS);
                Statement st = c.createStatement()) {
            st.setQueryTimeout(SQL_TIMEOUT_SECONDS);
            try (ResultSet rs = st.executeQuery("SELECT CASE WHEN pg_is_in_recovery() THEN COALESCE("
                    + "(SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint())) "
                    + "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END")) {
                rs.next();
                leaderTimeline = rs.getLong(1);
            }
            if (leaderTimeline > localTimeline && leaderTimeline > 1) {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_read_file(?)")) {
                    ps.setString(1, String.format(Locale.ROOT, "pg_wal/%08X.history", leaderTimeline));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        history = TimelineHistory.parse(rs.getString(1));
                    }
                }
            }
        } catch (SQLException e) {
            throw new PostgresException(
                    "cannot read the timeline history of " + leader.name() + " (" + leader.connUrl() + "): "
                            + e.getMessage(),
                    e);
        }
        boolean diverged =
                TimelineHistory.diverged(localTimeline, localLsn, inRecovery, checkpointEnd, leaderTimeline, history);
        LOG.info(
                "{}: local timeline {} lsn {}{}, leader {} on timeline {}: {}",
                config.name(),
                localTimeline,
                Lsn.format(localLsn),
                inRecovery ? " (replica)" : checkpointEnd == 0 ? "" : " checkpoint end " + Lsn.format(checkpointEnd),
                leader.name(),
                leaderTimeline,
                diverged ? "diverged, needs a rewind" : "no rewind needed");
        return diverged;
    }

    /** The running standby's replay timeline from IDENTIFY_SYSTEM, 0 when it cannot tell. */
    private long replayTimeline() {
        try (Connection c = Sql.connectReplication(
                        config.listen().localConnectHost(),
                        config.port(),
                        config.replicationUser(),
                        config.replicationPassword(),
                        SQL_TIMEOUT_SECONDS);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            return rs.next() ? rs.getLong("timeline") : 0;
        } catch (SQLException e) {
            LOG.debug("{}: IDENTIFY_SYSTEM failed: {}", config.name(), e.getMessage());
            return 0;
        }
    }

    /** Where the shutdown checkpoint record at {@code lsn} ends (pg_waldump), 0 when it cannot tell. */
    private long checkpointEnd(long timeline, long lsn) {
        try {
            OsCommand.Result r = exec.run(
                    List.of(
                            bins.path("pg_waldump"),
                            "-p",
                            dataDir.resolve("pg_wal").toString(),
                            "-t",
                            String.valueOf(timeline),
                            "-s",
                            Lsn.format(lsn),
                            "-n",
                            "2"),
                    SHORT);
            return parseCheckpointEnd(r.output(), lsn);
        } catch (PostgresException e) {
            LOG.warn("{}: pg_waldump failed: {}", config.name(), e.getMessage());
            return 0;
        }
    }

    /**
     * From {@code pg_waldump -n 2} output: one record at {@code lsn}, then the error at the end of
     * WAL, whose LSN is where that record ends. Anything else (a second record) means 0.
     */
    static long parseCheckpointEnd(String output, long lsn) {
        Matcher first = WALDUMP_LSN.matcher(output);
        if (!first.find() || Lsn.parse(first.group(1)) != lsn || first.find()) {
            return 0;
        }
        Matcher end = WALDUMP_END.matcher(output);
        return end.find() ? Lsn.parse(end.group(1)) : 0;
    }

    @Override
    public boolean rewind(Member leader) throws PostgresException {
        closeStatusConnection();
        actions.lock();
        try {
            ensureOpen();
            return rewindLocked(leader);
        } finally {
            actions.unlock();
        }
    }

    private boolean rewindLocked(Member leader) throws PostgresException {
        if (!config.usePgRewind()) {
            LOG.warn("{}: rewind needed but postgresql.use_pg_rewind is off", config.name());
            return false;
        }
        HostPort hp = hostPort(leader);
        if (runningPostmaster() != null) {
            stopLocked(StopMode.FAST, true, SHORT);
        }
        prepareRuntime();
        boolean hadSignal = Files.exists(dataDir.resolve("standby.signal"));
        try {
            return rewindStopped(leader, hp);
        } finally {
            if (hadSignal && !Files.exists(dataDir.resolve("standby.signal"))) {
                // crash recovery moved it away and the rewind failed: a replica's data directory stays a replica's
                try {
                    writeFile(dataDir.resolve("standby.signal"), "");
                } catch (IOException e) {
                    LOG.error("{}: cannot restore standby.signal: {}", config.name(), e.getMessage());
                }
            }
        }
    }

    private boolean rewindStopped(Member leader, HostPort hp) throws PostgresException {
        ensureCleanShutdown();
        ensureCheckpointedOn(leader, hp);
        String source = new ConnInfo()
                .set("host", hp.host())
                .set("port", hp.port())
                .set("user", config.superuser())
                .set("dbname", "postgres")
                .set("passfile", passfile.toString())
                .set("connect_timeout", 10)
                .set("application_name", config.name() + "_rewind")
                .set("sslmode", "prefer")
                .toString();
        LOG.info("{}: pg_rewind from {} ({})", config.name(), leader.name(), leader.connUrl());
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("pg_rewind"),
                        "--target-pgdata=" + dataDir,
                        "--source-server=" + source,
                        "--no-ensure-shutdown"),
                LONG);
        if (!r.ok()) {
            LOG.error("{}: pg_rewind from {} failed: {}", config.name(), leader.name(), r.tail());
            return false;
        }
        LOG.info("{}: pg_rewind done: {}", config.name(), r.tail());
        writeManagedFiles(conninfoTo(leader, false));
        return true;
    }

    /**
     * pg_rewind needs a target shut down cleanly. A crashed instance is taken through crash
     * recovery in single-user mode first, as Patroni does: {@code postgres --single} with
     * archive_mode off, which replays WAL and shuts down cleanly. standby.signal is moved out of the
     * way for that (single-user mode refuses standby mode); the replica configuration written after
     * the rewind puts it back.
     */
    private void ensureCleanShutdown() throws PostgresException {
        ControlData cd = controlData();
        if (cd == null) {
            throw new PostgresException("postgresql.data_dir " + dataDir + " holds no cluster to rewind");
        }
        if (cd.cleanlyShutDown()) {
            return;
        }
        LOG.info("{}: state '{}': crash recovery in single-user mode before pg_rewind", config.name(), cd.state());
        try {
            Files.deleteIfExists(dataDir.resolve("standby.signal"));
            Files.deleteIfExists(dataDir.resolve("recovery.signal"));
        } catch (IOException e) {
            throw new PostgresException("cannot move standby.signal away in " + dataDir + ": " + e.getMessage(), e);
        }
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("postgres"),
                        "--single",
                        "-F",
                        "-D",
                        dataDir.toString(),
                        "-c",
                        "archive_mode=off",
                        "-c",
                        "hot_standby=off",
                        "postgres"),
                LONG);
        ControlData after = controlData();
        if (!r.ok() || after == null || !after.cleanlyShutDown()) {
            throw new PostgresException("crash recovery of " + dataDir + " in single-user mode failed: " + r.tail());
        }
    }

    @Override
    public void removeDataDirectory() throws PostgresException {
        closeStatusConnection();
        actions.lock();
        try {
            PidFile pid = runningPostmaster();
            if (pid != null) {
                throw new PostgresException("PostgreSQL is running (postmaster pid " + pid.pid() + "); stop it before "
                        + "removing postgresql.data_dir " + dataDir);
            }
            LOG.warn("{}: removing the contents of postgresql.data_dir {}", config.name(), dataDir);
            emptyDataDirectory();
            upstreamConninfo = null;
        } finally {
            actions.unlock();
        }
    }

    /** Deletes everything inside the data directory (not the directory itself, which may be a mount point). */
    private void emptyDataDirectory() throws PostgresException {
        if (!Files.isDirectory(dataDir)) {
            return;
        }
        try {
            Files.walkFileTree(dataDir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    if (!dir.equals(dataDir)) {
                        try {
                            Files.deleteIfExists(dir);
                        } catch (DirectoryNotEmptyException e) {
                            throw new IOException("cannot remove " + dir + ": not empty", e);
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            throw new PostgresException("cannot empty postgresql.data_dir " + dataDir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void restart(Duration timeout) throws PostgresException {
        closeStatusConnection();
        actions.lock();
        try {
            ensureOpen();
            stopLocked(StopMode.FAST, true, timeout);
            checkPortFree();
            prepareRuntime();
            writeManagedFiles(upstreamConninfo);
            startPostmaster(timeout);
        } finally {
            actions.unlock();
        }
    }

    @Override
    public void reload() throws PostgresException {
        actions.lock();
        try {
            ensureOpen();
            writeManagedFiles(upstreamConninfo);
            reloadLocked();
        } finally {
            actions.unlock();
        }
    }

    private void reloadLocked() throws PostgresException {
        if (runningPostmaster() == null) {
            return;
        }
        OsCommand.Result r = exec.run(List.of(bins.path("pg_ctl"), "reload", "-D", dataDir.toString()), SHORT);
        if (!r.ok()) {
            throw new PostgresException("pg_ctl reload failed for " + dataDir + ": " + r.tail());
        }
    }

    @Override
    public void setSynchronousStandbyNames(String value) throws PostgresException {
        String v = value == null ? "" : value;
        if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
            throw new PostgresException("synchronous_standby_names must be a single line");
        }
        actions.lock();
        try {
            ensureOpen();
            String before = synchronousStandbyNames;
            synchronousStandbyNames = v;
            try {
                if (!isDataDirectoryEmpty()) {
                    writeManagedFiles(upstreamConninfo);
                    reloadLocked();
                }
            } catch (PostgresException e) {
                synchronousStandbyNames = before;
                throw e;
            }
            LOG.info("{}: synchronous_standby_names = '{}'", config.name(), v);
        } finally {
            actions.unlock();
        }
    }

    @Override
    public void syncReplicationSlots(Set<String> wanted, Set<String> keep) throws PostgresException {
        Set<String> want = new HashSet<>();
        for (String w : wanted) {
            want.add(SlotNames.isValid(w) ? w : SlotNames.fromMemberName(w));
        }
        Set<String> spare = new HashSet<>(want);
        for (String k : keep) {
            spare.add(SlotNames.isValid(k) ? k : SlotNames.fromMemberName(k));
        }
        actions.lock();
        try (Connection c = connectLocal()) {
            List<String[]> existing = new ArrayList<>();
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery(
                            "SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'")) {
                while (rs.next()) {
                    existing.add(new String[] {rs.getString(1), String.valueOf(rs.getBoolean(2))});
                }
            }
            Set<String> names = new HashSet<>();
            for (String[] e : existing) {
                names.add(e[0]);
                if (!spare.contains(e[0])) {
                    if (Boolean.parseBoolean(e[1])) {
                        LOG.info("{}: slot {} is not wanted but still active; dropping it later", config.name(), e[0]);
                        continue;
                    }
                    try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                        ps.setString(1, e[0]);
                        ps.execute();
                    }
                    LOG.info("{}: dropped physical replication slot {}", config.name(), e[0]);
                }
            }
            for (String w : want) {
                if (!names.contains(w)) {
                    try (PreparedStatement ps =
                            c.prepareStatement("SELECT pg_create_physical_replication_slot(?, true)")) {
                        ps.setString(1, w);
                        ps.execute();
                    }
                    LOG.info("{}: created physical replication slot {}", config.name(), w);
                }
            }
        } catch (SQLException e) {
            throw new PostgresException("syncing replication slots failed: " + e.getMessage(), e);
        } finally {
            actions.unlock();
        }
    }

    // ------------------------------------------------------------------ status

    @Override
    public PostgresStatus status() {
        try {
            return readStatus();
        } catch (RuntimeException e) {
            LOG.warn("{}: status failed: {}", config.name(), e.toString());
            return new PostgresStatus(
                    "unknown", null, 0, 0, 0, 0, null, false, null, null, 0, null, List.of(), List.of(), false, null);
        }
    }

    private PostgresStatus readStatus() {
        if (isDataDirectoryEmpty()) {
            return PostgresStatus.stopped(null, null, 0, 0);
        }
        PidFile pid = PidFile.read(dataDir);
        if (pid != null && pid.alive()) {
            try {
                return withStatusConnection(pid.pid(), this::queryStatus);
            } catch (SQLException e) {
                String state = "stopping".equals(pid.status()) ? "stopping" : PostgresStatus.STARTING;
                if ("ready".equals(pid.status()) || "standby".equals(pid.status())) {
                    // it says it accepts connections, yet pgha cannot connect: likely credentials or pg_hba
                    LOG.warn(
                            "{}: postmaster {} is {} but pgha cannot connect as {}: {}",
                            config.name(),
                            pid.pid(),
                            pid.status(),
                            config.superuser(),
                            e.getMessage());
                } else {
                    LOG.debug("{}: postmaster {} not answering yet ({})", config.name(), pid.pid(), e.getMessage());
                }
                return withState(fromControlData(), state);
            }
        }
        PostgresStatus stopped = fromControlData();
        ControlData cd = controlData();
        boolean crashed = pid != null || (cd != null && !cd.cleanlyShutDown());
        return crashed ? withState(stopped, PostgresStatus.CRASHED) : stopped;
    }

    private PostgresStatus fromControlData() {
        ControlData cd = controlData();
        PostgresStatus.Role role = Files.exists(dataDir.resolve("standby.signal"))
                ? PostgresStatus.Role.REPLICA
                : PostgresStatus.Role.PRIMARY;
        if (cd == null) {
            return PostgresStatus.stopped(role, null, 0, 0);
        }
        long[] t = cd.localTimelineLsn();
        long timeline = t[0] != 0 ? t[0] : cd.checkpointTimeline();
        long lsn = t[1] != 0 ? t[1] : cd.checkpointLsn();
        return PostgresStatus.stopped(role, cd.systemIdentifier(), timeline, lsn);
    }

    private static PostgresStatus withState(PostgresStatus s, String state) {
        return new PostgresStatus(
                state,
                s.role(),
                s.timeline(),
                s.writeLsn(),
                s.receiveLsn(),
                s.replayLsn(),
                s.replayTimestamp(),
                s.replayPaused(),
                s.replicationState(),
                s.systemIdentifier(),
                s.serverVersion(),
                s.postmasterStartTime(),
                s.replication(),
                s.slots(),
                s.pendingRestart(),
                s.synchronousStandbyNames());
    }

    private static final String STATUS_SQL = "SELECT pg_is_in_recovery(), current_setting('server_version_num')::int, "
            + "pg_postmaster_start_time(), (SELECT system_identifier::text FROM pg_control_system()), "
            + "current_setting('synchronous_standby_names'), "
            + "EXISTS (SELECT 1 FROM pg_settings WHERE pending_restart), "
            + "CASE WHEN pg_is_in_recovery() THEN 0 "
            + "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END, "
            + "CASE WHEN pg_is_in_recovery() THEN 0 ELSE (pg_current_wal_lsn() - '0/0')::bigint END, "
            + "COALESCE((pg_last_wal_receive_lsn() - '0/0')::bigint, 0), "
            + "COALESCE((pg_last_wal_replay_lsn() - '0/0')::bigint, 0), "
            + "pg_last_xact_replay_timestamp(), "
            + "CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END, "
            + "(SELECT status FROM pg_stat_wal_receiver), "
            + "(SELECT received_tli FROM pg_stat_wal_receiver), "
            + "(SELECT timeline_id FROM pg_control_checkpoint())";

    private PostgresStatus queryStatus(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.setQueryTimeout(SQL_TIMEOUT_SECONDS);
            boolean recovery;
            int version;
            Instant started;
            String sysid;
            String syncNames;
            boolean pendingRestart;
            long timeline;
            long writeLsn;
            long receiveLsn;
            long replayLsn;
            Instant replayTs;
            boolean paused;
            String receiverStatus;
            try (ResultSet rs = st.executeQuery(STATUS_SQL)) {
                rs.next();
                recovery = rs.getBoolean(1);
                version = rs.getInt(2);
                Timestamp ts = rs.getTimestamp(3);
                started = ts == null ? null : ts.toInstant();
                sysid = rs.getString(4);
                syncNames = rs.getString(5);
                pendingRestart = rs.getBoolean(6);
                timeline = rs.getLong(7);
                writeLsn = rs.getLong(8);
                receiveLsn = rs.getLong(9);
                replayLsn = rs.getLong(10);
                Timestamp rts = rs.getTimestamp(11);
                replayTs = rts == null ? null : rts.toInstant();
                paused = rs.getBoolean(12);
                receiverStatus = rs.getString(13);
                long receivedTli = rs.getLong(14);
                long checkpointTli = rs.getLong(15);
                if (recovery) {
                    timeline = receivedTli != 0 ? receivedTli : checkpointTli;
                }
            }
            List<ReplicationRow> rows = new ArrayList<>();
            if (!recovery) {
                try (ResultSet rs = st.executeQuery("SELECT usename, application_name, client_addr::text, state, "
                        + "sync_state, sync_priority, COALESCE((write_lsn - '0/0')::bigint, 0), "
                        + "COALESCE((flush_lsn - '0/0')::bigint, 0), COALESCE((replay_lsn - '0/0')::bigint, 0) "
                        + "FROM pg_stat_replication ORDER BY application_name")) {
                    while (rs.next()) {
                        rows.add(new ReplicationRow(
                                rs.getString(1),
                                rs.getString(2),
                                rs.getString(3),
                                rs.getString(4),
                                rs.getString(5),
                                rs.getInt(6),
                                rs.getLong(7),
                                rs.getLong(8),
                                rs.getLong(9)));
                    }
                }
            }
            List<String> slots = new ArrayList<>();
            try (ResultSet rs = st.executeQuery(
                    "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name")) {
                while (rs.next()) {
                    slots.add(rs.getString(1));
                }
            }
            String replicationState =
                    !recovery ? null : "streaming".equals(receiverStatus) ? "streaming" : "in archive recovery";
            return new PostgresStatus(
                    PostgresStatus.RUNNING,
                    recovery ? PostgresStatus.Role.REPLICA : PostgresStatus.Role.PRIMARY,
                    timeline,
                    recovery ? 0 : writeLsn,
                    receiveLsn,
                    replayLsn,
                    replayTs,
                    paused,
                    replicationState,
                    sysid,
                    version,
                    started,
                    rows,
                    slots,
                    pendingRestart,
                    syncNames);
        }
    }

    private Boolean queryInRecovery() {
        try (Connection c = connectLocal();
                Statement st = c.createStatement()) {
            st.setQueryTimeout(SQL_TIMEOUT_SECONDS);
            return inRecovery(st);
        } catch (SQLException e) {
            return null;
        }
    }

    @FunctionalInterface
    private interface SqlCall<T> {
        T apply(Connection c) throws SQLException;
    }

    /**
     * Runs {@code call} on the one connection kept open for status queries (the HA loop reads the
     * status several times a cycle: a new login each time cost a thread and a SCRAM handshake). It
     * is re-opened when the postmaster changed or the connection broke, once per call.
     */
    private <T> T withStatusConnection(long postmasterPid, SqlCall<T> call) throws SQLException {
        synchronized (statusLock) {
            for (int attempt = 0; ; attempt++) {
                if (statusConnection == null || statusConnectionPid != postmasterPid) {
                    closeStatusConnection();
                    statusConnection = connectLocal();
                    statusConnectionPid = postmasterPid;
                }
                try {
                    return call.apply(statusConnection);
                } catch (SQLException e) {
                    closeStatusConnection();
                    if (attempt >= 1) {
                        throw e;
                    }
                }
            }
        }
    }

    /** Closes the kept status connection (before a stop: a smart shutdown would wait for it). */
    private void closeStatusConnection() {
        synchronized (statusLock) {
            if (statusConnection != null) {
                try {
                    statusConnection.close();
                } catch (SQLException e) {
                    LOG.debug("closing the status connection: {}", e.getMessage());
                }
                statusConnection = null;
            }
        }
    }

    private Connection connectLocal() throws SQLException {
        return Sql.connect(
                config.listen().localConnectHost(),
                config.port(),
                config.superuser(),
                config.superuserPassword(),
                SQL_TIMEOUT_SECONDS);
    }

    /** pg_controldata of the data directory, or null when there is none or it fails. */
    private ControlData controlData() {
        if (!Files.isRegularFile(dataDir.resolve("global").resolve("pg_control"))) {
            return null;
        }
        try {
            OsCommand.Result r = exec.run(
                    List.of(bins.path("pg_controldata"), "-D", dataDir.toString()), SHORT, Map.of("LC_ALL", "C"));
            return r.ok() ? ControlData.parse(r.output()) : null;
        } catch (PostgresException e) {
            LOG.debug("pg_controldata failed: {}", e.getMessage());
            return null;
        }
    }

    /** The postmaster of this data directory if it is alive. */
    private PidFile runningPostmaster() {
        PidFile pid = PidFile.read(dataDir);
        return pid != null && pid.alive() ? pid : null;
    }

    // ------------------------------------------------------------------ lifecycle

    private void ensureOpen() throws PostgresException {
        if (closed) {
            throw new PostgresException("this controller is closed");
        }
    }

    private void stopQuietly() {
        try {
            stopLocked(StopMode.IMMEDIATE, false, SHORT);
        } catch (PostgresException e) {
            LOG.warn("{}: stop failed: {}", config.name(), e.getMessage());
        }
    }

    /**
     * Stops the postmaster this controller started, if it still runs: a fast shutdown, then an
     * immediate one, then SIGKILL to that PID. Leaves alone a postmaster it did not start.
     */
    @Override
    public void close() {
        closeStatusConnection();
        actions.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            PidFile pid = runningPostmaster();
            if (pid == null || !startedPids.contains(pid.pid())) {
                return;
            }
            for (StopMode mode : List.of(StopMode.FAST, StopMode.IMMEDIATE)) {
                try {
                    stopLocked(mode, false, Duration.ofSeconds(30));
                } catch (PostgresException e) {
                    LOG.warn("{}: close: stop -m {} failed: {}", config.name(), mode, e.getMessage());
                }
                if (!PidFile.isAlive(pid.pid())) {
                    return;
                }
            }
            LOG.warn("{}: close: killing postmaster {}", config.name(), pid.pid());
            ProcessHandle.of(pid.pid()).ifPresent(ProcessHandle::destroyForcibly);
        } finally {
            startedPids.clear();
            actions.unlock();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static String shortHash(String s) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            return Integer.toHexString(s.hashCode());
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    /** The last {@code lines} lines written to {@code file} after byte offset {@code from}. */
    private static String tailFrom(Path file, long from, int lines) {
        try {
            byte[] all = Files.readAllBytes(file);
            int start = (int) Math.min(Math.max(0, from), all.length);
            String text = new String(all, start, all.length - start, StandardCharsets.UTF_8);
            String[] l = text.split("\n");
            return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length));
        } catch (IOException e) {
            return "";
        }
    }

    private static String lastLines(String text, int n) {
        String[] l = text.strip().split("\n");
        return String.join(" | ", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - n), l.length));
    }

    private static void sleep(long millis) throws PostgresException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted", e);
        }
    }
}
