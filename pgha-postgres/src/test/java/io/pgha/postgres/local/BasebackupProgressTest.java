package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.process.Progress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** pg_basebackup --progress meter lines, as PostgreSQL 15 writes them, read as bytes and percent. */
class BasebackupProgressTest {

    @Test
    void readsTheMeterAndLeavesOtherLinesAlone() {
        java.util.List<String> lines = new java.util.ArrayList<>();
        Progress progress = new Progress("pg1: clone from pg0", Duration.ZERO, lines::add);
        BasebackupProgress meter = new BasebackupProgress(progress);
        meter.accept("pg_basebackup: initiating base backup, waiting for checkpoint to complete");
        assertThat(progress.reported()).isFalse();
        meter.accept("    0/23177 kB (0%), 0/1 tablespace");
        assertThat(progress.reported()).isTrue();
        meter.accept("23188/23188 kB (100%), 1/1 tablespace");
        assertThat(lines)
                .containsExactly(
                        "pg1: clone from pg0: 0 B of 22.6 MiB (0%)",
                        "pg1: clone from pg0: 22.6 MiB of 22.6 MiB (100%)");
    }
}
