package io.pgha.postgres.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19 item 3: the fence runs a script from its directory, as root often; the directory must
 * be the agent's own and private, or the fence refuses to start, saying why.
 */
class ShellFenceDirectoryTest {

    private static void startIn(Path data, Path workDir) {
        ShellFence fence = new ShellFence(data, workDir);
        try {
            fence.arm(Duration.ofSeconds(30));
            fence.disarm();
        } finally {
            fence.close();
        }
    }

    @Test
    void createsAMissingDirectoryWithMode0700(@TempDir Path tmp) throws Exception {
        Path work = tmp.resolve("run").resolve("pgha-fence-demo-m1");
        startIn(tmp, work);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(work)))
                .isEqualTo("rwx------");
        assertThat(work.resolve(ShellFence.SCRIPT)).exists();
    }

    @Test
    void refusesADirectoryOthersCanEnterOrWrite(@TempDir Path tmp) throws Exception {
        Path work = Files.createDirectory(tmp.resolve("pgha-fence-demo-m1"));
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> startIn(tmp, work))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining(work.toString())
                .hasMessageContaining("must be rwx------");
        assertThat(work.resolve(ShellFence.SCRIPT)).doesNotExist();
    }

    @Test
    void closesItsOwnDirectoryThatAnEarlierVersionLeftReadableButNotWritableByOthers(@TempDir Path tmp)
            throws Exception {
        // pgha before the fence directory was private made it 0755: an upgrade must not refuse it
        Path work = Files.createDirectory(tmp.resolve("pgha-fence-demo-m1"));
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        startIn(tmp, work);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(work)))
                .isEqualTo("rwx------");
        assertThat(work.resolve(ShellFence.SCRIPT)).exists();
    }

    @Test
    void refusesASymlink(@TempDir Path tmp) throws Exception {
        Path target = Files.createDirectory(tmp.resolve("elsewhere"));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        Path work = Files.createSymbolicLink(tmp.resolve("pgha-fence-demo-m1"), target);
        assertThatThrownBy(() -> startIn(tmp, work))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("is a symlink");
        assertThat(target.resolve(ShellFence.SCRIPT)).doesNotExist();
    }

    @Test
    void refusesADirectoryOfAnotherUser(@TempDir Path tmp) throws Exception {
        int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Assumptions.assumeTrue(self == 0, "changing a directory's owner needs root (skipped)");
        Path work = Files.createDirectory(tmp.resolve("pgha-fence-demo-m1"));
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwx------"));
        Files.setAttribute(work, "unix:uid", 65534); // nobody
        assertThatThrownBy(() -> startIn(tmp, work))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("is owned by uid 65534");
        assertThat(work.resolve(ShellFence.SCRIPT)).doesNotExist();
    }
}
