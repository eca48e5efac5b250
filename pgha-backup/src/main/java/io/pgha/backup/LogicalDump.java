package io.pgha.backup;

import io.pgha.postgres.local.OsCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logical backups with {@code pg_dump -Fc} (one file per database, named
 * {@code <db>-<UTC timestamp>.dump} in {@code backup.logical.directory}), and their restore with
 * {@code pg_restore} into a fresh database. Connects to the local member over loopback TCP as the
 * superuser, the password read from pgha's 0600 passfile. Thread-safe.
 */
public final class LogicalDump {

    private static final Logger LOG = LoggerFactory.getLogger(LogicalDump.class);
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final PgBackRest pgbackrest;
    private final BackupConfig config;
    private final Clock clock;

    public LogicalDump(PgBackRest pgbackrest, Clock clock) {
        this.pgbackrest = pgbackrest;
        this.config = pgbackrest.config();
        this.clock = clock;
    }

    /** Dumps every configured database; returns the files written. */
    public List<Path> dumpAll() throws BackupException {
        List<Path> out = new ArrayList<>();
        for (String db : config.logicalDatabases()) {
            out.add(dump(db));
        }
        return out;
    }

    /** Dumps {@code database} to a new file; a failed dump leaves no file behind. */
    public Path dump(String database) throws BackupException {
        Path bin = PgBin.dir(config.binDir());
        Path file = config.logicalDir().resolve(database + "-" + STAMP.format(clock.instant()) + ".dump");
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try {
            pgbackrest.ownedDir(config.logicalDir());
        } catch (IOException e) {
            throw new BackupException("cannot prepare backup.logical.directory " + config.logicalDir() + ": " + e, e);
        }
        OsCommand.Result r = run(List.of(
                PgBin.bin(bin, "pg_dump"),
                "-Fc",
                "-h",
                "127.0.0.1",
                "-p",
                String.valueOf(config.port()),
                "-U",
                config.superuser(),
                "-w",
                "-f",
                partial.toString(),
                database));
        if (!r.ok()) {
            quietDelete(partial);
            throw new BackupException(
                    "pg_dump of database '" + database + "' failed (exit " + r.exitCode() + "): " + r.tail());
        }
        try {
            Files.move(partial, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            LOG.info(
                    "{}: logical dump of '{}' written to {} ({} bytes)",
                    config.memberName(),
                    database,
                    file,
                    Files.size(file));
        } catch (IOException e) {
            throw new BackupException("cannot finish the dump file " + file + ": " + e, e);
        }
        return file;
    }

    /**
     * Restores {@code dump} into a new database {@code target} on the local member (created here;
     * refused when it already exists, so a restore never overwrites data).
     */
    public void restoreInto(Path dump, String target) throws BackupException {
        if (!target.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new BackupException("target database '" + target + "': use a plain identifier");
        }
        if (!Files.isRegularFile(dump)) {
            throw new BackupException("no dump file " + dump);
        }
        Path bin = PgBin.dir(config.binDir());
        OsCommand.Result created = run(List.of(
                PgBin.bin(bin, "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                String.valueOf(config.port()),
                "-U",
                config.superuser(),
                "-w",
                target));
        if (!created.ok()) {
            throw new BackupException("createdb " + target + " failed: " + created.tail());
        }
        OsCommand.Result r = run(List.of(
                PgBin.bin(bin, "pg_restore"),
                "-h",
                "127.0.0.1",
                "-p",
                String.valueOf(config.port()),
                "-U",
                config.superuser(),
                "-w",
                "--exit-on-error",
                "--no-owner",
                "-d",
                target,
                dump.toString()));
        if (!r.ok()) {
            throw new BackupException(
                    "pg_restore of " + dump + " into '" + target + "' failed (exit " + r.exitCode() + "): " + r.tail());
        }
    }

    /** The dump files present, oldest first. */
    public List<Path> list() throws BackupException {
        if (!Files.isDirectory(config.logicalDir())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(config.logicalDir())) {
            return s.filter(p -> p.getFileName().toString().endsWith(".dump"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new BackupException("cannot list " + config.logicalDir() + ": " + e, e);
        }
    }

    private OsCommand.Result run(List<String> command) throws BackupException {
        return pgbackrest.run(command, Duration.ofHours(12));
    }

    private static void quietDelete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a partial dump is named .partial and never listed
        }
    }
}
