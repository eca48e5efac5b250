package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.postgres.PostgresException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link OsCommand} on real processes: results, output, timeouts, interrupts, and above all that a
 * command dies with the JVM that runs it, even one killed with SIGKILL: an agent JVM
 * ({@link CommandAgentMain}) is killed in the middle of a long command, and the command and every
 * process it started must be gone soon after. With real PostgreSQL, the command is a rate-limited
 * pg_basebackup, whose WAL streamer is a forked child of its own.
 */
class OsCommandIT {
    private static final Duration T = Duration.ofMinutes(2);

    private final List<Process> agents = new ArrayList<>();
    /** Every process an agent started, killed by PID after the test if one outlived it. */
    private final List<ProcessHandle> started = new ArrayList<>();
    /** What the agents printed after "running" (the command's result, if it ended). */
    @SuppressWarnings("JdkObsolete") // appended by the agent's output thread while the test thread reads it
    private final StringBuffer output = new StringBuffer();

    private LocalPostgresController primary;
    private Path base;

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : agents) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        for (ProcessHandle h : started) {
            h.destroyForcibly();
        }
        if (primary != null) {
            primary.close();
            PgTestSupport.deleteTree(primary.runtimeDir());
        }
        PgTestSupport.deleteTree(base);
    }

    @Test
    void runsACommandAsPostgresUserWithTheGivenEnvironment() throws Exception {
        OsCommand os = OsCommand.forUser("postgres");
        OsCommand.Result r = os.run(
                List.of("/bin/sh", "-c", "echo \"$PGHOST|$EXTRA|$(id -u)\"; echo oops >&2; exit 3"),
                T,
                Map.of("EXTRA", "x"));
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.ok()).isFalse();
        String uid = Long.toString(os.user().uid());
        assertThat(r.output()).contains("|x|" + uid + "\n").contains("oops");
        assertThat(r.tail()).isEqualTo("|x|" + uid + " | oops");
        assertThat(os.run(List.of("true"), T).ok()).isTrue();
    }

    /**
     * Issue 19 item 7: the agent's PATRONI_* variables (passwords given as environment overrides)
     * and KUBERNETES_* do not reach the commands it runs, as Patroni keeps them from the postmaster.
     * An agent JVM with such variables runs a command that prints what it inherited.
     */
    @Test
    void patroniAndKubernetesVariablesDoNotReachTheCommands() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        CommandAgentMain.class.getName(),
                        "postgres",
                        "-",
                        "/bin/sh",
                        "-c",
                        "env | grep -E '^(PATRONI_|KUBERNETES_|KEEP_)' | sort | tr '\\n' ' '")
                .redirectErrorStream(true);
        pb.environment().put("PATRONI_SUPERUSER_PASSWORD", "su-secret");
        pb.environment().put("PATRONI_RESTAPI_PASSWORD", "api-secret");
        pb.environment().put("KUBERNETES_SERVICE_HOST", "10.0.0.1");
        pb.environment().put("KEEP_ME", "kept");
        Process agent = pb.start();
        agents.add(agent);
        String out = new String(agent.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(agent.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out)
                .contains("exited 0: KEEP_ME=kept")
                .doesNotContain("secret")
                .doesNotContain("KUBERNETES_");
    }

    @Test
    void keepsTheTailOfALongOutput() throws Exception {
        OsCommand.Result r = OsCommand.forUser("postgres")
                .run(
                        List.of("/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done"),
                        T,
                        Map.of());
        assertThat(r.ok()).isTrue();
        assertThat(r.output().length()).isLessThanOrEqualTo(64 * 1024);
        assertThat(r.output()).endsWith("line 19999\n").doesNotContain("line 10\n");
    }

    @Test
    void aMissingBinaryIsAnErrorNamingIt() {
        assertThatThrownBy(() -> OsCommand.forUser("postgres").run(List.of("/nonexistent/pg_ctl"), T, Map.of()))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("/nonexistent/pg_ctl");
    }

    @Test
    void aCommandPastItsTimeoutIsKilledWithItsChildren() throws Exception {
        OsCommand os = OsCommand.forUser("postgres");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> os.run(
                        List.of("/bin/sh", "-c", "sleep 600 & echo started; wait"), Duration.ofSeconds(2), Map.of()))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("did not finish within 2s")
                .hasMessageContaining("started");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(60));
        PgTestSupport.await(
                "the command's child to die",
                T,
                () -> ProcessHandle.current()
                        .descendants()
                        .noneMatch(h -> h.info().command().orElse("").endsWith("/sleep")));
    }

    @Test
    void anInterruptKillsTheCommand() throws Exception {
        OsCommand os = OsCommand.forUser("postgres");
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                os.run(List.of("sleep", "600"), T, Map.of());
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.start();
        PgTestSupport.await(
                "the command to start",
                T,
                () -> ProcessHandle.current()
                        .descendants()
                        .anyMatch(h -> h.info().command().orElse("").endsWith("/sleep")));
        t.interrupt();
        t.join(TimeUnit.SECONDS.toMillis(60));
        assertThat(thrown.get()).isInstanceOf(PostgresException.class).hasMessageContaining("interrupted");
        PgTestSupport.await(
                "the command to die",
                T,
                () -> ProcessHandle.current()
                        .descendants()
                        .noneMatch(h -> h.info().command().orElse("").endsWith("/sleep")));
    }

    @Test
    void aLongCommandDiesWithItsKilledJvm() throws Exception {
        Process agent = agent("-", "sleep", "600");
        List<ProcessHandle> tree = awaitTree(agent, "sleep", 1);
        killAndExpectGone(agent, tree);
    }

    @Test
    void aPgBasebackupCutOffMidCopyDiesWithItsWalStreamer() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-oscommand-");
        primary = new LocalPostgresController(
                PgTestSupport.config("primary", base).build());
        primary.bootstrap();
        Path target = Files.createDirectory(base.resolve("copy"));
        OsUser.resolve("postgres").own(target, "rwx------");
        String conninfo = "host=127.0.0.1 port=" + primary.config().port() + " user="
                + primary.config().replicationUser();
        // 32 kB/s: a fresh cluster takes minutes to copy; the WAL streamer starts first
        Process agent = agent(
                primary.passfile().toString(),
                Binaries.locate(primary.config().binDir()).path("pg_basebackup"),
                "-D",
                target.toString(),
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-password",
                "--max-rate=32k",
                "-d",
                conninfo);
        List<ProcessHandle> tree = awaitTree(agent, "pg_basebackup", 2);
        killAndExpectGone(agent, tree);
        PgTestSupport.await(
                "the primary to end the copy's walsenders",
                T,
                () -> PgTestSupport.column(primary.config(), "SELECT count(*) FROM pg_stat_replication")
                        .equals(List.of("0")));
    }

    private Process agent(String passfile, String... command) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                CommandAgentMain.class.getName(),
                "postgres",
                passfile));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        agents.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.equals("running")) {
            // slf4j lines of the agent
        }
        assertThat(line).as("the agent started").isNotNull();
        Thread reader =
                new Thread(() -> out.lines().forEach(l -> output.append(l).append('\n')), "agent-output");
        reader.setDaemon(true);
        reader.start();
        return p;
    }

    /** The agent's descendants once {@code count} of them run {@code name}. */
    private List<ProcessHandle> awaitTree(Process agent, String name, int count) throws Exception {
        List<ProcessHandle> tree = new ArrayList<>();
        PgTestSupport.await(count + " " + name + " under the agent", T, () -> {
            if (output.indexOf("exited") >= 0 || !agent.isAlive()) {
                throw new AssertionError("the command ended before the test killed its agent: " + output);
            }
            tree.clear();
            agent.descendants().forEach(tree::add);
            return tree.stream()
                            .filter(h -> h.info().command().orElse("").endsWith("/" + name))
                            .count()
                    >= count;
        });
        started.addAll(tree);
        return tree;
    }

    private static void killAndExpectGone(Process agent, List<ProcessHandle> tree) throws Exception {
        agent.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
        assertThat(agent.waitFor(30, TimeUnit.SECONDS)).isTrue();
        // a killed process no init reaps stays a zombie, which ProcessHandle.of no longer finds
        PgTestSupport.await(
                "the agent's processes to die with it",
                T,
                () -> tree.stream().noneMatch(h -> ProcessHandle.of(h.pid()).isPresent()));
    }
}
