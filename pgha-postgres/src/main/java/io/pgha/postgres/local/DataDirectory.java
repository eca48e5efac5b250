package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data directory, and pgha's runtime directory beside it (the unix socket and the default
 * passfile): where they are, the checks that refuse a directory PostgreSQL could not use or that
 * belongs to someone else, creating them for the PostgreSQL user, emptying the data directory,
 * writing a file into them atomically, and reading pg_control.
 *
 * <p>Threading: the paths are fixed at construction. The reads ({@link #isEmpty()},
 * {@link #hasCluster()}, {@link #hasStandbySignal()}, {@link #controlData()}) may run on any
 * thread, as {@code status()} does alongside a long action; the changes ({@link #prepare()},
 * {@link #prepareRuntime()}, {@link #writeOwned}, {@link #empty()}) run only under the
 * controller's action lock.
 */
final class DataDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(DataDirectory.class);

    private final LocalPostgresConfig config;
    private final Binaries bins;
    private final OsUser user;
    private final OsCommand exec;
    private final Path dir;
    private final Path runtimeDir;
    private final Path passfile;
    private final UserFiles files;

    DataDirectory(LocalPostgresConfig config, Binaries bins, OsUser user, OsCommand exec) {
        this.config = config;
        this.files = new UserFiles(user);
        this.bins = bins;
        this.user = user;
        this.exec = exec;
        this.dir = config.dataDir();
        // one runtime directory per OS user and data directory: two members on one machine must not
        // share a socket directory or a passfile
        this.runtimeDir =
                Path.of(System.getProperty("java.io.tmpdir"), "pgha-" + user.uid() + "-" + shortHash(dir.toString()));
        this.passfile = config.pgpass() != null ? config.pgpass() : runtimeDir.resolve("pgpass");
    }

    Path path() {
        return dir;
    }

    /** pgha's runtime directory for this data directory: the unix socket and the default passfile. */
    Path runtimeDir() {
        return runtimeDir;
    }

    /** The passfile PostgreSQL's tools read the passwords from. */
    Path passfile() {
        return passfile;
    }

    Path standbySignal() {
        return dir.resolve("standby.signal");
    }

    boolean hasStandbySignal() {
        return Files.exists(standbySignal());
    }

    /** Whether the directory holds a cluster (PG_VERSION), not just some files. */
    boolean hasCluster() {
        return Files.isRegularFile(dir.resolve("PG_VERSION"));
    }

    /** Missing or without any file: what bootstrap and clone need. */
    boolean isEmpty() {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Refuses, before anything is written, a data directory that is not a directory, that another
     * user owns (pgha never re-owns a user's data), or that holds a cluster of another major
     * version than the binaries ({@code binariesMajor}, {@link ServerFacts}; 0: not checked).
     */
    void check(int binariesMajor) throws PostgresException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new PostgresException("postgresql.data_dir " + dir + " exists and is not a directory");
        }
        try {
            if (!isEmpty() && !user.owns(dir.toRealPath())) {
                Object owner = Files.getAttribute(dir.toRealPath(), "unix:uid");
                throw new PostgresException("postgresql.data_dir " + dir + " is owned by uid " + owner + ", not by "
                        + user.describe() + " that PostgreSQL runs as; refusing to use it");
            }
        } catch (IOException e) {
            throw new PostgresException("postgresql.data_dir " + dir + " cannot be read: " + e.getMessage(), e);
        }
        Path version = dir.resolve("PG_VERSION");
        if (Files.isRegularFile(version)) {
            try {
                String text = files.read(version);
                String dataMajor = text == null ? "" : text.strip();
                if (binariesMajor > 0 && !String.valueOf(binariesMajor).equals(dataMajor)) {
                    throw new PostgresException("postgresql.data_dir " + dir + " holds a PostgreSQL " + dataMajor
                            + " cluster but postgresql.bin_dir " + bins.dir() + " has PostgreSQL " + binariesMajor);
                }
            } catch (IOException e) {
                throw new PostgresException("cannot read " + version + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Creates the data directory (and its missing parents) if needed, gives it to the PostgreSQL
     * user with mode 0700.
     */
    void prepare() throws PostgresException {
        prepareParent();
        try {
            if (!Files.exists(dir)) {
                Files.createDirectory(dir);
            }
            user.own(dir, "rwx------");
        } catch (IOException e) {
            throw new PostgresException("postgresql.data_dir " + dir + " cannot be prepared: " + e.getMessage(), e);
        }
    }

    /**
     * Readies the place for a user's command that creates the data directory itself (a replica or
     * bootstrap method copying a whole directory, as Patroni's own test scripts do): the parents
     * exist and the directory does not, as Patroni leaves it. An empty directory is removed unless
     * it is a mount point or a symbolic link; as root, where the PostgreSQL user could not create
     * it in a root-owned parent, it is created for that user instead.
     */
    void prepareForUserCommand(boolean asRoot) throws PostgresException {
        prepareParent();
        if (asRoot) {
            prepare();
            return;
        }
        try {
            if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && isEmpty()) {
                Object dev = Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS);
                if (dev.equals(Files.getAttribute(dir.getParent(), "unix:dev"))) {
                    Files.delete(dir);
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("{}: leaving {} in place: {}", config.name(), dir, e.getMessage());
        }
    }

    /** Creates the missing parents of the data directory, as Patroni does (makedirs), not the directory itself. */
    void prepareParent() throws PostgresException {
        Path parent = dir.getParent();
        try {
            if (!Files.isDirectory(parent)) {
                // when pgha runs as root they are root's, traversable by all
                Files.createDirectories(parent);
                LOG.info("{}: created the parent directories of postgresql.data_dir {}", config.name(), dir);
            }
            checkTraversable(parent, "postgresql.data_dir");
        } catch (IOException e) {
            throw new PostgresException("postgresql.data_dir " + dir + " cannot be prepared: " + e.getMessage(), e);
        }
    }

    /** pgha's runtime directory (unix socket, default passfile) and the passfile, owned by the PostgreSQL user. */
    void prepareRuntime() throws PostgresException {
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
            writeOwned(passfile, ManagedConfig.passfile(config));
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot prepare " + runtimeDir + " or postgresql.pgpass " + passfile + ": " + e.getMessage(), e);
        }
    }

    private void checkTraversable(Path path, String key) throws PostgresException, IOException {
        Path bad = user.firstUntraversable(path.toRealPath());
        if (bad != null && user.switchUser()) {
            // the mode bits say no, but a supplementary group or an ACL may still allow it: ask the OS
            if (exec.run(List.of("test", "-x", bad.toString()), OsCommand.SHORT).ok()) {
                return;
            }
        }
        if (bad != null) {
            throw new PostgresException(key + " " + path + ": " + user.describe() + " cannot enter " + bad
                    + " (make it traversable, e.g. chmod o+x " + bad + ")");
        }
    }

    private static boolean isOwnedByJvm(Path p) throws IOException, PostgresException {
        return ((Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == OsUser.currentUid();
    }

    /**
     * Writes a file atomically (a reader sees the old content or the new, never half), owned by the
     * PostgreSQL user, mode 0600 from its creation ({@link UserFiles#write}).
     */
    void writeOwned(Path target, String content) throws IOException {
        files.write(target, content);
    }

    /** The file operations on paths the PostgreSQL user controls. */
    UserFiles files() {
        return files;
    }

    /** Creates {@code path} with mode 0700 as the PostgreSQL user when it is not a directory yet. */
    void ownedDirectory(Path path) throws IOException {
        files.mkdir(path);
    }

    /**
     * Deletes everything inside the data directory (not the directory itself, which may be a mount
     * point), as the PostgreSQL user when the JVM is root, following no symlink inside it.
     */
    void empty() throws PostgresException {
        try {
            files.empty(dir);
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            throw new PostgresException("cannot empty postgresql.data_dir " + dir + ": " + e.getMessage(), e);
        }
    }

    /** pg_controldata of the data directory, or null when there is none or it fails. */
    ControlData controlData() {
        if (!Files.isRegularFile(dir.resolve("global").resolve("pg_control"))) {
            return null;
        }
        try {
            OsCommand.Result r = exec.run(
                    List.of(bins.path("pg_controldata"), "-D", dir.toString()), OsCommand.SHORT, Map.of("LC_ALL", "C"));
            return r.ok() ? ControlData.parse(r.output()) : null;
        } catch (PostgresException e) {
            LOG.debug("pg_controldata failed: {}", e.getMessage());
            return null;
        }
    }

    /** The database system identifier from pg_control, or null when there is no cluster. */
    String systemIdentifier() {
        ControlData cd = controlData();
        return cd == null ? null : cd.systemIdentifier();
    }

    /** Fails unless the directory holds the cluster with system identifier {@code expected}. */
    void verifySystemIdentifier(String expected) throws PostgresException {
        String actual = systemIdentifier();
        if (actual == null) {
            throw new PostgresException("postgresql.data_dir " + dir + " holds no cluster (pg_controldata found none)");
        }
        if (!actual.equals(expected)) {
            throw new PostgresException("postgresql.data_dir " + dir + " holds another cluster: system identifier "
                    + actual + ", the cluster's is " + expected);
        }
    }

    private static String shortHash(String s) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            return Integer.toHexString(s.hashCode());
        }
    }
}
