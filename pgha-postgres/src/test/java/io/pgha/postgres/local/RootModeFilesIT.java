package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.pgha.postgres.PostgresException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Root mode and the data directory (issue 19, item 2): pgha runs as root, PostgreSQL as
 * {@code postgres}, who owns the data directory and may plant symlinks in it. Whatever it plants,
 * nothing outside the data directory is read, written, created or re-owned by root. Skipped unless
 * the test runs as root on a machine with a {@code postgres} OS user.
 */
class RootModeFilesIT {

    private static final String SECRET = "root's secret " + System.nanoTime();
    private static final String VICTIM = "root's file, untouched\n";

    private Path base;
    private Path data;
    /** A root-only directory (0700) with a root-only file: what postgres must never see. */
    private Path rootOnly;

    private Path secret;
    /** A root-owned file anyone may read, in a directory postgres can traverse but not write. */
    private Path victim;

    private OsUser postgres;

    @BeforeEach
    void setUp() throws Exception {
        Assumptions.assumeTrue(
                OsUser.currentUid() == 0, "RootModeFilesIT needs root: it checks what pgha does as root (skipped)");
        try {
            postgres = OsUser.resolve("postgres");
        } catch (PostgresException e) {
            Assumptions.abort("no 'postgres' OS user on this machine: " + e.getMessage());
        }
        base = PgTestSupport.baseDir("pgha-rootmode-");
        rootOnly = Files.createTempDirectory("pgha-rootonly-");
        Files.setPosixFilePermissions(rootOnly, PosixFilePermissions.fromString("rwx------"));
        secret = rootOnly.resolve("secret");
        Files.writeString(secret, SECRET);
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path open = Files.createDirectory(base.resolve("root-owned"));
        victim = open.resolve("victim");
        Files.writeString(victim, VICTIM);
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-r--r--"));
        data = Files.createDirectory(base.resolve("data"));
        postgres.own(data, "rwx------");
    }

    @AfterEach
    void tearDown() throws IOException {
        if (base != null) {
            PgTestSupport.deleteTree(base);
        }
        if (rootOnly != null) {
            PgTestSupport.deleteTree(rootOnly);
        }
    }

