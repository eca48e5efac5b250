package io.pgha.backup;

import io.pgha.postgres.PostgresException;
import io.pgha.postgres.local.OsCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the {@code pgbackrest} binary for one stanza: writes the pgbackrest.conf pgha owns,
 * creates the stanza, takes and lists backups, restores. Every command runs as PostgreSQL's OS
 * user with {@code --config} pointing at pgha's file, so nothing reads /etc/pgbackrest.conf.
 * Thread-safe; two concurrent backups are refused by pgBackRest's own repository lock.
 */
public final class PgBackRest {

    private static final Logger LOG = LoggerFactory.getLogger(PgBackRest.class);
    static final Duration SHORT = Duration.ofMinutes(5);
    static final Duration LONG = Duration.ofHours(12);

    private final BackupConfig config;
    /** Runs pgBackRest and PostgreSQL's tools as PostgreSQL's OS user: it must own the repository. */
    private final OsCommand os;

    public PgBackRest(BackupConfig config) throws BackupException {
        this.config = config;
        try {
            this.os = OsCommand.forUser(config.runAs());
        } catch (PostgresException e) {
            throw new BackupException(e.getMessage(), e);
        }
    }

    public BackupConfig config() {
        return config;
    }

    /** Whether the configured binary exists and runs. */
    public void requireBinary() throws BackupException {
        if (!Files.isExecutable(config.pgbackrest())) {
            throw new BackupException("pgBackRest is missing: " + config.pgbackrest()
                    + " is not an executable file (apt-get install pgbackrest, or set backup.pgbackrest)");
        }
        OsCommand.Result r = run(List.of(config.pgbackrest().toString(), "version"), SHORT);
        if (!r.ok()) {
            throw new BackupException(config.pgbackrest() + " version failed: " + r.tail());
        }
    }

    /**
     * Creates the work directory, pgBackRest's lock/log/spool directories, the repository directory
     * and the passfile, and (re)writes pgbackrest.conf, all owned by PostgreSQL's OS user. Cheap and
     * idempotent: run it at start on every member, before PostgreSQL starts archiving.
     */
    public void writeConfig() throws BackupException {
        try {
            Files.createDirectories(config.workDir().getParent());
            ownedDir(config.workDir());
            for (String d : List.of("lock", "log", "spool")) {
                ownedDir(config.workDir().resolve(d));
            }
            if (!Files.isDirectory(config.repoPath())) {
                Files.createDirectories(config.repoPath());
                own(config.repoPath(), "rwxr-x---");
            }
            ownedFile(config.configFile(), render(), "rw-r-----");
            String pw = config.superuserPassword() == null ? "" : config.superuserPassword();
            ownedFile(passfile(), "*:*:*:" + escape(config.superuser()) + ":" + escape(pw) + "\n", "rw-------");
        } catch (IOException e) {
            throw new BackupException(
                    "cannot prepare pgBackRest's files in " + config.workDir() + " (repository " + config.repoPath()
                            + "): " + e,
                    e);
        }
    }

    String render() {
        Path w = config.workDir();
        StringBuilder sb = new StringBuilder();
        sb.append("# Written by pgha for member '")
                .append(config.memberName())
                .append("': do not edit, ")
                .append("pgha rewrites it at start.\n[global]\n");
        sb.append("repo1-path=").append(config.repoPath()).append('\n');
        sb.append("repo1-retention-full=").append(config.retentionFull()).append('\n');
        if (config.retentionDiff() > 0) {
            sb.append("repo1-retention-diff=").append(config.retentionDiff()).append('\n');
        }
        sb.append("lock-path=").append(w.resolve("lock")).append('\n');
        sb.append("log-path=").append(w.resolve("log")).append('\n');
        sb.append("spool-path=").append(w.resolve("spool")).append('\n');
        sb.append("log-level-console=warn\nlog-level-file=info\nstart-fast=y\nprocess-max=1\n");
        sb.append("\n[").append(config.stanza()).append("]\n");
        sb.append("pg1-path=").append(config.dataDir()).append('\n');
        sb.append("pg1-port=").append(config.port()).append('\n');
        sb.append("pg1-user=").append(config.superuser()).append('\n');
        return sb.toString();
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }

    Path passfile() {
        return config.workDir().resolve("pgpass");
    }

    /** pgBackRest's base command line. */
    List<String> base(String command) {
        List<String> c = new ArrayList<>();
        c.add(config.pgbackrest().toString());
        c.add("--config=" + config.configFile());
        c.add("--stanza=" + config.stanza());
        c.add(command);
        return c;
    }

