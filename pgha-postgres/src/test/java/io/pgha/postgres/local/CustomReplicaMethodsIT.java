package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.postgres.PostgresException;
import io.pgha.postgres.StopMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Patroni's {@code create_replica_methods} with commands, configured as Patroni's documentation and
 * its acceptance features write them: a restore script that copies a base backup into
 * {@code --datadir} (as features/backup_restore.py does), run with Patroni's arguments; a method
 * with {@code no_leader} that creates a replica with no member to copy from, which then starts as
 * a standby and replays WAL through {@code postgresql.recovery_conf}'s {@code restore_command}; a
 * failing method followed by {@code basebackup}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CustomReplicaMethodsIT {

    private static final Duration T = Duration.ofSeconds(60);

    private Path base;
    private Path backup;
    private Path archive;
    private Path argsLog;
    private Path restoreScript;
    private LocalPostgresController primary;
    private final List<LocalPostgresController> replicas = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-replica-methods-");
        archive = base.resolve("archive");
        backup = base.resolve("basebackup");
        argsLog = base.resolve("args.log");
        Files.createDirectories(archive);
        Files.writeString(argsLog, "");
        // as features/backup_restore.py: copy --sourcedir into --datadir; log the arguments it got
        restoreScript = base.resolve("restore.sh");
        Files.writeString(restoreScript, """
                #!/bin/sh
                echo "$@" >> %s
                for a in "$@"; do
                  case "$a" in
                    --datadir=*) datadir="${a#--datadir=}" ;;
                    --sourcedir=*) sourcedir="${a#--sourcedir=}" ;;
                  esac
                done
                mkdir -p "$datadir" && cp -a "$sourcedir"/. "$datadir"/
                """.formatted(argsLog));
        Files.setPosixFilePermissions(restoreScript, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (Path p : List.of(archive, argsLog)) {
            Files.setPosixFilePermissions(
                    p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxrwxrwx" : "rw-rw-rw-"));
        }
        LocalPostgresConfig pc = PgTestSupport.config("pg0", base)
                .parameter("archive_mode", "on")
                .parameter("archive_command", "cp %p " + archive + "/%f")
                .build();
        primary = new LocalPostgresController(pc);
        primary.bootstrap();
        PgTestSupport.exec(pc, "CREATE TABLE t(v int); INSERT INTO t VALUES (1)");
        // a base backup taken with the PostgreSQL tools, as a team's backup job would
        OsCommand exec = new OsCommand(OsUser.resolve("postgres"));
        Files.createDirectories(backup);
        exec.own(backup, "rwx------");
        OsCommand.Result r = exec.run(
                List.of(
                        Path.of(
                                        pc.binDir() == null
                                                ? "/usr/lib/postgresql/15/bin"
                                                : pc.binDir().toString())
                                .resolve("pg_basebackup")
                                .toString(),
                        "-D",
                        backup.toString(),
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        String.valueOf(pc.port()),
                        "-U",
                        "replicator"),
                Duration.ofMinutes(2),
                Map.of("PGPASSWORD", PgTestSupport.REPL_PASSWORD));
        assertThat(r.ok()).as("pg_basebackup: " + r.tail()).isTrue();
    }

    @AfterAll
    void tearDown() throws Exception {
        for (LocalPostgresController c : replicas) {
            close(c);
        }
        close(primary);
        if (base != null) {
            PgTestSupport.deleteTree(base);
        }
    }

    private static void close(LocalPostgresController c) throws Exception {
        if (c != null) {
            try {
                c.stop(StopMode.IMMEDIATE, false, Duration.ofSeconds(30));
            } catch (PostgresException e) {
                // not running
            }
            c.close();
            PgTestSupport.deleteTree(c.runtimeDir());
        }
    }

    private LocalPostgresController replica(
            String name, List<String> methods, Map<String, Map<String, Object>> sections) throws Exception {
        Map<String, Object> postgresql = new LinkedHashMap<>();
        LocalPostgresConfig template = PgTestSupport.config(name, base).build();
        postgresql.put("listen", template.listenAddresses() + ":" + template.port());
        postgresql.put("data_dir", template.dataDir().toString());
        postgresql.put(
                "authentication",
                Map.of(
                        "superuser", Map.of("username", "postgres", "password", PgTestSupport.SU_PASSWORD),
                        "replication", Map.of("username", "replicator", "password", PgTestSupport.REPL_PASSWORD)));
        postgresql.put("parameters", Map.of("shared_buffers", "16MB", "max_connections", "20", "fsync", "off"));
        postgresql.put("create_replica_methods", methods);
        postgresql.putAll(sections);
        postgresql.put("recovery_conf", Map.of("restore_command", "cp " + archive + "/%f %p"));
        LocalPostgresController c =
                new LocalPostgresController(PatroniPostgresSection.read("batman", name, postgresql, null));
        replicas.add(c);
        return c;
    }

    @Test
    void aCommandCreatesTheReplicaWithPatronisArgumentsAndItStreamsFromTheSource() throws Exception {
        LocalPostgresController r = replica(
                "pg1",
                List.of("copy_backup", "basebackup"),
                Map.of("copy_backup", Map.of("command", restoreScript + " --sourcedir=" + backup)));
        r.cloneFrom(PgTestSupport.member(primary.config()));
        String args = Files.readString(argsLog, StandardCharsets.UTF_8);
        assertThat(args)
                .contains("--sourcedir=" + backup)
                .contains("--scope=batman")
                .contains("--role=replica")
                .contains("--datadir=" + r.config().dataDir())
                .contains("--connstring=")
                .contains("host=127.0.0.1");
        primary.changeReplicationSlots(io.pgha.postgres.SlotChanges.physicalSlotsFor("pg1")); // as the leader would
        r.start(PgTestSupport.member(primary.config()), T);
        PgTestSupport.exec(primary.config(), "INSERT INTO t VALUES (2)");
        PgTestSupport.await(
                "the row streamed to the replica made by the command",
                T,
                () -> PgTestSupport.column(r.config(), "SELECT count(*) FROM t WHERE v = 2")
                        .equals(List.of("1")));
    }

    @Test
    void aNoLeaderMethodCreatesAStandbyThatReplaysFromTheArchive() throws Exception {
        LocalPostgresController r = replica(
                "pg2",
                List.of("no_leader_bootstrap"),
                Map.of(
                        "no_leader_bootstrap",
                        Map.of("command", restoreScript + " --sourcedir=" + backup, "no_leader", "1")));
        assertThat(r.canCreateReplicaWithoutLeader()).isTrue();
        // one statement each: in one simple query they are one transaction, committed after the switch
        PgTestSupport.exec(primary.config(), "INSERT INTO t VALUES (3)");
        PgTestSupport.exec(primary.config(), "SELECT pg_switch_wal()");
        r.cloneFrom(null);
        assertThat(Files.readString(argsLog)).contains("--no_leader=1").contains("--connstring=\n");
        r.startStandby(T);
        assertThat(PgTestSupport.column(r.config(), "SELECT pg_is_in_recovery()"))
                .containsExactly("t");
        PgTestSupport.await(
                "the archived row replayed through recovery_conf's restore_command",
                T,
                () -> PgTestSupport.column(r.config(), "SELECT count(*) FROM t WHERE v = 3")
                        .equals(List.of("1")));
    }

    @Test
    void aCustomBootstrapRestoresTheBackupRecoversToTheEndAndRunsPostBootstrap() throws Exception {
        PgTestSupport.exec(primary.config(), "INSERT INTO t VALUES (4)");
        PgTestSupport.exec(primary.config(), "SELECT pg_switch_wal()");
        PgTestSupport.await(
                "the segment with row 4 archived",
                T,
                () -> PgTestSupport.column(
                                primary.config(),
                                "SELECT last_archived_wal IS NOT NULL AND last_archived_wal >= pg_walfile_name("
                                        + "pg_current_wal_lsn() - 1) FROM pg_stat_archiver")
                        .equals(List.of("t")));
        Path postLog = base.resolve("post.log");
        Path post = base.resolve("post.sh");
        Files.writeString(
                post,
                "#!/bin/sh\necho \"$@\" > " + postLog + "\n/usr/lib/postgresql/15/bin/psql \"$1\" -Atc 'CREATE TABLE"
                        + " made_by_post_bootstrap()' >> " + postLog + " 2>&1\n");
        Files.setPosixFilePermissions(post, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(postLog, "");
        Files.setPosixFilePermissions(postLog, PosixFilePermissions.fromString("rw-rw-rw-"));
        LocalPostgresConfig template = PgTestSupport.config("pg4", base).build();
        Map<String, Object> postgresql = new LinkedHashMap<>();
        postgresql.put("listen", template.listenAddresses() + ":" + template.port());
        postgresql.put("data_dir", template.dataDir().toString());
        // another cluster's passwords than the backup's: the bootstrap sets them
        postgresql.put(
                "authentication",
                Map.of(
                        "superuser", Map.of("username", "postgres", "password", "zalando2"),
                        "replication", Map.of("username", "replicator", "password", "rep-pass2")));
        postgresql.put("parameters", Map.of("shared_buffers", "16MB", "max_connections", "20", "fsync", "off"));
        Map<String, Object> bootstrap = new LinkedHashMap<>();
        bootstrap.put("method", "backup_restore");
        bootstrap.put(
                "backup_restore",
                Map.of(
                        "command",
                        restoreScript + " --sourcedir=" + backup,
                        "recovery_conf",
                        Map.of(
                                "recovery_target_action", "promote",
                                "recovery_target_timeline", "latest",
                                "restore_command", "cp " + archive + "/%f %p")));
        bootstrap.put("post_bootstrap", post.toString());
        LocalPostgresController c =
                new LocalPostgresController(PatroniPostgresSection.read("batman2", "pg4", postgresql, bootstrap));
        replicas.add(c);
        c.bootstrap();
        assertThat(c.status().isPrimary()).isTrue();
        try (var conn = Sql.connect("127.0.0.1", template.port(), "postgres", "zalando2", ClientSsl.DEFAULT, 10);
                var st = conn.createStatement();
                var rs = st.executeQuery("SELECT count(*) FILTER (WHERE v = 4), pg_is_in_recovery() FROM t")) {
            rs.next();
            assertThat(rs.getInt(1)).as("recovered from the archive to its end").isEqualTo(1);
            assertThat(rs.getBoolean(2)).isFalse();
        }
        assertThat(Files.readString(postLog)).contains("host=127.0.0.1").contains("CREATE TABLE");
        assertThat(Files.readString(argsLog)).contains("--scope=batman2");
        assertThat(Files.readString(c.config().dataDir().resolve(ManagedConfig.HBA_FILE)))
                .doesNotContain("custom bootstrap in progress");
    }

    @Test
    void aFailingMethodFallsBackToBasebackupAndWithoutALeaderOnlyNoLeaderMethodsRun() throws Exception {
        LocalPostgresController r = replica(
                "pg3",
                List.of("broken", "basebackup"),
                Map.of("broken", Map.of("command", "/bin/false", "no_params", true)));
        assertThat(r.canCreateReplicaWithoutLeader()).isFalse();
        assertThatThrownBy(() -> r.cloneFrom(null))
                .isInstanceOf(PostgresException.class)
                .hasMessageContaining("no_leader");
        r.cloneFrom(PgTestSupport.member(primary.config()));
        assertThat(r.config().dataDir().resolve("PG_VERSION")).exists();
    }
}
