package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.testing.Fixtures;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The recommended deployment (docs/security.md): the agent itself runs as the {@code postgres} OS
 * user, started with {@code runuser -u postgres --} from the runner's jar, one member on the
 * in-memory DCS. It bootstraps and leads; PostgreSQL runs as postgres without the agent's
 * {@code PATRONI_*} variables; the fence's directory is the agent's own and private; SIGTERM stops
 * both. Skipped unless the test runs as root with a postgres user, runuser, PostgreSQL and the
 * runner's jar (built by the package phase) readable by postgres.
 */
class RunAsPostgresIT {

    private Path base;
    private Path logs;
    private Process runuser;

    @AfterEach
    void tearDown() throws Exception {
        if (runuser != null && runuser.isAlive()) {
            runuser.descendants().forEach(ProcessHandle::destroyForcibly);
            runuser.destroyForcibly();
            runuser.waitFor(10, TimeUnit.SECONDS);
        }
        if (base != null) {
            postmasterPid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            Fixtures.deleteTree(base);
        }
        if (logs != null) {
            Fixtures.deleteTree(logs);
        }
    }

    private Optional<Long> postmasterPid() {
        try {
            return Optional.of(
                    Long.parseLong(Files.readAllLines(base.resolve("data").resolve("postmaster.pid"))
                            .get(0)
                            .strip()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static int uidOf(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).strip().split("\\s+")[0]);
            }
        }
        throw new IOException("no Uid line for " + pid);
    }

    private static boolean ok(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    @Test
    void theAgentRunsAsPostgresBootstrapsLeadsAndStopsCleanly() throws Exception {
        Assumptions.assumeTrue(
                (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0,
                "RunAsPostgresIT starts the agent with runuser, which needs root (skipped)");
        Fixtures.assumePostgres();
        Assumptions.assumeTrue(ok("id", "postgres"), "no 'postgres' OS user (skipped)");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runuser")), "no runuser (skipped)");
        Path jar = Path.of("target", "pgha.jar").toAbsolutePath();
        Assumptions.assumeTrue(
                Files.isRegularFile(jar) && ok("runuser", "-u", "postgres", "--", "test", "-r", jar.toString()),
                "the runner's jar " + jar + " is missing or not readable by postgres (skipped)");
        int uid = Integer.parseInt(new String(
                        new ProcessBuilder("id", "-u", "postgres")
                                .start()
                                .getInputStream()
                                .readAllBytes(),
                        StandardCharsets.UTF_8)
                .strip());

        base = Files.createTempDirectory("pgha-runas-");
        Path run = Files.createDirectory(base.resolve("run"));
        int api = Fixtures.freePort();
        int pg = Fixtures.freePort();
        Path yml = base.resolve("node.yml");
        Files.writeString(yml, """
                scope: runas
                name: m1
                restapi:
                  listen: 127.0.0.1:%d
                  connect_address: 127.0.0.1:%d
                memory: {}
                bootstrap:
                  dcs: {ttl: 10, loop_wait: 2, retry_timeout: 3}
                postgresql:
                  listen: 127.0.0.1:%d
                  connect_address: 127.0.0.1:%d
                  data_dir: %s
                  authentication:
                    superuser: {username: postgres}
                    replication: {username: replicator, password: re-secret}
                  parameters: {shared_buffers: 16MB, max_connections: 20, fsync: 'off'}
                """.formatted(api, api, pg, pg, base.resolve("data")));
        for (Path p : List.of(base, run, yml)) {
            Files.setAttribute(p, "unix:uid", uid);
        }
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(yml, PosixFilePermissions.fromString("rw-------"));
        logs = Files.createTempDirectory("pgha-runas-logs-");
        Path log = logs.resolve("agent.log");

        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(
                "runuser",
                "-u",
                "postgres",
                "--",
                "env",
                "PATRONI_SUPERUSER_PASSWORD=su-secret",
                "XDG_RUNTIME_DIR=" + run,
                java));
        cmd.addAll(LocalCluster.RUNNER_JVM_FLAGS);
        cmd.addAll(List.of("-jar", jar.toString(), "run", yml.toString()));
        runuser = new ProcessBuilder(cmd)
                .directory(base.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();

        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest primary = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api + "/primary"))
                .timeout(Duration.ofSeconds(5))
                .build();
        try {
            Fixtures.await(
                    "the member to lead",
                    Duration.ofMinutes(2),
                    () -> http.send(primary, HttpResponse.BodyHandlers.discarding())
                                    .statusCode()
                            == 200);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; agent log:\n" + Files.readString(log), e);
        }

        ProcessHandle agent = runuser.descendants()
                .filter(h -> h.info().command().map(c -> c.endsWith("java")).orElse(false))
                .findFirst()
                .orElseThrow();
        assertThat(uidOf(agent.pid())).as("the agent's uid").isEqualTo(uid);
        long postmaster = postmasterPid().orElseThrow();
        assertThat(uidOf(postmaster)).as("the postmaster's uid").isEqualTo(uid);
        String environ = Files.readString(Path.of("/proc", String.valueOf(postmaster), "environ"));
        assertThat(environ).doesNotContain("PATRONI_").doesNotContain("su-secret");
        Path fence = run.resolve("pgha-fence-runas-m1");
        assertThat(Files.getAttribute(fence, "unix:uid")).isEqualTo(uid);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fence)))
                .isEqualTo("rwx------");
        assertThat(Files.readString(log)).contains("restapi.authentication is not set");

        assertThat(ok("kill", "-TERM", String.valueOf(agent.pid()))).isTrue();
        assertThat(runuser.waitFor(90, TimeUnit.SECONDS))
                .as("the agent stops on SIGTERM")
                .isTrue();
        assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false))
                .as("PostgreSQL stopped with it")
                .isFalse();
        assertThat(Files.readString(log)).contains("stopped");
    }
}
