package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.Failover;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Several real HaNodes over InMemoryDcs and simulated PostgreSQL, in simulated time (ttl 10,
 * loop_wait 2, retry_timeout 3).
 */
class HaNodeClusterTest {

    private SimCluster bootstrapThree() {
        SimCluster sim = SimCluster.withDefaults("demo");
        sim.start("pg0");
        sim.start("pg1");
        sim.start("pg2");
        boolean ready = sim.runUntil(
                () -> sim.leader() != null
                        && sim.primaries().size() == 1
                        && sim.isStreamingReplica(other(sim, 0))
                        && sim.isStreamingReplica(other(sim, 1)),
                Duration.ofSeconds(60));
        assertThat(ready).as("bootstrapped: %s", sim.trace()).isTrue();
        return sim;
    }

    /** The i-th member that is not the leader. */
    private static String other(SimCluster sim, int i) {
        String leader = sim.leader();
        return List.of("pg0", "pg1", "pg2").stream()
                .filter(n -> !n.equals(leader))
                .toList()
                .get(i);
    }

    @Test
    void aPrePromoteVetoReleasesTheLockAndBacksOffUntilTheScriptAgrees() {
        SimCluster sim = bootstrapThree();
        String old = sim.leader();
        String a = other(sim, 0);
        String b = other(sim, 1);
        sim.pg(a).vetoPromotions(true);
        sim.pg(b).vetoPromotions(true);
        sim.stopNode(old);
        // both take the lock in turn, are vetoed, release it: no primary meanwhile
        sim.runFor(Duration.ofSeconds(40));
        assertThat(sim.primaries()).as("%s", sim.trace()).isEmpty();
        assertThat(sim.pg(a).actions()).contains("pre_promote vetoed").doesNotContain("promote");
        assertThat(sim.pg(b).actions()).contains("pre_promote vetoed").doesNotContain("promote");
        sim.pg(b).vetoPromotions(false);
        boolean promoted = sim.runUntil(() -> sim.primaries().equals(List.of(b)), Duration.ofSeconds(60));
        assertThat(promoted).as("%s", sim.trace()).isTrue();
        assertThat(sim.pg(a).actions()).doesNotContain("promote");
    }

    @Test
    void threeNodesBootstrapToOneLeaderAndTwoReplicas() {
        SimCluster sim = bootstrapThree();
        String leader = sim.leader();
        assertThat(sim.primaries()).containsExactly(leader);
        ClusterState c = sim.cluster();
        assertThat(c.initialize()).isEqualTo(sim.pg(leader).status().systemIdentifier());
        assertThat(c.config()).isNotNull();
        assertThat(c.config().data()).containsEntry("ttl", 10L);
        assertThat(c.members()).extracting(m -> m.name()).containsExactly("pg0", "pg1", "pg2");
        assertThat(c.member(leader).orElseThrow().role()).isEqualTo("master");
        assertThat(sim.pg(leader).actions()).containsExactly("bootstrap");
        // exactly one member ran initdb, the others cloned
        long bootstraps = List.of("pg0", "pg1", "pg2").stream()
                .filter(n -> sim.pg(n).actions().contains("bootstrap"))
                .count();
        assertThat(bootstraps).isEqualTo(1);
        // a write on the primary reaches both replicas
        sim.pg(leader).write(1000);
        long lsn = sim.pg(leader).lsn();
        assertThat(sim.pg(other(sim, 0)).lsn()).isEqualTo(lsn);
        assertThat(sim.pg(other(sim, 1)).lsn()).isEqualTo(lsn);
        // the leader holds physical slots for both replicas (from its next cycle on)
        sim.runFor(sim.loopWait().multipliedBy(2));
        assertThat(sim.pg(leader).status().slots())
                .extracting(io.pgha.postgres.ReplicationSlot::name)
                .containsExactlyInAnyOrder(other(sim, 0), other(sim, 1));
    }