    /** Runs {@code ln -s target link} as postgres: the link is the postgres user's, as an attacker's would be. */
    private void plant(Path link, Path target) throws Exception {
        Process p = new ProcessBuilder(
                        "setpriv",
                        "--reuid=" + postgres.uid(),
                        "--regid=" + postgres.gid(),
                        "--init-groups",
                        "--",
                        "ln",
                        "-s",
                        target.toString(),
                        link.toString())
                .redirectErrorStream(true)
                .start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue())
                .as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isZero();
    }

    private void assertRootFilesUntouched() throws IOException {
        assertThat(Files.readString(secret)).isEqualTo(SECRET);
        assertThat(Files.getAttribute(secret, "unix:uid")).isEqualTo(0);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)))
                .isEqualTo("rw-------");
        assertThat(Files.readString(victim)).isEqualTo(VICTIM);
        assertThat(Files.getAttribute(victim, "unix:uid")).isEqualTo(0);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim)))
                .isEqualTo("rw-r--r--");
        try (Stream<Path> s = Files.list(rootOnly)) {
            assertThat(s).containsExactly(secret);
        }
        try (Stream<Path> s = Files.list(victim.getParent())) {
            assertThat(s).containsExactly(victim);
        }
        // nothing in the data directory holds the secret
        try (Stream<Path> s = Files.walk(data)) {
            for (Path p : s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                    .toList()) {
                assertThat(Files.readString(p)).as(p.toString()).doesNotContain(SECRET);
            }
        }
    }

    private DataDirectory dataDirectory() throws IOException {
        LocalPostgresConfig config = PgTestSupport.config("m1", base)
                .dataDir(data)
                .pgpass(base.resolve("runtime").resolve("pgpass"))
                .build();
        return new DataDirectory(config, null, postgres, new OsCommand(postgres));
    }

    private ManagedFiles managedFiles(DataDirectory dir) throws IOException {
        LocalPostgresConfig config =
                PgTestSupport.config("m1", base).dataDir(data).build();
        return new ManagedFiles(config, dir, new ServerFacts(15, true));
    }

    @Test
    void postgresqlConfLinkedToARootFileIsNeitherReadNorReplaced() throws Exception {
        plant(data.resolve("postgresql.conf"), secret);
        DataDirectory dir = dataDirectory();
        ManagedFiles files = managedFiles(dir);

        assertThatThrownBy(() -> files.write(null))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.conf")
                .hasMessageNotContaining(SECRET);

        assertRootFilesUntouched();
        assertThat(Files.isSymbolicLink(data.resolve("postgresql.conf"))).isTrue();
    }

    @Test
    void linksAtTheOldFixedTemporaryNamesAreNeverWrittenThrough() throws Exception {
        Files.writeString(data.resolve("postgresql.conf"), "shared_buffers = '16MB'\n");
        postgres.own(data.resolve("postgresql.conf"), "rw-------");
        DataDirectory dir = dataDirectory();
        ManagedFiles files = managedFiles(dir);
        List<Path> fixedNames = Stream.of("postgresql.conf", ManagedConfig.CONF_FILE, ManagedConfig.HBA_FILE)
                .map(n -> data.resolve("." + n + ".pgha-tmp"))
                .toList();
        // postgres keeps the links in place while root writes: the old code deleted the name, then
        // created it again without O_EXCL, following a link planted in between
        AtomicBoolean stop = new AtomicBoolean();
        Thread planter = new Thread(() -> {
            while (!stop.get()) {
                for (Path link : fixedNames) {
                    try {
                        Files.createSymbolicLink(link, victim);
                        postgres.own(link, null);
                    } catch (FileAlreadyExistsException e) {
                        // still there
                    } catch (IOException e) {
                        return;
                    }
                }
                Thread.yield();
            }
        });
        planter.start();
        try {
            for (int i = 0; i < 40; i++) {
                files.write(i % 2 == 0 ? null : "host=10.0.0.1 port=5432");
            }
        } finally {
            stop.set(true);
            planter.join();
        }
        assertRootFilesUntouched();
        assertThat(Files.readString(data.resolve("postgresql.conf"))).contains(ManagedConfig.INCLUDE_LINE);
        for (String name : List.of("postgresql.conf", ManagedConfig.CONF_FILE, ManagedConfig.HBA_FILE)) {
            Path f = data.resolve(name);
            assertThat(Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).isTrue();
            assertThat(Files.getAttribute(f, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo(postgres.uid());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
                    .isEqualTo("rw-------");
        }
    }

    @Test
    void thePostmasterLogLinkedToARootFileIsNotAppendedTo() throws Exception {
        Path logDir = Files.createDirectory(data.resolve("log"));
        postgres.own(logDir, "rwx------");
        Path log = logDir.resolve("pgha-postmaster.log");
        plant(log, victim);
        runLaunched(log);
        assertRootFilesUntouched();
    }

    @Test
    void aLogDirectoryLinkedToARootDirectoryGetsNoFile() throws Exception {
        plant(data.resolve("log"), rootOnly);
        runLaunched(data.resolve("log").resolve("pgha-postmaster.log"));
        assertRootFilesUntouched();
    }

    @Test
    void aFreshPostmasterLogIsThePostgresUsersAndPrivate() throws Exception {
        Path logDir = Files.createDirectory(data.resolve("log"));
        postgres.own(logDir, "rwx------");
        Path log = logDir.resolve("pgha-postmaster.log");
        runLaunched(log);
        assertThat(Files.readString(log)).contains("planted output");
        assertThat(Files.getAttribute(log, "unix:uid")).isEqualTo(postgres.uid());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log)))
                .isEqualTo("rw-------");
    }

    private void runLaunched(Path log) throws Exception {
        Process p = new OsCommand(postgres).launch(List.of("/bin/echo", "planted output"), log);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void postmasterPidLinkedToAnEndlessDeviceIsNotReadWhole() throws Exception {
        plant(data.resolve("postmaster.pid"), Path.of("/dev/zero"));
        assertTimeoutPreemptively(
                Duration.ofSeconds(10), () -> assertThat(PidFile.read(data)).isNull());
    }

    @Test
    void modeIsNeverSetThroughALink() throws Exception {
        Path link = data.resolve("linked");
        plant(link, victim);
        postgres.own(link, "rw-rw-rw-");
        assertRootFilesUntouched();
    }

    @Test
    void emptyingFollowsNoLinkInside() throws Exception {
        plant(data.resolve("base"), rootOnly);
        plant(data.resolve("pg_hba.conf"), secret);
        DataDirectory dir = dataDirectory();
        dir.empty();
        try (Stream<Path> s = Files.list(data)) {
            assertThat(s).isEmpty();
        }
        assertRootFilesUntouched();
    }

    @Test
    void thePassfileIsWrittenAsThePostgresUserWithMode0600() throws Exception {
        Path runtime = Files.createDirectory(base.resolve("runtime"));
        postgres.own(runtime, "rwx------");
        plant(runtime.resolve(".pgpass.pgha-tmp"), victim);
        DataDirectory dir = dataDirectory();
        dir.writeOwned(dir.passfile(), "*:*:*:replicator:secret\n");
        Path passfile = runtime.resolve("pgpass");
        assertThat(Files.getAttribute(passfile, "unix:uid")).isEqualTo(postgres.uid());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passfile)))
                .isEqualTo("rw-------");
        assertRootFilesUntouched();
        // a link at the passfile's own name is replaced, not written through
        Files.delete(passfile);
        plant(passfile, victim);
        dir.writeOwned(dir.passfile(), "*:*:*:replicator:secret\n");
        assertThat(Files.isSymbolicLink(passfile)).isFalse();
        assertRootFilesUntouched();
    }

    @Test
    void aLargeLogIsRotatedAsThePostgresUserAndALinkIsNotFollowed() throws Exception {
        Path logDir = Files.createDirectory(data.resolve("log"));
        postgres.own(logDir, "rwx------");
        Path log = logDir.resolve("pgha-postmaster.log");
        Files.writeString(log, "x".repeat(2000));
        postgres.own(log, "rw-------");
        UserFiles files = new UserFiles(postgres);
        assertThat(files.rotate(log, 4096)).isFalse();
        assertThat(files.rotate(log, 1000)).isTrue();
        assertThat(log).doesNotExist();
        assertThat(logDir.resolve("pgha-postmaster.log.1")).hasContent("x".repeat(2000));
        // a planted .1 link is replaced, not written through
        plant(log, victim);
        Files.delete(logDir.resolve("pgha-postmaster.log.1"));
        plant(logDir.resolve("pgha-postmaster.log.1"), secret);
        files.rotate(log, 0);
        assertRootFilesUntouched();
    }

    @Test
    void aFifoPlantedAsPostgresqlConfIsAnErrorNotAHang() throws Exception {
        Process p = new ProcessBuilder(
                        "setpriv",
                        "--reuid=" + postgres.uid(),
                        "--regid=" + postgres.gid(),
                        "--init-groups",
                        "--",
                        "mkfifo",
                        data.resolve("postgresql.conf").toString())
                .start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        UserFiles files = new UserFiles(postgres, 2);
        assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () -> assertThatThrownBy(() -> files.read(data.resolve("postgresql.conf")))
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("postgresql.conf"));
    }

    @Test
    void aPassfileConfiguredInADirectoryOnlyRootCanWriteIsWrittenByRootForPostgres() throws Exception {
        Path etc = Files.createDirectory(base.resolve("etc-pgha"));
        Files.setPosixFilePermissions(etc, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(UserFiles.onlyRootCanChange(etc)).isTrue();
        assertThat(UserFiles.onlyRootCanChange(data)).isFalse();
        UserFiles files = new UserFiles(postgres);
        Path passfile = etc.resolve("pgpass");
        files.write(passfile, "*:*:*:replicator:secret\n");
        assertThat(passfile).hasContent("*:*:*:replicator:secret");
        assertThat(Files.getAttribute(passfile, "unix:uid")).isEqualTo(postgres.uid());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passfile)))
                .isEqualTo("rw-------");
        try (Stream<Path> s = Files.list(etc)) {
            assertThat(s).containsExactly(passfile);
        }
    }
}
