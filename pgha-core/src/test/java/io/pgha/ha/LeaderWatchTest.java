package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link LeaderWatch}: a suspicion needs both of the leader's ports refused twice in a row; a port
 * that answers or does not answer at all (a timeout) raises none; nothing is watched in pause, on
 * the leader itself, or on a node that is not a running replica; a suspicion about a lock that
 * changed since is dropped.
 */
class LeaderWatchTest {
    private final Map<Integer, EndpointProbe.Reach> ports = new HashMap<>();
    private final AtomicInteger wakes = new AtomicInteger();
    private final LeaderWatch watch = new LeaderWatch(
            "pg1",
            (host, port, timeout) -> ports.getOrDefault(port, EndpointProbe.Reach.ANSWERS),
            Clock.fixed(Instant.parse("2026-01-01T12:00:00Z"), ZoneOffset.UTC),
            wakes::incrementAndGet);
    private final ClusterState cluster = new HaEngineTest.C()
            .leader("pg0")
            .primaryMember("pg0")
            .member("pg1")
            .build();

    private void watchAsReplica() {
        watch.watch(cluster, HaEngineTest.replica(1000), DynamicConfig.DEFAULTS);
    }

    private void leaderPorts(EndpointProbe.Reach api, EndpointProbe.Reach pg) {
        ports.put(8008, api); // the fixture's api_url and conn_url
        ports.put(5432, pg);
    }

    @Test
    void bothPortsRefusedTwiceRaisesASuspicionAndWakesTheLoop() {
        watchAsReplica();
        leaderPorts(EndpointProbe.Reach.REFUSED, EndpointProbe.Reach.REFUSED);
        watch.checkOnce();
        assertThat(watch.suspicion()).as("once may be a restart's blink").isNull();
        watch.checkOnce();
        assertThat(watch.suspicion())
                .isEqualTo(new HaInput.LeaderGone("pg0", cluster.leader().version(), false));
        assertThat(wakes.get()).isEqualTo(1);
    }

    @Test
    void anAnsweringPortOrATimeoutRaisesNone() {
        watchAsReplica();
        leaderPorts(EndpointProbe.Reach.REFUSED, EndpointProbe.Reach.ANSWERS);
        watch.checkOnce();
        watch.checkOnce();
        assertThat(watch.suspicion()).isNull();
        leaderPorts(EndpointProbe.Reach.UNREACHABLE, EndpointProbe.Reach.UNREACHABLE);
        watch.checkOnce();
        watch.checkOnce();
        assertThat(watch.suspicion())
                .as("a host that does not answer: wait for the ttl")
                .isNull();
        leaderPorts(EndpointProbe.Reach.REFUSED, EndpointProbe.Reach.REFUSED);
        watch.checkOnce();
        leaderPorts(EndpointProbe.Reach.ANSWERS, EndpointProbe.Reach.REFUSED);
        watch.checkOnce();
        leaderPorts(EndpointProbe.Reach.REFUSED, EndpointProbe.Reach.REFUSED);
        watch.checkOnce();
        assertThat(watch.suspicion()).as("not twice in a row").isNull();
        assertThat(wakes.get()).isZero();
    }

    @Test
    void nothingIsWatchedInPauseOnTheLeaderOrOffAReplica() {
        assertThat(LeaderWatch.target(
                        "pg1", cluster, HaEngineTest.replica(1000), DynamicConfig.from(Map.of("pause", true))))
                .isNull();
        assertThat(LeaderWatch.target("pg0", cluster, HaEngineTest.primary(1000), DynamicConfig.DEFAULTS))
                .isNull();
        assertThat(LeaderWatch.target(
                        "pg1",
                        cluster,
                        HaEngineTest.stopped(io.pgha.postgres.PostgresStatus.Role.REPLICA),
                        DynamicConfig.DEFAULTS))
                .isNull();
        assertThat(LeaderWatch.target("pg1", cluster, HaEngineTest.replica(1000), DynamicConfig.DEFAULTS))
                .isEqualTo(new LeaderWatch.Target(
                        "pg0", cluster.leader().version(), "127.0.0.1", 5432, "127.0.0.1", 8008));
    }

    @Test
    void aSuspicionAboutALockThatChangedIsDropped() {
        watchAsReplica();
        leaderPorts(EndpointProbe.Reach.REFUSED, EndpointProbe.Reach.REFUSED);
        watch.checkOnce();
        watch.checkOnce();
        assertThat(watch.suspicion()).isNotNull();
        ClusterState renewed = new HaEngineTest.C()
                .leader("pg2")
                .primaryMember("pg2")
                .member("pg1")
                .build();
        watch.watch(renewed, HaEngineTest.replica(1000), DynamicConfig.DEFAULTS);
        assertThat(watch.suspicion()).isNull();
    }
}
