package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The candidate-side fence through the node (docs/engine.md rows 26a–26b), in simulated time with
 * the simulated PostgreSQL's model of it: a primary whose agent froze past the ttl without a fence
 * of its own keeps its PostgreSQL running; the replica that takes the lapsed lock fences it before
 * promoting, so that it acknowledges no write any more, and it rejoins once its agent thaws. A
 * former primary that no longer runs is not fenced.
 */
class CandidateFenceTest {

    private static SimCluster leaderAndReplica() {
        SimCluster sim = SimCluster.withDefaults("candfence");
        sim.setFencing(false); // no out-of-process fence on the old primary: only the candidate's
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
    void aFrozenPrimaryAgentsPostgresIsFencedBeforeTheReplicaPromotes() {
        SimCluster sim = leaderAndReplica();
        List<String> fenced = new CopyOnWriteArrayList<>();
        sim.agent("pg1").addListener(new HaListener() {
            @Override
            public void formerPrimaryFenced(String formerPrimary) {
                fenced.add(formerPrimary);
            }
        });
        assertThat(sim.pg("pg0").write(100)).isTrue();

        sim.pause("pg0"); // SIGSTOP of the agent alone: its PostgreSQL runs on
        assertThat(sim.runUntil(
                        () -> sim.pg("pg1").isRunningPrimary(), sim.ttl().multipliedBy(3)))
                .as("pg1 promoted: %s", sim.trace())
                .isTrue();

        List<String> actions = sim.pg("pg1").actions();
        assertThat(actions).as("pg1 fenced pg0, then promoted").containsSubsequence("fence pg0", "promote");
        assertThat(sim.pg("pg0").isRunningPrimary())
                .as("pg0's PostgreSQL still runs")
                .isTrue();
        assertThat(sim.pg("pg0").isFenced()).isTrue();
        assertThat(sim.pg("pg0").write(100))
                .as("no write acknowledged by the former primary")
                .isFalse();
        sim.runFor(Duration.ofSeconds(1)); // the event thread
        assertThat(fenced).containsExactly("pg0");

        sim.resume("pg0");
        assertThat(sim.runUntil(() -> sim.isStreamingReplica("pg0"), Duration.ofSeconds(60)))
                .as("pg0 rejoins as a replica of pg1: %s", sim.trace())
                .isTrue();
        assertThat(sim.pg("pg0").isFenced()).isFalse();
        assertThat(sim.primaries()).containsExactly("pg1");
    }

    @Test
    void aFormerPrimaryThatNoLongerRunsIsNotFenced() {
        SimCluster sim = leaderAndReplica();
        sim.pause("pg0");
        sim.pg("pg0").crash(); // the agent frozen, PostgreSQL gone (unreachable to the candidate)

        assertThat(sim.runUntil(
                        () -> sim.pg("pg1").isRunningPrimary(), sim.ttl().multipliedBy(3)))
                .as("pg1 promoted: %s", sim.trace())
                .isTrue();

        assertThat(sim.pg("pg1").actions()).doesNotContain("fence pg0").contains("promote");
        assertThat(sim.pg("pg0").actions()).doesNotContain("fenced by pg1");
    }
}
