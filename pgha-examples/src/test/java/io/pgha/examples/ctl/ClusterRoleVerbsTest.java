package io.pgha.examples.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code demote-cluster} and {@code promote-cluster} refuse what Patroni 4's patronictl refuses,
 * with one line and nothing changed. (The change itself is proven on real PostgreSQL by
 * StandbyClusterIT and the behave feature standby_cluster.)
 */
class ClusterRoleVerbsTest {
    @TempDir
    Path dir;

    private TestCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void badRequestsChangeNothing() throws Exception {
        cluster = TestCluster.start("pg0", "pg1");
        Path file = dir.resolve("ctl.yaml");
        Files.writeString(file, cluster.ctlYaml());
        CtlRunner ctl = new CtlRunner(file);
        cluster.await("a leader", () -> cluster.leader() != null);
        var before = cluster.cluster().config().data();

        CtlRunner.Result none = ctl.run("demote-cluster", "--force");
        assertThat(none.exitCode()).as(none.toString()).isNotZero();
        assertThat(none.err()).contains("At least --host, --port or --restore-command should be specified");

        CtlRunner.Result port = ctl.run("demote-cluster", "--port", "70000", "--force");
        assertThat(port.exitCode()).as(port.toString()).isNotZero();
        assertThat(port.err()).contains("--port must be from 1 to 65535");

        CtlRunner.Result promote = ctl.run("promote-cluster", "--force");
        assertThat(promote.exitCode()).as(promote.toString()).isNotZero();
        assertThat(promote.err()).contains("Cluster is already in the required state");

        CtlRunner.Result no = ctl.runWithInput("n\n", "demote-cluster", "--host", "10.0.0.1");
        assertThat(no.exitCode()).as(no.toString()).isNotZero();
        assertThat(no.err()).contains("Aborted cluster demotion");

        assertThat(cluster.cluster().config().data()).isEqualTo(before);
    }
}
