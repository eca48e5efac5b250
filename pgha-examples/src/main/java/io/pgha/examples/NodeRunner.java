package io.pgha.examples;

import io.pgha.api.RestApiServer;
import io.pgha.backup.BackupConfig;
import io.pgha.backup.BackupException;
import io.pgha.backup.BackupService;
import io.pgha.backup.DataDirectories;
import io.pgha.config.PatroniYaml;
import io.pgha.config.PatroniYamlException;
import io.pgha.dcs.Dcs;
import io.pgha.ha.HaNode;
import io.pgha.ha.PatroniCallbacks;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import io.pgha.postgres.local.PatroniMember;
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
    /** Not a static field: the log is configured from the file before the first logger exists. */
    private static Logger log() {
        return LoggerFactory.getLogger(NodeRunner.class);
    }

    private final Path file;
    private final HaNode node;
    private final RestApiServer api;
    private final LocalPostgresController postgres;
    private final BackupService backups;
    private final PatroniCallbacks callbacks;

    private NodeRunner(
            Path file,
            HaNode node,
            RestApiServer api,
            LocalPostgresController postgres,
            BackupService backups,
            PatroniCallbacks callbacks) {
        this.file = file;
        this.node = node;
        this.api = api;
        this.postgres = postgres;
        this.backups = backups;
        this.callbacks = callbacks;
    }

    /** What the modules read from the file, each checked (the file itself was checked by PatroniYaml). */
    private record Checked(PatroniMember.Parts parts, BackupConfig backupConfig) {
        LocalPostgresConfig pgConfig() {
            return parts.postgres();
        }
    }

    /** {@code pgha run [--validate-config] FILE}, its command line parsed by {@link Commands.Run}. */
    static int main(Path file, boolean validateOnly, PrintStream err) {
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

        Checked checked;
        try {
            checked = checkModules(yaml);
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
            NodeRunner started = start(file, checked);
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

    /**
     * Each module's reading of its section (PatroniMember.check, then the backup section, whose
     * archiving goes into the postgresql parameters); an IllegalArgumentException names the key. Starts nothing.
     */
    private static Checked checkModules(PatroniYaml yaml) {
        PatroniMember.Parts parts = PatroniMember.check(yaml);
        BackupConfig backupConfig = BackupWiring.config(yaml, parts.postgres());
        if (backupConfig != null) {
            parts = parts.withPostgres(LocalPostgresConfig.fromPatroni(
                    yaml.scope(),
                    yaml.name(),
                    BackupWiring.withArchiving(yaml.postgresql(), backupConfig),
                    yaml.bootstrap()));
        }
        return new Checked(parts, backupConfig);
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

    /** Where the fence's files live: {@link PatroniMember#fenceDir}. */
    static Path fenceDir(String scope, String name, boolean root, String... runtimeDirs) {
        return PatroniMember.fenceDir(scope, name, root, runtimeDirs);
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

    private static NodeRunner start(Path file, Checked checked)
            throws PostgresException, BackupException, IOException, InterruptedException {
        PatroniYaml yaml = checked.parts().yaml();
        LocalPostgresConfig pgConfig = checked.pgConfig();
        BackupConfig backupConfig = checked.backupConfig();
        RestApiConfig apiConfig = checked.parts().restApi();
        Dcs dcs = PatroniMember.connectDcs(checked.parts());
        LocalPostgresController postgres = new LocalPostgresController(pgConfig);
        // always registered, even with no callbacks yet: a reload may bring some (rereadFile)
        PatroniCallbacks callbacks = PatroniMember.callbacks(checked.parts());
        HaNode node = PatroniMember.buildNode(checked.parts(), dcs, postgres, NodeRunner::halt, callbacks);
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
        self[0] = new NodeRunner(file, node, api, postgres, backups, callbacks);
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
     * Re-reads the file, as Patroni's SIGHUP does: first the {@code restapi} section (new
     * credentials, allowlist and headers apply in place; a new listen address or new TLS settings
     * or files bind again, see {@link RestApiServer#reconfigure}; a new api_url goes into the
     * member key at the next cycle, and the node calls the other members with the new credentials);
     * then the log section; the tags
     * go into the member key at the next cycle; {@code postgresql.callbacks} run from the next
     * event on; the postgresql parameters and pg_hba go into pgha's files at the reload that
     * follows. What cannot change without an agent restart is named in a warning. A file that
     * does not pass the checks of a start, or a {@code restapi} section that cannot be applied
     * (a TLS file missing, a port taken), is logged and changes nothing.
     */
    synchronized void rereadFile() {
        try {
            PatroniYaml yaml = PatroniYaml.load(file);
            // the same checks as at start, before anything changes
            Checked checked = checkModules(yaml);
            LocalPostgresConfig next = checked.pgConfig();
            try {
                api.reconfigure(checked.parts().restApi());
            } catch (IllegalArgumentException | IOException e) {
                log().error(
                                "{}: restapi not reloaded, the running REST API and configuration stay: {}",
                                file,
                                e.getMessage());
                return;
            }
            // where the other members and patronictl find the API: the member key, from the next cycle
            node.updateApiUrl(yaml.nodeConfig().apiUrl());
            // the calls to the other members (peer status, failsafe) with the new credentials and TLS
            node.updateRestApi(checked.parts().restApi());
            Logging.configure(yaml.log()); // checks before it changes anything
            callbacks.reconfigure(checked.parts().callbacks());
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
