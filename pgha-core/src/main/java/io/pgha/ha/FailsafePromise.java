package io.pgha.ha;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Where a replica keeps its failsafe promise: until when it promised a primary cut off from the DCS
 * (its {@code POST /failsafe}) not to race for the lock. Kept so that an agent restarted within that
 * time still keeps it (docs/safety.md, "Failsafe mode"). The deadline is wall-clock time, as the
 * primary's own reckoning is. Implementations are called from REST API threads and the loop thread.
 */
interface FailsafePromise {

    /** The deadline saved last, or null when there is none (or it cannot be read). */
    Instant load();

    /** Saves the deadline; returns only once it is durable. */
    void save(Instant until) throws IOException;

    /** No persistence: a restarted agent forgets its promise (an embedder without a state directory). */
    static FailsafePromise inMemory() {
        return new FailsafePromise() {
            private volatile Instant until;

            @Override
            public Instant load() {
                return until;
            }

            @Override
            public void save(Instant v) {
                until = v;
            }
        };
    }

    /**
     * A file {@code failsafe-promise} in {@code dir} (created with mode 0700 when missing), one line
     * with the deadline in ISO-8601 UTC; written to a temporary file, forced to disk and renamed over
     * the old one, so that a crash leaves the old deadline or the new one, never a torn file.
     */
    static FailsafePromise file(Path dir) {
        return new FailsafePromiseFile(dir);
    }
}

/** {@link FailsafePromise#file}. */
final class FailsafePromiseFile implements FailsafePromise {
    static final String NAME = "failsafe-promise";
    private final Path dir;
    private final Path file;

    FailsafePromiseFile(Path dir) {
        this.dir = dir.toAbsolutePath();
        this.file = this.dir.resolve(NAME);
    }

    @Override
    public Instant load() {
        try {
            if (!ownPrivateFile()) {
                return null; // not ours, or writable by others: a deadline anyone could have set
            }
            String text = Files.readString(file, StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? null : Instant.parse(text);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | DateTimeParseException | UnsupportedOperationException e) {
            return null; // unreadable: as if none (the agent logs what it loads)
        }
    }

    private boolean ownPrivateFile() throws IOException {
        java.nio.file.attribute.PosixFileAttributes attrs = Files.readAttributes(
                file, java.nio.file.attribute.PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        int owner = (Integer) Files.getAttribute(file, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        return attrs.isRegularFile()
                && owner == self
                && !attrs.permissions().contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                && !attrs.permissions().contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
    }

    @Override
    public synchronized void save(Instant until) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(
                    dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        Path tmp = dir.resolve(NAME + ".tmp");
        try (FileChannel ch = FileChannel.open(
                tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap((until + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public String toString() {
        return file.toString();
    }
}
