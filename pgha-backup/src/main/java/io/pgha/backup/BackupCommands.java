package io.pgha.backup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The {@code ctl backup} verbs as methods returning text and an exit code, so the CLI only prints:
 * {@code backup now [--type full|diff|logical]}, {@code backup list}, {@code backup verify}, and
 * {@code restore} guidance. Each runs on this member through its {@link BackupService}
 * (serialized with the schedule). Thread-safe.
 */
public final class BackupCommands {

    /** A verb's outcome: what to print and the process exit code (0 ok, 1 failed, 2 bad input). */
    public record Result(int exitCode, String text) {}

    private final BackupService service;
    private final Clock clock;

    public BackupCommands(BackupService service, Clock clock) {
        this.service = service;
        this.clock = clock;
    }

    /** {@code backup now --type <type>}. */
    public Result now(String type) {
        BackupType t;
        try {
            t = type == null ? BackupType.FULL : BackupType.parse(type);
        } catch (IllegalArgumentException e) {
            return new Result(2, e.getMessage());
        }
        try {
            return new Result(0, service.backupNow(t));
        } catch (BackupException e) {
            return new Result(1, t.label() + " backup failed: " + e.getMessage());
        }
    }

    /** {@code backup list}: backups (type, finish, age, sizes, WAL range), dumps, the last drill. */
    public Result list() {
        StringBuilder sb = new StringBuilder();
        int code = 0;
        Instant now = clock.instant();
        try {
            RepoInfo info = service.repoInfo();
            sb.append(String.format(
                    "stanza %s in %s: %s%n",
                    service.config().stanza(), service.config().repoPath(), info.statusMessage()));
            sb.append(String.format(
                    "%-22s %-5s %-20s %10s %12s %12s  %s%n",
                    "LABEL", "TYPE", "FINISHED", "AGE", "DB SIZE", "REPO SIZE", "WAL"));
            for (BackupSet b : info.backups()) {
                sb.append(String.format(
                        "%-22s %-5s %-20s %10s %12s %12s  %s..%s%n",
                        b.label(),
                        b.type(),
                        b.stop().toString().replace("T", " ").replace("Z", ""),
                        age(b.stop(), now),
                        bytes(b.size()),
                        bytes(b.repoSize()),
                        b.walStart(),
                        b.walStop()));
            }
            sb.append(String.format("archived WAL: %s..%s%n", info.walMin(), info.walMax()));
        } catch (BackupException e) {
            sb.append("cannot read the repository: ").append(e.getMessage()).append('\n');
            code = 1;
        }
        try {
            List<Path> files = service.dumps().list();
            sb.append("logical dumps in ")
                    .append(service.config().logicalDir())
                    .append(": ")
                    .append(files.isEmpty() ? "none" : "")
                    .append('\n');
            for (Path f : files) {
                sb.append("  ")
                        .append(f.getFileName())
                        .append("  ")
                        .append(bytes(Files.size(f)))
                        .append('\n');
            }
        } catch (BackupException | java.io.IOException e) {
            sb.append("cannot list logical dumps: ").append(e.getMessage()).append('\n');
        }
        DrillResult d = service.drill().lastResult();
        sb.append("last drill: ").append(d == null ? "never ran" : d.summary()).append('\n');
        if (d != null && !d.ok()) {
            code = 1;
        }
        return new Result(code, sb.toString());
    }

    /** {@code backup verify}: a restore drill now; exit 1 when it fails. */
    public Result verify() {
        try {
            DrillResult d = service.verifyNow();
            return new Result(
                    d.ok() ? 0 : 1, "restore drill " + d.summary() + "\n  " + String.join("\n  ", d.checks()));
        } catch (BackupException e) {
            return new Result(1, "restore drill could not run: " + e.getMessage());
        }
    }

    /** {@code restore}: how to bootstrap a new cluster from this repository. */
    public Result restoreGuidance() {
        BackupConfig c = service.config();
        String base = c.pgbackrest() + " --config=" + c.configFile() + " --stanza=" + c.stanza();
        return new Result(
                0,
                String.join(
                        "\n",
                        "To bootstrap a NEW cluster from this repository (never over a running member):",
                        "  1. stop pgha on every member of the new cluster; give it a new scope (and a new backup.stanza,",
                        "     so the restored cluster archives apart from this one);",
                        "  2. on the first member, into its empty data directory, as the postgres user:",
                        "       " + base
                                + " restore --pg1-path=<data_dir> [--type=time --target='2026-11-22 22:30:00+00'"
                                + " | --type=lsn --target=0/3000060] --target-action=promote",
                        "     (or, embedded: new DataDirectories(pgbackrest).prepareBootstrap(dataDir, RestoreTarget.time(t), null))",
                        "  3. start pgha on it: it starts the restored directory, recovers to the target and promotes;",
                        "  4. start the other members: with create_replica_methods: [pgbackrest, basebackup] they restore",
                        "     from the repository instead of copying from the new primary.",
                        "Backups available: pgha ctl backup list",
                        ""));
    }

    private static String age(Instant t, Instant now) {
        Duration d = Duration.between(t, now);
        if (d.toDays() > 0) {
            return d.toDays() + "d" + d.toHoursPart() + "h";
        }
        if (d.toHours() > 0) {
            return d.toHours() + "h" + d.toMinutesPart() + "m";
        }
        return d.toMinutes() + "m" + d.toSecondsPart() + "s";
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        if (n < 1024 * 1024) {
            return String.format("%.1f KiB", n / 1024.0);
        }
        if (n < 1024L * 1024 * 1024) {
            return String.format("%.1f MiB", n / (1024.0 * 1024));
        }
        return String.format("%.2f GiB", n / (1024.0 * 1024 * 1024));
    }
}