    @Test
    void whenTheLeadersNodeDiesAReplicaLeadsWithinTtlPlusLoopWait() {
        SimCluster sim = bootstrapThree();
        String old = sim.leader();
        sim.pg(old).write(5000);
        Instant killed = sim.clock.instant();
        sim.killNode(old);
        boolean failedOver = sim.runUntil(
                () -> sim.leader() != null
                        && !old.equals(sim.leader())
                        && sim.pg(sim.leader()).isRunningPrimary(),
                sim.ttl().plus(sim.loopWait()).plusSeconds(1));
        assertThat(failedOver).as("failover: %s", sim.trace()).isTrue();
        Duration took = Duration.between(killed, sim.clock.instant());
        assertThat(took).isLessThanOrEqualTo(sim.ttl().plus(sim.loopWait()).plusSeconds(1));
        String leader = sim.leader();
        // the other replica follows the new leader
        String follower = List.of("pg0", "pg1", "pg2").stream()
                .filter(n -> !n.equals(old) && !n.equals(leader))
                .findFirst()
                .orElseThrow();
        assertThat(sim.runUntil(
                        () -> sim.isStreamingReplica(follower)
                                && sim.pg(follower).timelineId()
                                        == sim.pg(leader).timelineId(),
                        Duration.ofSeconds(30)))
                .as("follower: %s", sim.trace())
                .isTrue();
        // the lost node comes back and rejoins as a replica by itself (rewind)
        sim.start(old);
        assertThat(sim.runUntil(() -> sim.isStreamingReplica(old), Duration.ofSeconds(60)))
                .as("rejoin: %s", sim.trace())
                .isTrue();
        assertThat(sim.pg(old).actions()).contains("rewind from " + leader);
        assertThat(sim.primaries()).containsExactly(leader);
        assertThat(sim.cluster().history()).hasSize(1);
    }

    @Test
    void switchoverToANamedCandidate() throws Exception {
        SimCluster sim = bootstrapThree();
        String old = sim.leader();
        String candidate = other(sim, 1);
        sim.pg(old).write(777);
        long written = sim.pg(old).lsn();
        Dcs dcs = sim.observer();
        assertThat(dcs.writeFailover(Failover.of(old, candidate, null), Dcs.ABSENT))
                .isTrue();
        assertThat(sim.runUntil(
                        () -> candidate.equals(sim.leader())
                                && sim.pg(candidate).isRunningPrimary(),
                        Duration.ofSeconds(30)))
                .as("switchover: %s", sim.trace())
                .isTrue();
        assertThat(sim.pg(candidate).lsn()).isGreaterThanOrEqualTo(written);
        assertThat(sim.runUntil(() -> sim.isStreamingReplica(old), Duration.ofSeconds(30)))
                .as("old leader rejoins: %s", sim.trace())
                .isTrue();
        assertThat(sim.cluster().failover()).isNull();
        assertThat(sim.primaries()).containsExactly(candidate);
    }

    @Test
    void aScheduledSwitchoverHappensAtItsTime() throws Exception {
        SimCluster sim = bootstrapThree();
        String old = sim.leader();
        String candidate = other(sim, 0);
        Instant at = sim.clock.instant().plusSeconds(30);
        sim.observer().writeFailover(Failover.of(old, candidate, at), Dcs.ABSENT);
        sim.runFor(Duration.ofSeconds(20));
        assertThat(sim.leader()).isEqualTo(old);
        assertThat(sim.runUntil(() -> candidate.equals(sim.leader()), Duration.ofSeconds(30)))
                .isTrue();
        assertThat(sim.clock.instant()).isAfterOrEqualTo(at);
    }

    @Test
    void aReplicaLaggingPastMaximumLagOnFailoverIsNotPromoted() throws Exception {
        SimCluster sim = SimCluster.withDefaults("lag");
        sim.start("pg0");
        assertThat(sim.runUntil(
                        () -> "pg0".equals(sim.leader()) && sim.pg("pg0").isRunningPrimary(), Duration.ofSeconds(30)))
                .isTrue();
        sim.start("pg1");
        assertThat(sim.runUntil(() -> sim.isStreamingReplica("pg1"), Duration.ofSeconds(30)))
                .isTrue();
        sim.net.cut("pg0", "pg1", true);
        sim.pg("pg0").write(5 * 1024 * 1024);
        sim.runFor(Duration.ofSeconds(6)); // the leader publishes its optime
        sim.killNode("pg0");
        sim.runFor(sim.ttl().multipliedBy(3));
        assertThat(sim.leader()).isNull();
        assertThat(sim.pg("pg1").isRunningPrimary()).isFalse();
        assertThat(sim.trace()).anyMatch(l -> l.contains("maximum_lag_on_failover"));
    }

