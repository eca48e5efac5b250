package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Disaster recovery across two sites on one machine (issue 17, standby clusters): real etcd, real
 * PostgreSQL, the shaded jar's {@code pgha run}. Site A is a normal 2-member cluster; site B is a
 * 2-member standby cluster ({@code bootstrap.dcs.standby_cluster} pointing at site A's leader) in
 * its own scope of the same etcd. The test shows: site B bootstraps by cloning site A, its lock
 * holder is the standby leader ({@code /standby-leader} 200, role {@code standby_leader},
 * {@code pgha ctl list} "Standby Leader") and the other member cascades from it; writes on site A
 * reach both members of site B; killing the standby leader's agent hands the lock to the other
 * member, which becomes standby leader and never a primary; then site A stops, {@code pgha ctl
 * promote-cluster} removes {@code standby_cluster} (PATCH /config, as {@code patronictl edit-config}
 * does on Patroni 3) and site B takes writes with every row site A acknowledged. Prints
 * the steady-state replication delay and the time from promote-cluster to the first write on site B.
 */
class StandbyClusterIT {

    @Test
    void aStandbyClusterFollowsThePrimarySiteAndTakesOverWhenPromoted() throws Exception {
        E2eCluster.assumeMachine(true);
        Path dir = Files.createTempDirectory("pgha-standby-it-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Ports ports = new Ports();
        LocalDcs dcs = LocalDcs.start("etcd3", dir, ports);
        LocalCluster siteA = null;
        LocalCluster siteB = null;
        try {
            siteA = new LocalCluster(
                    dir.resolve("site-a"),
                    "site-a",
                    2,
                    dcs,
                    E2eCluster.TIMINGS,
                    ports,
                    LocalCluster.jarLauncher(E2eCluster.JAR));
            siteA.startAll();
            LocalCluster.Member primaryA = siteA.awaitHealthy(Duration.ofMinutes(3));
            String urlA = siteA.primaryJdbcUrl();
            E2eSupport.exec(urlA, siteA, "CREATE TABLE dr (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");

            siteB = new LocalCluster(
                    dir.resolve("site-b"),
                    "site-b",
                    2,
                    dcs,
                    E2eCluster.TIMINGS,
                    ports,
                    LocalCluster.jarLauncher(E2eCluster.JAR));
            for (LocalCluster.Member m : siteB.members()) {
                asStandbyOf(m.yaml, siteB.password(), siteA.password(), primaryA.pgPort);
            }
            LocalCluster b = siteB;
            siteB.startAll();

            // 1. site B: a standby leader and a cascading replica, no primary
            LocalCluster.Member leaderB = awaitStandbyCluster(b, Duration.ofMinutes(3));
            LocalCluster.Member otherB = other(b, leaderB);
            System.out.println("site B:\n" + b.table());
            assertThat(b.health(leaderB, "/standby-leader")).isEqualTo(200);
            assertThat(b.health(otherB, "/standby-leader")).isEqualTo(503);
            assertThat(b.health(leaderB, "/primary")).isEqualTo(503);
            assertThat(b.health(otherB, "/primary")).isEqualTo(503);
            assertThat(b.get(leaderB, "/patroni").path("role").asText()).isEqualTo("standby_leader");
            assertThat(b.table()).contains("Standby Leader");
            assertThat(ctlList(b, leaderB)).contains("Standby Leader");

            // 2. writes on site A reach every member of site B; the delay at steady state
            List<Long> delays = new ArrayList<>();
            for (int i = 1; i <= 20; i++) {
                E2eSupport.exec(urlA, siteA, "INSERT INTO dr (id) VALUES (" + i + ")");
                long t0 = System.nanoTime();
                awaitRow(siteA, leaderB, i);
                delays.add((System.nanoTime() - t0) / 1_000_000);
                awaitRow(siteA, otherB, i);
                LocalCluster.sleep(100);
            }
            Collections.sort(delays);
            System.out.println("FIGURE steady-state replication delay site A -> site B standby leader: median "
                    + delays.get(delays.size() / 2) + " ms, max " + delays.get(delays.size() - 1) + " ms (20 rows)");
            assertNoPrimary(b, siteA);

            // 3. the standby leader's agent dies: the other member becomes standby leader, never a primary
            LocalCluster.Member deadB = leaderB;
            deadB.runnerPid().ifPresent(Processes::kill9);
            Instant until = Instant.now().plus(Duration.ofSeconds(90));
            LocalCluster.Member newLeaderB = null;
            while (Instant.now().isBefore(until)) {
                assertNoPrimary(b, siteA);
                JsonNode me = b.get(otherB, "/patroni");
                if (me != null && "standby_leader".equals(me.path("role").asText())) {
                    newLeaderB = otherB;
                    break;
                }
                LocalCluster.sleep(250);
            }
            assertThat(newLeaderB)
                    .as("the other member of site B became standby leader")
                    .isNotNull();
            E2eSupport.exec(urlA, siteA, "INSERT INTO dr (id) VALUES (21)");
            awaitRow(siteA, newLeaderB, 21);
            b.start(deadB); // its agent comes back and follows the new standby leader
            awaitRow(siteA, deadB, 21);
            assertNoPrimary(b, siteA);
            System.out.println("site B after the standby leader's agent died:\n" + b.table());

            // 4. the DR drill: rows acknowledged by site A, site A stops, standby_cluster removed
            long acknowledged = 0;
            try (Connection c = E2eSupport.connect(urlA, siteA);
                    Statement s = c.createStatement()) {
                for (int i = 100; i < 600; i++) {
                    s.execute("INSERT INTO dr (id) VALUES (" + i + ")");
                    acknowledged++;
                }
            }
            siteA.close(); // the primary site goes (a clean stop: its WAL is shipped)
            long t0 = System.nanoTime();
            // Patroni 4's verb: PATCH /config {"standby_cluster": null} on the standby leader (what
            // patronictl edit-config does on Patroni 3), then it watches until the leader is a primary
            Ctl promote = ctl(b, newLeaderB, "promote-cluster", "--force");
            assertThat(promote.exit()).as(promote.out()).isZero();
            assertThat(promote.out()).contains("cluster is successfully promoted");
            String urlB = b.primaryJdbcUrl();
            long firstWriteMs = -1;
            Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
            while (Instant.now().isBefore(deadline)) {
                try {
                    E2eSupport.exec(urlB, siteA, "INSERT INTO dr (id) VALUES (1000)");
                    firstWriteMs = (System.nanoTime() - t0) / 1_000_000;
                    break;
                } catch (SQLException e) {
                    LocalCluster.sleep(100);
                }
            }
            assertThat(firstWriteMs)
                    .as("site B took a write after standby_cluster was removed")
                    .isPositive();
            System.out.println("FIGURE time from pgha ctl promote-cluster (a JVM start, PATCH /config) to the"
                    + " first write on site B: " + firstWriteMs + " ms (ttl 10, loop_wait 2)");
            String rows = E2eSupport.queryOne(urlB, siteA, "SELECT count(*) FROM dr WHERE id >= 100 AND id < 600");
            assertThat(Long.parseLong(rows)).isEqualTo(acknowledged);
            // the other member follows the new primary
            awaitRow(siteA, other(b, newLeaderB), 1000);
            System.out.println("site B promoted:\n" + b.table());

        } finally {
            if (siteB != null) {
                siteB.close();
            }
            if (siteA != null) {
                siteA.close();
            }
            dcs.close();
            if (!Boolean.getBoolean("pgha.e2e.keep")) {
                try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                    walk.sorted(java.util.Comparator.reverseOrder())
                            .forEach(p -> p.toFile().delete());
                }
            } else {
                System.err.println("kept " + dir);
            }
        }
    }

    /**
     * Makes a member's YAML a standby cluster's, as an operator writes it: site A's replication and
     * superuser password (the standby leader connects to site A with its own replication user),
     * and {@code bootstrap.dcs.standby_cluster} with site A's leader.
     */
    private static void asStandbyOf(Path yaml, String ownPassword, String remotePassword, int remotePort)
            throws IOException {
        String y = Files.readString(yaml, StandardCharsets.UTF_8);
        y = y.replace(ownPassword, remotePassword);
        y = y.replace(
                "bootstrap:\n  dcs:\n",
                "bootstrap:\n  dcs:\n    standby_cluster:\n      host: 127.0.0.1\n      port: " + remotePort
                        + "\n      create_replica_methods:\n        - basebackup\n");
        Files.writeString(yaml, y, StandardCharsets.UTF_8);
    }

    private static LocalCluster.Member awaitStandbyCluster(LocalCluster b, Duration timeout) {
        return E2eSupport.await("site B: a standby leader and a streaming replica", timeout, () -> {
            JsonNode c = b.clusterView();
            if (c == null) {
                return Optional.empty();
            }
            LocalCluster.Member leader = null;
            int streaming = 0;
            for (JsonNode m : c.get("members")) {
                String role = m.path("role").asText();
                String state = m.path("state").asText();
                // the /cluster view shows a replica's replication state: the standby leader streams too
                if ("standby_leader".equals(role) && ("running".equals(state) || "streaming".equals(state))) {
                    leader = b.member(m.path("name").asText());
                } else if ("streaming".equals(m.path("state").asText())) {
                    streaming++;
                }
            }
            return leader != null && streaming == 1 ? Optional.of(leader) : Optional.empty();
        });
    }

    private static LocalCluster.Member other(LocalCluster b, LocalCluster.Member m) {
        return b.members().stream().filter(x -> x != m).findFirst().orElseThrow();
    }

    /** {@code b}: the cluster whose password site B's members use (site A's: site B is its copy). */
    private static void awaitRow(LocalCluster b, LocalCluster.Member m, long id) {
        E2eSupport.await(
                m.name + " has row " + id,
                Duration.ofSeconds(60),
                () -> Optional.ofNullable(E2eSupport.tryQuery(m.jdbcUrl(), b, "SELECT 1 FROM dr WHERE id = " + id))
                        .map(x -> true));
    }

    /** No PostgreSQL of site B runs out of recovery (asked of PostgreSQL itself, not the agents). */
    private static void assertNoPrimary(LocalCluster b, LocalCluster credentials) {
        for (LocalCluster.Member m : b.members()) {
            String inRecovery = E2eSupport.tryQuery(m.jdbcUrl(), credentials, "SELECT pg_is_in_recovery()");
            assertThat(inRecovery)
                    .as(m.name + " runs as a primary while standby_cluster is set")
                    .isNotEqualTo("f");
        }
    }

    private record Ctl(int exit, String out) {}

    /** {@code pgha ctl -c <member's file> <args>}, as an operator runs it on that member's host. */
    private static Ctl ctl(LocalCluster c, LocalCluster.Member m, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(LocalCluster.jarLauncher(E2eCluster.JAR));
        cmd.addAll(List.of("ctl", "-c", m.yaml.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        System.out.println("pgha ctl " + String.join(" ", args) + " (" + c.scope() + "), exit " + exit + ":\n" + out);
        return new Ctl(exit, out);
    }

    private static String ctlList(LocalCluster b, LocalCluster.Member m) throws Exception {
        List<String> cmd = new ArrayList<>(LocalCluster.jarLauncher(E2eCluster.JAR));
        cmd.addAll(List.of("ctl", "-c", m.yaml.toString(), "list"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        System.out.println("pgha ctl list:\n" + out);
        return out;
    }
}
