package io.pgha.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * What integration tests in every module share (through pgha-core's test-jar): PostgreSQL's
 * binaries, temporary directories, free loopback ports, waiting for a condition. Stateless; every
 * method may be called from any thread.
 */
public final class Fixtures {

    /** The message of a test skipped for want of PostgreSQL. */
    public static final String NO_POSTGRES =
            "PostgreSQL server binaries are missing (/usr/lib/postgresql/<version>/bin): apt-get install postgresql";

    private Fixtures() {}

    /** A binary of the installed PostgreSQL server (Debian's layout), or null when there is none. */
    public static Path postgresBin(String name) {
        Path debian = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(debian)) {
            return null;
        }
        try (Stream<Path> s = Files.list(debian)) {
            return s.map(p -> p.resolve("bin").resolve(name))
                    .filter(Files::isExecutable)
                    .sorted()
                    .findFirst()
                    .orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** Skips the test when this machine has no PostgreSQL server binaries. */
    public static void assumePostgres() {
        assumeTrue(postgresBin("initdb") != null, NO_POSTGRES);
    }

    /**
     * A new temporary directory that PostgreSQL's unprivileged OS user can traverse (0755), for
     * tests that run as root while PostgreSQL runs as {@code postgres}.
     */
    public static Path traversableTempDir(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    /** A loopback port free at the moment of asking. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Polls {@code condition} every 200 ms until it holds, generously: the machine may be slow and
     * shared. An exception counts as "not yet"; the last one is the failure's cause.
     */
    public static void await(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Exception last = null;
        while (Instant.now().isBefore(deadline)) {
            try {
                if (Boolean.TRUE.equals(condition.call())) {
                    return;
                }
                last = null;
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting for " + what, last);
    }

    /** Deletes {@code root} and everything below it; nothing when it is null or missing. */
    public static void deleteTree(Path root) throws IOException {
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
