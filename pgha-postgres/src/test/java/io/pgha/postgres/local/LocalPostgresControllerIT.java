package io.pgha.postgres.local;

import static io.pgha.postgres.local.PgTestSupport.await;
import static io.pgha.postgres.local.PgTestSupport.column;
import static io.pgha.postgres.local.PgTestSupport.exec;
import static io.pgha.postgres.local.PgTestSupport.member;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import io.pgha.postgres.ReplicationSlot;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.SlotChanges.NewSlot;
import io.pgha.postgres.StopMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * One cluster of three members on real PostgreSQL, walked through a member's life: bootstrap,
 * slots, clone, promote, follow without restart, rewind of a diverged former primary (as a
 * rewind user that is not a superuser), a second
 * failover, and a crash. The steps build on each other, so they run in order on one cluster
 * (which keeps the module's test time short).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalPostgresControllerIT {

    private static final Duration T = Duration.ofMinutes(2);

    private Path base;
    private LocalPostgresController a;
    private LocalPostgresController b;
    private LocalPostgresController c;
    private final List<LocalPostgresController> all = new ArrayList<>();
    private String systemId;

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-it-");
        // pg_rewind runs as a rewind user of its own (Patroni's authentication.rewind), not the superuser
        a = open(PgTestSupport.config("a", base).rewind("rewinder", "rw:pass").build());
        b = open(PgTestSupport.config("b", base).rewind("rewinder", "rw:pass").build());
        c = open(PgTestSupport.config("c-1.example", base)
                .rewind("rewinder", "rw:pass")
                .build());
    }

    private LocalPostgresController open(LocalPostgresConfig cfg) throws PostgresException {
        LocalPostgresController ctl = new LocalPostgresController(cfg);
        all.add(ctl);
        return ctl;
    }

    @AfterAll
    void tearDown() throws Exception {
        for (LocalPostgresController ctl : all) {
            ctl.close();
            PgTestSupport.deleteTree(ctl.runtimeDir());
        }
        PgTestSupport.deleteTree(base);
    }

    @Test
    @Order(1)
    void bootstrapsAPrimary() throws Exception {
        assertThat(a.isDataDirectoryEmpty()).isTrue();
        systemId = a.bootstrap();

        assertThat(systemId).matches("\\d+").isEqualTo(a.systemIdentifier());
        PostgresStatus s = a.status();
        assertThat(s.isPrimary()).isTrue();
        assertThat(s.timeline()).isEqualTo(1);
        assertThat(s.writeLsn()).isPositive();
        assertThat(s.serverVersion()).isGreaterThanOrEqualTo(100000);
        assertThat(s.systemIdentifier()).isEqualTo(systemId);
        assertThat(s.postmasterStartTime()).isNotNull();
        assertThat(column(a.config(), "SHOW data_checksums")).containsExactly("on");
        assertThat(column(a.config(), "SELECT rolreplication::text FROM pg_roles WHERE rolname = 'replicator'"))
                .containsExactly("true");
        assertThat(column(a.config(), "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'rewinder'"))
                .containsExactly("false");

        Path data = a.config().dataDir();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data)))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(a.passfile())))
                .isEqualTo("rw-------");
        String conf = Files.readString(data.resolve("postgresql.conf"));
        assertThat(conf.split(ManagedConfig.INCLUDE_LINE, -1)).hasSize(2);
        assertThat(data.resolve(ManagedConfig.CONF_FILE)).exists();
        assertThat(data.resolve(ManagedConfig.HBA_FILE)).exists();
        if (OsUser.currentUid() == 0) {
            assertThat(Files.getOwner(data).getName()).isEqualTo("postgres");
            assertThat(Files.getOwner(a.passfile()).getName()).isEqualTo("postgres");
        }
        // no password in the server log or in pgha's files
        for (Path f : List.of(
                data.resolve("log/pgha-postmaster.log"),
                data.resolve(ManagedConfig.CONF_FILE),
                data.resolve(ManagedConfig.HBA_FILE))) {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            assertThat(text).doesNotContain(PgTestSupport.SU_PASSWORD).doesNotContain(PgTestSupport.REPL_PASSWORD);
        }
        try (Stream<Path> files = Files.list(a.runtimeDir())) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("initdb-pw"));
        }
    }

    @Test
    @Order(2)
    void carriesOutSlotChangesAndRemembersWhichSlotsArePghas() throws Exception {
        a.changeReplicationSlots(new SlotChanges(
                List.of(), List.of(NewSlot.physical("b"), NewSlot.physical("x_1")), Map.of(), Set.of()));
        exec(a.config(), "SELECT pg_create_physical_replication_slot('by_hand', true)");
        assertThat(a.status().slots())
                .extracting(ReplicationSlot::name, ReplicationSlot::type, ReplicationSlot::managed)
                .containsExactly(
                        tuple("b", "physical", true),
                        tuple("by_hand", "physical", false),
                        tuple("x_1", "physical", true));
        assertThat(a.config().dataDir().resolve("pg_replslot").resolve(Slots.MANAGED_FILE))
                .content()
                .isEqualTo("b\nx_1\n");

        // drop, create, advance and claim in one call; a slot made by hand becomes pgha's once claimed
        long at = a.status().writeLsn();
        exec(a.config(), "SELECT pg_switch_wal()");
        exec(a.config(), "CHECKPOINT");
        long later = a.status().writeLsn();
        assertThat(later).isGreaterThan(at);
        a.changeReplicationSlots(new SlotChanges(
                List.of("x_1"), List.of(NewSlot.physical("c_1_example")), Map.of("b", later), Set.of("by_hand")));
        assertThat(a.status().slots())
                .extracting(ReplicationSlot::name, ReplicationSlot::managed)
                .containsExactly(tuple("b", true), tuple("by_hand", true), tuple("c_1_example", true));
        assertThat(a.status().slot("b").restartLsn()).isEqualTo(later);

        // a managed slot dropped by someone else is forgotten
        exec(a.config(), "SELECT pg_drop_replication_slot('by_hand')");
        a.changeReplicationSlots(new SlotChanges(List.of(), List.of(), Map.of(), Set.of()));
        assertThat(a.config().dataDir().resolve("pg_replslot").resolve(Slots.MANAGED_FILE))
                .content()
                .isEqualTo("b\nc_1_example\n");

        // a failing step does not stop the others, and is reported
        assertThatThrownBy(() -> a.changeReplicationSlots(new SlotChanges(
                        List.of(),
                        List.of(new NewSlot("bad", "logical", "no_such_db", "test_decoding")),
                        Map.of(),
                        Set.of())))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("creating bad");
        assertThat(a.status().slots()).extracting(ReplicationSlot::name).containsExactly("b", "c_1_example");
    }

    @Test
    @Order(3)
    void clonesReplicasThatStream() throws Exception {
        exec(a.config(), "CREATE TABLE t (id int primary key, origin text)");
        exec(a.config(), "INSERT INTO t VALUES (1, 'a')");

        b.cloneFrom(member(a.config()));
        assertThat(b.config().dataDir().resolve("standby.signal")).exists();
        b.start(member(a.config()), T);
        c.cloneFrom(member(a.config()));
        c.start(member(a.config()), T);

        exec(a.config(), "INSERT INTO t VALUES (2, 'a')");
        for (LocalPostgresController r : List.of(b, c)) {
            await(
                    r.config().name() + " to replay the insert",
                    T,
                    () -> column(r.config(), "SELECT count(*) FROM t").equals(List.of("2")));
            await(r.config().name() + " to stream", T, () -> r.status().isStreaming());
            PostgresStatus s = r.status();
            assertThat(s.isReplica()).isTrue();
            assertThat(s.timeline()).isEqualTo(1);
            assertThat(s.systemIdentifier()).isEqualTo(systemId);
            assertThat(s.replayLsn()).isPositive();
        }
        await(
                "both replicas in pg_stat_replication",
                T,
                () -> a.status().replication().stream()
                        .map(ReplicationRow::applicationName)
                        .toList()
                        .containsAll(List.of("b", "c-1.example")));
        assertThat(column(a.config(), "SELECT active::text FROM pg_replication_slots ORDER BY slot_name"))
                .containsExactly("true", "true");
    }

    @Test
    @Order(4)
    void promotesAReplicaAndAnotherFollowsWithoutRestart() throws Exception {
        long written = a.status().writeLsn();
        a.stop(StopMode.FAST, true, T);
        PostgresStatus stopped = a.status();
        assertThat(stopped.state()).isEqualTo(PostgresStatus.STOPPED);
        assertThat(stopped.role()).isEqualTo(PostgresStatus.Role.PRIMARY);
        assertThat(stopped.timeline()).isEqualTo(1);
        assertThat(stopped.systemIdentifier()).isEqualTo(systemId);
        assertThat(stopped.writeLsn()).isGreaterThanOrEqualTo(written);
        a.stop(StopMode.FAST, true, T); // stopping a stopped instance is a no-op

        b.promote(T);
        PostgresStatus sb = b.status();
        assertThat(sb.isPrimary()).isTrue();
        assertThat(sb.timeline()).isEqualTo(2);
        assertThat(b.config().dataDir().resolve("standby.signal")).doesNotExist();
        b.changeReplicationSlots(io.pgha.postgres.SlotChanges.physicalSlotsFor("a", "c-1.example"));

        Instant started = c.status().postmasterStartTime();
        c.follow(member(b.config()), T);
        exec(b.config(), "INSERT INTO t VALUES (3, 'b')");
        await(
                "c to replay b's insert",
                T,
                () -> column(c.config(), "SELECT count(*) FROM t").equals(List.of("3")));
        await(
                "c to stream on timeline 2",
                T,
                () -> c.status().isStreaming() && c.status().timeline() == 2);
        assertThat(c.status().postmasterStartTime()).isEqualTo(started);
    }

    @Test
    @Order(5)
    void rewindsTheDivergedFormerPrimaryAndFollows() throws Exception {
        // a comes back as a primary of the old timeline and takes writes b never sees
        a.start(null, T);
        assertThat(a.status().isPrimary()).isTrue();
        exec(a.config(), "INSERT INTO t VALUES (100, 'diverged')");
        assertThat(a.needsRewind(member(b.config()))).isTrue();

        a.stop(StopMode.FAST, true, T);
        assertThat(a.needsRewind(member(b.config()))).isTrue();
        assertThat(a.rewind(member(b.config()))).isTrue();
        a.start(member(b.config()), T);

        await(
                "a to stream from b",
                T,
                () -> a.status().isStreaming() && a.status().timeline() == 2);
        assertThat(column(a.config(), "SELECT origin FROM t ORDER BY id")).containsExactly("a", "a", "b");
    }

    @Test
    @Order(6)
    void followsASecondNewPrimaryWithoutRestartAndTheCleanOldPrimaryRejoins() throws Exception {
        b.stop(StopMode.FAST, true, T);
        c.promote(T);
        assertThat(c.status().timeline()).isEqualTo(3);
        c.changeReplicationSlots(io.pgha.postgres.SlotChanges.physicalSlotsFor("a", "b"));

        // a streamed b's timeline 2; with b gone it has no WAL receiver, and pg_control still names
        // the timeline of its last restartpoint: the check must use its replay timeline (IDENTIFY_SYSTEM)
        assertThat(a.status().isStreaming()).isFalse();
        assertThat(a.needsRewind(member(c.config())))
                .as("a replica that replayed c's history is not diverged")
                .isFalse();
        Instant started = a.status().postmasterStartTime();
        a.follow(member(c.config()), T);
        exec(c.config(), "INSERT INTO t VALUES (4, 'c')");
        await(
                "a to replay c's insert",
                T,
                () -> column(a.config(), "SELECT count(*) FROM t").equals(List.of("4")));
        await(
                "a to stream on timeline 3",
                T,
                () -> a.status().isStreaming() && a.status().timeline() == 3);
        assertThat(a.status().postmasterStartTime()).isEqualTo(started);

        // b was shut down cleanly and c had received all of it: no rewind, it just follows
        assertThat(b.needsRewind(member(c.config()))).isFalse();
        b.follow(member(c.config()), T);
        await(
                "b to replay c's insert",
                T,
                () -> column(b.config(), "SELECT count(*) FROM t").equals(List.of("4")));
        assertThat(b.status().isReplica()).isTrue();
        await("c to see both replicas", T, () -> c.status().replication().size() == 2);
    }

    @Test
    @Order(7)
    void setsSynchronousStandbyNamesInItsOwnFile() throws Exception {
        c.setSynchronousStandbyNames("ANY 1 (a, b)");
        await("the reload to apply", T, () -> "ANY 1 (a, b)".equals(c.status().synchronousStandbyNames()));
        assertThat(Files.readString(c.config().dataDir().resolve("postgresql.auto.conf")))
                .doesNotContain("synchronous_standby_names");
        await(
                "a sync standby",
                T,
                () -> c.status().replication().stream()
                        .anyMatch(r -> r.syncState().equals("quorum")));
        c.setSynchronousStandbyNames(null);
        await("the reload to apply", T, () -> "".equals(c.status().synchronousStandbyNames()));
        assertThat(c.status().pendingRestart()).isFalse();
    }

    @Test
    @Order(7)
    void restartsKeepingItsRole() throws Exception {
        Instant started = b.status().postmasterStartTime();
        b.restart(T);
        await("b to stream again", T, () -> b.status().isStreaming());
        assertThat(b.status().postmasterStartTime()).isAfter(started);
        assertThat(b.status().isReplica()).isTrue();
        b.reload();
        assertThat(b.status().pendingRestart()).isFalse();
    }

    @Test
    @Order(8)
    void refusesADataDirectoryOfAnotherCluster() {
        assertThatThrownBy(() -> a.verifySystemIdentifier("7000000000000000001"))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("postgresql.data_dir")
                .hasMessageContaining(systemId);
    }

    @Test
    @Order(9)
    void detectsACrashedPostmaster() throws Exception {
        PidFile pid = PidFile.read(a.config().dataDir());
        assertThat(pid).isNotNull();
        long postmaster = Long.parseLong(Files.readAllLines(a.config().dataDir().resolve("postmaster.pid"))
                .get(0));
        assertThat(ProcessHandle.of(postmaster).orElseThrow().destroyForcibly()).isTrue();

        await(
                "a to be seen as crashed",
                T,
                () -> PostgresStatus.CRASHED.equals(a.status().state()));
        PostgresStatus s = a.status();
        assertThat(s.isRunning()).isFalse();
        assertThat(s.role()).isEqualTo(PostgresStatus.Role.REPLICA);
        assertThat(s.systemIdentifier()).isEqualTo(systemId);
    }

    @Test
    @Order(10)
    void aCrashedReplicaFollowsAgain() throws Exception {
        a.follow(member(c.config()), T);
        await("a to stream from c again", T, () -> a.status().isStreaming());
        assertThat(column(a.config(), "SELECT count(*) FROM t")).containsExactly("4");
    }

    @Test
    @Order(11)
    void aCrashedPrimaryIsRecoveredAndRewound() throws Exception {
        exec(c.config(), "INSERT INTO t VALUES (5, 'c')");
        await(
                "b to replay",
                T,
                () -> column(b.config(), "SELECT count(*) FROM t").equals(List.of("5")));
        long postmaster = PidFile.read(c.config().dataDir()).pid();
        ProcessHandle.of(postmaster).orElseThrow().destroyForcibly();
        await(
                "c to be seen as crashed",
                T,
                () -> PostgresStatus.CRASHED.equals(c.status().state()));
        assertThat(c.status().role()).isEqualTo(PostgresStatus.Role.PRIMARY);

        b.promote(T);
        b.changeReplicationSlots(io.pgha.postgres.SlotChanges.physicalSlotsFor("a", "c-1.example"));
        a.follow(member(b.config()), T);
        // not shut down cleanly: the decision needs a rewind, which first runs crash recovery
        assertThat(c.needsRewind(member(b.config()))).isTrue();
        assertThat(c.rewind(member(b.config()))).isTrue();
        c.start(member(b.config()), T);
        exec(b.config(), "INSERT INTO t VALUES (6, 'b')");
        for (LocalPostgresController r : List.of(a, c)) {
            await(
                    r.config().name() + " to replay b's insert",
                    T,
                    () -> column(r.config(), "SELECT count(*) FROM t").equals(List.of("6")));
        }
        assertThat(c.status().isReplica()).isTrue();
        assertThat(c.status().timeline()).isEqualTo(b.status().timeline());
    }

    @Test
    @Order(12)
    void reclonesAfterRemovingTheDataDirectory() throws Exception {
        assertThatThrownBy(a::removeDataDirectory)
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("running");
        assertThat(a.isDataDirectoryEmpty()).isFalse();

        a.stop(StopMode.IMMEDIATE, false, T);
        a.removeDataDirectory();
        assertThat(a.isDataDirectoryEmpty()).isTrue();
        assertThat(a.config().dataDir()).isDirectory();
        assertThat(a.status().systemIdentifier()).isNull();

        a.cloneFrom(member(b.config()));
        a.start(member(b.config()), T);
        await(
                "the new clone to replay",
                T,
                () -> column(a.config(), "SELECT count(*) FROM t").equals(List.of("6")));
        assertThat(a.systemIdentifier()).isEqualTo(systemId);
    }
}
