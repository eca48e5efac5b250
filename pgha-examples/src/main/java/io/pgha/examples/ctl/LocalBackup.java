package io.pgha.examples.ctl;

import io.pgha.backup.BackupCommands;
import io.pgha.backup.BackupConfig;
import io.pgha.backup.BackupException;
import io.pgha.backup.BackupService;
import io.pgha.config.PatroniYaml;
import io.pgha.config.PatroniYamlException;
import io.pgha.dcs.ClusterState;
import io.pgha.examples.BackupWiring;
import io.pgha.ha.NodeState;
import io.pgha.postgres.local.LocalPostgresConfig;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

/**
 * The backup verbs' access to pgha-backup: they run on a member's host, where its pgBackRest
 * configuration and repository are, from that member's own YAML ({@code -c node.yml}), through
 * {@link BackupCommands} in this process. The member's role (primary, or a replica backing up with
 * {@code --backup-standby}) and the leader come from one DCS read when a command needs them.
 */
final class LocalBackup {

    private LocalBackup() {}

    /** Runs one of {@link BackupCommands}' verbs for the member whose YAML is {@code file}; prints it. */
    static int run(Path file, Session session, Function<BackupCommands, BackupCommands.Result> verb) {
        // a backup's progress lines (bytes and percent, every 10 s) on ctl's stderr, its other log lines
        // staying at WARNING
        if (org.slf4j.LoggerFactory.getLogger(io.pgha.process.Progress.LOGGER)
                instanceof ch.qos.logback.classic.Logger progress) {
            progress.setLevel(ch.qos.logback.classic.Level.INFO);
        }
        PatroniYaml yaml;
        try {
            yaml = PatroniYaml.load(file);
        } catch (PatroniYamlException e) {
            throw new CtlException(e.getMessage());
        } catch (NoSuchFileException e) {
            throw new CtlException("no such file: " + file);
        } catch (IOException e) {
            throw new CtlException("cannot read " + file + ": " + e.getMessage());
        }
        BackupConfig config;
        try {
            LocalPostgresConfig pg = LocalPostgresConfig.fromPatroni(yaml.name(), yaml.postgresql(), yaml.bootstrap());
            config = BackupWiring.config(yaml, pg);
        } catch (IllegalArgumentException e) {
            throw new CtlException(yaml.locate(e.getMessage()), Ctl.EXIT_USAGE);
        }
        if (config == null) {
            throw new CtlException(
                    file + " has no backup: section. The backup verbs run on a member's host with"
                            + " that member's configuration file: pgha ctl -c <node.yml> backup ...",
                    Ctl.EXIT_USAGE);
        }
        String scope = yaml.scope();
        String self = yaml.name();
        try (BackupService service = new BackupService(
                config,
                () -> state(session.read(scope), scope, self),
                BackupWiring.primaryLocator(config, BackupWiring.superuserPassword(yaml)),
                Clock.systemUTC(),
                Duration.ofDays(1))) {
            BackupCommands.Result r = verb.apply(new BackupCommands(service, Clock.systemUTC()));
            // stdout whatever the outcome, as patronictl prints its "Failed: ..." lines: a failed
            // drill's listing is still the listing; the exit code tells scripts
            session.out.print(r.text().endsWith("\n") ? r.text() : r.text() + "\n");
            return r.exitCode();
        } catch (BackupException e) {
            throw new CtlException("backups of " + self + ": " + e.getMessage());
        }
    }

    /** What the service needs of a node's state: this member's role and the cluster. */
    static NodeState state(ClusterState cluster, String scope, String self) {
        boolean leader = cluster.hasLeader() && cluster.leader().name().equals(self);
        return new NodeState(
                self,
                scope,
                leader ? "primary" : "replica",
                leader,
                null,
                cluster,
                null,
                null,
                null,
                Map.of(),
                null,
                null,
                null,
                null,
                false);
    }
}
