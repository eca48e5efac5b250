package io.pgha.ha;

import static io.pgha.ha.HaEngineTest.in;
import static io.pgha.ha.HaEngineTest.noData;
import static io.pgha.ha.HaEngineTest.primary;
import static io.pgha.ha.HaEngineTest.replica;
import static io.pgha.ha.HaEngineTest.stopped;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StandbySource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine in a standby cluster (docs/engine.md, rows S1–S9): the lock holder is the standby
 * leader, replicating from the remote primary; no decision ever promotes, whatever the situation.
 */
class StandbyClusterEngineTest {
    private final HaEngine engine = new HaEngine();

    static final Map<String, Object> SECTION = Map.of(
            "host", "10.0.0.9",
            "port", 5433,
            "primary_slot_name", "dr_site",
            "restore_command", "cp /archive/%f %p",
            "recovery_min_apply_delay", "5min");

    static DynamicConfig standby() {
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("ttl", 30);
        raw.put("loop_wait", 10);
        raw.put("standby_cluster", SECTION);
        return DynamicConfig.from(raw);
    }

    private Decision decide(HaInput.Builder b) {
        return engine.decide(b.config(standby()).memberConfig(standby()).build());
    }

    private static List<Class<?>> types(Decision d) {
        List<Class<?>> t = new ArrayList<>();
        d.actions().forEach(a -> t.add(a.getClass()));
        return t;
    }

    private static void assertNeverPromotes(Decision d) {
        assertThat(types(d)).doesNotContain(Action.Promote.class, Action.StartPrimary.class, Action.Bootstrap.class);
    }

    @Test
    void theSectionMakesAStandbyClusterOnlyWithHostPortOrRestoreCommand() {
        assertThat(DynamicConfig.from(Map.of("standby_cluster", Map.of("host", "h")))
                        .isStandbyCluster())
                .isTrue();
        assertThat(DynamicConfig.from(Map.of("standby_cluster", Map.of("restore_command", "x")))
                        .isStandbyCluster())
                .isTrue();
        assertThat(DynamicConfig.from(Map.of("standby_cluster", Map.of("primary_slot_name", "s")))
                        .isStandbyCluster())
                .isFalse();
        assertThat(DynamicConfig.from(Map.of("standby_cluster", Map.of())).isStandbyCluster())
                .isFalse();
        assertThat(DynamicConfig.DEFAULTS.isStandbyCluster()).isFalse();
    }

    @Test
    void theRemotePrimaryCarriesTheSection() {
        Member remote = StandbyCluster.remote(standby());
        assertThat(remote.connUrl()).isEqualTo("postgres://10.0.0.9:5433/postgres");
        StandbySource s = StandbySource.of(remote);
        assertThat(s.remote()).isTrue();
        assertThat(s.primarySlotName()).isEqualTo("dr_site");
        assertThat(s.recoverySettings())
                .containsEntry("restore_command", "cp /archive/%f %p")
                .containsEntry("recovery_min_apply_delay", "5min");
        // a changed section is a new upstream to follow
        Map<String, Object> other = new LinkedHashMap<>(SECTION);
        other.put("port", 5434);
        assertThat(StandbyCluster.remote(DynamicConfig.from(Map.of("standby_cluster", other)))
                        .name())
                .isNotEqualTo(remote.name());
    }

    @Test
    void s1_anEmptyClusterBootstrapsAStandbyLeaderFromTheRemotePrimary() {
        Decision d =
                decide(in("pg0").cluster(HaEngineTest.bare()).postgres(noData()).dataDirectoryEmpty(true));
        assertThat(d.reason()).contains("trying to bootstrap a new standby leader");
        assertThat(types(d)).containsExactly(Action.ClaimInitialize.class, Action.BootstrapStandbyLeader.class);
        Member remote = ((Action.BootstrapStandbyLeader) d.actions().get(1)).remote();
        assertThat(StandbyCluster.isRemote(remote)).isTrue();
    }

    @Test
    void s2_theLockHolderRunningAsReplicaFollowsTheRemoteInsteadOfPromoting() {
        ClusterState c =
                new HaEngineTest.C().leader("pg0").member("pg0").member("pg1").build();
        Decision d = decide(in("pg0").cluster(c).postgres(replica(5000)).following("pg1"));
        assertNeverPromotes(d);
        assertThat(d.reason()).contains("promoted self to a standby leader");
        assertThat(types(d))
                .containsExactly(
                        Action.RenewLock.class,
                        Action.WriteStatus.class,
                        Action.ChangeSlots.class,
                        Action.Follow.class);
        Action.Follow f = (Action.Follow) d.actions().get(3);
        assertThat(StandbyCluster.isRemote(f.upstream())).isTrue();
        // a physical slot for the member that cascades from the standby leader (SlotPlan, as a replica's)
        assertThat(((Action.ChangeSlots) d.actions().get(2)).changes().create())
                .extracting(io.pgha.postgres.SlotChanges.NewSlot::name)
                .containsExactly("pg1");
    }

