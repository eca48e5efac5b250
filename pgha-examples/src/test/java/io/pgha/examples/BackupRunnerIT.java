package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgha.examples.ctl.Ctl;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three {@code pgha run} processes (target/pgha.jar) on etcd with a {@code backup:} section: one
 * pgBackRest repository in a temporary directory shared by the three local members. Archiving
 * works, {@code pgha ctl backup now} succeeds from the member the cluster chooses and
 * {@code backup list} shows it, and after a switchover the choice follows the new cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackupRunnerIT {
    static final Path PGBACKREST = Path.of("/usr/bin/pgbackrest");

    private EditedCluster e2e;
    private LocalCluster cluster;

    @BeforeAll
    void startCluster() throws Exception {
        E2eCluster.assumeMachine(true);
        assumeTrue(
                Files.isExecutable(PGBACKREST),
                "pgBackRest is missing (" + PGBACKREST + "): apt-get install pgbackrest");
        Path dir = EditedCluster.newDirectory("pgha-backup-e2e-");
        String anchor = "\n  use_pg_rewind: true\n\ntags:";
        e2e = EditedCluster.start(dir, "bk", yaml -> {
            assertThat(yaml).contains(anchor);
            return yaml.replace(
                            anchor,
                            "\n  use_pg_rewind: true\n  create_replica_methods: [pgbackrest, basebackup]\n" + "\ntags:")
                    + "\nbackup:\n"
                    + "  repo_path: " + dir.resolve("repo") + "\n"
                    + "  stanza: bk\n"
                    + "  retention: {full: 2}\n"
                    + "  schedule: {full: off, diff: off, logical: off, drill: off}\n";
        });
        cluster = e2e.cluster;
    }

    @AfterAll
    void stopCluster() {
        if (e2e != null) {
            e2e.close();
        }
    }

    record CtlResult(int exitCode, String out, String err) {}

    private static CtlResult ctl(LocalCluster.Member m, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 2];
        all[0] = "-c";
        all[1] = m.yaml.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int rc = Ctl.run(
                all,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                new ByteArrayInputStream(new byte[0]));
        CtlResult r = new CtlResult(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.printf("pgha ctl %s (%s): exit %d%n%s%s", String.join(" ", args), m.name, rc, r.out, r.err);
        return r;
    }

    /** The member whose backup service says it is the chosen one, once exactly one does. */
    private LocalCluster.Member chosen() {
        return await("exactly one member chosen to back up", Duration.ofSeconds(90), () -> {
            List<LocalCluster.Member> chosen = cluster.members().stream()
                    .filter(m -> {
                        JsonNode s = cluster.get(m, "/patroni");
                        return s != null && s.path("backup").path("chosen").asInt() == 1;
                    })
                    .toList();
            return chosen.size() == 1 ? Optional.of(chosen.get(0)) : Optional.empty();
        });
    }

    @Test
    @Order(1)
    void archivingWorksAndTheStatusIsPublished() throws Exception {
        LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(1));
        String url = leader.jdbcUrl();
        E2eSupport.exec(url, cluster, "CREATE TABLE t (v int); INSERT INTO t SELECT generate_series(1, 100)");
        String archived = await("WAL archived through pgBackRest on the primary", Duration.ofSeconds(90), () -> {
            String n = E2eSupport.tryQuery(url, cluster, "SELECT archived_count FROM pg_stat_archiver");
            if (n != null && Long.parseLong(n) > 0) {
                return Optional.of(n);
            }
            E2eSupport.tryQuery(url, cluster, "SELECT pg_switch_wal()");
            LocalCluster.sleep(1000);
            return Optional.empty();
        });
        assertThat(Long.parseLong(archived)).isPositive();
        assertThat(E2eSupport.queryOne(url, cluster, "SHOW archive_command"))
                .contains("pgbackrest")
                .contains("--stanza=bk")
                .contains("archive-push");

        JsonNode status = cluster.get(leader, "/patroni");
        assertThat(status.path("backup").path("drill_failed").asBoolean(true))
                .as(status.toString())
                .isFalse();
        HttpResponse<String> metrics = cluster.send(leader, "GET", "/metrics", null);
        assertThat(metrics.body()).contains("pgha_backup_chosen{").contains("pgha_backup_drill_ok{");
    }

    @Test
    @Order(2)
    void backupNowFromTheChosenMemberAndListShowsIt() {
        LocalCluster.Member chosen = chosen();
        CtlResult now = ctl(chosen, "backup", "now", "--type", "full");
        assertThat(now.exitCode()).as(now.toString()).isZero();
        assertThat(now.out()).contains("full backup").contains("taken");

        CtlResult list = ctl(chosen, "backup", "list");
        assertThat(list.out()).contains("stanza bk").containsPattern("\\d{8}-\\d{6}F\\s+full");
        CtlResult members = ctl(chosen, "list");
        assertThat(members.exitCode()).as(members.toString()).isZero();
        assertThat(members.out()).doesNotContain("RESTORE DRILL FAILED");
    }

    @Test
    @Order(3)
    void afterASwitchoverTheChoiceFollowsTheNewCluster() throws Exception {
        LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(1));
        LocalCluster.Member candidate = cluster.members().stream()
                .filter(m -> m != leader && cluster.streamingReplicas().contains(m.name))
                .findFirst()
                .orElseThrow();
        // the backup just switched WAL segments: let the candidate catch up, or the leader refuses it
        // as lagging beyond maximum_lag_on_failover (as Patroni would)
        await("the candidate caught up with the leader", Duration.ofSeconds(60), () -> {
            com.fasterxml.jackson.databind.JsonNode l = cluster.get(leader, "/patroni");
            com.fasterxml.jackson.databind.JsonNode c = cluster.get(candidate, "/patroni");
            long at = l == null ? -1 : l.path("xlog").path("location").asLong(-1);
            long got = c == null
                    ? -2
                    : Math.max(
                            c.path("xlog").path("received_location").asLong(-2),
                            c.path("xlog").path("replayed_location").asLong(-2));
            return Optional.of(true).filter(x -> at >= 0 && got >= at);
        });
        HttpResponse<String> r = E2eSupport.post(
                cluster,
                leader,
                "/switchover",
                "{\"leader\":\"" + leader.name + "\",\"candidate\":\"" + candidate.name + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        await("the switchover", Duration.ofSeconds(90), () -> cluster.leader().filter(l -> l == candidate));
        cluster.awaitHealthy(Duration.ofMinutes(2));

        LocalCluster.Member chosen = await(
                "a chosen member that is not the new leader (a healthy replica)",
                Duration.ofSeconds(90),
                () -> Optional.of(chosen()).filter(c -> c != candidate));
        CtlResult now = ctl(chosen, "backup", "now", "--type", "diff");
        assertThat(now.exitCode()).as(now.toString()).isZero();
        assertThat(ctl(chosen, "backup", "list").out()).containsPattern("\\d{8}-\\d{6}F_\\d{8}-\\d{6}D\\s+diff");
    }
}
