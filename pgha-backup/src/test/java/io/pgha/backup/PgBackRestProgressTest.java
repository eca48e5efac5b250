package io.pgha.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.process.Progress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** pgBackRest's per-file detail lines summed into bytes done and the total its percentage implies. */
class PgBackRestProgressTest {

    @Test
    void sumsTheFileSizesAndReadsThePercentage() {
        java.util.List<String> lines = new java.util.ArrayList<>();
        Progress progress = new Progress("pg0: full backup", Duration.ZERO, lines::add);
        PgBackRestProgress files = new PgBackRestProgress(progress);
        files.accept("P00   INFO: execute non-exclusive backup start");
        assertThat(progress.reported()).isFalse();
        files.accept("P01 DETAIL: backup file /data/base/5/1259 (112KB, 50.00%) checksum 0a1b");
        assertThat(progress.reported()).isTrue();
        files.accept("P01 DETAIL: restore file /data/base/5/1249 (112KB->20KB, 100.00%) checksum 0a1c");
        assertThat(lines)
                .containsExactly(
                        "pg0: full backup: 112.0 KiB of 224.0 KiB (50%)",
                        "pg0: full backup: 224.0 KiB of 224.0 KiB (100%)");
    }

    @Test
    void unitsAreBinary() {
        assertThat(PgBackRestProgress.bytes(112, "KB")).isEqualTo(112 * 1024);
        assertThat(PgBackRestProgress.bytes(1.5, "MB")).isEqualTo(3 * 512 * 1024);
        assertThat(PgBackRestProgress.bytes(0, "B")).isZero();
    }
}
