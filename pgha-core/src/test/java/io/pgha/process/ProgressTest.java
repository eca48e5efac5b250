package io.pgha.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Progress lines: bytes and percent, at a bounded rate, the first and the last always. */
class ProgressTest {
    private final List<String> lines = new ArrayList<>();
    private final AtomicLong nanos = new AtomicLong();
    private final Progress progress =
            new Progress("pg1: clone from pg0", Duration.ofSeconds(10), lines::add, nanos::get);

    private void at(long seconds, long done, long total) {
        nanos.set(Duration.ofSeconds(seconds).toNanos());
        progress.update(done, total);
    }

    @Test
    void reportsTheFirstThenAtMostOncePerIntervalThenTheLast() {
        long mib = 1 << 20;
        at(0, 0, 100 * mib);
        at(1, 10 * mib, 100 * mib);
        at(9, 20 * mib, 100 * mib);
        at(10, 30 * mib, 100 * mib);
        at(11, 40 * mib, 100 * mib);
        at(12, 100 * mib, 100 * mib);
        at(30, 100 * mib, 100 * mib);
        assertThat(lines)
                .containsExactly(
                        "pg1: clone from pg0: 0 B of 100.0 MiB (0%)",
                        "pg1: clone from pg0: 30.0 MiB of 100.0 MiB (30%)",
                        "pg1: clone from pg0: 100.0 MiB of 100.0 MiB (100%)");
        assertThat(progress.reported()).isTrue();
    }

    @Test
    void anUnknownTotalReportsTheBytesOnly() {
        at(0, 5 << 10, 0);
        assertThat(lines).containsExactly("pg1: clone from pg0: 5.0 KiB");
    }

    @Test
    void bytesReadAsPeopleReadThem() {
        assertThat(Progress.bytes(512)).isEqualTo("512 B");
        assertThat(Progress.bytes(1536)).isEqualTo("1.5 KiB");
        assertThat(Progress.bytes(3L << 30)).isEqualTo("3.0 GiB");
    }
}
