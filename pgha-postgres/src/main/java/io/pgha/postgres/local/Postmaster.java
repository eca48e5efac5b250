package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import io.pgha.postgres.StopMode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The postmaster process of the data directory: start (as a child of the JVM) and wait until it
 * accepts connections, stop with pg_ctl, reload, and find the running one by the PID in
 * postmaster.pid, never by process name. It remembers the PIDs it started, so that
 * {@link #stopStarted()} stops only a postmaster this controller started.
 *
 * <p>Threading: {@link #running()} only reads postmaster.pid and may run on any thread; everything
 * else, the set of started PIDs included, runs only under the controller's action lock. A smart
 * stop would wait for the connection {@code status()} keeps open: the controller closes it first.
 */
final class Postmaster {

    private static final Logger LOG = LoggerFactory.getLogger(Postmaster.class);

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final Binaries bins;
    private final OsUser user;
    private final OsCommand exec;
    private final Set<Long> startedPids = ConcurrentHashMap.newKeySet();

    Postmaster(LocalPostgresConfig config, DataDirectory dir, Binaries bins, OsUser user, OsCommand exec) {
        this.config = config;
        this.dir = dir;
        this.bins = bins;
        this.user = user;
        this.exec = exec;
    }

    /** The postmaster of this data directory if it is alive. */
    PidFile running() {
        PidFile pid = PidFile.read(dir.path());
        return pid != null && pid.alive() ? pid : null;
    }

    /** Fails naming the port when another process holds it: clearer than the postmaster's own log. */
    void checkPortFree() throws PostgresException {
        String host = config.listen().firstHost();
        String bindHost = host.equals("*") ? "0.0.0.0" : host;
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(bindHost, config.port()));
        } catch (IOException e) {
            throw new PostgresException(
                    "port " + config.port() + " on " + host
                            + " (postgresql.listen) is already in use or cannot be bound: " + e.getMessage(),
                    e);
        }
    }

    /**
     * Starts the postmaster as a child of this JVM (like Patroni, not through {@code pg_ctl start},
     * which would leave it to init to reap) and waits, as {@code pg_ctl -w} does, until
     * postmaster.pid says it accepts connections ({@code ready}, or {@code standby} on a hot
     * standby), or it exits, or {@code timeout} passes (then it is left starting).
     */
    void start(Duration timeout) throws PostgresException {
        // created (0600) and appended to by the PostgreSQL user, never opened by root (OsCommand.launch)
        Path log = dir.path().resolve("log").resolve("pgha-postmaster.log");
        try {
            if (dir.files().rotate(log, MAX_LOG_BYTES)) {
                LOG.info(
                        "{}: {} was larger than {} MiB: renamed to {}.1", config.name(), log, MAX_LOG_BYTES >> 20, log);
            }
        } catch (IOException e) {
            LOG.warn("{}: cannot rotate {}: {}", config.name(), log, e.getMessage());
        }
        long secs = Math.max(1, timeout.toSeconds());
        LOG.info("{}: starting PostgreSQL ({}:{})", config.name(), config.listenAddresses(), config.port());
        long logStart = sizeOf(log);
        Process p = exec.launch(List.of(bins.path("postgres"), "-D", dir.path().toString()), log);
        startedPids.add(p.pid());
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            PidFile pid = PidFile.read(dir.path());
            boolean ours =
                    pid != null && (pid.pid() == p.pid() || p.descendants().anyMatch(d -> d.pid() == pid.pid()));
            if (ours && pid.pid() != p.pid()) {
                startedPids.add(pid.pid());
            }
            if (ours && ("ready".equals(pid.status()) || "standby".equals(pid.status()))) {
                LOG.info("{}: PostgreSQL started, postmaster pid {}", config.name(), pid.pid());
                return;
            }
            if (!p.isAlive()) {
                startedPids.remove(p.pid());
                String logTail = tailFrom(log, logStart, 20);
                if (p.exitValue() == 2 && logTail.isEmpty()) {
                    throw new PostgresException("PostgreSQL in " + dir.path() + " could not start: " + user.describe()
                            + " cannot append to its log " + log + " (exit code 2)");
                }
                if (logTail.contains("Address already in use")) {
                    throw new PostgresException("port " + config.port() + " (postgresql.listen) is already in use: "
                            + lastLines(logTail, 3));
                }
                throw new PostgresException("PostgreSQL in " + dir.path() + " exited during start (code "
                        + p.exitValue() + "): " + lastLines(logTail, 5));
            }
            if (Instant.now().isAfter(deadline)) {
                throw new PostgresException("PostgreSQL did not become ready within " + secs
                        + "s; it is still starting " + "(postmaster pid " + p.pid() + "), see " + log);
            }
            sleep(50);
        }
    }

    /**
     * Stops the running postmaster with {@code pg_ctl stop}; a no-op when none runs. With
     * {@code checkpointFirst} a primary checkpoints first, so that the shutdown checkpoint is short.
     */
    void stop(StopMode mode, boolean checkpointFirst, Duration timeout) throws PostgresException {
        PidFile pid = running();
        if (pid == null) {
            LOG.info("{}: stop: PostgreSQL is not running", config.name());
            return;
        }
        if (checkpointFirst && mode != StopMode.IMMEDIATE) {
            try (Connection c = Sql.local(config, dir.path());
                    Statement st = c.createStatement()) {
                st.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
                if (!Sql.inRecovery(st)) {
                    st.execute("CHECKPOINT");
                }
            } catch (SQLException e) {
                LOG.warn("{}: CHECKPOINT before stop failed ({}); stopping anyway", config.name(), e.getMessage());
            }
        }
        if (mode != StopMode.IMMEDIATE) {
            beforeStop();
        }
        String m = mode.name().toLowerCase(Locale.ROOT);
        long secs = Math.max(1, timeout.toSeconds());
        LOG.info("{}: pg_ctl stop -m {}", config.name(), m);
        OsCommand.Result r = exec.run(
                List.of(
                        bins.path("pg_ctl"),
                        "stop",
                        "-D",
                        dir.path().toString(),
                        "-m",
                        m,
                        "-w",
                        "-t",
                        String.valueOf(secs)),
                timeout.plusSeconds(30));
        if (!r.ok() && PidFile.isAlive(pid.pid())) {
            throw new PostgresException("pg_ctl stop -m " + m + " failed for " + dir.path() + ": " + r.tail());
        }
        startedPids.remove(pid.pid());
    }

    /** An immediate stop that only logs a failure: the cleanup after a failed bootstrap. */
    void stopQuietly() {
        try {
            stop(StopMode.IMMEDIATE, false, OsCommand.SHORT);
        } catch (PostgresException e) {
            LOG.warn("{}: stop failed: {}", config.name(), e.getMessage());
        }
    }

    /**
     * Patroni's {@code postgresql.before_stop}: the script runs (as PostgreSQL's OS user, no
     * arguments) right before pg_ctl stop, and whatever it returns the stop goes on, as Patroni.
     * Not before an immediate stop: that one fences a primary that lost its lock, and must not wait
     * on a script (up to a minute here).
     */
    private void beforeStop() {
        String cmd = config.beforeStop();
        if (cmd == null) {
            return;
        }
        try {
            OsCommand.Result r = exec.runUserCommand(
                    OsCommand.userCommandWords("postgresql.before_stop", cmd), OsCommand.SHORT, Map.of());
            LOG.info("{}: before_stop script `{}` exited with {}", config.name(), cmd, r.exitCode());
        } catch (PostgresException e) {
            LOG.error("{}: before_stop script `{}` failed: {}; stopping anyway", config.name(), cmd, e.getMessage());
        }
    }

    /** {@code pg_ctl reload} when the postmaster runs; a stopped one reads the files when it starts. */
    void reload() throws PostgresException {
        if (running() == null) {
            return;
        }
        OsCommand.Result r =
                exec.run(List.of(bins.path("pg_ctl"), "reload", "-D", dir.path().toString()), OsCommand.SHORT);
        if (!r.ok()) {
            throw new PostgresException("pg_ctl reload failed for " + dir.path() + ": " + r.tail());
        }
    }

    /**
     * Stops the postmaster this controller started, if it still runs: a fast shutdown, then an
     * immediate one, then SIGKILL to that PID. Leaves alone a postmaster it did not start, and
     * forgets the started PIDs.
     */
    void stopStarted() {
        try {
            PidFile pid = running();
            if (pid == null || !startedPids.contains(pid.pid())) {
                return;
            }
            for (StopMode mode : List.of(StopMode.FAST, StopMode.IMMEDIATE)) {
                try {
                    stop(mode, false, Duration.ofSeconds(30));
                } catch (PostgresException e) {
                    LOG.warn("{}: close: stop -m {} failed: {}", config.name(), mode, e.getMessage());
                }
                if (!PidFile.isAlive(pid.pid())) {
                    return;
                }
            }
            LOG.warn("{}: close: killing postmaster {}", config.name(), pid.pid());
            ProcessHandle.of(pid.pid()).ifPresent(ProcessHandle::destroyForcibly);
        } finally {
            startedPids.clear();
        }
    }

    /** Sleeps between two polls of a wait; an interrupt ends the wait as a PostgresException. */
    static void sleep(long millis) throws PostgresException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted", e);
        }
    }

    /** The log's size, from its attributes (no symlink followed); 0 when it has none yet. */
    private static long sizeOf(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .size();
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * The size past which the postmaster's log is renamed to {@code pgha-postmaster.log.1} at the
     * next start (one older file kept): PostgreSQL's own {@code logging_collector} is the way to
     * rotate a long-running server's log.
     */
    static final long MAX_LOG_BYTES = 64L * 1024 * 1024;

    /** How much of the log a failed start reads: its last 64 KiB, never the whole file. */
    private static final int TAIL_BYTES = 64 * 1024;

    /**
     * The last {@code lines} lines written to {@code file} after byte offset {@code from}, read as
     * the PostgreSQL user when pgha is root, and at most the last 64 KiB of them.
     */
    private String tailFrom(Path file, long from, int lines) {
        try {
            String text = dir.files().tail(file, from, TAIL_BYTES);
            String[] l = text.split("\n");
            return String.join("\n", Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length));
        } catch (IOException e) {
            return "";
        }
    }

    private static String lastLines(String text, int n) {
        String[] l = text.strip().split("\n");
        return String.join(" | ", Arrays.copyOfRange(l, Math.max(0, l.length - n), l.length));
    }
}