    /** The options that let pgBackRest connect to the local instance (its socket, from postmaster.pid). */
    List<String> localConnection() throws BackupException {
        Path socket = socketDir(config.dataDir());
        return List.of("--pg1-socket-path=" + socket);
    }

    /** The unix socket directory of the instance running on {@code dataDir} (postmaster.pid's 5th line). */
    static Path socketDir(Path dataDir) throws BackupException {
        Path pid = dataDir.resolve("postmaster.pid");
        try {
            List<String> lines = Files.readAllLines(pid);
            if (lines.size() < 5 || lines.get(4).isBlank()) {
                throw new BackupException(pid + " names no unix socket directory; pgBackRest connects over the socket");
            }
            return Path.of(lines.get(4).strip().split("\\s+", 2)[0]);
        } catch (IOException e) {
            throw new BackupException("PostgreSQL is not running on " + dataDir + " (cannot read " + pid + ")", e);
        }
    }

    /**
     * Runs {@code command} (pgBackRest or one of PostgreSQL's tools) as PostgreSQL's OS user, with
     * pgha's passfile; it dies with the calling thread (see {@link OsCommand}).
     */
    OsCommand.Result run(List<String> command, Duration timeout) throws BackupException {
        return run(command, timeout, null);
    }

    /** As {@link #run(List, Duration)}, each output line handed to {@code lines} (null: none) as it comes. */
    OsCommand.Result run(List<String> command, Duration timeout, java.util.function.Consumer<String> lines)
            throws BackupException {
        try {
            Map<String, String> env = Map.of("PGPASSFILE", passfile().toString());
            return lines == null ? os.run(command, timeout, env) : os.run(command, timeout, env, lines);
        } catch (PostgresException e) {
            throw new BackupException(e.getMessage(), e);
        }
    }

    /** Starts a server (a drill's postmaster) as PostgreSQL's OS user, its output appended to {@code log}. */
    Process launch(List<String> command, Path log) throws BackupException {
        try {
            return os.launch(command, log);
        } catch (PostgresException e) {
            throw new BackupException(e.getMessage(), e);
        }
    }

    /** Gives {@code path} to PostgreSQL's OS user (when the JVM is root) and sets its mode. */
    void own(Path path, String mode) throws IOException {
        os.own(path, mode);
    }

    /** Creates {@code dir} (and parents) and gives it to PostgreSQL's OS user, mode 0700. */
    void ownedDir(Path dir) throws IOException {
        Files.createDirectories(dir);
        own(dir, "rwx------");
    }

