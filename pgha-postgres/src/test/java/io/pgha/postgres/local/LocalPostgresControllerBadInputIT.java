package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bad input to the controller: each a clear PostgresException naming the key or path, and nothing on disk lost. */
class LocalPostgresControllerBadInputIT {

    private Path base;
    private final List<LocalPostgresController> opened = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-bad-");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (LocalPostgresController c : opened) {
            c.close();
            PgTestSupport.deleteTree(c.runtimeDir());
        }
        PgTestSupport.deleteTree(base);
    }

    private LocalPostgresController open(LocalPostgresConfig cfg) throws PostgresException {
        LocalPostgresController c = new LocalPostgresController(cfg);
        opened.add(c);
        return c;
    }

    @Test
    void aMissingBinaryNamesBinDirAndThePath() throws Exception {
        Path bin = Files.createDirectory(base.resolve("bin"));
        LocalPostgresConfig cfg = PgTestSupport.config("m", base).binDir(bin).build();
        assertThatThrownBy(() -> open(cfg))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.bin_dir")
                .hasMessageContaining(bin.resolve("postgres").toString());
    }

    @Test
    void aDataDirectoryOwnedBySomeoneElseIsRefused() throws Exception {
        assumeTrue(OsUser.currentUid() == 0, "needs root to give a directory to another user");
        Path data = Files.createDirectory(base.resolve("o"));
        Path file = Files.writeString(data.resolve("PG_VERSION"), "15\n");
        Files.setAttribute(data, "unix:uid", 65534);
        LocalPostgresConfig cfg = PgTestSupport.config("o", base).build();
        assertThatThrownBy(() -> open(cfg))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.data_dir")
                .hasMessageContaining("owned by uid 65534");
        assertThat(Files.readString(file)).isEqualTo("15\n");
        assertThat(Files.getAttribute(data, "unix:uid")).isEqualTo(65534);
    }

    @Test
    void aParentThePostgresUserCannotEnterIsNamed() throws Exception {
        assumeTrue(OsUser.currentUid() == 0, "needs root: PostgreSQL then runs as another user");
        Path locked = Files.createDirectory(base.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwx------"));
        LocalPostgresConfig cfg =
                PgTestSupport.config("l", base).dataDir(locked.resolve("data")).build();
        LocalPostgresController c = open(cfg);
        assertThatThrownBy(c::bootstrap)
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("cannot enter " + locked);
        assertThat(locked.resolve("data")).doesNotExist();
    }

    @Test
    void aPortInUseIsNamedAndNothingIsCreated() throws Exception {
        LocalPostgresConfig cfg = PgTestSupport.config("p", base).build();
        LocalPostgresController c = open(cfg);
        try (ServerSocket busy = new ServerSocket(cfg.port(), 1, InetAddress.getLoopbackAddress())) {
            assertThatThrownBy(c::bootstrap)
                    .isInstanceOf(PostgresException.class)
                    .hasMessageContaining("port " + cfg.port())
                    .hasMessageContaining("postgresql.listen");
        }
        assertThat(c.isDataDirectoryEmpty()).isTrue();
    }

    @Test
    void aFailedBasebackupLeavesTheDataDirectoryEmpty() throws Exception {
        LocalPostgresConfig cfg = PgTestSupport.config("f", base).build();
        LocalPostgresController c = open(cfg);
        Member nowhere = new Member(
                "nowhere", 0, Map.of("conn_url", "postgres://127.0.0.1:" + PgTestSupport.freePort() + "/postgres"));
        assertThatThrownBy(() -> c.cloneFrom(nowhere))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("pg_basebackup")
                .hasMessageContaining("nowhere");
        assertThat(c.isDataDirectoryEmpty()).isTrue();
        assertThat(c.status().state()).isEqualTo("stopped");
    }

    @Test
    void aNonEmptyDataDirectoryIsNeitherClonedIntoNorBootstrapped() throws Exception {
        LocalPostgresConfig cfg = PgTestSupport.config("n", base).build();
        Files.createDirectory(cfg.dataDir());
        Path precious = Files.writeString(cfg.dataDir().resolve("precious.txt"), "keep me");
        OsUser pgUser = OsUser.resolve(cfg.runAs());
        pgUser.own(cfg.dataDir(), "rwx------");
        LocalPostgresController c = open(cfg);
        Member source = new Member("src", 0, Map.of("conn_url", "postgres://127.0.0.1:5432/postgres"));
        assertThatThrownBy(() -> c.cloneFrom(source))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.data_dir " + cfg.dataDir())
                .hasMessageContaining("not empty");
        assertThatThrownBy(c::bootstrap)
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.data_dir " + cfg.dataDir());
        assertThatThrownBy(() -> c.start(null, java.time.Duration.ofSeconds(10)))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.data_dir");
        assertThat(Files.readString(precious)).isEqualTo("keep me");
    }

    @Test
    void aMemberWithoutConnUrlIsNamed() throws Exception {
        LocalPostgresController c = open(PgTestSupport.config("u", base).build());
        assertThatThrownBy(() -> c.cloneFrom(new Member("bad", 0, Map.of("conn_url", "http://x"))))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("bad")
                .hasMessageContaining("conn_url");
        assertThat(c.isDataDirectoryEmpty()).isTrue();
    }
}
