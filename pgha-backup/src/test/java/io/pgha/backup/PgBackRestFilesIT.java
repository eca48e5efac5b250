package io.pgha.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Issue 19 item 2 for pgha-backup's own files: as root, pgBackRest's passfile and configuration are
 * written into a directory the postgres user owns; a link it plants at the temporary file, even in
 * the middle of the write, never makes root write through it. Skipped unless run as root.
 */
class PgBackRestFilesIT {

    private Path base;

    @AfterEach
    void tearDown() throws IOException {
        if (base != null) {
            RestoreDrill.deleteTree(base);
        }
    }

    @Test
    void aLinkPlantedAtTheTemporaryFileIsNeverWrittenThrough() throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Assumptions.assumeTrue(uid == 0, "PgBackRestFilesIT checks what pgha does as root (skipped)");
        base = BackupTestSupport.baseDir("pgha-backup-files-");
        Path victim = base.resolve("victim");
        Files.writeString(victim, "root's file\n");
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-r--r--"));
        PgBackRest p = new PgBackRest(BackupTestSupport.backup("m", base, 5997).build());
        Path work = p.config().workDir();
        Files.createDirectories(work.getParent());
        p.ownedDir(work);
        AtomicBoolean stop = new AtomicBoolean();
        // what the postgres user could do: swap every temporary file it sees for a link to root's file
        Thread planter = new Thread(() -> {
            while (!stop.get()) {
                try (Stream<Path> s = Files.list(work)) {
                    for (Path f : s.toList()) {
                        String n = f.getFileName().toString();
                        if (n.startsWith(".pgpass") && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                            Files.deleteIfExists(f);
                            Files.createSymbolicLink(f, victim);
                        }
                    }
                } catch (IOException e) {
                    // raced with the writer: go on
                }
            }
        });
        planter.start();
        try {
            for (int i = 0; i < 300; i++) {
                try {
                    p.ownedFile(p.passfile(), "*:*:*:postgres:secret-" + i + "\n", "rw-------");
                } catch (IOException e) {
                    // a write the planter broke may fail; it must not write through the link
                }
            }
        } finally {
            stop.set(true);
            planter.join();
        }
        assertThat(Files.readString(victim)).isEqualTo("root's file\n");
        assertThat(Files.getAttribute(victim, "unix:uid")).isEqualTo(0);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim)))
                .isEqualTo("rw-r--r--");
        List<Path> left;
        try (Stream<Path> s = Files.list(work)) {
            left = s.filter(f -> f.getFileName().toString().startsWith(".pgpass")
                            && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                    .toList();
        }
        assertThat(left).as("no temporary file left behind").isEmpty();
    }
}