    @Test
    void aPausedClusterDoesNotFailOver() throws Exception {
        SimCluster sim = bootstrapThree();
        String old = sim.leader();
        ClusterState c = sim.cluster();
        Map<String, Object> cfg = new LinkedHashMap<>(c.config().data());
        cfg.put("pause", true);
        assertThat(sim.observer().writeConfig(cfg, c.config().version())).isTrue();
        sim.runFor(Duration.ofSeconds(5));
        sim.killNode(old);
        sim.runFor(sim.ttl().multipliedBy(3));
        assertThat(sim.primaries()).isEmpty();
        assertThat(sim.leader()).isNull();
    }

    @Test
    void aBadValuePlantedInTheDcsConfigIsLoggedOnceAndTheLastGoodValueIsKept() throws Exception {
        SimCluster sim = bootstrapThree();
        String leader = sim.leader();
        ClusterState c = sim.cluster();
        Map<String, Object> cfg = new LinkedHashMap<>(c.config().data());
        cfg.put("ttl", "abc");
        cfg.put("loop_wait", 0);
        assertThat(sim.observer().writeConfig(cfg, c.config().version())).isTrue();
        sim.runFor(sim.ttl().multipliedBy(3));
        for (String name : List.of("pg0", "pg1", "pg2")) {
            HaNode node = sim.node(name);
            assertThat(node.dynamicConfig().ttl()).isEqualTo(Duration.ofSeconds(10));
            assertThat(node.dynamicConfig().loopWait()).isEqualTo(Duration.ofSeconds(2));
            assertThat(node.rejectedConfigValuesLogged()).as(name).isEqualTo(2);
        }
        assertThat(sim.leader()).isEqualTo(leader);
        // another key changes: the bad ones are not logged again and still fall back
        c = sim.cluster();
        cfg = new LinkedHashMap<>(c.config().data());
        cfg.put("maximum_lag_on_failover", 2097152);
        assertThat(sim.observer().writeConfig(cfg, c.config().version())).isTrue();
        sim.runFor(sim.ttl().multipliedBy(2));
        for (String name : List.of("pg0", "pg1", "pg2")) {
            HaNode node = sim.node(name);
            assertThat(node.dynamicConfig().maximumLagOnFailover()).isEqualTo(2097152L);
            assertThat(node.dynamicConfig().ttl()).isEqualTo(Duration.ofSeconds(10));
            assertThat(node.rejectedConfigValuesLogged()).as(name).isEqualTo(2);
        }
        // a good ttl is taken
        c = sim.cluster();
        cfg = new LinkedHashMap<>(c.config().data());
        cfg.put("ttl", 20);
        cfg.put("loop_wait", 3);
        assertThat(sim.observer().writeConfig(cfg, c.config().version())).isTrue();
        sim.runFor(sim.ttl().multipliedBy(2));
        assertThat(sim.node(leader).dynamicConfig().ttl()).isEqualTo(Duration.ofSeconds(20));
        assertThat(sim.node(leader).dynamicConfig().loopWait()).isEqualTo(Duration.ofSeconds(3));
        assertThat(sim.leader()).isEqualTo(leader);
    }

    @Test
    void aNofailoverMemberNeverLeads() {
        SimCluster sim = SimCluster.withDefaults("nofailover");
        sim.start("pg0");
        assertThat(sim.runUntil(
                        () -> "pg0".equals(sim.leader()) && sim.pg("pg0").isRunningPrimary(), Duration.ofSeconds(30)))
                .isTrue();
        sim.start("pg1", Map.of("nofailover", true));
        assertThat(sim.runUntil(() -> sim.isStreamingReplica("pg1"), Duration.ofSeconds(30)))
                .isTrue();
        sim.killNode("pg0");
        sim.runFor(sim.ttl().multipliedBy(3));
        assertThat(sim.leader()).isNull();
        assertThat(sim.pg("pg1").isRunningPrimary()).isFalse();
    }