    @Test
    void s3_theStandbyLeaderFollowingTheRemoteOnlyRenews() {
        ClusterState c =
                new HaEngineTest.C().leader("pg0").member("pg0").member("pg1").build();
        String remote = StandbyCluster.remote(standby()).name();
        Decision d = decide(in("pg0").cluster(c).postgres(replica(5000)).following(remote));
        assertThat(d.reason()).contains("no action. I am (pg0), the standby leader with the lock");
        assertThat(types(d))
                .containsExactly(Action.RenewLock.class, Action.WriteStatus.class, Action.ChangeSlots.class);
    }

    @Test
    void s4_aPrimaryHoldingTheLockDemotesWhenTheSectionAppears() {
        ClusterState c =
                new HaEngineTest.C().leader("pg0").member("pg0").member("pg1").build();
        Decision d = decide(in("pg0").cluster(c).postgres(primary(5000)));
        assertThat(d.reason()).contains("cannot be a real primary in standby cluster");
        assertThat(types(d)).containsExactly(Action.RenewLock.class, Action.Demote.class);
        assertThat(((Action.Demote) d.actions().get(1)).releaseLock()).isFalse();
    }

    @Test
    void s5_theLockHolderWithPostgresStoppedStartsAsTheRemotesReplica() {
        ClusterState c = new HaEngineTest.C().leader("pg0").member("pg0").build();
        Decision check = decide(in("pg0").cluster(c).postgres(stopped(PostgresStatus.Role.PRIMARY)));
        assertThat(types(check)).containsExactly(Action.CheckDivergence.class);
        String remote = StandbyCluster.remote(standby()).name();
        Decision d = decide(in("pg0")
                .cluster(c)
                .postgres(stopped(PostgresStatus.Role.PRIMARY))
                .divergence(new HaInput.Divergence(remote, true)));
        assertNeverPromotes(d);
        assertThat(types(d)).containsExactly(Action.RenewLock.class, Action.StartReplica.class);
        Action.StartReplica s = (Action.StartReplica) d.actions().get(1);
        assertThat(s.preparation()).isEqualTo(Action.Preparation.REWIND);
        assertThat(StandbyCluster.isRemote(s.leader())).isTrue();
    }

    @Test
    void s6_noLeaderAndPostgresStoppedTakesTheLockWithoutStartingAPrimary() {
        ClusterState c = new HaEngineTest.C().member("pg0").build();
        Decision d = decide(in("pg0")
                .cluster(c)
                .postgres(stopped(PostgresStatus.Role.REPLICA))
                .peersAsked(true));
        assertThat(types(d)).containsExactly(Action.AcquireLock.class);
    }

    @Test
    void s7_theOtherMembersCascadeFromTheStandbyLeaderWithTheArchive() {
        ClusterState c =
                new HaEngineTest.C().leader("pg0").member("pg0").member("pg1").build();
        Decision d =
                decide(in("pg1").cluster(c).postgres(replica(5000)).divergence(new HaInput.Divergence("pg0", false)));
        assertThat(types(d)).containsExactly(Action.Follow.class);
        Member up = ((Action.Follow) d.actions().get(0)).upstream();
        assertThat(up.name()).isEqualTo("pg0");
        StandbySource s = StandbySource.of(up);
        assertThat(s.remote()).isFalse();
        assertThat(s.recoverySettings()).containsOnlyKeys("restore_command");
    }

    @Test
    void s8_aSwitchoverRequestIsClearedNotCarriedOut() {
        ClusterState c = new HaEngineTest.C()
                .leader("pg0")
                .member("pg0")
                .member("pg1")
                .failover("pg0", "pg1", null)
                .build();
        String remote = StandbyCluster.remote(standby()).name();
        Decision d = decide(
                in("pg0").cluster(c).postgres(replica(5000)).following(remote).peersAsked(true));
        assertNeverPromotes(d);
        assertThat(types(d)).contains(Action.ClearFailover.class).doesNotContain(Action.Demote.class);
    }

    @Test
    void s9_inPauseTheCandidateLockHolderStaysAStandbyLeader() {
        Map<String, Object> raw = new LinkedHashMap<>(standby().raw());
        raw.put("pause", true);
        ClusterState c = new HaEngineTest.C()
                .leader("pg1")
                .member("pg0")
                .member("pg1")
                .failover(null, "pg1", null)
                .build();
        Decision d = engine.decide(in("pg1")
                .cluster(c)
                .postgres(replica(5000))
                .config(DynamicConfig.from(raw))
                .memberConfig(DynamicConfig.from(raw))
                .build());
        assertNeverPromotes(d);
        assertThat(d.reason()).startsWith("PAUSE: ");
    }

    @Test
    void removingTheSectionPromotesTheStandbyLeader() {
        ClusterState c =
                new HaEngineTest.C().leader("pg0").member("pg0").member("pg1").build();
        Decision d = engine.decide(in("pg0")
                .cluster(c)
                .postgres(replica(5000))
                .config(DynamicConfig.DEFAULTS)
                .memberConfig(DynamicConfig.DEFAULTS)
                .build());
        assertThat(types(d)).contains(Action.Promote.class);
    }
}
