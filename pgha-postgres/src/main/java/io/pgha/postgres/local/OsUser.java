package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The OS user PostgreSQL runs as. PostgreSQL refuses to run as root, so when the JVM is root every
 * binary runs through {@code setpriv} as {@code postgresql.run_as} (default {@code postgres}) and
 * every file pgha writes for PostgreSQL is given to that user. When the JVM is not root,
 * PostgreSQL runs as the JVM's own user and {@code run_as} is not used. Immutable.
 *
 * @param name the user name (null when it has none)
 * @param uid its uid
 * @param gid its primary gid
 * @param home its home directory (null when unknown)
 * @param switchUser whether commands must switch to this user (the JVM is root)
 */
record OsUser(String name, int uid, int gid, String home, boolean switchUser) {

    /** The user to run PostgreSQL as, given the JVM's own uid. */
    static OsUser resolve(String runAs) throws PostgresException {
        int self = currentUid();
        if (self != 0) {
            return lookup(String.valueOf(self), "the JVM's user", false);
        }
        OsUser u = lookup(runAs, "postgresql.run_as", true);
        if (u.uid() == 0) {
            throw new PostgresException("postgresql.run_as '" + runAs + "' is root; PostgreSQL refuses to run as root");
        }
        return u;
    }

    static int currentUid() throws PostgresException {
        try {
            // /proc/self is owned by the effective uid of the process reading it
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name")) ? 0 : -1;
        }
    }

    private static OsUser lookup(String user, String key, boolean switchUser) throws PostgresException {
        String line;
        try {
            Process p = new ProcessBuilder("getent", "passwd", user)
                    .redirectErrorStream(true)
                    .start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new PostgresException(key + ": no OS user '" + user + "' (getent passwd found none)");
            }
            line = new String(out, StandardCharsets.UTF_8).strip().split("\n")[0];
        } catch (IOException e) {
            throw new PostgresException(key + ": cannot look up OS user '" + user + "': " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted looking up OS user '" + user + "'", e);
        }
        String[] f = line.split(":", -1);
        if (f.length < 7) {
            throw new PostgresException(key + ": unexpected passwd entry for '" + user + "'");
        }
        return new OsUser(f[0], Integer.parseInt(f[2]), Integer.parseInt(f[3]), f[5], switchUser);
    }

    /** What goes before a command to run it as this user. */
    List<String> commandPrefix() {
        if (!switchUser) {
            return List.of();
        }
        List<String> prefix = new ArrayList<>();
        prefix.add("setpriv");
        prefix.addAll(setprivOptions());
        prefix.add("--");
        return List.copyOf(prefix);
    }

    /** The setpriv options that switch to this user (none when the JVM's own user is this one). */
    List<String> setprivOptions() {
        return switchUser ? List.of("--reuid=" + uid, "--regid=" + gid, "--init-groups") : List.of();
    }

    /**
     * Gives {@code path} to this user (as root) and sets its mode; no-op on ownership when not root.
     * Follows no symlink: a symlink's own owner changes (lchown) and its mode is left, with no gap
     * between a check and the change (the mode is set on a descriptor opened with O_NOFOLLOW).
     */
    void own(Path path, String mode) throws IOException {
        if (switchUser) {
            Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(path, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        }
        if (mode != null) {
            PosixFileAttributeView view =
                    Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            try {
                view.setPermissions(PosixFilePermissions.fromString(mode));
            } catch (FileSystemException e) {
                if (!Files.isSymbolicLink(path)) {
                    throw e;
                }
                // a symlink (ELOOP on O_NOFOLLOW): its target is not ours to change
            }
        }
    }

    /** Whether this user owns {@code path}. */
    boolean owns(Path path) throws IOException {
        return ((Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == uid;
    }

    /**
     * The first directory from the root down to {@code dir} that this user cannot enter, or null
     * when it can reach {@code dir}. Reads the mode bits (ACLs aside), as PostgreSQL will meet them.
     */
    Path firstUntraversable(Path dir) throws IOException {
        Path p = dir.getRoot();
        for (Path part : dir) {
            p = p.resolve(part);
            if (!Files.exists(p)) {
                return null;
            }
            if (!Files.isDirectory(p)) {
                return p;
            }
            int owner = (Integer) Files.getAttribute(p, "unix:uid");
            int group = (Integer) Files.getAttribute(p, "unix:gid");
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
            boolean ok;
            if (owner == uid) {
                ok = perms.contains(PosixFilePermission.OWNER_EXECUTE);
            } else if (group == gid) {
                ok = perms.contains(PosixFilePermission.GROUP_EXECUTE);
            } else {
                ok = perms.contains(PosixFilePermission.OTHERS_EXECUTE);
            }
            if (!ok && uid != 0) {
                return p;
            }
        }
        return null;
    }

    String describe() {
        return (name == null ? "uid " + uid : name + " (uid " + uid + ")");
    }
}
