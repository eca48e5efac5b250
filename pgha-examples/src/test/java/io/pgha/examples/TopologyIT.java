package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static io.pgha.examples.E2eSupport.exec;
import static io.pgha.examples.E2eSupport.queryOne;
import static io.pgha.examples.E2eSupport.tryQuery;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Patroni's topology tags, custom methods and hooks on real PostgreSQL and etcd, through
 * {@code pgha run} with Patroni's keys (issue 17): pg0 leads (it starts alone first); pg1 is a
 * replica with a {@code pre_promote} script; pg2 has {@code replicatefrom: pg1} and is created by a
 * custom replica method (a script running pg_basebackup), so the cascade is pg0 → pg1 → pg2. Every
 * member archives its WAL to one directory and has a {@code before_stop} script. Then pg2 becomes a
 * {@code nostream} member fed from that archive only; the pre_promote script vetoes pg1's promotion
 * while a flag file exists; and a new cluster bootstraps from a pg_basebackup tar of pg0 with a
 * custom {@code bootstrap.method}, with {@code post_bootstrap}.
 *
 * <p>The custom bootstrap restores a pg_basebackup tar, not a pgBackRest backup: setting up a
 * pgBackRest stanza here is pgha-backup's BackupIT's job; the script is the same shape (a command
 * that fills {@code --datadir}, then {@code recovery_conf} replays the archive).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TopologyIT {

    private Path dir;
    private LocalDcs dcs;
    private LocalCluster cluster;
    private LocalCluster restored;
    private Path archive;
    private Path hooksLog;
    private Path methodLog;
    private Path veto;
    private LocalCluster.Member pg0;
    private LocalCluster.Member pg1;
    private LocalCluster.Member pg2;

    @BeforeAll
    void start() throws IOException {
        E2eCluster.assumeMachine(true);
        dir = EditedCluster.newDirectory("pgha-topology-");
        archive = shared(dir.resolve("archive"), true);
        hooksLog = shared(dir.resolve("hooks.log"), false);
        methodLog = shared(dir.resolve("replica-method.log"), false);
        veto = dir.resolve("veto-promotion");
        Path beforeStop = script("before-stop.sh", "echo \"before_stop $1 $(date +%s)\" >> " + hooksLog);
        Path prePromote = script(
                "pre-promote.sh",
                "echo \"pre_promote $1 $(date +%s)\" >> " + hooksLog + "\nif [ -e " + veto + " ]; then exit 1; fi");
        // Patroni's arguments logged, then a plain pg_basebackup from --connstring into --datadir
        Path method = script(
                "clone-with-basebackup.sh",
                "echo \"$@\" >> " + methodLog + "\n"
                        + "for a in \"$@\"; do case \"$a\" in --datadir=*) d=\"${a#--datadir=}\";;"
                        + " --connstring=*) c=\"${a#--connstring=}\";; esac; done\n"
                        + "exec /usr/lib/postgresql/15/bin/pg_basebackup -D \"$d\" -X stream -c fast -d \"$c\"");
        Ports ports = new Ports();
        dcs = LocalDcs.start("etcd3", dir, ports);
        cluster = new LocalCluster(
                dir.resolve("main"),
                "topology",
                3,
                dcs,
                E2eCluster.TIMINGS,
                ports,
                LocalCluster.jarLauncher(E2eCluster.JAR));
        pg0 = cluster.member("pg0");
        pg1 = cluster.member("pg1");
        pg2 = cluster.member("pg2");
        for (LocalCluster.Member m : cluster.members()) {
            // Patroni 3.0.2's slot rules (member_slots_ttl: 0): the leader keeps a slot only for
            // the members that stream from it, which is what the cascade and nostream checks read
            edit(
                    m,
                    y -> withArchiveAndHooks(y, m.name, beforeStop, prePromote)
                            .replaceFirst("(    retry_timeout: \\d+\n)", "$1    member_slots_ttl: 0\n"));
        }
        edit(
                pg2,
                y -> y.replace("  clonefrom: false\n", "  clonefrom: false\n  replicatefrom: pg1\n")
                        .replace("  nofailover: false\n", "  nofailover: true\n")
                        .replace(
                                "  pg_hba:\n",
                                "  create_replica_methods: [script, basebackup]\n" + "  script:\n    command: " + method
                                        + "\n    keep_data: false\n  pg_hba:\n"));
        cluster.start(pg0);
        await("pg0 leads", Duration.ofMinutes(2), () -> cluster.leader().filter(l -> l == pg0));
        cluster.start(pg1);
        cluster.start(pg2);
        cluster.awaitHealthy(Duration.ofMinutes(3));
    }

    @AfterAll
    void stop() throws IOException {
        if (restored != null) {
            restored.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (dcs != null) {
            dcs.close();
        }
        if (dir != null && !Boolean.getBoolean("pgha.e2e.keep")) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void replicatefromCascadesFromTheNamedMember() throws Exception {
        exec(pg0.jdbcUrl(), cluster, "CREATE TABLE cascade_t(v int); INSERT INTO cascade_t VALUES (1)");
        String onPg1 = await(
                "pg2 streaming from pg1",
                Duration.ofSeconds(60),
                () -> Optional.ofNullable(tryQuery(
                                pg1.jdbcUrl(),
                                cluster,
                                "SELECT string_agg(application_name || ' ' || state, ',') FROM pg_stat_replication"))
                        .filter(s -> s.contains("pg2 streaming")));
        String onPg0 =
                queryOne(pg0.jdbcUrl(), cluster, "SELECT string_agg(application_name, ',') FROM pg_stat_replication");
        // pg2 streamed from pg0 for a moment after its clone; the leader drops that slot in its next cycle
        String slotsOnPg0 = await(
                "pg0 keeps a slot for pg1 only",
                Duration.ofSeconds(30),
                () -> Optional.ofNullable(tryQuery(
                                pg0.jdbcUrl(),
                                cluster,
                                "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots"))
                        .filter("pg1"::equals));
        System.out.println("[topology] pg_stat_replication on pg1: " + onPg1 + "; on pg0: " + onPg0 + "; slots on pg0: "
                + slotsOnPg0);
        assertThat(onPg0).isEqualTo("pg1");
        assertThat(slotsOnPg0).isEqualTo("pg1");
        await(
                "the row on pg2",
                Duration.ofSeconds(30),
                () -> Optional.ofNullable(tryQuery(pg2.jdbcUrl(), cluster, "SELECT count(*) FROM cascade_t"))
                        .filter("1"::equals));
    }

    @Test
    @Order(2)
    void theCustomReplicaMethodRanWithPatronisArguments() throws Exception {
        String args = Files.readString(methodLog).strip();
        System.out.println("[topology] the replica method was called with: " + args);
        assertThat(args)
                .contains("--scope=topology")
                .contains("--role=replica")
                .contains("--datadir=" + pg2.dataDir())
                .contains("--connstring=host=127.0.0.1 port=" + pg0.pgPort + " user=replicator");
        // as Patroni: the section's other keys go along as --key=value (Python's False), the command does not
        assertThat(args).doesNotContain("--command=").contains("--keep_data=False");
    }

    @Test
    @Order(3)
    void aNostreamMemberCatchesUpFromTheArchiveOnly() throws Exception {
        cluster.term(pg2);
        assertThat(cluster.awaitStopped(pg2, Duration.ofSeconds(60))).isTrue();
        assertThat(Files.readString(hooksLog)).contains("before_stop pg2");
        edit(
                pg2,
                y -> y.replace("  replicatefrom: pg1\n", "  nostream: true\n")
                        .replace(
                                "  create_replica_methods",
                                "  recovery_conf:\n    restore_command: cp " + archive
                                        + "/%f %p\n  create_replica_methods"));
        cluster.start(pg2);
        await(
                "pg2 running again",
                Duration.ofSeconds(90),
                () -> Optional.ofNullable(tryQuery(pg2.jdbcUrl(), cluster, "SELECT pg_is_in_recovery()::text"))
                        .filter("true"::equals));
        exec(pg0.jdbcUrl(), cluster, "INSERT INTO cascade_t SELECT generate_series(2, 100)");
        // a statement of its own: in the same query the switch would come before the commit record
        exec(pg0.jdbcUrl(), cluster, "SELECT pg_switch_wal()");
        Instant t0 = Instant.now();
        await(
                "the rows on pg2 from the archive",
                Duration.ofSeconds(60),
                () -> Optional.ofNullable(tryQuery(pg2.jdbcUrl(), cluster, "SELECT count(*) FROM cascade_t"))
                        .filter("100"::equals));
        String receiver = queryOne(pg2.jdbcUrl(), cluster, "SELECT count(*) FROM pg_stat_wal_receiver");
        String conninfo = queryOne(pg2.jdbcUrl(), cluster, "SHOW primary_conninfo");
        String slots = queryOne(
                pg0.jdbcUrl(),
                cluster,
                "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots");
        String senders = queryOne(
                pg1.jdbcUrl(), cluster, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2'");
        System.out.println("[topology] nostream pg2 caught up from the archive in "
                + Duration.between(t0, Instant.now()).toMillis() + " ms; walreceivers on pg2: " + receiver
                + ", primary_conninfo '" + conninfo + "', slots on pg0: " + slots + ", pg2 on pg1's senders: "
                + senders);
        assertThat(receiver).isEqualTo("0");
        assertThat(conninfo).isEmpty();
        assertThat(slots).isEqualTo("pg1");
        assertThat(senders).isEqualTo("0");
    }

    @Test
    @Order(4)
    void preePromoteVetoesUntilTheScriptAgrees() throws Exception {
        Files.writeString(veto, "no");
        cluster.term(pg0);
        assertThat(cluster.awaitStopped(pg0, Duration.ofSeconds(60))).isTrue();
        assertThat(Files.readString(hooksLog)).contains("before_stop pg0");
        // pg1 is the only member that may lead: it takes the lock, its script says no, it lets go
        await(
                "a vetoed promotion",
                Duration.ofSeconds(60),
                () -> Optional.of(read(hooksLog)).filter(s -> s.contains("pre_promote")));
        LocalCluster.sleep(8000);
        assertThat(queryOne(pg1.jdbcUrl(), cluster, "SELECT pg_is_in_recovery()::text"))
                .isEqualTo("true");
        assertThat(cluster.leader()).isEmpty();
        Files.delete(veto);
        Instant t0 = Instant.now();
        await(
                "pg1 promoted once the script agrees",
                Duration.ofSeconds(90),
                () -> cluster.leader().filter(l -> l == pg1));
        long runs = await(
                "the second run of pre_promote in its log",
                Duration.ofSeconds(15),
                () -> Optional.of(read(hooksLog)
                                .lines()
                                .filter(l -> l.startsWith("pre_promote"))
                                .count())
                        .filter(n -> n >= 2));
        System.out.println("[topology] pre_promote ran " + runs + " times; pg1 led "
                + Duration.between(t0, Instant.now()).toMillis() + " ms after the veto was lifted");
        String log = read(pg1.log);
        assertThat(log)
                .contains("pre-promote.sh pg1` exited with 1")
                .contains("Releasing the leader key voluntarily because the pre-promote script failed")
                .contains("backoff: skip leader race after pre_promote script failure");
    }

    @Test
    @Order(5)
    void aCustomBootstrapMethodRestoresABackupAndRunsPostBootstrap() throws Exception {
        // a backup of the cluster as a team's backup job makes one: pg_basebackup in tar format
        Path backup = shared(dir.resolve("backup"), true);
        Path tar = backup.resolve("base");
        ProcessBuilder pb = new ProcessBuilder(
                        "/usr/lib/postgresql/15/bin/pg_basebackup",
                        "-D",
                        tar.toString(),
                        "-Ft",
                        "-X",
                        "fetch",
                        "-c",
                        "fast",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        String.valueOf(cluster.leader().orElseThrow().pgPort),
                        "-U",
                        LocalCluster.REPLICATION_USER)
                .redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", cluster.password());
        String out = "";
        int rc = -1;
        // a primary promoted a moment ago may still refuse a backup ("the standby was promoted during
        // online backup"): try again a few times
        for (int attempt = 0; attempt < 5 && rc != 0; attempt++) {
            LocalCluster.sleep(attempt == 0 ? 0 : 3000);
            Process p = pb.start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            rc = p.waitFor();
        }
        assertThat(rc).as(out).isZero();
        Files.walk(backup).forEach(f -> f.toFile().setReadable(true, false));
        Files.walk(backup).filter(Files::isDirectory).forEach(f -> f.toFile().setExecutable(true, false));
        Path restore = script(
                "restore-tar.sh",
                "echo \"restore $@\" >> " + hooksLog + "\n"
                        + "for a in \"$@\"; do case \"$a\" in --datadir=*) d=\"${a#--datadir=}\";; esac; done\n"
                        + "mkdir -p \"$d\" && chmod 700 \"$d\" && tar -xf " + tar.resolve("base.tar") + " -C \"$d\"");
        Path post = script("post-bootstrap.sh", "echo \"post_bootstrap $1\" >> " + hooksLog);
        restored = new LocalCluster(
                dir.resolve("restored"),
                "restored",
                1,
                dcs,
                E2eCluster.TIMINGS,
                new Ports(),
                LocalCluster.jarLauncher(E2eCluster.JAR));
        LocalCluster.Member r0 = restored.member("pg0");
        edit(
                r0,
                y -> y.replace(
                        "  initdb:\n",
                        "  method: restore_tar\n  restore_tar:\n    command: " + restore + "\n    recovery_conf:\n"
                                + "      restore_command: cp " + archive + "/%f %p\n"
                                + "      recovery_target_action: promote\n      recovery_target_timeline: latest\n"
                                + "  post_bootstrap: " + post + "\n  initdb:\n"));
        restored.start(r0);
        restored.awaitHealthy(Duration.ofMinutes(3));
        String rows = queryOne(r0.jdbcUrl(), restored, "SELECT count(*) FROM cascade_t");
        String log = read(hooksLog);
        System.out.println("[topology] restored cluster has " + rows + " rows of cascade_t; hooks: "
                + log.lines()
                        .filter(l -> l.startsWith("restore") || l.startsWith("post_bootstrap"))
                        .toList());
        assertThat(rows).isEqualTo("100");
        assertThat(log).contains("restore --scope=restored --datadir=" + r0.dataDir());
        assertThat(log)
                .contains("post_bootstrap dbname=postgres user=" + LocalCluster.SUPERUSER + " host=127.0.0.1 port="
                        + r0.pgPort);
        assertThat(read(r0.log)).doesNotContain("pg0: initdb /");
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static String withArchiveAndHooks(String yaml, String name, Path beforeStop, Path prePromote) {
        return yaml.replace(
                        "  parameters:\n",
                        "  parameters:\n    archive_mode: 'on'\n    archive_command: 'test ! -f ARCHIVE/%f && cp %p ARCHIVE/%f'\n")
                .replace(
                        "  use_pg_rewind: true\n\ntags:",
                        "  use_pg_rewind: true\n  before_stop: " + beforeStop + " " + name + "\n  pre_promote: "
                                + prePromote + " " + name + "\n\ntags:");
    }

    private void edit(LocalCluster.Member m, UnaryOperator<String> change) throws IOException {
        String before = Files.readString(m.yaml);
        String after = change.apply(before).replace("ARCHIVE", archive.toString());
        assertThat(after).as("the edit of " + m.yaml + " applied").isNotEqualTo(before);
        Files.writeString(m.yaml, after);
    }

    private Path script(String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** A directory or file PostgreSQL's OS user may write too (the runner may run as root). */
    private static Path shared(Path p, boolean directory) throws IOException {
        if (directory) {
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        } else {
            Files.writeString(p, "");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-rw-rw-"));
        }
        return p;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
