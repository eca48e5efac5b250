package io.pgha.postgres.local;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * File operations on paths the PostgreSQL OS user controls: the data directory and its
 * {@code log/} directory, pgha's runtime directory, a configured passfile.
 *
 * <p>When the JVM is root ({@link OsUser#switchUser()}) each operation runs as that user, through
 * {@code setpriv} and {@code /bin/sh}: a symlink that user planted, or a directory it swapped for
 * one (it owns the data directory, and on Debian its parent too), then reaches only what that user
 * could reach itself, never a root-owned file. Root never opens, creates, chmods or deletes a path
 * below a directory that user can write. When the JVM is not root it is that user, so the
 * operations run in the JVM.
 *
 * <p>Either way a write goes to a new file with a random name, created exclusively (O_EXCL) with
 * mode 0600 from the start, then renamed over the target: a reader sees the old content or the
 * new, and nothing is written through a name someone else created first. Reads are bounded.
 *
 * <p>Immutable and thread-safe.
 */
final class UserFiles {

    /** The most a read takes: postgresql.conf and pgha's files are a few KiB. */
    static final int MAX_READ = 4 * 1024 * 1024;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** The exit code of {@link #READ} for a missing file. */
    private static final int MISSING = 3;

    // the scripts run as the PostgreSQL user, with the path as $1; no variable comes from elsewhere
    private static final String WRITE = """
            umask 077
            d=$(dirname -- "$1") && b=$(basename -- "$1") || exit 1
            t=$(mktemp -- "$d/.$b.pgha-XXXXXXXXXX") || exit 1
            if cat > "$t" && mv -f -T -- "$t" "$1"; then exit 0; fi
            rm -f -- "$t"; exit 1
            """;
    // exit 3: MISSING
    private static final String READ = """
            if [ ! -e "$1" ] && [ ! -L "$1" ]; then exit 3; fi
            [ -f "$1" ] || { echo "$1 is not a regular file" >&2; exit 1; }
            exec head -c "$2" -- "$1"
            """;
    private static final String TAIL = """
            [ -f "$1" ] || exit 0
            tail -c +"$2" -- "$1" | tail -c "$3"
            """;
    private static final String ROTATE = """
            [ -f "$1" ] || exit 0
            s=$(stat -c %s -- "$1") || exit 1
            [ "$s" -le "$2" ] || mv -f -T -- "$1" "$1.1"
            """;
    private static final String DELETE = "rm -f -- \"$1\"\n";
    private static final String MKDIR = "[ -d \"$1\" ] || mkdir -m 0700 -- \"$1\"\n";
    // -H: a data directory that is itself a symlink (set up by the administrator) is followed, no
    // link inside it is
    private static final String EMPTY = """
            [ -d "$1" ] || exit 0
            exec find -H "$1" -mindepth 1 -delete
            """;

    private final OsUser user;
    /** How long one operation as the other user may take before it is killed. */
    private final long timeoutSeconds;

    UserFiles(OsUser user) {
        this(user, 60);
    }

    UserFiles(OsUser user, long timeoutSeconds) {
        this.user = user;
        this.timeoutSeconds = timeoutSeconds;
    }

    /** Whether the operations run as another user than the JVM's (the JVM is root). */
    boolean asOtherUser() {
        return user.switchUser();
    }

    /**
     * Replaces {@code target} atomically with {@code content}: a new file with a random name beside
     * it, created exclusively with mode 0600, then renamed over it. The file belongs to the
     * PostgreSQL user.
     */
    void write(Path target, String content) throws IOException {
        write(target, content.getBytes(StandardCharsets.UTF_8));
    }

    /** As {@link #write(Path, String)}, for bytes (a replication slot's state file). */
    void write(Path target, byte[] bytes) throws IOException {
        boolean rootsDirectory =
                asOtherUser() && onlyRootCanChange(target.toAbsolutePath().getParent());
        if (asOtherUser() && !rootsDirectory) {
            asUser("write " + target, WRITE, bytes, target.toString());
            return;
        }
        // the JVM's own user, or root writing into a directory only root can change (a configured
        // postgresql.pgpass in /etc/pgha/, say, which the PostgreSQL user cannot write): nobody
        // else can plant anything there, so root writes the file itself and gives it to that user
        Path tmp = target.resolveSibling("." + target.getFileName() + ".pgha-" + randomHex());
        Set<OpenOption> options =
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        boolean moved = false;
        try {
            try (SeekableByteChannel ch = Files.newByteChannel(
                    tmp, options, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            if (rootsDirectory) {
                user.own(tmp, "rw-------");
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * Whether only root can change what is in {@code dir}: it and every directory above it belong
     * to root and are not writable by the group or others, except sticky ones ({@code /tmp}),
     * where nobody else can rename or remove root's entries. A symlink on the way is checked as
     * where it leads too.
     */
    static boolean onlyRootCanChange(Path dir) throws IOException {
        Path p = dir.toAbsolutePath().normalize();
        Path q = p.getRoot();
        if (!rootOwnedAndClosed(q)) {
            return false;
        }
        for (Path part : p) {
            q = q.resolve(part);
            if (Files.isSymbolicLink(q)) {
                // the link's own directory was checked; now where it leads
                return onlyRootCanChange(q.toRealPath()) && onlyRootCanChange(p.toRealPath());
            }
            if (!rootOwnedAndClosed(q)) {
                return false;
            }
        }
        return true;
    }

    private static boolean rootOwnedAndClosed(Path dir) throws IOException {
        int uid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        boolean othersWrite = (mode & 0022) != 0;
        boolean sticky = (mode & 01000) != 0;
        return uid == 0 && (!othersWrite || sticky);
    }

    /**
     * The content of {@code file}, or null when it does not exist.
     *
     * @throws IOException when it cannot be read, is not a regular file, or is larger than
     *     {@link #MAX_READ}
     */
    String read(Path file) throws IOException {
        byte[] bytes;
        if (asOtherUser()) {
            Output out = run("read " + file, READ, null, MAX_READ + 1, file.toString(), String.valueOf(MAX_READ + 1));
            if (out.exitCode() == MISSING) {
                return null;
            }
            if (out.exitCode() != 0) {
                throw new IOException("cannot read " + file + " as " + user.describe() + ": " + out.error());
            }
            bytes = out.stdout();
        } else {
            if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            if (!Files.isRegularFile(file)) {
                throw new IOException(file + " is not a regular file");
            }
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_READ + 1);
            } catch (NoSuchFileException e) {
                return null;
            }
        }
        if (bytes.length > MAX_READ) {
            throw new IOException(file + " is larger than " + MAX_READ + " bytes");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** At most the last {@code max} bytes of {@code file} from byte offset {@code from} on; empty when there is none. */
    String tail(Path file, long from, int max) throws IOException {
        if (asOtherUser()) {
            Output out = run(
                    "read " + file, TAIL, null, max, file.toString(), String.valueOf(from + 1), String.valueOf(max));
            return new String(out.stdout(), StandardCharsets.UTF_8);
        }
        if (!Files.isRegularFile(file)) {
            return "";
        }
        try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long start = Math.max(Math.max(0, from), size - max);
            if (start >= size) {
                return "";
            }
            ch.position(start);
            ByteBuffer buf = ByteBuffer.allocate((int) (size - start));
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // until full or at the end
            }
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        }
    }

    /**
     * Renames {@code file} to {@code <file>.1} (replacing an older one) when it is larger than
     * {@code maxBytes}: the postmaster's log, kept to about twice that between two starts.
     *
     * @return whether it was rotated
     */
    boolean rotate(Path file, long maxBytes) throws IOException {
        Path old = file.resolveSibling(file.getFileName() + ".1");
        if (asOtherUser()) {
            long before = sizeNoFollow(file);
            asUser("rotate " + file, ROTATE, null, file.toString(), String.valueOf(maxBytes));
            return before > maxBytes && sizeNoFollow(file) < before;
        }
        if (!Files.isRegularFile(file) || Files.size(file) <= maxBytes) {
            return false;
        }
        Files.move(file, old, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    private static long sizeNoFollow(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .size();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Deletes {@code file} (a symlink itself, never what it points to) if it exists. */
    void deleteIfExists(Path file) throws IOException {
        if (asOtherUser()) {
            asUser("delete " + file, DELETE, null, file.toString());
        } else {
            Files.deleteIfExists(file);
        }
    }

    /** Creates {@code dir} with mode 0700 unless it is a directory already (or a symlink to one, left as it is). */
    void mkdir(Path dir) throws IOException {
        if (asOtherUser()) {
            asUser("create " + dir, MKDIR, null, dir.toString());
        } else if (!Files.isDirectory(dir)) {
            Files.createDirectory(
                    dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
    }

    /** Deletes everything inside {@code dir}, following no symlink but {@code dir} itself. */
    void empty(Path dir) throws IOException {
        if (asOtherUser()) {
            asUser("empty " + dir, EMPTY, null, dir.toString());
            return;
        }
        if (!Files.isDirectory(dir)) {
            return;
        }
        Path root = dir.toRealPath();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null && !(exc instanceof NoSuchFileException)) {
                    throw exc;
                }
                if (!d.equals(root)) {
                    try {
                        Files.deleteIfExists(d);
                    } catch (DirectoryNotEmptyException e) {
                        throw new IOException("cannot remove " + d + ": not empty", e);
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    @SuppressWarnings("ArrayRecordComponent") // private, read once: the array is never compared
    private record Output(int exitCode, byte[] stdout, String error) {}

    private void asUser(String what, String script, byte[] stdin, String... args) throws IOException {
        Output out = run(what, script, stdin, 0, args);
        if (out.exitCode() != 0) {
            throw new IOException("cannot " + what + " as " + user.describe() + ": " + out.error());
        }
    }

    /** Runs {@code script} with {@code /bin/sh} as the PostgreSQL user; keeps at most {@code maxOut} bytes of stdout. */
    private Output run(String what, String script, byte[] stdin, int maxOut, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(user.commandPrefix());
        cmd.addAll(List.of("/bin/sh", "-c", script, "pgha"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(new File("/"));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread errReader = new Thread(() -> copy(p.getErrorStream(), err, 8192), "pgha-userfiles-" + p.pid());
        errReader.setDaemon(true);
        errReader.start();
        try {
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin);
                }
            } catch (IOException e) {
                // the script ended before reading it all (mktemp failed): its exit code and stderr say why
            }
            // read on a thread of its own too: a FIFO planted where a file was expected must not
            // block this thread beyond the timeout
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread outReader = new Thread(() -> copy(p.getInputStream(), out, maxOut), "pgha-userfiles-out-" + p.pid());
            outReader.setDaemon(true);
            outReader.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("cannot " + what + ": did not finish within " + timeoutSeconds + " s");
            }
            outReader.join(5000);
            errReader.join(2000);
            String error;
            synchronized (err) {
                error = err.toString(StandardCharsets.UTF_8).strip().replace('\n', ' ');
            }
            byte[] stdout;
            synchronized (out) {
                stdout = out.toByteArray();
            }
            return new Output(p.exitValue(), stdout, error);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + what, e);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** Copies at most {@code max} bytes, then reads the rest away. */
    private static void copy(InputStream in, ByteArrayOutputStream out, int max) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (out) {
                    int keep = Math.max(0, Math.min(n, max - out.size()));
                    out.write(buf, 0, keep);
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    private static String randomHex() {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