    @Test
    void aCleanShutdownOfTheLeaderHandsOverWithoutWaitingForTtl() {
        SimCluster sim = bootstrapThree();
        String old = sim.leader();
        Instant t = sim.clock.instant();
        sim.stopNode(old);
        assertThat(sim.runUntil(
                        () -> sim.leader() != null
                                && !old.equals(sim.leader())
                                && sim.pg(sim.leader()).isRunningPrimary(),
                        Duration.ofSeconds(5)))
                .as("%s", sim.trace())
                .isTrue();
        assertThat(Duration.between(t, sim.clock.instant())).isLessThan(sim.ttl());
    }

    /**
     * Patroni's {@code failsafe_is_active} on a replica is answered at request time: a POST
     * /failsafe shows in the REST view at once, before any cycle (which may sit in a DCS read for
     * retry_timeout while the DCS is down), and no more once a ttl passed (behave's
     * dcs_failsafe_mode, "check three-node cluster is functioning while DCS is down").
     */
    @Test
    void aReplicaShowsAFailsafeCallAtOnceAndForATtl() {
        SimCluster sim = new SimCluster(
                "failsafe-view",
                java.util.Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3, "failsafe_mode", true));
        sim.start("pg0");
        sim.start("pg1");
        assertThat(sim.runUntil(
                        () -> sim.leader() != null
                                && sim.primaries().size() == 1
                                && sim.isStreamingReplica("pg0".equals(sim.leader()) ? "pg1" : "pg0"),
                        Duration.ofSeconds(60)))
                .isTrue();
        HaNode replica = sim.node("pg0".equals(sim.leader()) ? "pg1" : "pg0");
        assertThat(replica.currentState().failsafeActive()).isFalse();
        replica.failsafeHeartbeat(java.util.Map.of("name", sim.leader()));
        assertThat(replica.currentState().failsafeActive())
                .as("without a cycle in between")
                .isTrue();
        sim.clock.advance(Duration.ofSeconds(11));
        assertThat(replica.currentState().failsafeActive()).as("a ttl later").isFalse();
    }

    /**
     * The failsafe promise is kept on disk: an agent killed and started again within its ttl still
     * keeps it (docs/safety.md, "Failsafe mode"; simulation seed 4214208906), and lets it lapse on time.
     */
    @Test
    void aRestartedReplicaKeepsItsFailsafePromise() {
        SimCluster sim = new SimCluster(
                "failsafe-restart",
                java.util.Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3, "failsafe_mode", true));
        sim.start("pg0");
        sim.start("pg1");
        assertThat(sim.runUntil(
                        () -> sim.leader() != null
                                && sim.primaries().size() == 1
                                && sim.isStreamingReplica("pg0".equals(sim.leader()) ? "pg1" : "pg0"),
                        Duration.ofSeconds(60)))
                .isTrue();
        String replica = "pg0".equals(sim.leader()) ? "pg1" : "pg0";
        sim.node(replica).failsafeHeartbeat(java.util.Map.of("name", sim.leader()));
        sim.killAgent(replica);
        sim.clock.advance(Duration.ofSeconds(3));
        HaNode restarted = sim.start(replica);
        assertThat(restarted.currentState().failsafeActive())
                .as("the promise made before the restart")
                .isTrue();
        sim.clock.advance(Duration.ofSeconds(8));
        assertThat(restarted.currentState().failsafeActive())
                .as("a ttl after the call")
                .isFalse();
    }

    /** The promise's file: written atomically, read back by a new store, and a missing one is none. */
    @Test
    void theFailsafePromiseFileOutlivesItsStore(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path state = dir.resolve("state");
        assertThat(FailsafePromise.file(state).load()).isNull();
        java.time.Instant until = java.time.Instant.parse("2026-12-03T16:30:00.123Z");
        FailsafePromise.file(state).save(until);
        assertThat(FailsafePromise.file(state).load()).isEqualTo(until);
        assertThat(java.nio.file.Files.getPosixFilePermissions(state))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        assertThat(java.nio.file.Files.exists(state.resolve("failsafe-promise.tmp")))
                .isFalse();
        java.nio.file.Files.writeString(state.resolve("failsafe-promise"), "not a time\n");
        assertThat(FailsafePromise.file(state).load()).as("unreadable: none").isNull();
    }
}
