package io.pgha.examples.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backup verbs' command line and configuration handling: no DCS, no pgBackRest run. */
class BackupVerbsTest {
    @TempDir
    Path dir;

    private Path node(String backupSection) throws Exception {
        Path file = dir.resolve("node1.yml");
        Files.writeString(file, """
                scope: demo
                name: node1
                restapi: {listen: '127.0.0.1:8008'}
                memory: {store: x}
                postgresql:
                  listen: '127.0.0.1:5433'
                  data_dir: %s
                  authentication:
                    superuser: {username: postgres, password: secret}
                    replication: {username: replicator, password: secret}
                """.formatted(dir.resolve("data")) + backupSection);
        return file;
    }

    private String backup() {
        return "backup:\n  repo_path: " + dir.resolve("repo") + "\n  stanza: demo-stanza\n";
    }

    @Test
    void anUnknownBackupTypeIsAUsageErrorNamingTheValue() throws Exception {
        CtlRunner.Result r = new CtlRunner(node(backup())).run("backup", "now", "--type", "weekly");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(Ctl.EXIT_USAGE);
        assertThat(r.err()).contains("backup type 'weekly'").contains("full, diff or logical");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aMissingOptionValueOrSubVerbIsAUsageError() throws Exception {
        CtlRunner ctl = new CtlRunner(node(backup()));
        CtlRunner.Result noValue = ctl.run("backup", "now", "--type");
        assertThat(noValue.exitCode()).as(noValue.toString()).isEqualTo(Ctl.EXIT_USAGE);
        assertThat(noValue.err()).contains("--type");

        CtlRunner.Result bare = ctl.run("backup");
        assertThat(bare.exitCode()).as(bare.toString()).isEqualTo(Ctl.EXIT_USAGE);
        assertThat(bare.out()).contains("now").contains("list").contains("verify");

        CtlRunner.Result unknown = ctl.run("backup", "take");
        assertThat(unknown.exitCode()).as(unknown.toString()).isEqualTo(Ctl.EXIT_USAGE);
    }

    @Test
    void aFileWithoutABackupSectionSaysWhereTheVerbsRun() throws Exception {
        CtlRunner.Result r = new CtlRunner(node("")).run("backup", "list");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(Ctl.EXIT_USAGE);
        assertThat(r.err()).contains("has no backup: section").contains("-c <node.yml>");
    }

    @Test
    void aBadBackupValueNamesTheKey() throws Exception {
        CtlRunner.Result r = new CtlRunner(node(backup() + "  schedule: {full: soon}\n")).run("backup", "list");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(Ctl.EXIT_USAGE);
        assertThat(r.err()).contains("backup.schedule.full").contains("soon");
    }

    @Test
    void restorePrintsGuidanceForThisMembersStanza() throws Exception {
        CtlRunner.Result r = new CtlRunner(node(backup())).run("restore");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out())
                .contains("NEW cluster")
                .contains("--stanza=demo-stanza")
                .contains(" restore ")
                .contains("pgha ctl backup list");
    }

    @Test
    void theMembersRoleComesFromTheCluster() {
        io.pgha.dcs.ClusterState cluster =
                io.pgha.dcs.ClusterState.builder("demo").leader("node1", 1).build();
        assertThat(LocalBackup.state(cluster, "demo", "node1").role()).isEqualTo("primary");
        assertThat(LocalBackup.state(cluster, "demo", "node2").role()).isEqualTo("replica");
        assertThat(LocalBackup.state(io.pgha.dcs.ClusterState.builder("demo").build(), "demo", "node1")
                        .role())
                .isEqualTo("replica");
    }
}
