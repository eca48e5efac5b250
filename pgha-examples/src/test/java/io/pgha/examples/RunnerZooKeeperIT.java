package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static io.pgha.examples.E2eSupport.queryOne;
import static io.pgha.examples.E2eSupport.tryQuery;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The same three-process cluster on ZooKeeper (the demo's in-process server, ZooKeeper's own, in this test
 * JVM): bootstrap, a switchover, a node loss and the rejoin.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RunnerZooKeeperIT {
    private E2eCluster e2e;
    private LocalCluster cluster;

    @BeforeAll
    void startCluster() throws Exception {
        E2eCluster.assumeMachine(false);
        e2e = E2eCluster.start("zookeeper", "e2e-zk");
        cluster = e2e.cluster;
    }

    @AfterAll
    void stopCluster() {
        if (e2e != null) {
            e2e.close();
        }
    }

    private LocalCluster.Member healthy() throws Exception {
        return cluster.awaitHealthy(Duration.ofMinutes(3));
    }

    @Test
    @Order(1)
    void bootstrapsAndReplicates() throws Exception {
        LocalCluster.Member leader = healthy();
        assertThat(cluster.streamingReplicas()).hasSize(2).doesNotContain(leader.name);
        E2eSupport.exec(e2e.directUrl(), cluster, "CREATE TABLE zk (v int); INSERT INTO zk VALUES (42)");
        for (LocalCluster.Member m : cluster.members()) {
            assertThat(await(
                            "the row on " + m.name,
                            Duration.ofSeconds(30),
                            () -> Optional.ofNullable(tryQuery(m.jdbcUrl(), cluster, "SELECT v FROM zk"))))
                    .isEqualTo("42");
        }
    }

    @Test
    @Order(2)
    void switchover() throws Exception {
        LocalCluster.Member leader = healthy();
        LocalCluster.Member candidate = cluster.members().stream()
                .filter(m -> m != leader && cluster.streamingReplicas().contains(m.name))
                .findFirst()
                .orElseThrow();
        try (WriteProbe direct = E2eSupport.probe(e2e.directUrl(), cluster, "zk_sw", 50)) {
            LocalCluster.sleep(1000);
            long t0 = System.nanoTime();
            HttpResponse<String> r = E2eSupport.post(
                    cluster,
                    leader,
                    "/switchover",
                    "{\"leader\":\"" + leader.name + "\",\"candidate\":\"" + candidate.name + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(direct.awaitAckAfter(t0, candidate.pgPort, 30_000)).isNotNull();
            LocalCluster.sleep(500);
            System.out.printf(
                    "zookeeper switchover: write gap %.0f ms%n", direct.gapMillis(leader.pgPort, candidate.pgPort, t0));
            assertThat(direct.lostAcknowledged(System.nanoTime())).isEmpty();
        }
        assertThat(healthy()).isEqualTo(candidate);
    }

    @Test
    @Order(3)
    void nodeLossAndRejoin() throws Exception {
        LocalCluster.Member leader = healthy();
        long t0 = System.nanoTime();
        cluster.kill9(leader);
        LocalCluster.Member next = await(
                "a new leader", Duration.ofSeconds(90), () -> cluster.leader().filter(l -> l != leader));
        System.out.printf(
                "zookeeper node loss: %s leads %.1f s after the kill%n", next.name, (System.nanoTime() - t0) / 1e9);
        // the lock is taken a moment before the promotion completes: wait for the primary to accept
        String port = await("the new primary accepting connections", Duration.ofSeconds(60), () -> {
            try {
                return Optional.of(queryOne(e2e.directUrl(), cluster, "SELECT inet_server_port()"));
            } catch (java.sql.SQLException e) {
                return Optional.empty();
            }
        });
        assertThat(port).isEqualTo(String.valueOf(next.pgPort));
        cluster.start(leader);
        await(
                leader.name + " rejoining",
                Duration.ofMinutes(3),
                () -> cluster.streamingReplicas().contains(leader.name) ? Optional.of(true) : Optional.empty());
    }
}
