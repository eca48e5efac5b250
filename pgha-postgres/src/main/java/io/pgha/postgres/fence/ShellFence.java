package io.pgha.postgres.fence;

import io.pgha.config.DynamicConfig;
import io.pgha.config.WatchdogConfig;
import io.pgha.ha.Fence;
import io.pgha.postgres.local.OsCommand;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Fence} that is a small bash process ({@code pgha-fence.sh}) outside the agent's reach: it is
 * started detached ({@code setsid -f}), so it is no descendant of the agent (reparented at once), in a
 * session and process group of its own. Freezing (SIGSTOP) or killing (SIGKILL) the agent together
 * with its process group, its session or every process it started leaves the fence running, and the
 * fence then acts. The agent feeds it over a named pipe in the fence's private directory
 * ({@code pgha-fence.channel}; a pipe to a child would tie the fence to a child's life):
 * {@code ARM <ms>} each time the lock is proven, {@code DISARM} when it is not the leader,
 * {@code EXIT} on a clean close. When a deadline passes unfed, or the pipe closes while armed (the
 * JVM died), the script stops PostgreSQL with a fast shutdown (SIGINT to the postmaster of
 * {@code postmaster.pid}: no commit is acknowledged from then on, and the walsenders send what was
 * written to the standbys before they exit), an immediate one (SIGQUIT) 3 s later if needed, unless
 * the data directory is a replica's ({@code standby.signal}).
 *
 * <p>What it does not survive: a freeze of a whole cgroup that holds it too (systemd's
 * {@code systemctl freeze}, a frozen container), a suspended host or VM. The watchdog below covers
 * those where the host has one.
 *
 * <p>The process is started on the first {@link #arm}, so replicas never run one, and started again
 * on the next arm if it died. Its output goes to a log file (never to a pipe: a write to a pipe whose
 * reader, the dead JVM, is gone would kill it with SIGPIPE before it could act).
 *
 * <p>With a {@link WatchdogConfig} that is not off, the fence also holds a Linux watchdog device
 * (Patroni's {@code watchdog:} section): on an arm that finds it closed, the agent checks the timing
 * and sets the device's timeout ({@link LinuxWatchdog}, {@link WdctlTimeout}), then asks the fence to
 * open it ({@code WATCHDOG <seq> <device>}) and waits for its answer in {@code pgha-watchdog.state};
 * every {@code ARM} is then a keepalive, and {@code DISARM} / {@code EXIT} close it with the magic
 * close character. The agent's death or freeze leaves it unfed, so the kernel resets the host unless
 * the agent comes back in time. Why the device is in the fence and not in the JVM: a frozen JVM must
 * not be able to feed it, and a dead one must not leave it fed.
 *
 * <p>Thread-safe: every method is synchronized. None blocks for long, except an arm that activates
 * the watchdog (wdctl and the fence's answer, a few milliseconds normally, at most 15 s).
 */
public final class ShellFence implements Fence {
    private static final Logger LOG = LoggerFactory.getLogger(ShellFence.class);
    static final String SCRIPT = "pgha-fence.sh";
    static final String STATE = "pgha-watchdog.state";
    static final String CHANNEL = "pgha-fence.channel";
    static final String PID_FILE = "pgha-fence.pid";
    /** How long a starting fence may take to make its channel. */
    private static final long START_TIMEOUT_MS = 10_000;

    private static final long ANSWER_TIMEOUT_MS = 5000;

    private final Path dataDir;
    private final Path workDir;
    private final String shell;
    private ProcessHandle process;
    private OutputStream channel;
    private final LinuxWatchdog watchdog;
    private boolean armed;
    private boolean closed;
    private boolean watchdogOpen;
    private DynamicConfig dynamic = DynamicConfig.DEFAULTS;
    private long watchdogRequest;

    /**
     * A fence without a watchdog.
     *
     * @param dataDir the PostgreSQL data directory whose postmaster the fence stops
     * @param workDir where the script and its log ({@code pgha-fence.log}) live: a private directory
     *     of this process, created with mode 0700 if absent, refused when it is not ({@link
     *     #privateWorkDir})
     * @throws IllegalStateException when this host has no bash
     */
    public ShellFence(Path dataDir, Path workDir) {
        this(dataDir, workDir, WatchdogConfig.OFF);
    }

    /**
     * A fence that also drives the Linux watchdog {@code watchdog} describes (none when it is off).
     *
     * @throws IllegalStateException when this host has no bash
     */
    public ShellFence(Path dataDir, Path workDir, WatchdogConfig watchdog) {
        this(dataDir, workDir, watchdog, WdctlTimeout.system());
    }

    /** For tests: the watchdog's timeout is set by {@code timeout} (a stand-in for wdctl). */
    ShellFence(Path dataDir, Path workDir, WatchdogConfig watchdog, WatchdogTimeout timeout) {
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir").toAbsolutePath();
        this.workDir = Objects.requireNonNull(workDir, "workDir").toAbsolutePath();
        this.shell = findBash();
        Objects.requireNonNull(watchdog, "watchdog");
        // Patroni's testing driver (its acceptance harness): no ioctl, the timeout is written to the
        // open device instead (WATCHDOG_TIMEOUT below)
        WatchdogTimeout setter =
                watchdog.driver() == WatchdogConfig.Driver.TESTING ? (dev, seconds) -> seconds : timeout;
        this.watchdog = watchdog.enabled() ? new LinuxWatchdog(watchdog, setter) : null;
    }

    /** The fence's log file. */
    public Path logFile() {
        return workDir.resolve("pgha-fence.log");
    }

    /** The fence process's PID, or -1 when none runs. */
    public synchronized long pid() {
        return running() ? process.pid() : -1;
    }

    private boolean running() {
        return process != null && process.isAlive() && channel != null;
    }

    /** Whether the fence holds the watchdog device open (and so feeds it on every arm). */
    public synchronized boolean watchdogActive() {
        return watchdogOpen;
    }

    @Override
    public synchronized void arm(Duration within) {
        if (closed) {
            return;
        }
        long ms = Math.max(0, within.toMillis());
        if (!running()) {
            start();
        }
        if (watchdog != null) {
            activateWatchdog();
        }
        send("ARM " + ms); // the keepalive, when the watchdog is open
        armed = true;
    }

    @Override
    public synchronized void disarm() {
        if (!armed || closed) {
            return;
        }
        send("DISARM"); // closes the watchdog with the magic close character
        armed = false;
        watchdogClosed();
    }

    /** Patroni's {@code is_healthy}; remembers {@code config} for the watchdog's next activation. */
    @Override
    public synchronized boolean isHealthy(DynamicConfig config) {
        if (config != null) {
            dynamic = config;
        }
        if (!closed && !running()) {
            // start the (disarmed) process ahead of the first arm: taking the lock should not wait for
            // a shell to start, it sat in a switchover's write gap (about 50 ms)
            try {
                start();
            } catch (UncheckedIOException e) {
                LOG.warn("{}; trying again when armed", e.getMessage());
            }
        }
        return watchdog == null || watchdog.isHealthy(dynamic);
    }

    /** Opens the watchdog before the first keepalive, and again when its timeout must change. */
    private void activateWatchdog() {
        if (watchdogOpen && watchdog.needsNewTimeout(dynamic)) {
            // the timeout can only be set while nobody holds the device: close it (orderly) and open
            // it again with the new one; the fence's own deadline stays armed meanwhile
            LOG.info(
                    "the watchdog timeout changes to {} s: closing and opening {} again",
                    watchdog.config().timeoutSeconds(dynamic),
                    watchdog.device());
            send("UNWATCH");
            watchdogClosed();
        }
        if (watchdogOpen || !watchdog.mayActivate()) {
            return;
        }
        Integer timeout = watchdog.prepare(dynamic);
        if (timeout == null) {
            return;
        }
        String answer = askToOpen(watchdog.device());
        if ("open".equals(answer)) {
            if (watchdog.config().driver() == WatchdogConfig.Driver.TESTING) {
                send("WATCHDOG_TIMEOUT " + timeout); // Patroni's TestingWatchdogDevice.set_timeout
            }
            watchdogOpen = true;
            watchdog.opened(timeout, dynamic);
        } else {
            watchdog.openFailed(answer.startsWith("failed ") ? answer.substring(7) : answer);
        }
    }

    /** Sends {@code WATCHDOG <seq> <device>} and waits for the fence's answer in the state file. */
    private String askToOpen(String device) {
        long seq = ++watchdogRequest;
        Path state = workDir.resolve(STATE);
        try {
            Files.deleteIfExists(state);
        } catch (IOException e) {
            return "cannot reset " + state + ": " + e.getMessage();
        }
        send("WATCHDOG " + seq + " " + device);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ANSWER_TIMEOUT_MS);
        String prefix = seq + " ";
        while (System.nanoTime() < deadline && channel != null) {
            try {
                if (Files.exists(state)) {
                    String line =
                            Files.readString(state, StandardCharsets.UTF_8).trim();
                    if (line.startsWith(prefix)) {
                        return line.substring(prefix.length());
                    }
                }
                Thread.sleep(10);
            } catch (IOException e) {
                // renamed over while reading: read again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while waiting for the fence to open the watchdog";
            }
        }
        return "the fence process did not answer within " + ANSWER_TIMEOUT_MS + " ms (see " + logFile() + ")";
    }

    private void watchdogClosed() {
        watchdogOpen = false;
        if (watchdog != null) {
            watchdog.closed();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (process == null) {
            return;
        }
        send("EXIT"); // closes the watchdog with the magic close character
        watchdogClosed();
        try {
            channel.close();
        } catch (IOException e) {
            // the fence is gone already
        }
        ProcessHandle fence = process;
        if (fence != null) {
            try {
                fence.onExit().get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                LOG.warn("the fence (pid {}) did not exit after EXIT", fence.pid());
            } catch (java.util.concurrent.ExecutionException e) {
                // gone already
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        process = null;
        channel = null;
    }

    private void start() {
        try {
            privateWorkDir(workDir);
            Path script = workDir.resolve(SCRIPT);
            try (InputStream in = ShellFence.class.getResourceAsStream(SCRIPT)) {
                if (in == null) {
                    throw new IllegalStateException(SCRIPT + " is missing from the classpath");
                }
                Files.write(script, in.readAllBytes());
            }
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
            Path pidFile = workDir.resolve(PID_FILE);
            Path channelPath = workDir.resolve(CHANNEL);
            Files.deleteIfExists(pidFile);
            List<String> fence = List.of(
                    shell,
                    script.toString(),
                    dataDir.toString(),
                    workDir.resolve(STATE).toString(),
                    channelPath.toString(),
                    pidFile.toString());
            ProcessBuilder pb = new ProcessBuilder(detached(shell, fence))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                    .redirectErrorStream(true);
            OsCommand.removeInheritedSecrets(pb.environment());
            Process launcher = pb.start();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MS);
            if (!launcher.waitFor(START_TIMEOUT_MS, TimeUnit.MILLISECONDS) || launcher.exitValue() != 0) {
                launcher.destroyForcibly();
                throw new IOException("the launcher of the fence failed (see " + logFile() + ")");
            }
            ProcessHandle started = awaitPid(pidFile, deadline);
            channel = openChannel(channelPath, started, deadline);
            process = started;
            armed = false;
            watchdogClosed(); // a new process holds no device
            send("HELLO");
            LOG.info("started the fence for {} (pid {}, detached, log {})", dataDir, started.pid(), logFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the fence process for " + dataDir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(
                    "cannot start the fence process for " + dataDir + ": interrupted",
                    new java.io.InterruptedIOException());
        }
    }

    /**
     * {@code command} started so that it ends up no descendant of this JVM: {@code setsid -f} forks
     * it into a new session and exits at once, so the fence is reparented (to init or the nearest
     * subreaper). Without setsid(1), a shell puts it in the background and exits (reparented too,
     * but left in the agent's session).
     */
    static List<String> detached(String shell, List<String> command) {
        List<String> cmd = new java.util.ArrayList<>(
                Files.isExecutable(Path.of("/usr/bin/setsid"))
                        ? List.of("/usr/bin/setsid", "-f")
                        : List.of(shell, "-c", "set -m; \"$@\" & exit 0", "pgha-fence-launcher"));
        cmd.addAll(command);
        return cmd;
    }

    /** The fence's process, once its PID file names a live process (it writes it first thing). */
    private ProcessHandle awaitPid(Path pidFile, long deadline) throws IOException, InterruptedException {
        while (System.nanoTime() < deadline) {
            if (Files.isRegularFile(pidFile, LinkOption.NOFOLLOW_LINKS)) {
                String text =
                        Files.readString(pidFile, StandardCharsets.US_ASCII).strip();
                if (text.matches("[0-9]{1,10}")) {
                    java.util.Optional<ProcessHandle> h = ProcessHandle.of(Long.parseLong(text));
                    if (h.isPresent() && h.get().isAlive()) {
                        return h.get();
                    }
                    throw new IOException("the fence exited at start (see " + logFile() + ")");
                }
            }
            Thread.sleep(10);
        }
        throw new IOException("the fence did not start within " + START_TIMEOUT_MS + " ms (see " + logFile() + ")");
    }

    /**
     * Opens the fence's named pipe for writing. The fence holds it open for reading already (it
     * opens it before it waits for HELLO), so the open does not block, unless the fence died in
     * between: the open then runs on a helper thread, given up at the deadline.
     */
    private OutputStream openChannel(Path path, ProcessHandle fence, long deadline)
            throws IOException, InterruptedException {
        while (System.nanoTime() < deadline && !isFifo(path)) {
            if (!fence.isAlive()) {
                throw new IOException("the fence exited before it made its channel (see " + logFile() + ")");
            }
            Thread.sleep(10);
        }
        if (!isFifo(path)) {
            throw new IOException("the fence made no channel " + path + " within " + START_TIMEOUT_MS + " ms");
        }
        java.util.concurrent.CompletableFuture<OutputStream> open =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return Files.newOutputStream(path, java.nio.file.StandardOpenOption.WRITE);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
        try {
            return open.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // nobody reads: a reader of our own lets the stuck open return, then both are closed
            try (InputStream unblock = Files.newInputStream(path)) {
                open.join().close();
            } catch (RuntimeException | IOException ignored) {
                // gone either way
            }
            throw new IOException("the fence did not open its channel " + path);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("cannot open the fence's channel " + path + ": "
                    + e.getCause().getMessage());
        }
    }

    /** A named pipe, not a symlink: the directory is private, this checks what is in it all the same. */
    private static boolean isFifo(Path path) {
        try {
            PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return a.isOther() && !a.isSymbolicLink();
        } catch (IOException e) {
            return false;
        }
    }

    private void send(String line) {
        if (channel == null) {
            return;
        }
        try {
            channel.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            channel.flush();
        } catch (IOException e) {
            // the fence died (killed by someone): the next arm starts a new one; the in-process lock
            // guard still covers a live JVM meanwhile
            LOG.error("the fence process is gone ({}); it is started again on the next renewal", e.getMessage());
            process = null;
            channel = null;
            watchdogClosed(); // closed by the kernel without the magic character: the next arm opens it again
        }
    }

    /**
     * Makes sure {@code dir} is this process's own private directory before a script is written
     * there and run (as root, often): created with mode 0700 when missing (exclusively: one that
     * appears meanwhile is checked like any other), and refused when it is a symlink, not a
     * directory, owned by another user, or open to the group or others. A directory under
     * {@code /tmp} with a predictable name could otherwise be made in advance by any local user,
     * who would then replace the script the agent runs.
     *
     * @throws IOException naming the directory and what is wrong with it
     */
    static void privateWorkDir(Path dir) throws IOException {
        Path parent = dir.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(PRIVATE));
        }
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PRIVATE));
        } catch (FileAlreadyExistsException e) {
            // made earlier, by us (a restart) or by someone else: the checks below tell
        }
        PosixFileAttributes attrs = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String refuse = " (the fence runs a script from it; remove it, or fix it, and start again)";
        if (attrs.isSymbolicLink()) {
            throw new IOException("the fence directory " + dir + " is a symlink: refusing to use it" + refuse);
        }
        if (!attrs.isDirectory()) {
            throw new IOException("the fence directory " + dir + " is not a directory" + refuse);
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (owner != self) {
            throw new IOException("the fence directory " + dir + " is owned by uid " + owner
                    + ", not by this agent's uid " + self + ": refusing to use it" + refuse);
        }
        Set<PosixFilePermission> open = EnumSet.copyOf(attrs.permissions());
        open.retainAll(EnumSet.of(
                PosixFilePermission.GROUP_READ,
                PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_EXECUTE,
                PosixFilePermission.OTHERS_READ,
                PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_EXECUTE));
        if (open.contains(PosixFilePermission.GROUP_WRITE) || open.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("the fence directory " + dir + " has mode "
                    + PosixFilePermissions.toString(attrs.permissions()) + ", it must be rwx------ (0700)" + refuse);
        }
        if (!open.isEmpty()) {
            // ours, and nobody else could write in it (an earlier pgha made it 0755): only close it
            LOG.info(
                    "the fence directory {} had mode {}: setting rwx------",
                    dir,
                    PosixFilePermissions.toString(attrs.permissions()));
            Files.setPosixFilePermissions(dir, PRIVATE);
        }
    }

    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");

    private static String findBash() {
        for (String p : List.of("/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        throw new IllegalStateException("the fence needs bash (/bin/bash or /usr/bin/bash): install bash");
    }
}
