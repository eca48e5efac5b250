package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The release archive {@code mvn package} builds (target/pgha-&lt;version&gt;.tar.gz), as an
 * operator uses it: unpacked into a directory of its own, away from the source tree and Maven,
 * its {@code bin/pgha} called through a symlink from another working directory, and a node
 * started from its sample configuration (addresses, ports and directories replaced, see
 * {@link ShippedYaml}) against a real etcd until it leads.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReleaseArchiveIT {
    private static final String VERSION = System.getProperty("pgha.project.version");
    private static final Path ARCHIVE = Path.of("target/pgha-" + VERSION + ".tar.gz");

    private Path dir;
    private Path home;
    private Path link;

    @BeforeAll
    void unpack() throws Exception {
        assumeTrue(Files.isRegularFile(ARCHIVE), ARCHIVE + " is missing: run the ITs through 'mvn verify'");
        dir = Files.createTempDirectory("pgha-release-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Result tar = exec(dir, List.of("tar", "-xzf", ARCHIVE.toAbsolutePath().toString()));
        assertThat(tar.status).as(tar.output).isZero();
        home = dir.resolve("pgha-" + VERSION);
        Path bin = Files.createDirectories(dir.resolve("usr-local-bin"));
        link = Files.createSymbolicLink(bin.resolve("pgha"), home.resolve("bin/pgha"));
    }

    @AfterAll
    void remove() throws IOException {
        if (dir != null && !Boolean.getBoolean("pgha.e2e.keep")) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void holdsTheLauncherTheJarTheSampleConfigurationAndTheSystemdUnit() {
        assertThat(home.resolve("bin/pgha")).isExecutable();
        assertThat(home.resolve("lib/pgha.jar")).isRegularFile();
        assertThat(home.resolve("config/pgha.yml")).isRegularFile();
        assertThat(home.resolve("systemd/pgha.service"))
                .content()
                .contains("ExecStart=/opt/pgha/bin/pgha run /etc/pgha/config.yml");
        assertThat(home.resolve("LICENSE")).isRegularFile();
        assertThat(home).isDirectoryNotContaining("glob:**/pom.xml");
    }

    @Test
    void runsThroughASymlinkFromAnyDirectoryWithoutMaven() throws Exception {
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Result version = exec(elsewhere, List.of(link.toString(), "--version"));
        assertThat(version.status).as(version.output).isZero();
        assertThat(version.output.strip()).isEqualTo("pgha " + VERSION);
        Result help = exec(elsewhere, List.of(link.toString(), "--help"));
        assertThat(help.status).as(help.output).isZero();
        assertThat(help.output).contains("run", "ctl", "demo", "bench");
        Result validate = exec(
                elsewhere,
                List.of(link.toString(), "run", "--validate-config", "../pgha-" + VERSION + "/config/pgha.yml"));
        assertThat(validate.status)
                .as("the sample configuration is valid: " + validate.output)
                .isZero();
    }

    @Test
    void startsANodeFromTheSampleConfigurationUntilItLeads() throws Exception {
        E2eCluster.assumeMachine(true);
        Path work = Files.createDirectories(dir.resolve("node"));
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        Ports ports = new Ports();
        var sample = ShippedYaml.read(home.resolve("config/pgha.yml"));
        try (LocalDcs etcd = LocalDcs.start("etcd3", work, ports);
                LocalCluster cluster = new LocalCluster(
                        work,
                        ShippedYaml.text(sample, "scope"),
                        1,
                        etcd,
                        E2eCluster.TIMINGS,
                        ports,
                        List.of(link.toString()),
                        (m, password) -> ShippedYaml.forMember(sample, m, password, etcd))) {
            cluster.startAll();
            LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(3));
            assertThat(cluster.health(leader, "/primary")).isEqualTo(200);
            assertThat(E2eSupport.queryOne(leader.jdbcUrl(), cluster, "SELECT pg_is_in_recovery()"))
                    .isEqualTo("f");
        }
    }

    private record Result(int status, String output) {}

    private static Result exec(Path cwd, List<String> command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true);
        // a plain PATH and none of the caller's PATRONI_/PGHA_ settings
        pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
        pb.environment()
                .keySet()
                .removeIf(k -> k.startsWith("PATRONI_") || k.startsWith("PGHA_") || k.startsWith("MAVEN"));
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            Processes.kill9(p.pid());
            throw new IOException(cmd + " did not end within 60 s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
