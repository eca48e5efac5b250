package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.utility.MountableFile;

/**
 * docker/Dockerfile built from the release archive and run as docker/docker-compose.yml runs it:
 * an etcd container and a pgha container with node1.yml mounted, which must lead (REST API
 * {@code /primary} 200, PostgreSQL not in recovery). Needs a Docker engine: skipped with a message
 * where there is none (these build machines; DockerComposeTopologyIT runs the same files as
 * processes there).
 */
class DockerImageIT {
    private static final Path ROOT = Path.of(System.getProperty("pgha.root", ".."));
    private static final String VERSION = System.getProperty("pgha.project.version");
    private static final Path ARCHIVE = Path.of("target/pgha-" + VERSION + ".tar.gz");
    private static final String ETCD_IMAGE = "quay.io/coreos/etcd:v3.5.17";

    @Test
    void theImageRunsANodeFromTheComposeFilesUntilItLeads() throws Exception {
        assumeTrue(
                dockerAvailable(),
                "no Docker engine here: DockerImageIT is skipped (DockerComposeTopologyIT runs docker/'s files"
                        + " as processes)");
        assumeTrue(Files.isRegularFile(ARCHIVE), ARCHIVE + " is missing: run the ITs through 'mvn verify'");
        String password = "it-" + Long.toHexString(System.nanoTime());
        ImageFromDockerfile image = new ImageFromDockerfile("pgha-it", true)
                .withFileFromPath(ARCHIVE.toString().replace("target/", "pgha-examples/target/"), ARCHIVE)
                .withDockerfile(ROOT.resolve("docker/Dockerfile"))
                .withBuildArg("PGHA_VERSION", VERSION);
        try (Network network = Network.newNetwork();
                GenericContainer<?> etcd = new GenericContainer<>(ETCD_IMAGE)
                        .withNetwork(network)
                        .withNetworkAliases("etcd")
                        .withCommand(
                                "etcd",
                                "--name=etcd",
                                "--data-dir=/etcd-data",
                                "--listen-client-urls=http://0.0.0.0:2379",
                                "--advertise-client-urls=http://etcd:2379",
                                "--listen-peer-urls=http://0.0.0.0:2380",
                                "--initial-advertise-peer-urls=http://etcd:2380",
                                "--initial-cluster=etcd=http://etcd:2380")
                        .waitingFor(Wait.forListeningPort());
                GenericContainer<?> node = new GenericContainer<>(image)
                        .withNetwork(network)
                        .withNetworkAliases("node1")
                        .withCopyFileToContainer(
                                MountableFile.forHostPath(ROOT.resolve("docker/node1.yml")), "/etc/pgha/pgha.yml")
                        .withEnv("PATRONI_SUPERUSER_PASSWORD", password)
                        .withEnv("PATRONI_REPLICATION_PASSWORD", password)
                        .withExposedPorts(5432, 8008)
                        .waitingFor(Wait.forHttp("/primary")
                                .forPort(8008)
                                .forStatusCode(200)
                                .withStartupTimeout(Duration.ofMinutes(3)))) {
            etcd.start();
            node.start();
            String url = "jdbc:postgresql://" + node.getHost() + ":" + node.getMappedPort(5432) + "/postgres";
            try (Connection c = DriverManager.getConnection(url, "postgres", password);
                    Statement s = c.createStatement();
                    ResultSet rs =
                            s.executeQuery("SELECT pg_is_in_recovery(), current_setting('server_version_num')")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(1)).isFalse();
                assertThat(rs.getString(2)).startsWith("15");
            }
            assertThat(node.execInContainer("pgha", "--version").getStdout().strip())
                    .isEqualTo("pgha " + VERSION);
            assertThat(List.of(node.execInContainer("id", "-un").getStdout().strip()))
                    .containsExactly("postgres");
        }
    }

    /** Testcontainers' own probe; false (not an exception) where no engine answers. */
    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
