package io.pgha.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Faults reported clearly, without a PostgreSQL running: a missing binary, an empty repository. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackupFaultsIT {

    private Path base;

    @BeforeAll
    void setUp() throws Exception {
        BackupTestSupport.assumeTools();
        base = BackupTestSupport.baseDir("pgha-backup-faults-");
    }

    @AfterAll
    void tearDown() throws Exception {
        RestoreDrill.deleteTree(base);
    }

    @Test
    void aMissingBinaryIsReportedAndNeverThrownAtTheNode() throws Exception {
        BackupConfig cfg = BackupTestSupport.backup("m", base, 5999)
                .pgbackrest(Path.of("/nonexistent/pgbackrest"))
                .build();
        PgBackRest p = new PgBackRest(cfg);
        assertThatThrownBy(p::requireBinary)
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("pgBackRest is missing: /nonexistent/pgbackrest");
        try (BackupService s = new BackupService(cfg, () -> null, null, Clock.systemUTC(), Duration.ofHours(1))) {
            s.start();
            assertThat(s.status().lastError()).contains("pgBackRest is missing");
            BackupCommands.Result r = new BackupCommands(s, Clock.systemUTC()).now("full");
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.text()).contains("full backup failed");
        }
    }

    @Test
    void anEmptyRepositoryHasNoBackupAndADrillFailsLoudly() throws Exception {
        BackupConfig cfg = BackupTestSupport.backup("e", base, 5998).build();
        PgBackRest p = new PgBackRest(cfg);
        p.writeConfig();
        RepoInfo info = p.info();
        assertThat(info.backups()).isEmpty();
        assertThat(info.statusCode()).isNotZero();
        DrillResult d = new RestoreDrill(p, Clock.systemUTC()).run();
        assertThat(d.ok()).isFalse();
        assertThat(d.error()).contains("has no backup");
        assertThat(cfg.drillResultFile()).exists();
    }

    @Test
    void aRestoreIntoARunningDataDirectoryIsRefused() throws Exception {
        BackupConfig cfg = BackupTestSupport.backup("r", base, 5997).build();
        PgBackRest p = new PgBackRest(cfg);
        p.writeConfig();
        Path target = base.resolve("busy");
        java.nio.file.Files.createDirectories(target);
        java.nio.file.Files.writeString(target.resolve("postmaster.pid"), "12345\n");
        assertThatThrownBy(() -> p.restore(target, RestoreTarget.endOfWal(), null, false, true, false))
                .hasMessageContaining("postmaster.pid");
    }
}
