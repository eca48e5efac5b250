package io.pgha.postgres.local;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The postmaster's lock file, {@code postmaster.pid}: line 1 the PID, line 3 the start time
 * (epoch seconds), line 5 the directory of its first Unix socket (empty: none), line 8 the status
 * ({@code starting}, {@code stopping}, {@code ready}, {@code standby}). pgha identifies the
 * postmaster by this PID, never by process name.
 */
record PidFile(long pid, Instant startTime, String socketDir, String status) {

    /** postmaster.pid has eight short lines; what is read of it at most. */
    private static final int MAX_SIZE = 4096;

    /** Reads {@code dataDir/postmaster.pid}; null when it is absent or unreadable. */
    static PidFile read(Path dataDir) {
        // no symlink followed and a bounded read: the PostgreSQL user may plant a link to /dev/zero
        byte[] head;
        try (InputStream in = Files.newInputStream(
                dataDir.resolve("postmaster.pid"), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            head = in.readNBytes(MAX_SIZE);
        } catch (IOException e) {
            return null;
        }
        return parse(new String(head, StandardCharsets.UTF_8));
    }

    static PidFile parse(String text) {
        String[] lines = text.split("\n");
        try {
            long pid = Long.parseLong(lines[0].trim());
            Instant start = lines.length > 2 && !lines[2].isBlank()
                    ? Instant.ofEpochSecond(Long.parseLong(lines[2].trim()))
                    : null;
            String socketDir = lines.length > 4 ? lines[4].trim() : "";
            String status = lines.length > 7 ? lines[7].trim() : "";
            return pid > 0 ? new PidFile(pid, start, socketDir, status) : null;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return null;
        }
    }

    /**
     * Whether this PID is a live (not zombie) PostgreSQL process. A stale postmaster.pid (after a
     * reboot or a kill) may name a PID that another program got since: its command line tells.
     */
    boolean alive() {
        if (!isAlive(pid)) {
            return false;
        }
        try {
            String cmdline = Files.readString(Path.of("/proc", String.valueOf(pid), "cmdline"), StandardCharsets.UTF_8);
            return cmdline.isEmpty() || cmdline.contains("postgres") || cmdline.contains("postmaster");
        } catch (IOException e) {
            return true;
        }
    }

    static boolean isAlive(long pid) {
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return false;
        }
        // a killed postmaster whose parent has not reaped it yet is a zombie: dead for us
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"), StandardCharsets.UTF_8);
            int close = stat.lastIndexOf(')');
            return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
        } catch (IOException e) {
            return !Files.isDirectory(Path.of("/proc"));
        }
    }
}
