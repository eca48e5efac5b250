package io.pgha.ha;

import static io.pgha.ha.HaEngineTest.in;
import static io.pgha.ha.HaEngineTest.replica;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Whom a replica streams from ({@link Upstream}): Patroni's {@code replicatefrom} and
 * {@code nostream} tags, the fallback to the leader, and the engine's use of it (the replica's
 * Follow, the leader's slots).
 */
class UpstreamTest {

    private final ClusterState.Builder b = ClusterState.builder("demo");
    private long v = 10;

    private UpstreamTest member(String name, String role, String state, String replicationState, Map<String, ?> tags) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("conn_url", "postgres://127.0.0.1:5432/postgres");
        m.put("api_url", "http://127.0.0.1:8008/patroni");
        m.put("state", state);
        m.put("role", role);
        m.put("xlog_location", 1000);
        if (replicationState != null) {
            m.put("replication_state", replicationState);
        }
        if (tags != null) {
            m.put("tags", tags);
        }
        b.member(name, DcsJson.write(m), v++);
        return this;
    }

    /** pg0 leads; pg1 a streaming replica; pg2 tagged as given. */
    private ClusterState cascade(Map<String, ?> pg2Tags) {
        b.initialize(HaEngineTest.SYSID, 1);
        b.leader("pg0", v++);
        member("pg0", "primary", "running", null, null);
        member("pg1", "replica", "running", "streaming", null);
        member("pg2", "replica", "running", "streaming", pg2Tags);
        return b.build();
    }

    private static String upstream(String name, Map<String, Object> tags, ClusterState c) {
        return Upstream.of(name, tags, c).map(Member::name).orElse("<nobody>");
    }

    @Test
    void withoutTagsTheLeader() {
        ClusterState c = cascade(null);
        assertThat(upstream("pg2", Map.of(), c)).isEqualTo("pg0");
        assertThat(Upstream.streamingFrom("pg0", c)).containsExactly("pg1", "pg2");
        assertThat(Upstream.streamingFrom("pg1", c)).isEmpty();
    }

    @Test
    void replicatefromNamesAStreamingReplica() {
        ClusterState c = cascade(Map.of("replicatefrom", "pg1"));
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg1"), c)).isEqualTo("pg1");
        // the leader keeps no slot for a member that cascades from another one; pg1 serves it
        assertThat(Upstream.streamingFrom("pg0", c)).containsExactly("pg1");
        assertThat(Upstream.streamingFrom("pg1", c)).containsExactly("pg2");
    }

    @Test
    void replicatefromTheLeaderOrItselfIsTheLeader() {
        ClusterState c = cascade(null);
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg0"), c)).isEqualTo("pg0");
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg2"), c)).isEqualTo("pg0");
        assertThat(upstream("pg2", Map.of("replicatefrom", " "), c)).isEqualTo("pg0");
    }

    @Test
    void fallsBackToTheLeaderWhenTheNamedMemberIsGone() {
        // Patroni 3.0.2's only fallback: no member key
        ClusterState c = cascade(null);
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg9"), c)).isEqualTo("pg0");
    }

    @Test
    void fallsBackWhileTheNamedMemberIsNotRunningOrNotStreaming() {
        b.initialize(HaEngineTest.SYSID, 1);
        b.leader("pg0", v++);
        member("pg0", "primary", "running", null, null);
        member("pg1", "replica", "starting", null, null);
        member("pg3", "replica", "running", "in archive recovery", null);
        ClusterState c = b.build();
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg1"), c)).isEqualTo("pg0");
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg3"), c)).isEqualTo("pg0");
        assertThat(Upstream.describe(
                        Upstream.of("pg2", Map.of("replicatefrom", "pg3"), c), Map.of("replicatefrom", "pg3"), c))
                .isEqualTo("the leader (pg0), as replicatefrom's pg3 cannot serve WAL now");
    }

    @Test
    void aPatroniMemberThatPublishesNoReplicationStateCanServe() {
        b.initialize(HaEngineTest.SYSID, 1);
        b.leader("pg0", v++);
        member("pg0", "primary", "running", null, null);
        member("pg1", "replica", "running", null, null);
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg1"), b.build())).isEqualTo("pg1");
    }

    @Test
    void aCycleOfReplicatefromFallsBackToTheLeader() {
        b.initialize(HaEngineTest.SYSID, 1);
        b.leader("pg0", v++);
        member("pg0", "primary", "running", null, null);
        member("pg1", "replica", "running", "streaming", Map.of("replicatefrom", "pg2"));
        member("pg2", "replica", "running", "streaming", Map.of("replicatefrom", "pg1"));
        ClusterState c = b.build();
        assertThat(upstream("pg1", Map.of("replicatefrom", "pg2"), c)).isEqualTo("pg0");
        assertThat(upstream("pg2", Map.of("replicatefrom", "pg1"), c)).isEqualTo("pg0");
        assertThat(Upstream.streamingFrom("pg0", c)).containsExactly("pg1", "pg2");
    }

    @Test
    void nostreamStreamsFromNobodyAndHasNoSlot() {
        ClusterState c = cascade(Map.of("nostream", true));
        assertThat(Upstream.of("pg2", Map.of("nostream", true), c)).isEmpty();
        assertThat(Upstream.nameOf(Optional.empty())).isEqualTo(Upstream.NONE);
        assertThat(Upstream.streamingFrom("pg0", c)).containsExactly("pg1");
        // a cascade from a nostream member would receive only what the archive gave it: the leader then
        assertThat(upstream("pg1", Map.of("replicatefrom", "pg2"), cascadeWithNostreamPg2()))
                .isEqualTo("pg0");
    }

    private ClusterState cascadeWithNostreamPg2() {
        ClusterState.Builder other = ClusterState.builder("demo");
        other.initialize(HaEngineTest.SYSID, 1);
        other.leader("pg0", 1);
        other.member("pg0", "{\"conn_url\":\"postgres://h:1/postgres\",\"state\":\"running\",\"role\":\"primary\"}", 2);
        other.member(
                "pg2",
                "{\"conn_url\":\"postgres://h:3/postgres\",\"state\":\"running\",\"role\":\"replica\","
                        + "\"replication_state\":\"in archive recovery\",\"tags\":{\"nostream\":true}}",
                3);
        return other.build();
    }

    @Test
    void aLeaderWhoseOwnRecordIsMissingKeepsTheSlotsOfItsMembers() {
        b.initialize(HaEngineTest.SYSID, 1);
        b.leader("pg0", v++);
        member("pg1", "replica", "running", "streaming", null);
        member("pg2", "replica", "running", "streaming", Map.of("nostream", "true"));
        assertThat(Upstream.streamingFrom("pg0", b.build())).containsExactly("pg1");
    }

    // ---- the engine uses it -----------------------------------------------------------------------

    private final HaEngine engine = new HaEngine();

    @Test
    void aRunningReplicaFollowingTheLeaderMovesToItsReplicatefromMember() {
        ClusterState c = cascade(Map.of("replicatefrom", "pg1"));
        Decision d = engine.decide(in("pg2")
                .cluster(c)
                .tags(Map.of("replicatefrom", "pg1"))
                .postgres(replica(1000))
                .following("pg0")
                .divergence(new HaInput.Divergence("pg0", false))
                .build());
        assertThat(d.actions())
                .containsExactly(new Action.Follow(c.member("pg1").get(), true));
        assertThat(d.reason()).isEqualTo("replicating from pg1 (replicatefrom)");
    }

    @Test
    void nothingToDoOnceItFollowsItsUpstream() {
        ClusterState c = cascade(Map.of("replicatefrom", "pg1"));
        Decision d = engine.decide(in("pg2")
                .cluster(c)
                .tags(Map.of("replicatefrom", "pg1"))
                .postgres(replica(1000))
                .following("pg1")
                .build());
        // nothing but the replica's own slots (SlotPlan: member slots for the others, SlotPlanTest)
        assertThat(d.actions()).allMatch(a -> a instanceof Action.ChangeSlots);
    }

    @Test
    void aNostreamReplicaIsPointedAtNobodyOnce() {
        ClusterState c = cascade(Map.of("nostream", true));
        HaInput.Builder pg2 = in("pg2")
                .cluster(c)
                .tags(Map.of("nostream", true))
                .postgres(replica(1000))
                .following("pg0")
                .divergence(new HaInput.Divergence("pg0", false));
        Decision d = engine.decide(pg2.build());
        assertThat(d.actions()).containsExactly(new Action.Follow(null, true));
        assertThat(d.reason()).contains("not streaming (nostream)");
        assertThat(engine.decide(pg2.following(Upstream.NONE).build()).actions())
                .allMatch(a -> a instanceof Action.ChangeSlots);
    }

    @Test
    void aStoppedNostreamMemberStartsWithNoUpstream() {
        ClusterState c = cascade(Map.of("nostream", true));
        Decision d = engine.decide(in("pg2")
                .cluster(c)
                .tags(Map.of("nostream", true))
                .postgres(HaEngineTest.stopped(PostgresStatus.Role.REPLICA))
                .divergence(new HaInput.Divergence("pg0", false))
                .build());
        assertThat(d.actions()).singleElement().isInstanceOfSatisfying(Action.StartReplica.class, s -> {
            assertThat(s.leader().name()).isEqualTo("pg0");
            assertThat(s.upstream()).isNull();
        });
    }

    @Test
    void theLeaderKeepsSlotsOnlyForTheMembersThatStreamFromIt() {
        ClusterState c = cascade(Map.of("replicatefrom", "pg1"));
        Decision d = engine.decide(in("pg0")
                .cluster(c)
                .postgres(HaEngineTest.primary(1000))
                .lockValidUntil(HaEngineTest.NOW.plusSeconds(30))
                .build());
        assertThat(d.actions())
                .filteredOn(a -> a instanceof Action.ChangeSlots)
                .singleElement()
                .satisfies(a -> assertThat(((Action.ChangeSlots) a).changes().create())
                        .extracting(io.pgha.postgres.SlotChanges.NewSlot::name)
                        .contains("pg1"));
    }
}
