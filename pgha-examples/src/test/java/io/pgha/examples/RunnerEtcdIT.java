package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static io.pgha.examples.E2eSupport.queryOne;
import static io.pgha.examples.E2eSupport.tryQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three {@code pgha run} processes (separate JVMs from target/pgha.jar) with real PostgreSQL on a
 * real etcd, HAProxy in front configured as in Patroni's documentation. One cluster for the
 * class; each test leaves it healthy (one leader, two streaming replicas) for the next.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RunnerEtcdIT {
    private E2eCluster e2e;
    private LocalCluster cluster;

    @BeforeAll
    void startCluster() throws Exception {
        E2eCluster.assumeMachine(true);
        e2e = E2eCluster.start("etcd3", "e2e");
        cluster = e2e.cluster;
    }

    @AfterAll
    void stopCluster() {
        if (e2e != null) {
            e2e.close();
        }
    }

    private String rwUrl() {
        return e2e.haproxy != null ? e2e.haproxy.readWriteJdbcUrl() : e2e.directUrl();
    }

    private LocalCluster.Member healthy() throws Exception {
        return cluster.awaitHealthy(Duration.ofMinutes(3));
    }

    private LocalCluster.Member otherThan(LocalCluster.Member leader) {
        return cluster.members().stream()
                .filter(m -> m != leader && cluster.streamingReplicas().contains(m.name))
                .findFirst()
                .orElseThrow();
    }

    @Test
    @Order(1)
    void bootstrapsOneLeaderAndTwoStreamingReplicasAndReplicatesThroughHaproxy() throws Exception {
        LocalCluster.Member leader = healthy();
        assertThat(cluster.streamingReplicas()).hasSize(2).doesNotContain(leader.name);
        assertThat(cluster.health(leader, "/primary")).isEqualTo(200);
        assertThat(cluster.health(leader, "/replica")).isEqualTo(503);
        for (LocalCluster.Member m : cluster.members()) {
            if (m != leader) {
                assertThat(cluster.health(m, "/replica")).isEqualTo(200);
                assertThat(cluster.health(m, "/primary")).isEqualTo(503);
            }
        }
        E2eSupport.exec(rwUrl(), cluster, "CREATE TABLE boot (v text); INSERT INTO boot VALUES ('written through RW')");
        String roUrl = e2e.haproxy != null
                ? e2e.haproxy.readOnlyJdbcUrl()
                : otherThan(leader).jdbcUrl();
        String seen = await(
                "the row through the read-only port",
                Duration.ofSeconds(30),
                () -> Optional.ofNullable(tryQuery(roUrl, cluster, "SELECT v FROM boot")));
        assertThat(seen).isEqualTo("written through RW");
        assertThat(queryOne(roUrl, cluster, "SELECT pg_is_in_recovery()")).isEqualTo("t");
        assertThat(queryOne(rwUrl(), cluster, "SELECT pg_is_in_recovery()")).isEqualTo("f");
        assumeTrue(e2e.haproxy != null, "HAProxy is missing (/usr/sbin/haproxy): apt-get install haproxy");
    }

    @Test
    @Order(2)
    void patronictlListReadsThePghaCluster() throws Exception {
        LocalCluster.Member leader = healthy();
        String out = E2eSupport.patronictlList(leader.yaml);
        // Patroni 3.0.2 shows a streaming replica as "running" (the state in its member key)
        assertThat(out).contains("e2e", "pg0", "pg1", "pg2", "Leader", "Replica");
        assertThat(out).containsPattern(leader.name + "\\s*\\|[^\\n]*Leader");
    }

    @Test
    @Order(3)
    void switchoverToANamedCandidateLosesNoAcknowledgedWrite() throws Exception {
        LocalCluster.Member leader = healthy();
        LocalCluster.Member candidate = otherThan(leader);
        try (WriteProbe direct = E2eSupport.probe(e2e.directUrl(), cluster, "sw_direct", 50);
                WriteProbe viaProxy = e2e.haproxy == null
                        ? null
                        : E2eSupport.probe(e2e.haproxy.readWriteJdbcUrl(), cluster, "sw_proxy", 50)) {
            LocalCluster.sleep(1500);
            long t0 = System.nanoTime();
            HttpResponse<String> r = E2eSupport.post(
                    cluster,
                    leader,
                    "/switchover",
                    "{\"leader\":\"" + leader.name + "\",\"candidate\":\"" + candidate.name + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            await(
                    "the candidate to lead",
                    Duration.ofSeconds(60),
                    () -> cluster.leader().filter(l -> l == candidate));
            direct.awaitAckAfter(t0, candidate.pgPort, 30_000);
            if (viaProxy != null) {
                viaProxy.awaitAckAfter(t0, candidate.pgPort, 30_000);
            }
            LocalCluster.sleep(1000);
            long end = System.nanoTime();
            System.out.printf(
                    "switchover %s -> %s: write gap %.0f ms direct%s%n",
                    leader.name,
                    candidate.name,
                    E2eSupport.writeGapMillis(direct, t0),
                    viaProxy == null
                            ? ""
                            : String.format(", %.0f ms through HAProxy", E2eSupport.writeGapMillis(viaProxy, t0)));
            assertThat(direct.lostAcknowledged(end))
                    .as("acknowledged writes lost in a switchover")
                    .isEmpty();
            if (viaProxy != null) {
                assertThat(viaProxy.lostAcknowledged(end, direct))
                        .as("acknowledged writes lost through HAProxy")
                        .isEmpty();
            }
        }
        LocalCluster.Member after = healthy();
        assertThat(after).isEqualTo(candidate);
        assertThat(cluster.streamingReplicas()).contains(leader.name);
    }

    @Test
    @Order(4)
    void scheduledSwitchoverHappensAtItsTime() throws Exception {
        LocalCluster.Member leader = healthy();
        LocalCluster.Member candidate = otherThan(leader);
        OffsetDateTime at = OffsetDateTime.now(ZoneOffset.UTC).plusSeconds(8).withNano(0);
        HttpResponse<String> r = E2eSupport.post(
                cluster,
                leader,
                "/switchover",
                "{\"leader\":\"" + leader.name + "\",\"candidate\":\"" + candidate.name + "\",\"scheduled_at\":\"" + at
                        + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode view = cluster.clusterView();
        assertThat(view.has("scheduled_switchover")).as(view.toString()).isTrue();
        assertThat(cluster.leader()).contains(leader);
        await(
                "the scheduled switchover",
                Duration.ofSeconds(90),
                () -> cluster.leader().filter(l -> l == candidate));
        assertThat(OffsetDateTime.now(ZoneOffset.UTC)).isAfterOrEqualTo(at.minusSeconds(1));
        healthy();
        assertThat(cluster.clusterView().has("scheduled_switchover")).isFalse();
    }

    @Test
    @Order(5)
    void sigtermOfTheLeaderHandsOverWithoutWaitingForTtl() throws Exception {
        LocalCluster.Member leader = healthy();
        long t0 = System.nanoTime();
        cluster.term(leader);
        LocalCluster.Member next = await(
                "a new leader", Duration.ofSeconds(60), () -> cluster.leader().filter(l -> l != leader));
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
                "SIGTERM of %s: %s leads after %.1f s (ttl %d)%n",
                leader.name, next.name, seconds, E2eCluster.TIMINGS.ttl());
        assertThat(seconds)
                .as("a clean stop hands over before the ttl could expire")
                .isLessThan(E2eCluster.TIMINGS.ttl());
        assertThat(cluster.awaitStopped(leader, Duration.ofSeconds(60))).isTrue();
        assertThat(leader.postmasterPid()).as("the stopped node's PostgreSQL").isEmpty();
        cluster.start(leader);
        healthy();
        assertThat(cluster.streamingReplicas()).contains(leader.name);
    }

    @Test
    @Order(6)
    void nodeLossPromotesAReplicaAndTheLostNodeRejoinsByItself() throws Exception {
        LocalCluster.Member leader = healthy();
        try (WriteProbe direct = E2eSupport.probe(e2e.directUrl(), cluster, "loss_direct", 50);
                WriteProbe viaProxy = e2e.haproxy == null
                        ? null
                        : E2eSupport.probe(e2e.haproxy.readWriteJdbcUrl(), cluster, "loss_proxy", 50)) {
            LocalCluster.sleep(1000 + (long) (Math.random() * 2000));
            long t0 = System.nanoTime();
            cluster.kill9(leader);
            LocalCluster.Member next = await(
                    "a new leader",
                    Duration.ofSeconds(90),
                    () -> cluster.leader().filter(l -> l != leader));
            WriteProbe.Ack first = direct.awaitAckAfter(t0, next.pgPort, 60_000);
            assertThat(first)
                    .as("a write acknowledged by the new primary; last error: " + direct.lastError())
                    .isNotNull();
            System.out.printf(
                    "node loss of %s: %s leads; first acknowledged write %.1f s after the kill%n",
                    leader.name, next.name, (first.nanos() - t0) / 1e9);
            if (viaProxy != null) {
                WriteProbe.Ack firstProxy = viaProxy.awaitAckAfter(t0, next.pgPort, 60_000);
                assertThat(firstProxy)
                        .as("a write through HAProxy's read-write port to the new primary; last error: "
                                + viaProxy.lastError())
                        .isNotNull();
                System.out.printf("  through HAProxy: %.1f s%n", (firstProxy.nanos() - t0) / 1e9);
            }
            // asynchronous replication may lose a tail of acknowledged writes on node loss: report it
            Set<Long> lost = direct.lostAcknowledged(t0);
            System.out.println("  acknowledged writes lost with the node: " + lost.size() + " " + lost);
        }
        cluster.start(leader);
        await(
                leader.name + " rejoining as a streaming replica",
                Duration.ofMinutes(3),
                () -> cluster.streamingReplicas().contains(leader.name) ? Optional.of(true) : Optional.empty());
        healthy();
    }
}
