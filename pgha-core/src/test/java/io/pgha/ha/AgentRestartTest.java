package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The leader's agent is killed (kill -9, OOM) and started again while its PostgreSQL runs on as
 * primary, its leader key still alive under the dead agent's session: the new agent takes the key
 * over with its first renewal ({@code Dcs.renewLeader}), as Patroni's does, and the cluster does
 * not notice: no demotion, no failover, the replica keeps streaming. Simulated time (ttl 10,
 * loop_wait 2), InMemoryDcs.
 */
class AgentRestartTest {

    private static SimCluster leaderAndReplica(boolean fencing) {
        SimCluster sim = SimCluster.withDefaults("restart");
        sim.setFencing(fencing);
        sim.start("pg0");
        assertThat(sim.runUntil(
                        () -> "pg0".equals(sim.leader()) && sim.pg("pg0").isRunningPrimary(), Duration.ofSeconds(30)))
                .as("pg0 leads: %s", sim.trace())
                .isTrue();
        sim.start("pg1");
        assertThat(sim.runUntil(() -> sim.isStreamingReplica("pg1"), Duration.ofSeconds(30)))
                .as("pg1 streams: %s", sim.trace())
                .isTrue();
        return sim;
    }

    @Test
    void aRestartedLeaderAgentKeepsItsPrimaryAndTheLock() {
        SimCluster sim = leaderAndReplica(false);
        long leaderVersionBefore = sim.cluster().leader().version();
        int actionsBefore = sim.pg("pg0").actions().size();
        sim.pg("pg0").write(1000);

        sim.killAgent("pg0");
        sim.runFor(Duration.ofSeconds(3)); // the agent is down for a while (less than ttl)
        assertThat(sim.leader()).as("the dead agent's key is still alive").isEqualTo("pg0");
        sim.start("pg0");

        // well past the dead agent's session (ttl): its key has been taken over, not lost
        sim.runFor(sim.ttl().multipliedBy(3));
        ClusterState c = sim.cluster();
        assertThat(c.leader().name()).as("leader: %s", sim.trace()).isEqualTo("pg0");
        assertThat(c.leader().version())
                .as("the key was re-bound to the new session")
                .isNotEqualTo(leaderVersionBefore);
        assertThat(sim.primaries()).containsExactly("pg0");
        assertThat(sim.pg("pg0")
                        .actions()
                        .subList(actionsBefore, sim.pg("pg0").actions().size()))
                .as("PostgreSQL actions of pg0 after the restart (no stop, demote or restart): %s", sim.trace())
                .isEmpty();
        assertThat(sim.pg("pg1").isRunningPrimary()).as("pg1 was not promoted").isFalse();
        assertThat(sim.isStreamingReplica("pg1")).as("pg1 still follows pg0").isTrue();
        assertThat(sim.pg("pg1").upstream()).isEqualTo("pg0");
        assertThat(c.history()).as("no timeline switch").isEmpty();
        assertThat(c.member("pg0").orElseThrow().role()).isEqualTo("master");

        // and the cluster goes on: a write on pg0 reaches pg1
        sim.pg("pg0").write(500);
        assertThat(sim.pg("pg1").lsn()).isEqualTo(sim.pg("pg0").lsn());
    }

    /**
     * With the out-of-process fence, the dying agent's armed fence stops PostgreSQL at once (by
     * design: nothing vouches for the primary any more). The restarted agent finds its data
     * directory stopped and the leader key still its own: it takes the key over and starts
     * PostgreSQL again as the primary, instead of waiting for the key to lapse and failing over.
     */
    @Test
    void withTheFenceARestartedLeaderAgentStartsItsPrimaryAgainOnTheReclaimedKey() {
        SimCluster sim = leaderAndReplica(true);
        sim.pg("pg0").write(1000);
        long lsn = sim.pg("pg0").lsn();

        sim.killAgent("pg0");
        sim.runFor(Duration.ofSeconds(1));
        assertThat(sim.pg("pg0").isRunning())
                .as("the fence stopped the dead agent's primary: %s", sim.trace())
                .isFalse();
        sim.start("pg0");

        // at its first cycle, not after the key lapsed (ttl) and a leader race
        java.util.Set<String> leaders = new java.util.TreeSet<>();
        assertThat(sim.runUntil(
                        () -> {
                            leaders.add(String.valueOf(sim.leader()));
                            return sim.pg("pg0").isRunningPrimary();
                        },
                        sim.ttl().dividedBy(2)))
                .as("pg0 runs as primary again within ttl/2: %s", sim.trace())
                .isTrue();
        assertThat(leaders).as("the leader key never lapsed nor changed hands").containsExactly("pg0");
        assertThat(sim.trace()).noneMatch(l -> l.contains("failed to update leader lock"));
        sim.runFor(sim.ttl().multipliedBy(2));
        ClusterState c = sim.cluster();
        assertThat(c.leader().name()).as("leader: %s", sim.trace()).isEqualTo("pg0");
        assertThat(sim.primaries()).containsExactly("pg0");
        assertThat(sim.pg("pg1").isRunningPrimary()).isFalse();
        assertThat(sim.runUntil(
                        () -> sim.isStreamingReplica("pg1")
                                && "pg0".equals(sim.pg("pg1").upstream()),
                        Duration.ofSeconds(30)))
                .as("pg1 follows pg0 again: %s", sim.trace())
                .isTrue();
        assertThat(c.history()).as("no timeline switch").isEmpty();
        assertThat(sim.pg("pg0").lsn()).isGreaterThanOrEqualTo(lsn);
        assertThat(sim.pg("pg0").actions()).endsWith("stop immediate", "start primary");
    }
}
