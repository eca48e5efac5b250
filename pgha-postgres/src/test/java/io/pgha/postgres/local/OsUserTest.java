package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OsUserTest {

    @Test
    void runsThroughSetprivOnlyWhenSwitching() {
        assertThat(new OsUser("postgres", 101, 104, "/var/lib/postgresql", true).commandPrefix())
                .containsExactly("setpriv", "--reuid=101", "--regid=104", "--init-groups", "--");
        assertThat(new OsUser("me", 1000, 1000, "/home/me", false).commandPrefix())
                .isEmpty();
    }

    @Test
    void findsTheFirstDirectoryAnotherUserCannotEnter(@TempDir Path tmp) throws Exception {
        Path open = Files.createDirectories(tmp.resolve("open"));
        Path closed = Files.createDirectories(open.resolve("closed"));
        Path inner = Files.createDirectories(closed.resolve("inner"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
        int me = (Integer) Files.getAttribute(tmp, "unix:uid");
        int other = me == 54321 ? 54322 : 54321;
        OsUser stranger = new OsUser("stranger", other, other, null, true);
        // the parents of a JUnit temporary directory (/tmp) are open to everyone
        assertThat(stranger.firstUntraversable(inner)).isEqualTo(closed);
        assertThat(stranger.firstUntraversable(open)).isNull();
        assertThat(new OsUser("owner", me, me, null, false).firstUntraversable(inner))
                .isNull();
    }
}
