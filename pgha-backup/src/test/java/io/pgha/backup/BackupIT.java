package io.pgha.backup;

import static io.pgha.backup.BackupTestSupport.await;
import static io.pgha.backup.BackupTestSupport.exec;
import static io.pgha.backup.BackupTestSupport.member;
import static io.pgha.backup.BackupTestSupport.query;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import io.pgha.ha.NodeState;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A primary and a streaming replica archiving through pgBackRest into a repository in a temporary
 * directory, walked through a backup's life: a full backup taken from the replica, point-in-time
 * recovery into a new data directory, a replica created from the backup, a logical dump restored
 * into a fresh database, a restore drill on a good backup and on a deliberately corrupted one.
 * The steps build on each other, so they run in order on one cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackupIT {

    private static final Duration T = Duration.ofMinutes(3);

    private Path base;
    private BackupConfig b1;
    private BackupConfig b2;
    private LocalPostgresController p1;
    private LocalPostgresController p2;
    private PgBackRest r1;
    private PgBackRest r2;
    private final List<LocalPostgresController> all = new ArrayList<>();
    private final List<Path> sockets = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        BackupTestSupport.assumeTools();
        base = BackupTestSupport.baseDir("pgha-backup-it-");
        b1 = BackupTestSupport.backup("a", base, BackupTestSupport.freePort())
                .drillTable("public.t", 100)
                .build();
        b2 = BackupTestSupport.backup("b", base, BackupTestSupport.freePort()).build();
        r1 = new PgBackRest(b1);
        r2 = new PgBackRest(b2);
        r1.requireBinary();
        r1.writeConfig();
        r2.writeConfig();
        p1 = open(BackupTestSupport.postgres(b1, Map.of()));
        p1.bootstrap(); // leaves it running as the primary
        sockets.add(PgBackRest.socketDir(b1.dataDir()));
        exec(b1.port(), "CREATE TABLE t (id int PRIMARY KEY, batch int)");
        exec(b1.port(), "INSERT INTO t SELECT g, 1 FROM generate_series(1, 100) g");
        p1.changeReplicationSlots(io.pgha.postgres.SlotChanges.physicalSlotsFor("b", "c"));
        r1.stanzaCreate();
        r1.check();
        p2 = open(BackupTestSupport.postgres(b2, Map.of()));
        p2.cloneFrom(member(p1.config()));
        p2.start(member(p1.config()), T);
        sockets.add(PgBackRest.socketDir(b2.dataDir()));
    }

    private LocalPostgresController open(LocalPostgresConfig cfg) throws Exception {
        LocalPostgresController c = new LocalPostgresController(cfg);
        all.add(c);
        return c;
    }

    @AfterAll
    void tearDown() throws Exception {
        for (LocalPostgresController c : all) {
            c.close();
        }
        for (Path s : sockets) {
            RestoreDrill.deleteTree(s);
        }
        RestoreDrill.deleteTree(base);
    }

    @Test
    @Order(1)
    void takesAFullBackupFromTheReplica() throws Exception {
        await(
                "the replica has the first rows",
                T,
                () -> "100".equals(query(b2.port(), "postgres", "SELECT count(*) FROM t")));
        BackupSet set = r2.backup(
                BackupType.FULL, new PgEndpoint(b1.dataDir(), b1.port(), PgBackRest.socketDir(b1.dataDir()), null));
        assertThat(set.type()).isEqualTo("full");
        RepoInfo info = r1.info();
        assertThat(info.backups()).hasSize(1);
        assertThat(info.latest("full").label()).isEqualTo(set.label());
        assertThat(info.walMax()).isNotNull();
        assertThat(set.repoSize()).isPositive();
    }

    @Test
    @Order(2)
    void recoversToAPointInTimeAndNotBeyond() throws Exception {
        exec(b1.port(), "INSERT INTO t SELECT g, 2 FROM generate_series(101, 200) g");
        String target = query(b1.port(), "postgres", "SELECT pg_current_wal_insert_lsn()");
        exec(b1.port(), "INSERT INTO t SELECT g, 3 FROM generate_series(201, 300) g");
        String last = query(b1.port(), "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
        exec(b1.port(), "SELECT pg_switch_wal()");
        await("WAL up to the third batch is archived", T, () -> {
            String archived = query(b1.port(), "postgres", "SELECT last_archived_wal FROM pg_stat_archiver");
            return archived != null && archived.compareTo(last) >= 0;
        });

        BackupConfig pitrCfg = BackupTestSupport.backup("pitr", base, BackupTestSupport.freePort())
                .archive(false)
                .build();
        new DataDirectories(r1).prepareBootstrap(pitrCfg.dataDir(), RestoreTarget.lsn(target), null);
        LocalPostgresController pitr = open(BackupTestSupport.postgres(pitrCfg, Map.of("archive_mode", "off")));
        pitr.start(null, T);
        sockets.add(PgBackRest.socketDir(pitrCfg.dataDir()));
        await(
                "the copy is promoted at the target",
                T,
                () -> "f".equals(query(pitrCfg.port(), "postgres", "SELECT pg_is_in_recovery()")));
        assertThat(query(pitrCfg.port(), "postgres", "SELECT count(*) FROM t")).isEqualTo("200");
        assertThat(query(pitrCfg.port(), "postgres", "SELECT max(batch) FROM t"))
                .isEqualTo("2");
        pitr.close();
    }

    @Test
    @Order(3)
    void createsAReplicaFromTheBackup() throws Exception {
        BackupConfig b3 = BackupTestSupport.backup("c", base, BackupTestSupport.freePort())
                .build();
        PgBackRest r3 = new PgBackRest(b3);
        r3.writeConfig();
        // through the controller's clone, as a node does with create_replica_methods: [pgbackrest, basebackup]
        LocalPostgresController p3 =
                open(BackupTestSupport.postgres(b3, Map.of(), List.of("pgbackrest", "basebackup")));
        DataDirectories restore = new DataDirectories(r3);
        p3.replicaPreparer("pgbackrest", restore::prepareReplica);
        p3.cloneFrom(member(p1.config()));
        p3.start(member(p1.config()), T);
        sockets.add(PgBackRest.socketDir(b3.dataDir()));
        exec(b1.port(), "INSERT INTO t VALUES (1000, 4)");
        await(
                "the replica made from the backup streams from the primary",
                T,
                () -> "301".equals(query(b3.port(), "postgres", "SELECT count(*) FROM t")));
        assertThat(query(b3.port(), "postgres", "SELECT pg_is_in_recovery()")).isEqualTo("t");
        p3.close();
    }

    @Test
    @Order(4)
    void aLogicalDumpRestoresIntoAFreshDatabase() throws Exception {
        LogicalDump dumps = new LogicalDump(r1, Clock.systemUTC());
        Path file = dumps.dump("postgres");
        assertThat(file).isRegularFile();
        assertThat(dumps.list()).contains(file);
        dumps.restoreInto(file, "restored");
        assertThat(query(b1.port(), "restored", "SELECT count(*) FROM t"))
                .isEqualTo(query(b1.port(), "postgres", "SELECT count(*) FROM t"));
        assertThatThrownBy(() -> dumps.restoreInto(file, "restored"))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("createdb restored");
    }

    @Test
    @Order(5)
    void aDrillPassesOnAGoodBackup() throws Exception {
        RestoreDrill drill = new RestoreDrill(r1, Clock.systemUTC());
        DrillResult result = drill.run();
        assertThat(result.error()).isNull();
        assertThat(result.ok()).isTrue();
        assertThat(result.checks()).anyMatch(c -> c.startsWith("public.t: "));
        assertThat(scratchDirs()).isEmpty();
        DrillResult reread = new RestoreDrill(r1, Clock.systemUTC()).lastResult();
        assertThat(reread.ok()).isTrue();
        assertThat(reread.backupLabel()).isEqualTo(result.backupLabel());
        assertThat(reread.finishedAt()).isEqualTo(result.finishedAt());
        System.out.println("MEASURED DRILL: backup " + result.backupLabel() + " repo size " + result.backupRepoSize()
                + " bytes; " + result.summary() + "; " + result.checks());
        assertThat(query(b1.port(), "postgres", "SELECT pg_is_in_recovery()")).isEqualTo("f");
    }

    @Test
    @Order(6)
    void theScheduleRunsOnTheChosenReplicaAndTheCommandsReport() throws Exception {
        ClusterState cluster = ClusterState.builder("it")
                .leader("a", 1)
                .member(
                        "a",
                        DcsJson.write(Map.of(
                                "state",
                                "running",
                                "role",
                                "primary",
                                "conn_url",
                                p1.config().connUrl(),
                                "timeline",
                                1)),
                        1)
                .member(
                        "b",
                        DcsJson.write(Map.of(
                                "state",
                                "running",
                                "role",
                                "replica",
                                "replication_state",
                                "streaming",
                                "receive_lsn",
                                1,
                                "timeline",
                                1)),
                        1)
                .build();
        NodeState state = new NodeState(
                "b",
                "it",
                "replica",
                false,
                null,
                cluster,
                null,
                Instant.now(),
                Instant.now(),
                Map.of(),
                null,
                null,
                null,
                null,
                false);
        BackupConfig cfg = BackupTestSupport.backup("b", base, b2.port())
                .schedule(Duration.ofDays(7), Duration.ofSeconds(1), null, null)
                .build();
        PgEndpoint primary = new PgEndpoint(b1.dataDir(), b1.port(), PgBackRest.socketDir(b1.dataDir()), null);
        try (BackupService service =
                new BackupService(cfg, () -> state, m -> primary, Clock.systemUTC(), Duration.ofHours(1))) {
            service.start();
            int before = r1.info().backups().size();
            Thread.sleep(1100);
            service.tickOnce();
            RepoInfo info = r1.info();
            assertThat(info.backups()).hasSize(before + 1);
            assertThat(info.latest().type()).isEqualTo("diff");
            assertThat(service.status().chosen()).isTrue();
            assertThat(service.status().lastDiff()).isNotNull();
            assertThat(service.status().lastError()).isNull();

            BackupCommands commands = new BackupCommands(service, Clock.systemUTC());
            BackupCommands.Result list = commands.list();
            assertThat(list.exitCode()).isZero();
            assertThat(list.text()).contains(info.latest().label()).contains("last drill: passed");
            assertThat(commands.now("weekly").exitCode()).isEqualTo(2);
            assertThat(commands.restoreGuidance().text()).contains("--stanza=it restore");
        }
    }

    @Test
    @Order(7)
    void aDrillFailsOnACorruptedBackup() throws Exception {
        String label = r1.info().latest().label();
        Path data = b1.repoPath().resolve("backup/it/" + label + "/pg_data/base");
        try (Stream<Path> files = Files.walk(data)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                byte[] bytes = Files.readAllBytes(f);
                for (int i = 0; i < bytes.length; i += 7) {
                    bytes[i] = (byte) ~bytes[i];
                }
                Files.write(f, bytes);
            }
        }
        DrillResult result = new RestoreDrill(r1, Clock.systemUTC()).run();
        assertThat(result.ok()).isFalse();
        assertThat(result.error()).isNotBlank();
        assertThat(scratchDirs()).isEmpty();
        assertThat(new RestoreDrill(r1, Clock.systemUTC()).lastResult().ok()).isFalse();
    }

    /** The drill's scratch directories left behind (its log, drill.log, stays for reading). */
    private List<Path> scratchDirs() throws IOException {
        try (Stream<Path> s = Files.list(b1.drillDir())) {
            return s.filter(p -> p.getFileName().toString().startsWith("scratch-"))
                    .toList();
        }
    }
}
