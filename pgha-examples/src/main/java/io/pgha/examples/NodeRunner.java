package io.pgha.examples;

import io.pgha.api.RestApiServer;
import io.pgha.backup.BackupConfig;
import io.pgha.backup.BackupException;
import io.pgha.backup.BackupService;
import io.pgha.backup.DataDirectories;
import io.pgha.config.PatroniYaml;
import io.pgha.config.PatroniYamlException;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.ha.HaNode;
import io.pgha.ha.PatroniCallbacks;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import io.pgha.rest.RestApiConfig;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code pgha run <node.yml>}: one node from a Patroni configuration file. Everything is checked
 * before anything starts (the file, then each module's reading of its section, each error naming
 * the key and its line; {@code bootstrap.dcs} by type and range, so that a bad value never reaches
 * the DCS); {@code pgha run --validate-config <node.yml>} makes those checks and stops. Then: the
 * DCS session, the REST API (health checks answer from the first second), the HA loop. SIGTERM or SIGINT stops the node cleanly through {@link #close()};
 * a second one halts the JVM at once.
 *
 * <p>With a {@code backup:} section (pgha-backup, see docs/backups.md): pgBackRest's archive and
 * restore commands go into the PostgreSQL parameters of every member, a {@link BackupService}
 * listens to the node and runs the schedule, {@code create_replica_methods: [pgbackrest, ...]}
 * restores new replicas from the repository, and the backup status is published as the
 * {@code "backup"} section of {@code GET /patroni} and as {@code pgha_backup_*} gauges.
 */
final class NodeRunner implements Closeable {
    /** How often the backup schedule is checked (also on every role or leader change). */
    static final Duration BACKUP_TICK = Duration.ofMinutes(1);
    /** How long one postgresql.callbacks command may run before it is killed. */
    static final long CALLBACK_TIMEOUT_SECONDS = 60;
    /** Not a static field: the log is configured from the file before the first logger exists. */
    private static Logger log() {
        return LoggerFactory.getLogger(NodeRunner.class);
    }

    private final Path file;
    private final HaNode node;
    private final RestApiServer api;
    private final LocalPostgresController postgres;
    private final BackupService backups;

    private NodeRunner(
            Path file, HaNode node, RestApiServer api, LocalPostgresController postgres, BackupService backups) {
        this.file = file;
        this.node = node;
        this.api = api;
        this.postgres = postgres;
        this.backups = backups;
    }

    /** What the modules read from the file, each checked (the file itself was checked by PatroniYaml). */
    private record Checked(
            LocalPostgresConfig pgConfig, BackupConfig backupConfig, RestApiConfig apiConfig, DcsProvider provider) {}

    static int main(String[] args, PrintStream err) {
        boolean validateOnly = args.length == 2 && "--validate-config".equals(args[0]);
        if (!validateOnly && (args.length != 1 || args[0].startsWith("-"))) {
            err.println("usage: pgha run [--validate-config] <node.yml>");
            return 2;
        }
        Path file = Path.of(args[args.length - 1]);
        if (validateOnly) {
            return validate(file, err);
        }
        PatroniYaml yaml;
        try {
            yaml = PatroniYaml.load(file);
        } catch (PatroniYamlException e) {
            err.println("pgha: " + e.getMessage());
            return 2;
        } catch (NoSuchFileException e) {
            err.println("pgha: no such file: " + file);
            return 2;
        } catch (IOException e) {
            err.println("pgha: cannot read " + file + ": " + e.getMessage());
            return 2;
        }
        try {
            Logging.configure(yaml.log());
        } catch (IllegalArgumentException e) {
            err.println("pgha: " + yaml.locate(e.getMessage()));
            return 2;
        }
        Logger log = LoggerFactory.getLogger(NodeRunner.class);
        yaml.warnings().forEach(w -> log.warn("{}: {}", yaml.source(), w));
        if (!yaml.environmentOverrides().isEmpty()) {
            log.info("{}: overridden by the environment: {}", yaml.source(), yaml.environmentOverrides());
        }

        LocalPostgresConfig pgConfig;
        BackupConfig backupConfig;
        RestApiConfig apiConfig;
        DcsProvider provider;
        try {
            Checked checked = checkModules(yaml);
            pgConfig = checked.pgConfig();
            backupConfig = checked.backupConfig();
            apiConfig = checked.apiConfig();
            provider = checked.provider();
        } catch (IllegalArgumentException e) {
            err.println("pgha: " + yaml.locate(e.getMessage()));
            return 2;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        NodeRunner[] runner = new NodeRunner[1];
        Signals.install(err, () -> {
            NodeRunner r;
            synchronized (runner) {
                r = runner[0];
            }
            if (r != null) {
                r.reload();
            } else {
                log.warn("SIGHUP before the node started: nothing to reload yet");
            }
        });
        Thread hook = new Thread(
                () -> {
                    NodeRunner r;
                    synchronized (runner) {
                        r = runner[0];
                        runner[0] = null;
                    }
                    if (r != null) {
                        r.close();
                    }
                    stopped.countDown();
                },
                "pgha-shutdown-hook");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            NodeRunner started = start(file, yaml, pgConfig, backupConfig, apiConfig, provider);
            synchronized (runner) {
                runner[0] = started;
            }
            stopped.await();
            return 0;
        } catch (IllegalArgumentException e) {
            log.error("{}", yaml.locate(e.getMessage()));
            return 2;
        } catch (PostgresException | BackupException | IOException e) {
            log.error("cannot start member {}: {}", yaml.name(), e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** Each module's reading of its section; an IllegalArgumentException names the key. Starts nothing. */
    private static Checked checkModules(PatroniYaml yaml) {
        LocalPostgresConfig pgConfig =
                LocalPostgresConfig.fromPatroni(yaml.scope(), yaml.name(), yaml.postgresql(), yaml.bootstrap());
        BackupConfig backupConfig = BackupWiring.config(yaml, pgConfig);
        if (backupConfig != null) {
            pgConfig = LocalPostgresConfig.fromPatroni(
                    yaml.scope(),
                    yaml.name(),
                    BackupWiring.withArchiving(yaml.postgresql(), backupConfig),
                    yaml.bootstrap());
        }
        RestApiConfig apiConfig = RestApiConfig.fromPatroni(yaml.restapi());
        DcsProvider provider = DcsProvider.find(yaml.dcsType());
        yaml.nodeConfig();
        yaml.watchdogConfig();
        if (yaml.postgresql().get("callbacks") instanceof java.util.Map<?, ?> cb) {
            @SuppressWarnings("unchecked")
            java.util.Map<String, ?> callbacks = (java.util.Map<String, ?>) cb;
            new PatroniCallbacks(callbacks, yaml.scope(), CALLBACK_TIMEOUT_SECONDS);
        }
        return new Checked(pgConfig, backupConfig, apiConfig, provider);
    }

    /**
     * {@code pgha run --validate-config <file>}, as {@code patroni --validate-config}: the checks
     * {@code pgha run} makes before it starts anything, and nothing else (no DCS connection, no port,
     * no data directory). Each problem on a line of its own on stderr, then exit status 1; a valid
     * file prints its warnings only and exits 0.
     */
    private static int validate(Path file, PrintStream err) {
        Logging.configure("WARNING", false); // the modules' own log lines would read as problems
        PatroniYaml yaml;
        try {
            yaml = PatroniYaml.load(file);
        } catch (PatroniYamlException e) {
            e.problems().forEach(p -> err.println(file + ": " + p));
            return 1;
        } catch (NoSuchFileException e) {
            err.println(file + ": no such file");
            return 1;
        } catch (IOException e) {
            err.println(file + ": cannot read: " + e.getMessage());
            return 1;
        }
        yaml.warnings().forEach(w -> err.println(file + ": warning: " + w));
        try {
            checkModules(yaml);
        } catch (IllegalArgumentException e) {
            err.println(yaml.locate(e.getMessage()));
            return 1;
        }
        return 0;
    }

    /**
     * Where the fence's script and log live: a private directory of this member's own (ShellFence
     * creates it with mode 0700 and refuses one that is a symlink, another user's, or open to
     * others). As root under {@code /run/pgha}, where no other user can make it first; otherwise
     * under the first of {@code $RUNTIME_DIRECTORY} (systemd's {@code RuntimeDirectory=}) and
     * {@code $XDG_RUNTIME_DIR} that is set, else under the temp dir. Scope and name are reduced to
     * file-name characters: they come from the file and must not lead out of that directory.
     *
     * @param runtimeDirs candidate parent directories in order of preference (null or blank
     *     entries skipped; when one lists several, as systemd may, the first)
     */
    static java.nio.file.Path fenceDir(String scope, String name, boolean root, String... runtimeDirs) {
        String leaf = "pgha-fence-" + fileName(scope) + "-" + fileName(name);
        if (root && java.nio.file.Files.isDirectory(java.nio.file.Path.of("/run"))) {
            return java.nio.file.Path.of("/run", "pgha", leaf);
        }
        for (String d : runtimeDirs) {
            String first = d == null ? "" : (d.indexOf(':') < 0 ? d : d.substring(0, d.indexOf(':'))).strip();
            if (!first.isEmpty() && java.nio.file.Files.isDirectory(java.nio.file.Path.of(first))) {
                return java.nio.file.Path.of(first, leaf);
            }
        }
        return java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), leaf);
    }

    private static String fileName(String s) {
        String safe = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.startsWith(".") ? "_" + safe.substring(1) : safe;
    }

    private static boolean runsAsRoot() {
        try {
            return ((Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | RuntimeException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** Exit status of a runner whose HA loop died of an Error (EX_SOFTWARE). */
    static final int FATAL_EXIT = 70;

    /**
     * The HA loop died (an OutOfMemoryError, a StackOverflowError: HaNode logged it): the process
     * ends at once, without the shutdown hook (which would need the loop, and memory), so that the
     * REST API stops answering with stale state, the fence stops a primary's PostgreSQL as for any
     * agent death, and the other members see the member key expire. A supervisor restarts it.
     */
    private static void halt(Throwable e) {
        try {
            System.err.println("pgha: the HA loop died (" + e + "); exiting with status " + FATAL_EXIT);
        } finally {
            Runtime.getRuntime().halt(FATAL_EXIT);
        }
    }

    /**
     * The watchdog section; the fence feeds the device (docs/safety.md, "Linux watchdog"). Without a
     * section pgha uses none, where Patroni would try /dev/watchdog: say so when that device is there.
     */
    private static io.pgha.config.WatchdogConfig watchdog(PatroniYaml yaml) {
        io.pgha.config.WatchdogConfig w = yaml.watchdogConfig();
        if (w.enabled()) {
            log().info(
                            "watchdog: mode {}, device {}, safety_margin {}",
                            w.mode().yamlName(),
                            w.device(),
                            w.safetyMargin());
        } else if (!yaml.raw().containsKey("watchdog")
                && java.nio.file.Files.isWritable(
                        java.nio.file.Path.of(io.pgha.config.WatchdogConfig.DEFAULT_DEVICE))) {
            log().info(
                            "watchdog: {} is there but no watchdog section is: pgha leaves it alone (Patroni would use"
                                    + " it in automatic mode); set watchdog.mode to automatic or required to use it",
                            io.pgha.config.WatchdogConfig.DEFAULT_DEVICE);
        }
        return w;
    }

    private static NodeRunner start(
            Path file,
            PatroniYaml yaml,
            LocalPostgresConfig pgConfig,
            BackupConfig backupConfig,
            RestApiConfig apiConfig,
            DcsProvider provider)
            throws PostgresException, BackupException, IOException, InterruptedException {
        Dcs dcs = connect(yaml, provider);
        LocalPostgresController postgres = new LocalPostgresController(pgConfig);
        // peers are asked with the node's own REST credentials and TLS; the fence stops PostgreSQL
        // from outside this JVM if it dies or freezes while holding the lock (docs/safety.md)
        Path stateDir = fenceDir(
                yaml.scope(),
                yaml.name(),
                runsAsRoot(),
                System.getenv("RUNTIME_DIRECTORY"),
                System.getenv("XDG_RUNTIME_DIR"));
        HaNode.Builder builder = HaNode.builder()
                .config(yaml.nodeConfig())
                .dcs(dcs)
                .postgres(postgres)
                .restApi(apiConfig)
                .onFatalError(NodeRunner::halt)
                .fence(new io.pgha.postgres.fence.ShellFence(pgConfig.dataDir(), stateDir, watchdog(yaml)))
                // the failsafe promise outlives a restart of this agent (docs/safety.md)
                .stateDirectory(stateDir);
        Object callbacks = yaml.postgresql().get("callbacks");
        if (callbacks instanceof java.util.Map<?, ?> map && !map.isEmpty()) {
            @SuppressWarnings("unchecked")
            java.util.Map<String, ?> cb = (java.util.Map<String, ?>) map;
            PatroniCallbacks listener = new PatroniCallbacks(cb, yaml.scope(), CALLBACK_TIMEOUT_SECONDS);
            builder.listener(listener);
            callbacks = listener;
        }
        HaNode node = builder.build();
        if (callbacks instanceof PatroniCallbacks pc) {
            // the role on the command line as the cluster's other members name it (RoleNames)
            pc.roleNames(role -> io.pgha.dcs.RoleNames.wire(role, node.state().cluster(), yaml.name()));
        }
        BackupService backups = null;
        if (backupConfig != null) {
            try {
                backups = backups(yaml, backupConfig, node, postgres, pgConfig);
            } catch (BackupException e) {
                dcs.close();
                postgres.close();
                throw e;
            }
        }
        BackupService b = backups;
        // POST /reload re-reads the file as SIGHUP does: the runner is known only once started
        NodeRunner[] self = new NodeRunner[1];
        RestApiServer api;
        try {
            api = RestApiServer.start(
                    apiConfig,
                    new ExtendedNode(
                            node,
                            () -> b == null
                                    ? Map.of()
                                    : Map.of(
                                            "backup",
                                            BackupWiring.statusSection(
                                                    b.status(), node.state(), java.time.Instant.now())),
                            () -> {
                                NodeRunner r = self[0];
                                if (r != null) {
                                    r.rereadFile();
                                }
                            }));
        } catch (IOException e) {
            closeQuietly(backups);
            dcs.close();
            postgres.close();
            throw new IOException(
                    "REST API cannot listen on " + yaml.restapi().get("listen") + ": " + e.getMessage(), e);
        }
        if (backups != null) {
            backups.start();
        }
        node.start();
        log().info(
                        "member {} of cluster {} running: REST API {}, PostgreSQL {}, DCS {}",
                        yaml.name(),
                        yaml.scope(),
                        yaml.nodeConfig().apiUrl(),
                        pgConfig.connUrl(),
                        yaml.dcsType());
        self[0] = new NodeRunner(file, node, api, postgres, backups);
        // Type=notify units (packaging/systemd/pgha.service): ready once the member runs
        SystemdNotify.ready(System.getenv(), "member " + yaml.name() + " of cluster " + yaml.scope() + " running");
        return self[0];
    }

    /**
     * SIGHUP: re-reads the file and reloads PostgreSQL ({@link #rereadFile}, then the node's reload,
     * which rewrites pgha's files, reloads PostgreSQL and runs on_reload). A file that no longer
     * reads is logged and changes nothing.
     */
    void reload() {
        rereadFile();
        node.reload();
    }

    /**
     * Re-reads the file: its tags go into the member key at the next cycle, its postgresql
     * parameters and pg_hba into pgha's files at the reload that follows. What cannot change
     * without an agent restart is named in a warning; the log section is applied again; the REST
     * API and callbacks are read at start only (documented in docs/operations.md).
     */
    synchronized void rereadFile() {
        try {
            PatroniYaml yaml = PatroniYaml.load(file);
            // the same checks as at start, before anything changes
            LocalPostgresConfig next = checkModules(yaml).pgConfig();
            Logging.configure(yaml.log()); // checks before it changes anything
            node.updateTags(yaml.nodeConfig().tags());
            java.util.List<String> needRestart = postgres.reconfigure(next);
            if (!needRestart.isEmpty()) {
                log().warn("{}: {} changed; the new values take effect when pgha restarts", file, needRestart);
            }
            log().info("{}: re-read", file);
        } catch (IllegalArgumentException e) {
            log().error("{}: not reloaded, the running configuration stays: {}", file, e.getMessage());
        } catch (IOException | PostgresException e) {
            log().error("{}: cannot be re-read, the running configuration stays: {}", file, e.getMessage());
        }
    }

    /**
     * The backup service, listening to the node; and the replica preparer when
     * create_replica_methods names pgbackrest (the controller uses it only when it comes before
     * basebackup, and falls back to pg_basebackup when it fails).
     */
    private static BackupService backups(
            PatroniYaml yaml,
            BackupConfig config,
            HaNode node,
            LocalPostgresController postgres,
            LocalPostgresConfig pgConfig)
            throws BackupException {
        BackupService service = new BackupService(
                config,
                node::state,
                BackupWiring.primaryLocator(config, BackupWiring.superuserPassword(yaml)),
                Clock.systemUTC(),
                BACKUP_TICK);
        node.addListener(service);
        if (DataDirectories.serves(pgConfig.createReplicaMethods())) {
            postgres.replicaPreparer("pgbackrest", new DataDirectories(service.pgbackrest())::prepareReplica);
        }
        log().info(
                        "backups of stanza {} to {} (archiving {}, create_replica_methods {})",
                        config.stanza(),
                        config.repoPath(),
                        config.archive() ? "on" : "off",
                        pgConfig.createReplicaMethods());
        return service;
    }

    private static void closeQuietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            log().warn("closing {}: {}", c, e.getMessage());
        }
    }

    /** Connects to the DCS, retrying while it is unreachable (a node may start before its DCS). */
    private static Dcs connect(PatroniYaml yaml, DcsProvider provider) throws InterruptedException {
        long delayMs = 1000;
        while (true) {
            try {
                return provider.create(yaml.dcsSettings());
            } catch (DcsException e) {
                log().warn("DCS {} not reachable: {}; retrying in {} ms", yaml.dcsType(), e.getMessage(), delayMs);
                Thread.sleep(delayMs);
                delayMs = Math.min(delayMs * 2, 10_000);
            }
        }
    }

    /**
     * Stops the backup schedule, the node (a leader releases its lock), then the REST API and
     * PostgreSQL; in pause PostgreSQL keeps running and the lock is left to lapse, as with
     * Patroni. Idempotent.
     */
    @Override
    public void close() {
        log().info("stopping member {}", node.name());
        SystemdNotify.stopping(System.getenv());
        closeQuietly(backups);
        boolean paused = node.state().isPaused();
        node.close();
        api.close();
        if (paused) {
            postgres.closeLeavingServerRunning();
        } else {
            postgres.close();
        }
    }
}
