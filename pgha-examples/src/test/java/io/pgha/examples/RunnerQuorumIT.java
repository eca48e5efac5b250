package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
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
 * {@code synchronous_mode: quorum} as a Patroni user runs it: three {@code pgha run} processes on
 * etcd from a Patroni YAML with the setting under {@code bootstrap.dcs}. The leader waits for
 * {@code ANY 1} of the two replicas, which the REST API, {@code pgha ctl list} and the health
 * endpoints show as quorum standbys; a switchover and the loss of the leader's node (runner and
 * postmaster killed) lose no acknowledged write.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RunnerQuorumIT {
    private EditedCluster e2e;
    private LocalCluster cluster;

    @BeforeAll
    void startCluster() throws Exception {
        E2eCluster.assumeMachine(true);
        String anchor = "    maximum_lag_on_failover: 1048576\n";
        e2e = EditedCluster.start(EditedCluster.newDirectory("pgha-quorum-e2e-"), "qm", yaml -> {
            assertThat(yaml).contains(anchor);
            return yaml.replace(anchor, anchor + "    synchronous_mode: quorum\n");
        });
        cluster = e2e.cluster;
    }

    @AfterAll
    void stopCluster() {
        if (e2e != null) {
            e2e.close();
        }
    }

    /** The leader once both other members show as quorum standbys in GET /cluster. */
    private LocalCluster.Member quorumEstablished() {
        return await("a leader and two quorum standbys", Duration.ofMinutes(2), () -> {
            Optional<LocalCluster.Member> leader = cluster.leader();
            if (leader.isEmpty()) {
                return Optional.empty();
            }
            JsonNode c = cluster.get(leader.get(), "/cluster");
            if (c == null) {
                return Optional.empty();
            }
            int quorum = 0;
            for (JsonNode m : c.path("members")) {
                quorum += "quorum_standby".equals(m.path("role").asText()) ? 1 : 0;
            }
            return quorum
                                    == cluster.members().stream()
                                                    .filter(LocalCluster.Member::isRunning)
                                                    .count()
                                            - 1
                            && quorum >= 1
                    ? leader
                    : Optional.empty();
        });
    }

    @Test
    @Order(1)
    void theLeaderWaitsForAnyOneOfItsReplicasAndSaysSo() throws Exception {
        LocalCluster.Member leader = quorumEstablished();
        List<String> replicas = new ArrayList<>();
        cluster.members().stream().filter(m -> m != leader).forEach(m -> replicas.add(m.name));
        replicas.sort(String::compareTo);
        assertThat(E2eSupport.queryOne(leader.jdbcUrl(), cluster, "SHOW synchronous_standby_names"))
                .isEqualTo("ANY 1 (" + String.join(",", replicas) + ")");
        for (LocalCluster.Member m : cluster.members()) {
            boolean isLeader = m == leader;
            assertThat(cluster.health(m, "/quorum")).as("/quorum on " + m.name).isEqualTo(isLeader ? 503 : 200);
            assertThat(cluster.health(m, "/read-only-quorum"))
                    .as("/read-only-quorum on " + m.name)
                    .isEqualTo(200);
            assertThat(cluster.health(m, "/sync")).as("/sync on " + m.name).isEqualTo(503);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = io.pgha.examples.ctl.Ctl.run(
                new String[] {"-c", leader.yaml.toString(), "list"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream()),
                new ByteArrayInputStream(new byte[0]));
        String table = out.toString(StandardCharsets.UTF_8);
        System.out.println("pgha ctl list:\n" + table);
        assertThat(rc).isZero();
        assertThat(table.split("Quorum Standby", -1)).hasSize(3);
    }

    @Test
    @Order(2)
    void patronictlListReadsTheQuorumCluster() throws Exception {
        String out = E2eSupport.patronictlList(quorumEstablished().yaml);
        // Patroni 3.0.2 predates quorum commit: it reads the sync key's voters as sync standbys
        assertThat(out).contains("qm", "Leader", "Sync Standby");
    }

    @Test
    @Order(3)
    void aSwitchoverAndTheLossOfTheLeadersNodeLoseNoAcknowledgedWrite() throws Exception {
        LocalCluster.Member leader = quorumEstablished();
        LocalCluster.Member candidate =
                cluster.members().stream().filter(m -> m != leader).findFirst().orElseThrow();
        try (WriteProbe direct = E2eSupport.probe(cluster.primaryJdbcUrl(), cluster, "quorum_writes", 50)) {
            LocalCluster.sleep(1500);
            long t0 = System.nanoTime();
            HttpResponse<String> r = E2eSupport.post(
                    cluster,
                    leader,
                    "/switchover",
                    "{\"leader\":\"" + leader.name + "\",\"candidate\":\"" + candidate.name + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(direct.awaitAckAfter(t0, candidate.pgPort, 60_000)).isNotNull();
            assertThat(direct.lostAcknowledged(System.nanoTime()))
                    .as("lost in the switchover")
                    .isEmpty();

            // the new leader's quorum forms again, then its node is lost: a commit was acknowledged
            // by one of the two others, and the race's votes make sure that one (or one as far
            // ahead) takes over
            LocalCluster.Member next = quorumEstablished();
            assertThat(next).isEqualTo(candidate);
            LocalCluster.sleep(1500);
            long t1 = System.nanoTime();
            cluster.kill9(next);
            LocalCluster.Member survivor = await(
                    "a new leader",
                    Duration.ofMinutes(1),
                    () -> cluster.leader().filter(l -> l != next));
            assertThat(direct.awaitAckAfter(t1, survivor.pgPort, 60_000)).isNotNull();
            assertThat(direct.lostAcknowledged(t1))
                    .as("acknowledged before the node was lost, and lost")
                    .isEmpty();
        }
    }
}
