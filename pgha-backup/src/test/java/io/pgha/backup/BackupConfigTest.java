package io.pgha.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.postgres.local.LocalPostgresConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackupConfigTest {

    private static LocalPostgresConfig pg() {
        return LocalPostgresConfig.builder()
                .name("n1")
                .dataDir(Path.of("/var/lib/pgha/data"))
                .listen("127.0.0.1:5433")
                .superuser("postgres", "pw")
                .replication("repl", "rpw")
                .build();
    }

    @Test
    void readsTheBackupSection() {
        Map<String, Object> yaml = Map.of(
                "repo_path", "/var/lib/pgbackrest",
                "retention", Map.of("full", 3, "diff", 5),
                "schedule", Map.of("full", "7d", "diff", "12h", "logical", "1d", "drill", "off"),
                "logical", Map.of("databases", List.of("app", "postgres"), "directory", "/srv/dumps"),
                "drill", Map.of("tables", Map.of("app:public.accounts", 10), "timeout", "15m"));
        BackupConfig c = BackupConfig.fromPatroniYaml(yaml, "cluster-1", pg(), "pw");
        assertThat(c.stanza()).isEqualTo("cluster-1");
        assertThat(c.memberName()).isEqualTo("n1");
        assertThat(c.port()).isEqualTo(5433);
        assertThat(c.retentionFull()).isEqualTo(3);
        assertThat(c.retentionDiff()).isEqualTo(5);
        assertThat(c.fullEvery()).isEqualTo(Duration.ofDays(7));
        assertThat(c.diffEvery()).isEqualTo(Duration.ofHours(12));
        assertThat(c.logicalEvery()).isEqualTo(Duration.ofDays(1));
        assertThat(c.drillEvery()).isNull();
        assertThat(c.logicalDatabases()).containsExactly("app", "postgres");
        assertThat(c.logicalDir()).isEqualTo(Path.of("/srv/dumps"));
        assertThat(c.drillTables()).containsEntry("app:public.accounts", 10L);
        assertThat(c.drillTimeout()).isEqualTo(Duration.ofMinutes(15));
        assertThat(c.workDir()).isEqualTo(Path.of("/var/lib/pgha/data-backup"));
        assertThat(c.configFile()).isEqualTo(Path.of("/var/lib/pgha/data-backup/pgbackrest.conf"));
        assertThat(c.drillResultFile()).isEqualTo(Path.of("/var/lib/pgbackrest.pgha-drill-cluster-1.json"));
        assertThat(c.postgresParameters())
                .containsEntry("archive_mode", "on")
                .containsEntry(
                        "archive_command",
                        "/usr/bin/pgbackrest --config=/var/lib/pgha/data-backup/pgbackrest.conf"
                                + " --stanza=cluster-1 archive-push %p")
                .containsEntry(
                        "restore_command",
                        "/usr/bin/pgbackrest --config=/var/lib/pgha/data-backup/pgbackrest.conf"
                                + " --stanza=cluster-1 archive-get %f \"%p\"");
    }

    @Test
    void defaults() {
        BackupConfig c = BackupConfig.fromPatroniYaml(
                Map.of("repo_path", "/r", "stanza", "main", "archive", false), "s", pg(), "pw");
        assertThat(c.stanza()).isEqualTo("main");
        assertThat(c.retentionFull()).isEqualTo(2);
        assertThat(c.fullEvery()).isEqualTo(Duration.ofDays(7));
        assertThat(c.diffEvery()).isEqualTo(Duration.ofDays(1));
        assertThat(c.logicalEvery()).isNull();
        assertThat(c.drillEvery()).isEqualTo(Duration.ofDays(1));
        assertThat(c.postgresParameters()).isEmpty();
    }

    @Test
    void badInputNamesTheKey() {
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(Map.of(), "s", pg(), "pw"))
                .hasMessageContaining("backup.repo_path");
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(Map.of("repo_path", "relative"), "s", pg(), "pw"))
                .hasMessageContaining("backup.repo_path 'relative'");
        assertThatThrownBy(() ->
                        BackupConfig.fromPatroniYaml(Map.of("repo_path", "/var/lib/pgha/data/repo"), "s", pg(), "pw"))
                .hasMessageContaining("must not contain one another");
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(
                        Map.of("repo_path", "/r", "schedule", Map.of("full", "soon")), "s", pg(), "pw"))
                .hasMessageContaining("backup.schedule.full 'soon'");
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(
                        Map.of("repo_path", "/r", "retention", Map.of("full", 0)), "s", pg(), "pw"))
                .hasMessageContaining("backup.retention.full");
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(
                        Map.of("repo_path", "/r", "schedule", Map.of("logical", "1d")), "s", pg(), "pw"))
                .hasMessageContaining("backup.logical.databases");
        assertThatThrownBy(
                        () -> BackupConfig.fromPatroniYaml(Map.of("repo_path", "/r", "stanza", "a b"), "s", pg(), "pw"))
                .hasMessageContaining("backup.stanza 'a b'");
        Map<String, Object> drill =
                new HashMap<>(Map.of("repo_path", "/r", "drill", Map.of("directory", "/var/lib/pgha/data/drill")));
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(drill, "s", pg(), "pw"))
                .hasMessageContaining("backup.drill.directory");
        assertThatThrownBy(() -> BackupConfig.fromPatroniYaml(
                        Map.of("repo_path", "/r", "drill", Map.of("tables", "t")), "s", pg(), "pw"))
                .hasMessageContaining("backup.drill.tables");
    }

    @Test
    void durations() {
        assertThat(BackupConfig.duration("90", "k", null)).isEqualTo(Duration.ofSeconds(90));
        assertThat(BackupConfig.duration(3600, "k", null)).isEqualTo(Duration.ofHours(1));
        assertThat(BackupConfig.duration("2w", "k", null)).isEqualTo(Duration.ofDays(14));
        assertThat(BackupConfig.duration(false, "k", Duration.ZERO)).isNull();
        assertThat(BackupConfig.duration(null, "k", Duration.ofDays(1))).isEqualTo(Duration.ofDays(1));
        assertThatThrownBy(() -> BackupConfig.duration("0s", "backup.x", null)).hasMessageContaining("backup.x");
    }

    @Test
    void typesAndTargets() {
        assertThat(BackupType.parse("Diff")).isEqualTo(BackupType.DIFF);
        assertThatThrownBy(() -> BackupType.parse("incr")).hasMessageContaining("'incr'");
        assertThatThrownBy(() -> RestoreTarget.lsn("zz")).hasMessageContaining("lsn 'zz'");
        assertThat(RestoreTarget.time(java.time.Instant.parse("2026-11-22T22:30:00Z"))
                        .value())
                .isEqualTo("2026-11-22 22:30:00.000000+00:00");
    }

    /** Issue 19 (low): a path with a space, a quote or a % stays one word of the shell command. */
    @Test
    void archiveCommandWordsAreShellQuoted() {
        assertThat(BackupConfig.commandWord("/usr/bin/pgbackrest")).isEqualTo("/usr/bin/pgbackrest");
        assertThat(BackupConfig.commandWord("--config=/srv/my backups/pg.conf"))
                .isEqualTo("'--config=/srv/my backups/pg.conf'");
        assertThat(BackupConfig.commandWord("/srv/it's;rm -rf ~/x")).isEqualTo("'/srv/it'\\''s;rm -rf ~/x'");
        assertThat(BackupConfig.commandWord("/srv/100%/x")).isEqualTo("'/srv/100%%/x'");
    }
}
