package io.pgha.postgres.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.pgha.config.DynamicConfig;
import io.pgha.config.WatchdogConfig;
import io.pgha.config.WatchdogConfig.Mode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fence's watchdog half, on a <b>stand-in device</b>: a regular file in a temporary directory,
 * opened by the fence process exactly as it opens {@code /dev/watchdog} (its keepalives and magic
 * close characters land in the file, where the test reads them), with a stand-in for wdctl that
 * touches nothing. No real watchdog device is ever opened (this machine has none, and one armed by
 * a test could reset the host). No PostgreSQL either: the data directory is empty, so the fence finds
 * no postmaster to stop; ShellFenceIT covers the stopping.
 *
 * <p>Checked: a keepalive ('1') per arm while fed; the magic close character ('V') on an orderly
 * disarm and close; after the agent's JVM is killed (kill -9) the fence exits without writing 'V'
 * (the kernel then keeps counting and resets the host); when that JVM is frozen (SIGSTOP) the fence
 * keeps the device open and unfed, and feeding resumes when it thaws; a device the fence cannot open
 * fails the activation and, in mode required, makes the fence unhealthy.
 */
class ShellFenceWatchdogIT {
    private static final Duration T = Duration.ofSeconds(60);

    private Path base;
    private Path dataDir;
    private Path device;
    private final List<Process> agents = new ArrayList<>();
    private final List<Long> fencePids = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        assumeThat(Files.isExecutable(Path.of("/bin/bash")) || Files.isExecutable(Path.of("/usr/bin/bash")))
                .as("the fence needs bash")
                .isTrue();
        base = Files.createTempDirectory("pgha-watchdog-it-");
        dataDir = Files.createDirectories(base.resolve("data"));
        device = Files.createFile(base.resolve("watchdog-stand-in"));
    }

    @AfterEach
    void tearDown() throws IOException {
        for (Process p : agents) {
            signal("CONT", p.pid());
            p.destroyForcibly();
        }
        for (long pid : fencePids) {
            ProcessHandle.of(pid).ifPresent(h -> {
                signal("CONT", pid);
                h.destroyForcibly();
            });
        }
        if (base != null) {
            try (Stream<Path> s = Files.walk(base)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private ShellFence fence(Mode mode, Path dev) {
        return new ShellFence(
                dataDir, base.resolve("fence"), new WatchdogConfig(mode, dev.toString(), 5), (d, seconds) -> seconds);
    }

    private String written() throws IOException {
        return Files.readString(device, StandardCharsets.US_ASCII);
    }

    @Test
    void keepalivesWhileFedAndTheMagicCloseOnDisarmAndClose() throws Exception {
        ShellFence fence = fence(Mode.REQUIRED, device);
        try {
            assertThat(fence.isHealthy(DynamicConfig.DEFAULTS)).isTrue();
            fence.arm(Duration.ofSeconds(20));
            fencePids.add(fence.pid());
            assertThat(fence.watchdogActive()).isTrue();
            fence.arm(Duration.ofSeconds(20));
            fence.arm(Duration.ofSeconds(20));
            await("three keepalives", () -> written().equals("111"));
            fence.disarm();
            await("the magic close on disarm", () -> written().equals("111V"));
            assertThat(fence.watchdogActive()).isFalse();
            assertThat(openedBy(fence.pid())).as("the device is closed").isFalse();

            fence.arm(Duration.ofSeconds(20)); // leader again: opened again, fed
            await("a keepalive after reopening", () -> written().equals("111V1"));
            assertThat(openedBy(fence.pid())).isTrue();
            long pid = fence.pid();
            fence.close();
            await("the magic close on close", () -> written().equals("111V1V"));
            await(
                    "the fence to exit",
                    () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
            assertThat(Files.readString(fence.logFile()))
                    .contains("watchdog " + device + " closed (disarmed)")
                    .contains("closed (the agent is closing down)");
        } finally {
            fence.close();
        }
    }

    /**
     * Patroni's testing driver ({@code watchdog.driver: testing}, what Patroni's acceptance feature
     * "watchdog" configures on a named pipe): no wdctl; the timeout is written to the open device as
     * {@code Ctimeout=<s>} before the keepalives, as Patroni's TestingWatchdogDevice does.
     */
    @Test
    void theTestingDriverWritesTheTimeoutToTheDevice() throws Exception {
        ShellFence fence = new ShellFence(
                dataDir,
                base.resolve("fence"),
                new WatchdogConfig(Mode.REQUIRED, device.toString(), 5, WatchdogConfig.Driver.TESTING),
                (d, seconds) -> {
                    throw new IOException("the testing driver must not set the timeout with an ioctl");
                });
        try {
            fence.arm(Duration.ofSeconds(20));
            fencePids.add(fence.pid());
            assertThat(fence.watchdogActive()).isTrue();
            fence.arm(Duration.ofSeconds(20));
            // ttl 30 - safety_margin 5
            await("the timeout, then keepalives", () -> written().equals("Ctimeout=25\n11"));
            fence.disarm();
            await("the magic close", () -> written().equals("Ctimeout=25\n11V"));
        } finally {
            fence.close();
        }
    }

    @Test
    void theAgentsDeathLeavesTheWatchdogClosedWithoutTheMagicCharacter() throws Exception {
        Process agent = startAgent("killed", 60_000);
        long fencePid = fencePids.get(fencePids.size() - 1);
        await("keepalives from the running agent", () -> written().length() >= 2);
        agent.destroyForcibly(); // SIGKILL: the pipe's far end closes
        await(
                "the fence to exit",
                () -> ProcessHandle.of(fencePid).map(h -> !h.isAlive()).orElse(true));
        String after = written();
        assertThat(after).matches("1+").doesNotContain("V");
        assertThat(Files.readString(base.resolve("fence-killed").resolve("pgha-fence.log")))
                .contains("channel closed (the agent died)")
                .contains("exiting with the watchdog " + device + " unfed and not closed");
        Thread.sleep(1500);
        assertThat(written()).as("nothing feeds it any more").isEqualTo(after);
    }

    @Test
    void aFrozenAgentLeavesTheWatchdogOpenAndUnfedUntilItThaws() throws Exception {
        Process agent = startAgent("frozen", 2000);
        long fencePid = fencePids.get(fencePids.size() - 1);
        await("keepalives from the running agent", () -> written().length() >= 2);
        signal("STOP", agent.pid());
        Path log = base.resolve("fence-frozen").resolve("pgha-fence.log");
        await("the fence's deadline to pass", () -> Files.readString(log).contains("is left unfed"));
        String unfed = written();
        Thread.sleep(1500);
        assertThat(written())
                .as("no keepalive while the agent is frozen")
                .isEqualTo(unfed)
                .doesNotContain("V");
        assertThat(openedBy(fencePid))
                .as("still open: the kernel's countdown runs")
                .isTrue();
        signal("CONT", agent.pid());
        await("keepalives again once the agent renews", () -> written().length() > unfed.length());
        assertThat(written()).doesNotContain("V");
    }

    @Test
    void aFrozenFenceStopsFeedingTheWatchdog() throws Exception {
        // a freeze of the fence together with the agent (a cgroup freeze of the whole service): only
        // the kernel's watchdog is left to act
        startAgent("fence-frozen", 60_000);
        long fencePid = fencePids.get(fencePids.size() - 1);
        await("keepalives from the running agent", () -> written().length() >= 2);
        signal("STOP", fencePid);
        Thread.sleep(300);
        String frozen = written();
        Thread.sleep(1500);
        assertThat(written()).isEqualTo(frozen).doesNotContain("V");
        assertThat(openedBy(fencePid)).isTrue();
    }

    @Test
    void aDeviceTheFenceCannotOpenFailsTheActivationAndARequiredWatchdogIsUnhealthy() throws Exception {
        Path missing = base.resolve("no-such-watchdog");
        ShellFence fence = fence(Mode.REQUIRED, missing);
        try {
            fence.arm(Duration.ofSeconds(20));
            fencePids.add(fence.pid());
            assertThat(fence.watchdogActive()).isFalse();
            assertThat(fence.isHealthy(DynamicConfig.DEFAULTS)).isFalse();
            assertThat(Files.exists(missing)).as("never created by the fence").isFalse();
            assertThat(Files.readString(fence.logFile()))
                    .contains("cannot open the watchdog " + missing + ": it does not exist");
        } finally {
            fence.close();
        }
        ShellFence automatic = fence(Mode.AUTOMATIC, missing);
        try {
            automatic.arm(Duration.ofSeconds(20));
            fencePids.add(automatic.pid());
            assertThat(automatic.watchdogActive()).isFalse();
            assertThat(automatic.isHealthy(DynamicConfig.DEFAULTS)).isTrue();
        } finally {
            automatic.close();
        }
    }

    /** Whether process {@code pid} holds the stand-in device open (its /proc fd links). */
    private boolean openedBy(long pid) throws IOException {
        Path fds = Path.of("/proc", Long.toString(pid), "fd");
        if (!Files.isDirectory(fds)) {
            return false;
        }
        try (Stream<Path> s = Files.list(fds)) {
            return s.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(device.toRealPath());
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    private Process startAgent(String name, long deadlineMs) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        FenceAgentMain.class.getName(),
                        dataDir.toString(),
                        base.resolve("fence-" + name).toString(),
                        Long.toString(deadlineMs),
                        device.toString())
                .redirectErrorStream(true)
                .start();
        agents.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("fed ")) {
            // slf4j lines of the agent
        }
        assertThat(line).as("the agent armed its fence").isNotNull();
        fencePids.add(Long.parseLong(line.substring(4).trim()));
        // drain the rest so that the agent never blocks on a full pipe
        Thread drain = new Thread(
                () -> {
                    try {
                        while (out.readLine() != null) {
                            // discard
                        }
                    } catch (IOException e) {
                        // the agent is gone
                    }
                },
                "agent-output-" + name);
        drain.setDaemon(true);
        drain.start();
        return p;
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void await(String what, Check check) throws Exception {
        long end = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < end) {
            if (check.ok()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what);
    }

    private static void signal(String sig, long pid) {
        try {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start().waitFor(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
