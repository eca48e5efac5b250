package io.pgha.postgres.fence;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19 (low): the fence signals only its data directory's postmaster. postmaster.pid may name
 * a process that is not it (a stale file, or one the postgres user wrote): a process called
 * {@code postgres} working elsewhere is left alone; one working in the data directory, as a
 * postmaster does, is stopped.
 */
class ShellFencePidTest {

    private Process fake;

    @AfterEach
    void tearDown() {
        if (fake != null) {
            fake.destroyForcibly();
        }
    }

    /** A process whose command line says postgres, working in {@code cwd}. */
    private Process fakePostgres(Path cwd) throws Exception {
        fake = new ProcessBuilder("bash", "-c", "exec -a postgres sleep 60")
                .directory(cwd.toFile())
                .redirectOutput(new File("/dev/null"))
                .redirectErrorStream(true)
                .start();
        return fake;
    }

    private static void fenceFires(Path data, Path work) throws Exception {
        ShellFence fence = new ShellFence(data, work);
        try {
            fence.arm(Duration.ofMillis(200)); // unfed: the deadline passes
            Thread.sleep(2500);
        } finally {
            fence.close();
        }
    }

    @Test
    void aPostgresNamedProcessWorkingElsewhereIsNotSignalled(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectory(tmp.resolve("data"));
        Path elsewhere = Files.createDirectory(tmp.resolve("elsewhere"));
        Process p = fakePostgres(elsewhere);
        Files.writeString(data.resolve("postmaster.pid"), p.pid() + "\n" + data + "\n");
        fenceFires(data, tmp.resolve("work"));
        assertThat(p.isAlive())
                .as("a process outside the data directory survives")
                .isTrue();
        assertThat(Files.readString(tmp.resolve("work").resolve("pgha-fence.log")))
                .contains("not this data directory's postmaster");
    }

    @Test
    void theProcessWorkingInTheDataDirectoryIsStopped(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectory(tmp.resolve("data"));
        Process p = fakePostgres(data);
        Files.writeString(data.resolve("postmaster.pid"), p.pid() + "\n" + data + "\n");
        fenceFires(data, tmp.resolve("work"));
        assertThat(p.isAlive())
                .as("the data directory's 'postmaster' was stopped")
                .isFalse();
    }

    @Test
    void aPostmasterPidLinkedToAnEndlessDeviceDoesNotHangTheFence(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectory(tmp.resolve("data"));
        Files.createSymbolicLink(data.resolve("postmaster.pid"), Path.of("/dev/zero"));
        fenceFires(data, tmp.resolve("work"));
        assertThat(Files.readString(tmp.resolve("work").resolve("pgha-fence.log")))
                .contains("no running postmaster");
    }
}
