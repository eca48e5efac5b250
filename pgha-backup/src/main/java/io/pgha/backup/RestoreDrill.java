package io.pgha.backup;

import io.pgha.postgres.local.OsCommand;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves the latest backup restores: restores it (and replays the archived WAL to its end) into a
 * fresh scratch directory under {@code backup.drill.directory}, starts it on a private loopback
 * port and socket with {@code archive_mode=off} (a scratch copy must never push WAL into the
 * repository), waits until it is consistent and promoted, runs {@code pg_amcheck} over every
 * database and counts the rows of the configured tables, stops it by PID and removes the scratch
 * directory. A member's data directory is never touched: the scratch directory is refused when it
 * overlaps it (see {@link BackupConfig}).
 *
 * <p>The last result is kept in memory and in a small JSON file beside the repository, so it
 * survives a restart. A failed drill logs at ERROR. One drill at a time: {@link #run()} is
 * synchronized.
 */
public final class RestoreDrill {

    private static final Logger LOG = LoggerFactory.getLogger(RestoreDrill.class);
    private static final Pattern TABLE =
            Pattern.compile("(?:([A-Za-z0-9_]+):)?([A-Za-z_][A-Za-z0-9_$]*(?:\\.[A-Za-z_][A-Za-z0-9_$]*)?)");

    private final PgBackRest pgbackrest;
    private final BackupConfig config;
    private final Clock clock;
    private final AtomicReference<DrillResult> last = new AtomicReference<>();

    public RestoreDrill(PgBackRest pgbackrest, Clock clock) {
        this.pgbackrest = pgbackrest;
        this.config = pgbackrest.config();
        this.clock = clock;
        try {
            if (Files.isRegularFile(config.drillResultFile())) {
                last.set(DrillResult.fromJson(Files.readString(config.drillResultFile())));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable drill result {}: {}", config.drillResultFile(), e.toString());
        }
    }

    /** The last drill's result (from this process or the JSON file), or null when none ever ran. */
    public DrillResult lastResult() {
        return last.get();
    }

    /** Runs one drill to the end and records it; never throws for a failed check. */
    public synchronized DrillResult run() {
        Instant start = clock.instant();
        List<String> checks = new ArrayList<>();
        String label = null;
        long size = 0;
        Duration restoreTime = Duration.ZERO;
        Duration verifyTime = Duration.ZERO;
        String error = null;
        Path scratch = config.drillDir().resolve("scratch-" + start.toEpochMilli());
        Process server = null;
        try {
            Path bin = PgBin.dir(config.binDir());
            BackupSet set = pgbackrest.info().latest();
            if (set == null) {
                throw new BackupException("the repository " + config.repoPath() + " has no backup of stanza '"
                        + config.stanza() + "' to restore");
            }
            label = set.label();
            size = set.repoSize();
            Files.createDirectories(config.drillDir());
            pgbackrest.own(config.drillDir(), "rwx------");
            pgbackrest.restore(scratch, RestoreTarget.endOfWal(), set.label(), false, false, true);
            Files.deleteIfExists(scratch.resolve("standby.signal"));
            Path hba = scratch.resolve("pgha-drill.hba.conf");
            pgbackrest.ownedFile(
                    hba,
                    "# the drill's copy: its own OS user over its private socket only\nlocal all all trust\n",
                    "rw-------");
            int port = freePort();
            Path log = config.drillDir().resolve("drill.log");
            Files.deleteIfExists(log);
            Files.createFile(log);
            pgbackrest.own(log, "rw-------");
            List<String> cmd = new ArrayList<>(List.of(
                    PgBin.bin(bin, "postgres"),
                    "-D",
                    scratch.toString(),
                    "-c",
                    "port=" + port,
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=" + scratch,
                    "-c",
                    "hba_file=" + hba,
                    "-c",
                    "archive_mode=off",
                    "-c",
                    "hot_standby=off",
                    "-c",
                    "primary_conninfo=",
                    "-c",
                    "primary_slot_name=",
                    "-c",
                    "synchronous_standby_names=",
                    "-c",
                    "logging_collector=off",
                    "-c",
                    "ssl=off",
                    "-c",
                    "cluster_name=pgha-drill",
                    "-c",
                    "recovery_target_action=promote"));
            server = pgbackrest.launch(cmd, log);
            waitConsistent(server, bin, scratch, port, log, start);
            Instant consistent = clock.instant();
            restoreTime = Duration.between(start, consistent);
            checks.add("consistent and promoted after " + restoreTime.toMillis() + " ms");
            OsCommand.Result amcheck = pgbackrest.run(
                    List.of(
                            PgBin.bin(bin, "pg_amcheck"),
                            "-h",
                            scratch.toString(),
                            "-p",
                            String.valueOf(port),
                            "-U",
                            config.superuser(),
                            "--all",
                            "--install-missing"),
                    config.drillTimeout());
            if (!amcheck.ok()) {
                throw new BackupException(
                        "pg_amcheck found corruption or failed (exit " + amcheck.exitCode() + "): " + amcheck.tail());
            }
            checks.add("pg_amcheck --all: no corruption");
            for (Map.Entry<String, Long> t : config.drillTables().entrySet()) {
                var m = TABLE.matcher(t.getKey());
                if (!m.matches()) {
                    throw new BackupException("backup.drill.tables: '" + t.getKey()
                            + "' is not [database:]schema.table of plain identifiers");
                }
                String db = m.group(1) == null ? "postgres" : m.group(1);
                String out = psql(bin, scratch, port, db, "SELECT count(*) FROM " + m.group(2));
                long rows = Long.parseLong(out.strip());
                checks.add(t.getKey() + ": " + rows + " rows (>= " + t.getValue() + ")");
                if (rows < t.getValue()) {
                    throw new BackupException(
                            t.getKey() + " has " + rows + " rows in the restored copy, fewer than " + t.getValue());
                }
            }
            verifyTime = Duration.between(consistent, clock.instant());
        } catch (BackupException | IOException | RuntimeException e) {
            error = e.getMessage() == null ? e.toString() : e.getMessage();
            if (restoreTime.isZero()) {
                restoreTime = Duration.between(start, clock.instant());
            }
        } finally {
            stop(server);
            removeScratch(scratch);
        }
        DrillResult result =
                new DrillResult(error == null, clock.instant(), label, size, restoreTime, verifyTime, checks, error);
        record(result);
        return result;
    }

    private void record(DrillResult result) {
        last.set(result);
        if (result.ok()) {
            LOG.info("{}: restore drill {}", config.memberName(), result.summary());
        } else {
            LOG.error("{}: RESTORE DRILL FAILED: {}", config.memberName(), result.summary());
        }
        try {
            Path file = config.drillResultFile();
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.writeString(tmp, result.toJson());
            Files.move(
                    tmp,
                    file,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("could not write the drill result to {}: {}", config.drillResultFile(), e.toString());
        }
    }

    private void waitConsistent(Process server, Path bin, Path scratch, int port, Path log, Instant start)
            throws BackupException {
        Instant deadline = start.plus(config.drillTimeout());
        String last = "";
        while (clock.instant().isBefore(deadline)) {
            if (!server.isAlive()) {
                throw new BackupException("the restored copy's PostgreSQL exited (code " + server.exitValue()
                        + ") before reaching consistency: " + tail(log));
            }
            try {
                last = psql(bin, scratch, port, "postgres", "SELECT pg_is_in_recovery()");
                if (last.strip().equals("f")) {
                    return;
                }
            } catch (BackupException e) {
                last = e.getMessage();
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BackupException("interrupted while waiting for the restored copy");
            }
        }
        throw new BackupException("the restored copy did not become consistent within "
                + config.drillTimeout().toSeconds() + "s (" + last.strip() + "): " + tail(log));
    }

    private String psql(Path bin, Path socket, int port, String db, String sql) throws BackupException {
        OsCommand.Result r = pgbackrest.run(
                List.of(
                        PgBin.bin(bin, "psql"),
                        "-X",
                        "-q",
                        "-A",
                        "-t",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-h",
                        socket.toString(),
                        "-p",
                        String.valueOf(port),
                        "-U",
                        config.superuser(),
                        "-d",
                        db,
                        "-c",
                        sql),
                Duration.ofMinutes(10));
        if (!r.ok()) {
            throw new BackupException("psql '" + sql + "' on the restored copy failed: " + r.tail());
        }
        return r.output();
    }

    /** Fast shutdown by PID (SIGINT), then SIGKILL if it lingers: the copy is thrown away anyway. */
    private static void stop(Process server) {
        if (server == null || !server.isAlive()) {
            return;
        }
        try {
            new ProcessBuilder("kill", "-INT", String.valueOf(server.pid()))
                    .start()
                    .waitFor(10, TimeUnit.SECONDS);
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.descendants().forEach(ProcessHandle::destroyForcibly);
                server.destroyForcibly();
                server.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            server.destroyForcibly();
        } catch (InterruptedException e) {
            server.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 6), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Removes the drill's restored copy as PostgreSQL's OS user (pgBackRest restored it as that
     * user, into a directory it owns): a recursive delete as root in a tree another user can change
     * meanwhile could be led, by a directory swapped for a symlink, to delete root's files.
     */
    private void removeScratch(Path scratch) {
        if (!Files.exists(scratch, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            OsCommand.Result r = pgbackrest.run(List.of("rm", "-rf", "--", scratch.toString()), Duration.ofMinutes(30));
            if (!r.ok()) {
                LOG.warn("could not remove the drill's scratch directory {}: {}", scratch, r.tail());
            }
        } catch (BackupException e) {
            LOG.warn("could not remove the drill's scratch directory {}: {}", scratch, e.getMessage());
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
