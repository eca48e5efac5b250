package io.pgha.examples.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgha ctl} against three real HaNodes (simulated PostgreSQL, real REST APIs on loopback,
 * the in-process {@code memory} DCS), every verb as an operator would run it.
 */
class CtlClusterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private TestCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private CtlRunner ctl(String yaml) throws IOException {
        Path file = dir.resolve("ctl.yaml");
        Files.writeString(file, yaml);
        return new CtlRunner(file);
    }

    private CtlRunner startCluster() throws IOException {
        cluster = TestCluster.start("pg0", "pg1", "pg2");
        return ctl(cluster.ctlYaml());
    }

    private static void assertOneLineError(CtlRunner.Result r, String contains) {
        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.err().strip()).as(r.toString()).contains(contains).doesNotContain("\n");
    }

    @Test
    void listShowsTheMemberTableAsPatronictlDoes() throws Exception {
        CtlRunner ctl = startCluster();
        cluster.await(
                "replicas streaming",
                () -> cluster.cluster().members().stream()
                        .filter(m -> !m.name().equals("pg0"))
                        .allMatch(m -> "streaming".equals(m.string("replication_state"))));

        CtlRunner.Result pretty = ctl.run("list");
        assertThat(pretty.exitCode()).as(pretty.toString()).isZero();
        String sysid = cluster.cluster().initialize();
        List<String> lines = pretty.out().lines().toList();
        assertThat(lines.get(0)).startsWith("+ Cluster: demo (" + sysid + ") ");
        assertThat(lines.get(1)).matches("\\| Member \\| Host +\\| Role +\\| State +\\| TL \\| Lag in MB \\|");
        assertThat(lines.get(3))
                .matches("\\| pg0 +\\| 127\\.0\\.0\\.1:5432 \\| Leader +\\| running +\\| +\\d+ \\| +\\|");
        assertThat(lines.get(4))
                .matches("\\| pg1 +\\| 127\\.0\\.0\\.1:5433 \\| Replica +\\| streaming \\| +\\d+ \\| +0 \\|");
        assertThat(lines).hasSize(7);

        CtlRunner.Result json = ctl.run("list", "-f", "json");
        assertThat(json.exitCode()).as(json.toString()).isZero();
        List<Map<String, Object>> rows = JSON.readValue(json.out(), new TypeReference<>() {});
        assertThat(rows).extracting(r -> r.get("Member")).containsExactly("pg0", "pg1", "pg2");
        assertThat(rows).extracting(r -> r.get("Role")).containsExactly("Leader", "Replica", "Replica");
        assertThat(rows.get(0))
                .containsEntry("Cluster", "demo")
                .containsEntry("State", "running")
                .doesNotContainKey("Lag in MB");
        assertThat(rows.get(1)).containsEntry("Lag in MB", 0).containsEntry("Host", "127.0.0.1:5433");
        assertThat(rows.get(1).get("TL")).isInstanceOf(Integer.class);

        CtlRunner.Result yaml = ctl.run("list", "--format", "yaml");
        assertThat(yaml.out()).contains("- Cluster: demo").contains("  Member: pg1");
        CtlRunner.Result tsv = ctl.run("list", "-f", "tsv");
        assertThat(tsv.out().lines().findFirst()).hasValue("Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB");

        CtlRunner.Result extended = ctl.run("list", "demo", "-e");
        assertThat(extended.out().lines().toList().get(1)).contains("| Pending restart | Scheduled restart | Tags |");

        CtlRunner.Result topology = ctl.run("topology");
        assertThat(topology.exitCode()).isZero();
        assertThat(topology.out()).contains("| pg0 ").contains("| + pg1 ").contains("| + pg2 ");
    }

    @Test
    void readOnlyVerbs() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result dsn = ctl.run("dsn");
        assertThat(dsn.out().strip()).isEqualTo("host=127.0.0.1 port=5432");
        assertThat(ctl.run("dsn", "-m", "pg2").out().strip()).isEqualTo("host=127.0.0.1 port=5434");
        assertThat(ctl.run("dsn", "--role", "replica").out().strip()).isEqualTo("host=127.0.0.1 port=5433");
        assertOneLineError(
                ctl.run("dsn", "-m", "nosuch"), "Can not find a suitable member in cluster demo named nosuch");

        CtlRunner.Result show = ctl.run("show-config");
        assertThat(show.exitCode()).as(show.toString()).isZero();
        assertThat(show.out()).contains("loop_wait: 1").contains("ttl: 10");

        CtlRunner.Result history = ctl.run("history");
        assertThat(history.exitCode()).as(history.toString()).isZero();
        assertThat(history.out()).contains("| TL | LSN | Reason | Timestamp | New Leader |");

        CtlRunner.Result version = ctl.run("version", "demo");
        assertThat(version.exitCode()).as(version.toString()).isZero();
        assertThat(version.out())
                .startsWith("pgha ctl version ")
                .contains("pg0: Patroni ")
                .contains("pg2: Patroni ");
    }

    @Test
    void switchoverToANamedCandidate() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result r = ctl.run("switchover", "--candidate", "pg1", "--force");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("Current cluster topology");
        cluster.await("pg1 leads", () -> "pg1".equals(cluster.leader()));
        cluster.await(
                "pg0 follows pg1",
                () -> cluster.cluster()
                        .member("pg0")
                        .map(m -> "replica".equals(m.role()) && m.isRunning())
                        .orElse(false));

        CtlRunner.Result history = ctl.run("history", "-f", "json");
        assertThat(history.exitCode()).as(history.toString()).isZero();
    }

    @Test
    void switchoverRefusesBadRequestsAndChangesNothing() throws Exception {
        CtlRunner ctl = startCluster();
        assertOneLineError(
                ctl.run("switchover", "--candidate", "nosuch", "--force"),
                "Member nosuch does not exist in cluster demo or is tagged as nofailover");
        assertOneLineError(
                ctl.run("switchover", "--candidate", "pg0", "--force"),
                "Member pg0 is already the leader of cluster demo");
        assertOneLineError(
                ctl.run("switchover", "--leader", "pg2", "--candidate", "pg1", "--force"),
                "Member pg2 is not the leader of cluster demo");
        assertOneLineError(
                ctl.run("switchover", "--candidate", "pg1", "--scheduled", "next tuesday", "--force"),
                "unable to parse scheduled timestamp");
        // without --force it asks; with stdin closed it must fail, not proceed
        assertOneLineError(ctl.run("switchover", "--candidate", "pg1"), "standard input is closed");
        // answered "no"
        assertOneLineError(
                ctl.runWithInput("pg0\nnow\nn\n", "switchover", "--candidate", "pg1"), "Aborting switchover");
        assertOneLineError(ctl.run("failover", "--force"), "Failover could be performed only to a specific candidate");

        assertThat(cluster.leader()).isEqualTo("pg0");
        assertThat(cluster.cluster().failover()).isNull();
    }

    @Test
    void switchoverAnsweredInteractively() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result r = ctl.runWithInput("\npg2\nnow\ny\n", "switchover");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out())
                .contains("Primary [pg0]: ")
                .contains("Candidate [pg1, pg2]: ")
                .contains("Are you sure you want to switchover cluster demo, demoting current leader pg0? [y/N]: ");
        cluster.await("pg2 leads", () -> "pg2".equals(cluster.leader()));
    }

    @Test
    void switchoverFallsBackToTheDcsWhenTheLeadersApiIsDown() throws Exception {
        CtlRunner ctl = startCluster();
        cluster.stopApi("pg0");
        CtlRunner.Result r = ctl.run("switchover", "--candidate", "pg1", "--force");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Could not switchover using Patroni api, falling back to DCS");
        cluster.await("pg1 leads", () -> "pg1".equals(cluster.leader()));
    }

    @Test
    void aScheduledSwitchoverIsShownAndFlushed() throws Exception {
        CtlRunner ctl = startCluster();
        String inAnHour = java.time.OffsetDateTime.now(ZoneId.systemDefault())
                .plusHours(1)
                .withNano(0)
                .toString();
        CtlRunner.Result r = ctl.run("switchover", "--candidate", "pg1", "--scheduled", inAnHour, "--force");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(cluster.cluster().failover()).isNotNull();
        CtlRunner.Result list = ctl.run("list");
        assertThat(list.out())
                .contains(" Switchover scheduled at: ")
                .contains("from: pg0")
                .contains("to: pg1");

        CtlRunner.Result flush = ctl.run("flush", "switchover");
        assertThat(flush.exitCode()).as(flush.toString()).isZero();
        assertThat(flush.out()).startsWith("Success: ");
        assertThat(cluster.cluster().failover()).isNull();
        assertThat(ctl.run("flush", "demo", "switchover").out()).contains("No pending scheduled switchover");
        assertThat(cluster.leader()).isEqualTo("pg0");

        assertThat(ctl.run("restart", "pg2", "--scheduled", inAnHour, "--force").exitCode())
                .isZero();
        CtlRunner.Result flushRestart = ctl.run("flush", "pg2", "restart", "--force");
        assertThat(flushRestart.out())
                .as(flushRestart.toString())
                .contains("Success: flush scheduled restart for member pg2");
        assertThat(ctl.run("flush", "pg2", "restart", "--force").out()).contains("No scheduled restart for member pg2");
        assertThat(ctl.run("flush", "pg2", "nothing").exitCode()).isEqualTo(2);
    }

    @Test
    void failoverToANamedCandidate() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result r = ctl.run("failover", "--candidate", "pg2", "--force");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        cluster.await("pg2 leads", () -> "pg2".equals(cluster.leader()));
    }

    @Test
    void pauseAndResumeChangeTheConfigsPause() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result pause = ctl.run("pause", "--wait");
        assertThat(pause.exitCode()).as(pause.toString()).isZero();
        assertThat(pause.out()).contains("Success: cluster management is paused");
        assertThat(cluster.cluster().config().data()).containsEntry("pause", true);
        assertThat(ctl.run("list").out()).contains(" Maintenance mode: on");

        assertOneLineError(ctl.run("pause"), "Cluster is already paused");

        CtlRunner.Result resume = ctl.run("resume");
        assertThat(resume.exitCode()).as(resume.toString()).isZero();
        assertThat(resume.out()).contains("Success: cluster management is resumed");
        assertThat(cluster.cluster().config().data()).doesNotContainKey("pause");
        assertOneLineError(ctl.run("resume"), "Cluster is not paused");
    }

    @Test
    void editConfigShowsTheDiffAndWritesWithCompareAndSet() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result r = ctl.run(
                "edit-config",
                "-s",
                "maximum_lag_on_failover=2097152",
                "-p",
                "max_connections=200",
                "-p",
                "auto_explain.log_min_duration=1s",
                "--force");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out())
                .contains("---\n+++\n@@ ")
                .contains("+maximum_lag_on_failover: 2097152")
                .contains("+    max_connections: 200")
                .contains("+    auto_explain.log_min_duration: 1s")
                .contains("Configuration changed");
        Map<String, Object> config = cluster.cluster().config().data();
        assertThat(config).containsEntry("maximum_lag_on_failover", 2097152L);
        assertThat(config.get("postgresql"))
                .isEqualTo(
                        Map.of("parameters", Map.of("max_connections", 200L, "auto_explain.log_min_duration", "1s")));

        CtlRunner.Result same = ctl.run("edit-config", "-s", "loop_wait=1", "--force");
        assertThat(same.out()).contains("Not changed");

        // deleting a key with an empty value, confirmed on stdin
        CtlRunner.Result delete = ctl.runWithInput("y\n", "edit-config", "-s", "maximum_lag_on_failover=");
        assertThat(delete.exitCode()).as(delete.toString()).isZero();
        assertThat(delete.out()).contains("-maximum_lag_on_failover: 2097152").contains("Apply these changes? [y/N]: ");
        assertThat(cluster.cluster().config().data()).doesNotContainKey("maximum_lag_on_failover");

        // --apply merges a YAML file
        Path patch = dir.resolve("patch.yaml");
        Files.writeString(patch, "postgresql:\n  parameters:\n    max_connections: 300\n");
        CtlRunner.Result apply = ctl.run("edit-config", "--apply", patch.toString(), "--force");
        assertThat(apply.exitCode()).as(apply.toString()).isZero();
        assertThat(cluster.cluster().config().data().get("postgresql").toString())
                .contains("max_connections=300")
                .contains("auto_explain.log_min_duration=1s");

        // refusals change nothing
        Map<String, Object> before = cluster.cluster().config().data();
        assertOneLineError(ctl.run("edit-config", "-s", "ttl=60"), "standard input is closed");
        assertOneLineError(ctl.runWithInput("n\n", "edit-config", "-s", "ttl=60"), "Aborted");
        assertOneLineError(ctl.run("edit-config", "-s", "novalue", "--force"), "invalid parameter setting 'novalue'");
        assertOneLineError(
                ctl.run("edit-config", "-s", "ttl=abc", "-s", "loop_wait=0", "--force"),
                "Invalid configuration, nothing was written: ttl must be an integer >= 10, found \"abc\";"
                        + " loop_wait must be an integer >= 1, found 0");
        assertThat(cluster.cluster().config().data()).isEqualTo(before);
    }

    @Test
    void editConfigReportsAConcurrentChange() throws Exception {
        CtlRunner ctl = startCluster();
        Dcs other = cluster.observer();
        // the operator looks at the diff; meanwhile somebody else changes the config
        @SuppressWarnings("InputStreamSlowMultibyteRead") // two bytes of test input
        InputStream answerAfterAConcurrentWrite = new InputStream() {
            private final byte[] answer = "y\n".getBytes(StandardCharsets.UTF_8);
            private int pos = -1;

            @Override
            public int read() throws IOException {
                if (pos < 0) {
                    try {
                        ClusterState s = other.read();
                        Map<String, Object> changed = new HashMap<>(s.config().data());
                        changed.put("loop_wait", 2L);
                        assertThat(other.writeConfig(changed, s.config().version()))
                                .isTrue();
                    } catch (DcsException e) {
                        throw new IOException(e);
                    }
                    pos = 0;
                }
                return pos < answer.length ? answer[pos++] : -1;
            }
        };
        CtlRunner.Result r = ctl.runWithInput(answerAfterAConcurrentWrite, "edit-config", "-s", "ttl=20");
        assertOneLineError(r, "Config modification aborted due to concurrent changes");
        Map<String, Object> config = cluster.cluster().config().data();
        assertThat(config).containsEntry("loop_wait", 2L).containsEntry("ttl", 10L);
    }

    @Test
    void restartReloadAndReinit() throws Exception {
        CtlRunner ctl = startCluster();
        CtlRunner.Result restart = ctl.run("restart", "demo", "pg1", "--force");
        assertThat(restart.exitCode()).as(restart.toString()).isZero();
        assertThat(restart.out()).contains("Success: restart on member pg1");
        // the cluster name may be left out when the config has a scope
        CtlRunner.Result restart2 = ctl.run("restart", "pg2", "--force");
        assertThat(restart2.out()).as(restart2.toString()).contains("Success: restart on member pg2");
        assertOneLineError(ctl.run("restart", "demo", "nosuch", "--force"), "nosuch is not a member of cluster demo");
        CtlRunner.Result leaderOnly = ctl.run("restart", "--role", "leader", "--force");
        assertThat(leaderOnly.out())
                .as(leaderOnly.toString())
                .contains("Success: restart on member pg0")
                .doesNotContain("member pg1");

        // an API answering 4xx: its message reaches the operator, and the exit code says it failed
        String inAnHour = java.time.OffsetDateTime.now(ZoneId.systemDefault())
                .plusHours(1)
                .withNano(0)
                .toString();
        CtlRunner.Result scheduled = ctl.run("restart", "pg1", "--scheduled", inAnHour, "--force");
        assertThat(scheduled.exitCode()).as(scheduled.toString()).isZero();
        assertThat(scheduled.out()).contains("Success: restart scheduled on member pg1");
        CtlRunner.Result again = ctl.runWithInput("y\n\n", "restart", "pg1", "--scheduled", inAnHour);
        assertOneLineError(again, "restart failed on 1 of 1 member(s): pg1: another restart is already scheduled");
        assertThat(again.out())
                .contains("Are you sure you want to schedule restart of members pg1 at ")
                .contains("Failed: another restart is already scheduled on member pg1");
        // --force replaces the schedule
        CtlRunner.Result replaced = ctl.run("restart", "pg1", "--scheduled", inAnHour, "--force");
        assertThat(replaced.out()).as(replaced.toString()).contains("Success: restart scheduled on member pg1");

        CtlRunner.Result reload = ctl.run("reload", "--force");
        assertThat(reload.exitCode()).as(reload.toString()).isZero();
        assertThat(reload.out())
                .contains("Reload request received for member pg0 and will be processed within 1 seconds")
                .contains("member pg2");

        assertOneLineError(ctl.run("reinit", "pg0", "--force"), "no replica among the members pg0");
        CtlRunner.Result reinit = ctl.run("reinit", "pg2", "--force", "--wait");
        assertThat(reinit.exitCode()).as(reinit.toString()).isZero();
        assertThat(reinit.out())
                .contains("Success: reinitialize for member pg2")
                .contains("Reinitialize is completed on: pg2");
        cluster.await(
                "pg2 back",
                () -> cluster.cluster().member("pg2").map(m -> m.isRunning()).orElse(false));
    }

    @Test
    void removeNeedsAllThreeConfirmations() throws Exception {
        CtlRunner ctl = startCluster();
        assertOneLineError(ctl.runWithInput("other\n", "remove", "demo"), "Cluster names specified do not match");
        assertOneLineError(
                ctl.runWithInput("demo\nyes\n", "remove", "demo"), "You did not exactly type \"Yes I am aware\"");
        assertOneLineError(
                ctl.runWithInput("demo\nYes I am aware\npg1\n", "remove", "demo"),
                "You did not specify the current leader of the cluster");
        assertOneLineError(ctl.run("remove", "demo"), "standard input is closed");
        ClusterState s = cluster.cluster();
        assertThat(s.initialize()).isNotNull();
        assertThat(s.config()).isNotNull();
        assertThat(s.leader().name()).isEqualTo("pg0");

        // with the agents gone there is no leader: two confirmations remove it all
        cluster.stopNodes();
        cluster.await("the leader key gone", () -> !cluster.cluster().hasLeader());
        assertOneLineError(ctl.run("switchover", "--candidate", "pg1", "--force"), "This cluster has no leader");
        assertOneLineError(ctl.run("pause"), "Can not find accessible cluster member");
        CtlRunner.Result r = ctl.runWithInput("demo\nYes I am aware\n", "remove", "demo");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(cluster.cluster().initialize()).isNull();
        assertThat(cluster.cluster().config()).isNull();
    }

    @Test
    void writesCarryBasicAuthFromTheConfig() throws Exception {
        cluster = TestCluster.startWithAuth("admin", "s3cret", "pg0", "pg1");
        CtlRunner good =
                ctl(cluster.ctlYaml() + "ctl:\n  authentication:\n    username: admin\n    password: s3cret\n");
        CtlRunner.Result pause = good.run("pause");
        assertThat(pause.exitCode()).as(pause.toString()).isZero();

        CtlRunner bad =
                ctl(cluster.ctlYaml() + "restapi:\n  authentication:\n    username: admin\n    password: wrong\n");
        CtlRunner.Result resume = bad.run("resume");
        assertOneLineError(resume, "status code=401");
        assertThat(cluster.cluster().isPaused()).isTrue();
    }
}
