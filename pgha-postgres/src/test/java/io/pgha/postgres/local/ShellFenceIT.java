package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.postgres.fence.FenceAgentMain;
import io.pgha.postgres.fence.ShellFence;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The out-of-process fence on a real primary: an unfed deadline and the death (kill -9) or freeze
 * (SIGSTOP) of the agent's JVM, or of the agent with every process it started, stop PostgreSQL (the
 * fence is no descendant of the agent, in a session and process group of its own); a fed or disarmed fence, a clean close and a replica's
 * data directory leave it running. The "agent" of the kill and freeze tests is {@link FenceAgentMain}
 * in a JVM of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShellFenceIT {
    private static final Duration T = Duration.ofMinutes(2);

    private Path base;
    private LocalPostgresController pg;
    private final List<Process> agents = new ArrayList<>();
    private final List<Long> fencePids = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-fence-it-");
        pg = new LocalPostgresController(PgTestSupport.config("f", base).build());
        pg.bootstrap();
    }

    @BeforeEach
    void primaryRuns() throws Exception {
        if (!pg.status().isRunning()) {
            pg.start(null, T);
        }
        assertThat(pg.status().isPrimary()).isTrue();
    }

    @AfterEach
    void stopAgents() {
        for (Process p : agents) {
            ProcessHandle.of(p.pid()).ifPresent(h -> signal("CONT", h.pid()));
            p.destroyForcibly();
        }
        agents.clear();
        for (long pid : fencePids) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        fencePids.clear();
    }

    @AfterAll
    void tearDown() throws Exception {
        if (pg != null) {
            pg.close();
            PgTestSupport.deleteTree(pg.runtimeDir());
        }
        PgTestSupport.deleteTree(base);
    }

    private Path work(String name) {
        return base.resolve("fence-" + name);
    }

    @Test
    void aDeadlinePassingUnfedStopsThePrimary() throws Exception {
        ShellFence fence = new ShellFence(pg.config().dataDir(), work("unfed"));
        try {
            Instant armed = Instant.now();
            fence.arm(Duration.ofMillis(1500));
            fencePids.add(fence.pid());
            PgTestSupport.await(
                    "the fence to stop PostgreSQL", T, () -> !pg.status().isRunning());
            assertThat(Duration.between(armed, Instant.now())).isGreaterThanOrEqualTo(Duration.ofMillis(1400));
            assertThat(Files.readString(fence.logFile())).contains("did not renew the deadline");
        } finally {
            fence.close();
        }
    }

    @Test
    void aFedThenDisarmedFenceLeavesThePrimaryRunningAndACleanCloseEndsIt() throws Exception {
        ShellFence fence = new ShellFence(pg.config().dataDir(), work("fed"));
        Instant end = Instant.now().plusSeconds(4);
        while (Instant.now().isBefore(end)) {
            fence.arm(Duration.ofMillis(1500));
            Thread.sleep(300);
        }
        long pid = fence.pid();
        fencePids.add(pid);
        fence.disarm();
        Thread.sleep(3000);
        assertThat(pg.status().isPrimary()).isTrue();
        fence.close();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .isFalse();
        assertThat(pg.status().isPrimary()).isTrue();
    }

    @Test
    void theAgentsDeathStopsThePrimaryAtOnce() throws Exception {
        // a deadline far away: only the closed channel can make the fence act this soon
        Process agent = startAgent("killed", 60_000);
        Instant killed = Instant.now();
        agent.destroyForcibly(); // SIGKILL
        PgTestSupport.await(
                "the fence to stop PostgreSQL", T, () -> !pg.status().isRunning());
        assertThat(Duration.between(killed, Instant.now())).isLessThan(Duration.ofSeconds(30));
        assertThat(Files.readString(work("killed").resolve("pgha-fence.log"))).contains("channel closed");
    }

    @Test
    void aFrozenAgentsDeadlinePassesAndStopsThePrimary() throws Exception {
        Process agent = startAgent("frozen", 2000);
        Thread.sleep(1500);
        assertThat(pg.status().isPrimary()).as("fed while the agent runs").isTrue();
        signal("STOP", agent.pid());
        PgTestSupport.await(
                "the fence to stop PostgreSQL", T, () -> !pg.status().isRunning());
        assertThat(Files.readString(work("frozen").resolve("pgha-fence.log"))).contains("did not renew the deadline");
    }

    @Test
    void theFenceIsNoDescendantOfTheAgentAndHasASessionAndGroupOfItsOwn() throws Exception {
        Process agent = startAgent("detached", 60_000);
        long fence = fencePids.get(fencePids.size() - 1);
        assertThat(agent.toHandle().descendants().map(ProcessHandle::pid))
                .as("the agent's descendants")
                .doesNotContain(fence);
        assertThat(stat(fence).session()).isNotEqualTo(stat(agent.pid()).session());
        assertThat(stat(fence).group()).isNotEqualTo(stat(agent.pid()).group());
    }

    @Test
    void freezingTheAgentWithEverythingItStartedStopsThePrimaryWhenTheDeadlinePasses() throws Exception {
        Process agent = startAgent("tree-frozen", 2000);
        Thread.sleep(1500);
        List<Long> tree = tree(agent);
        tree.forEach(pid -> signal("STOP", pid));
        try {
            PgTestSupport.await(
                    "the fence to stop PostgreSQL", T, () -> !pg.status().isRunning());
            assertThat(Files.readString(work("tree-frozen").resolve("pgha-fence.log")))
                    .contains("did not renew the deadline");
        } finally {
            tree.forEach(pid -> signal("CONT", pid));
        }
    }

    @Test
    void killingTheAgentWithEverythingItStartedStopsThePrimaryAtOnce() throws Exception {
        Process agent = startAgent("tree-killed", 60_000);
        tree(agent).forEach(pid -> signal("KILL", pid));
        PgTestSupport.await(
                "the fence to stop PostgreSQL", T, () -> !pg.status().isRunning());
        assertThat(Files.readString(work("tree-killed").resolve("pgha-fence.log")))
                .contains("channel closed");
    }

    /** The agent and every process it started, the agent first. */
    private static List<Long> tree(Process agent) {
        List<Long> pids = new ArrayList<>(List.of(agent.pid()));
        agent.toHandle().descendants().forEach(h -> pids.add(h.pid()));
        return pids;
    }

    private record Stat(long group, long session) {}

    /** The process group and session of {@code pid}, from /proc/<pid>/stat (fields 5 and 6). */
    private static Stat stat(long pid) throws Exception {
        String text = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] after = text.substring(text.lastIndexOf(')') + 2).split(" ");
        return new Stat(Long.parseLong(after[2]), Long.parseLong(after[3]));
    }

    @Test
    void aReplicasDataDirectoryIsNeverStopped() throws Exception {
        Path signalFile = pg.config().dataDir().resolve("standby.signal");
        ShellFence fence = new ShellFence(pg.config().dataDir(), work("replica"));
        try {
            Files.createFile(signalFile); // read by PostgreSQL only at start: this one stays a primary
            fence.arm(Duration.ofMillis(500));
            fencePids.add(fence.pid());
            PgTestSupport.await(
                    "the fence to decline",
                    T,
                    () -> Files.readString(fence.logFile()).contains("is a replica (standby.signal): not stopping it"));
            assertThat(pg.status().isRunning()).isTrue();
        } finally {
            Files.deleteIfExists(signalFile);
            fence.close();
        }
    }

    private Process startAgent(String name, long deadlineMs) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        FenceAgentMain.class.getName(),
                        pg.config().dataDir().toString(),
                        work(name).toString(),
                        Long.toString(deadlineMs))
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
        return p;
    }

    private static void signal(String sig, long pid) {
        try {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start().waitFor(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
