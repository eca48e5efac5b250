package io.pgha.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What is kept of a child's output, and that reading it never holds up the caller. */
class ProcessOutputTest {

    private static Process sh(String script) throws Exception {
        return new ProcessBuilder(List.of("/bin/sh", "-c", script))
                .redirectErrorStream(true)
                .start();
    }

    @Test
    void keepsTheHeadAndReadsTheRestAwaySoTheChildNeverBlocks() throws Exception {
        // 220,000 bytes, far more than a pipe holds: the child ends only if all of it is read
        Process p = sh("yes 0123456789 | head -n 20000");
        ProcessOutput out = ProcessOutput.keepHead(p, 1000, "test-head");
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(out.awaitEnd(Duration.ofSeconds(10))).isTrue();
        assertThat(out.text()).hasSize(1000).startsWith("0123456789\n0123456789\n");
    }

    @Test
    void handsEachLineToTheListenerAsItComesLinesEndingAtNewlineOrCarriageReturn() throws Exception {
        Process p = sh("printf '1/10 kB (10%%)\\r5/10 kB (50%%)\\r10/10 kB (100%%)\\nlast'");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        ProcessOutput out = ProcessOutput.keepTail(p, 1000, "test-lines", lines::add);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(out.awaitEnd(Duration.ofSeconds(10))).isTrue();
        assertThat(lines).containsExactly("1/10 kB (10%)", "5/10 kB (50%)", "10/10 kB (100%)", "last");
        assertThat(out.text()).endsWith("last");
    }

    @Test
    void keepsTheTailWhereAFailureSaysWhy() throws Exception {
        Process p = sh("seq 1 100000; echo 'FATAL: the reason' >&2; exit 3");
        ProcessOutput out = ProcessOutput.keepTail(p, 100, "test-tail");
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(out.awaitEnd(Duration.ofSeconds(10))).isTrue();
        assertThat(out.text()).hasSize(100).endsWith("99999\n100000\nFATAL: the reason\n");
    }

    @Test
    void theWaitForTheEndIsBoundedAndTheOutputSoFarIsThere() throws Exception {
        Process p = sh("echo started; exec sleep 60");
        ProcessOutput out = ProcessOutput.keepHead(p, 1024, "test-hung");
        try {
            long started = System.nanoTime();
            assertThat(out.awaitEnd(Duration.ofMillis(300))).isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (out.text().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(out.text()).isEqualTo("started\n");
        } finally {
            p.destroyForcibly();
        }
        assertThat(out.awaitEnd(Duration.ofSeconds(10))).isTrue();
    }
}