    /** Writes {@code text} to {@code file} atomically, owned by PostgreSQL's OS user with {@code mode}. */
    void ownedFile(Path file, String text, String mode) throws IOException {
        // a random name, created exclusively (O_EXCL, no symlink followed) with mode 0600 and
        // written through that one descriptor: the PostgreSQL user owns the directory, and as root
        // pgha must never write through a name it could have planted
        byte[] random = new byte[8];
        new java.security.SecureRandom().nextBytes(random);
        Path tmp = file.resolveSibling(
                "." + file.getFileName() + ".pgha-" + java.util.HexFormat.of().formatHex(random));
        boolean moved = false;
        try {
            try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(
                    tmp,
                    java.util.Set.of(
                            java.nio.file.StandardOpenOption.CREATE_NEW,
                            java.nio.file.StandardOpenOption.WRITE,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                java.nio.ByteBuffer buf =
                        java.nio.ByteBuffer.wrap(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            own(tmp, mode); // no symlink followed (OsUser.own)
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private void runOrThrow(List<String> command, Duration timeout, String what) throws BackupException {
        runOrThrow(command, timeout, what, null);
    }

    private void runOrThrow(
            List<String> command, Duration timeout, String what, java.util.function.Consumer<String> lines)
            throws BackupException {
        OsCommand.Result r = run(command, timeout, lines);
        if (!r.ok()) {
            throw new BackupException(what + " failed (pgbackrest exit " + r.exitCode() + "): " + r.tail());
        }
    }

    /** {@code stanza-create} on the local (running) instance; succeeds when the stanza already exists. */
    public void stanzaCreate() throws BackupException {
        List<String> c = base("stanza-create");
        c.addAll(localConnection());
        runOrThrow(c, SHORT, "pgbackrest stanza-create for stanza '" + config.stanza() + "' in " + config.repoPath());
    }

    /** {@code check}: the configuration, the repository, and that WAL reaches the archive. */
    public void check() throws BackupException {
        List<String> c = base("check");
        c.addAll(localConnection());
        runOrThrow(c, SHORT, "pgbackrest check");
    }

    /**
     * Takes a full or differential backup of the local instance. On a standby, {@code primary}
     * names the primary (pgBackRest copies the files from the standby and needs the primary for
     * the start/stop backup calls); on the primary it is null.
     *
     * @throws BackupException with pgBackRest's own words (lock held by another backup, repository
     *     unreachable, disk full, ...)
     */
    public BackupSet backup(BackupType type, PgEndpoint primary) throws BackupException {
        if (type == BackupType.LOGICAL) {
            throw new IllegalArgumentException("a logical backup is pg_dump's (LogicalDump), not pgBackRest's");
        }
        List<String> c = base("backup");
        c.add("--type=" + type.label());
        c.addAll(localConnection());
        if (primary != null) {
            c.add("--backup-standby");
            c.add("--pg2-path=" + primary.dataDir());
            c.add("--pg2-port=" + primary.port());
            c.add("--pg2-user=" + config.superuser());
            if (primary.host() != null) {
                c.add("--pg2-host=" + primary.host());
            } else if (primary.socketDir() != null) {
                c.add("--pg2-socket-path=" + primary.socketDir());
            }
        }
        // pgBackRest's detail lines name each file copied with its size and the share done so far
        c.add("--log-level-console=detail");
        long t0 = System.nanoTime();
        runOrThrow(
                c,
                LONG,
                "pgbackrest " + type.label() + " backup of stanza '" + config.stanza() + "'",
                new PgBackRestProgress(new io.pgha.process.Progress(
                        config.memberName() + ": " + type.label() + " backup", PgBackRestProgress.EVERY)));
        List<BackupSet> sets = info().backups();
        if (sets.isEmpty()) {
            throw new BackupException("pgbackrest backup succeeded but pgbackrest info lists no backup");
        }
        BackupSet last = sets.get(sets.size() - 1);
        LOG.info(
                "{}: {} backup {} taken in {} ms ({} bytes in the repository)",
                config.memberName(),
                type.label(),
                last.label(),
                (System.nanoTime() - t0) / 1_000_000,
                last.repoSize());
        return last;
    }

    /** What the repository holds for this stanza. */
    public RepoInfo info() throws BackupException {
        OsCommand.Result r = run(
                List.of(
                        config.pgbackrest().toString(),
                        "--config=" + config.configFile(),
                        "--stanza=" + config.stanza(),
                        "--output=json",
                        "info"),
                SHORT);
        if (!r.ok()) {
            throw new BackupException("pgbackrest info failed (exit " + r.exitCode() + "): " + r.tail());
        }
        return RepoInfo.parse(r.output(), config.stanza());
    }

    /**
     * Restores into {@code target} (which must not be a running member's data directory unless
     * {@code delta} is set on that member's own stopped directory): pgBackRest writes the files,
     * {@code restore_command} and {@code recovery.signal} (or {@code standby.signal}).
     *
     * @param set the backup label, or null for the latest
     * @param standby restore as a standby (a replica that then streams from the leader)
     * @param delta reuse matching files already in {@code target} (checksums), for re-cloning
     * @param scratch a copy that must never archive into the repository (a drill): archive_mode=off
     */
    public void restore(
            Path target, RestoreTarget recovery, String set, boolean standby, boolean delta, boolean scratch)
            throws BackupException {
        if (Files.exists(target.resolve("postmaster.pid"))) {
            throw new BackupException("refusing to restore into " + target + ": it has a postmaster.pid "
                    + "(a PostgreSQL may be running there)");
        }
        try {
            if (!Files.isDirectory(target)) {
                Files.createDirectories(target);
            }
            own(target, "rwx------");
        } catch (IOException e) {
            throw new BackupException("cannot prepare " + target + " for a restore: " + e, e);
        }
        List<String> c = base("restore");
        c.add("--pg1-path=" + target);
        if (delta) {
            c.add("--delta");
        }
        if (set != null) {
            c.add("--set=" + set);
        }
        if (standby) {
            c.add("--type=standby");
        } else if (!recovery.kind().equals("default")) {
            c.add("--type=" + recovery.kind());
            c.add("--target=" + recovery.value());
            c.add("--target-action=promote");
        }
        if (scratch) {
            c.add("--archive-mode=off");
        }
        c.add("--log-level-console=detail");
        runOrThrow(
                c,
                LONG,
                "pgbackrest restore into " + target,
                new PgBackRestProgress(new io.pgha.process.Progress(
                        config.memberName() + ": restore" + (set == null ? "" : " of " + set) + " into " + target,
                        PgBackRestProgress.EVERY)));
    }
}
