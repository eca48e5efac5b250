package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the PostgreSQL binaries, as the unprivileged {@link OsUser} when the JVM is root. Every
 * command line is logged; none ever holds a password (they travel in the passfile or a 0600
 * temporary file). The child gets a clean environment: inherited {@code PG*} variables could
 * point a binary at another server or data directory. Thread-safe.
 */
final class Exec {

    private static final Logger LOG = LoggerFactory.getLogger(Exec.class);
    private static final int MAX_OUTPUT = 64 * 1024;

    /** A finished command: its exit code and its (stdout + stderr) output, tail-capped at 64 KiB. */
    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }

        /** The last lines of the output, for an exception message. */
        String tail() {
            String s = output.strip();
            String[] lines = s.split("\n");
            int from = Math.max(0, lines.length - 6);
            return String.join(" | ", java.util.Arrays.copyOfRange(lines, from, lines.length));
        }
    }

    private final OsUser user;

    Exec(OsUser user) {
        this.user = user;
    }

    OsUser user() {
        return user;
    }

    Result run(List<String> command, Duration timeout) throws PostgresException {
        return run(command, timeout, Map.of());
    }

    /**
     * Runs {@code command} to completion; stdin is empty. A command still running at
     * {@code timeout} is killed (it and its descendants, by PID) and reported as a failure. The
     * command and whatever it starts die with the calling thread, even when the JVM is killed with
     * SIGKILL (see {@link ThreadBound}).
     */
    Result run(List<String> command, Duration timeout, Map<String, String> env) throws PostgresException {
        List<String> full = ThreadBound.wrap(user, command);
        ProcessBuilder pb = new ProcessBuilder(full)
                .directory(new File("/"))
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> environment = pb.environment();
        environment.keySet().removeIf(k -> k.startsWith("PG"));
        if (user.home() != null) {
            environment.put("HOME", user.home());
        }
        if (user.name() != null) {
            environment.put("USER", user.name());
            environment.put("LOGNAME", user.name());
        }
        environment.putAll(env);
        LOG.debug("running {}", full);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new PostgresException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> drain(p.getInputStream(), out), "pgha-exec-" + p.pid());
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                reader.join(2000);
                throw new PostgresException(command.get(0) + " did not finish within " + timeout.toSeconds()
                        + "s and was killed; output: " + text(out));
            }
            reader.join(10_000);
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted while running " + command.get(0), e);
        }
        Result r = new Result(p.exitValue(), text(out));
        LOG.debug("{} exited with {}", command.get(0), r.exitCode());
        return r;
    }

    /**
     * Starts a long-running server process (the postmaster) as a child of this JVM, its output
     * appended to {@code log}. The JVM stays its parent so that the JDK reaps it when it exits: a
     * killed postmaster must not linger as a zombie holding its PID (PostgreSQL would then refuse
     * to start again, seeing its PID alive in postmaster.pid). {@code setsid} puts it in its own
     * session, so a Ctrl-C meant for the JVM does not shut PostgreSQL down; it does not fork here
     * (a child of the JVM is no process group leader), so the PID is the postmaster's.
     */
    Process launch(List<String> command, Path log) throws PostgresException {
        List<String> full = new ArrayList<>(List.of("setsid", "--wait"));
        full.addAll(user.commandPrefix());
        full.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(full)
                .directory(new File("/"))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> environment = pb.environment();
        environment.keySet().removeIf(k -> k.startsWith("PG"));
        if (user.home() != null) {
            environment.put("HOME", user.home());
        }
        if (user.name() != null) {
            environment.put("USER", user.name());
            environment.put("LOGNAME", user.name());
        }
        LOG.debug("starting {}", full);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new PostgresException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    private static void drain(InputStream in, ByteArrayOutputStream out) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (out) {
                    if (out.size() < MAX_OUTPUT) {
                        out.write(buf, 0, Math.min(n, MAX_OUTPUT - out.size()));
                    }
                }
            }
        } catch (IOException ignored) {
            // the process ended or was killed; what was read is kept
        }
    }
}
