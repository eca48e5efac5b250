package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.SyncState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Quorum commit on the leader ({@link QuorumCommit#plan}), before a promotion and in the race: the
 * rows of docs/engine.md's "Quorum commit" table.
 */
class QuorumCommitTest {
    private static final String SYSID = "7000000000000000001";

    private static DynamicConfig cfg(Object... kv) {
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("ttl", 30);
        raw.put("loop_wait", 10);
        raw.put("synchronous_mode", "quorum");
        for (int i = 0; i < kv.length; i += 2) {
            raw.put((String) kv[i], kv[i + 1]);
        }
        return DynamicConfig.from(raw);
    }

    private static ReplicationRow row(String name, String syncState, long flush) {
        return new ReplicationRow("replicator", name, "127.0.0.1", "streaming", syncState, 0, flush, flush, flush);
    }

    private static PostgresStatus primary(long lsn, String ssn, ReplicationRow... rows) {
        return new PostgresStatus(
                "running",
                PostgresStatus.Role.PRIMARY,
                2,
                lsn,
                0,
                0,
                null,
                false,
                null,
                SYSID,
                150000,
                null,
                List.of(rows),
                List.of(),
                false,
                ssn);
    }

    private static ClusterState cluster(String syncJson, String... members) {
        HaEngineTest.C c = new HaEngineTest.C().leader("pg0").member("pg0");
        for (String m : members) {
            c.member(m, "running", 1000, null);
        }
        if (syncJson != null) {
            c.b.sync(syncJson, 77);
        }
        return c.build();
    }

    @Test
    void noKeyYet_theLeaderMakesItsOwnWithNobodyInIt() {
        List<Action> a =
                QuorumCommit.plan("pg0", cluster(null, "pg1"), primary(1000, "", row("pg1", "async", 1000)), cfg(), 0);
        assertThat(a).containsExactly(new Action.WriteSync(new SyncState("pg0", List.of(), 0, Dcs.ABSENT), Dcs.ABSENT));
    }

    @Test
    void standbysJoin_synchronousStandbyNamesFirst_thenTheKeyOnceTheyCaughtUp() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":null,\"quorum\":0}", "pg1", "pg2");
        List<Action> first = QuorumCommit.plan(
                "pg0", c, primary(1000, "", row("pg1", "async", 1000), row("pg2", "async", 1000)), cfg(), 0);
        assertThat(first).containsExactly(new Action.SetSynchronousStandbyNames("ANY 1 (pg1,pg2)"));

        // listed and quorum, but neither has flushed up to where the primary was when the list changed
        assertThat(QuorumCommit.plan(
                        "pg0",
                        c,
                        primary(2000, "ANY 1 (pg1,pg2)", row("pg1", "quorum", 1500), row("pg2", "quorum", 1500)),
                        cfg(),
                        1800))
                .isEmpty();

        // pg1 caught up: it holds every commit, so the key may name both with a quorum of one
        List<Action> next = QuorumCommit.plan(
                "pg0",
                c,
                primary(2000, "ANY 1 (pg1,pg2)", row("pg1", "quorum", 2000), row("pg2", "quorum", 1500)),
                cfg(),
                1800);
        assertThat(next).containsExactly(new Action.WriteSync(new SyncState("pg0", List.of("pg1", "pg2"), 1, 77), 77));
    }

    @Test
    void aSettledQuorumNeedsNothing() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2\",\"quorum\":1}", "pg1", "pg2");
        assertThat(QuorumCommit.plan(
                        "pg0",
                        c,
                        primary(2000, "ANY 1 (pg1,pg2)", row("pg1", "quorum", 2000), row("pg2", "quorum", 2000)),
                        cfg(),
                        0))
                .isEmpty();
    }

    @Test
    void aLostStandbyLeavesPostgresFirstAndTheKeyInALaterCycle() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2\",\"quorum\":1}", "pg1", "pg2");
        List<Action> a =
                QuorumCommit.plan("pg0", c, primary(2000, "ANY 1 (pg1,pg2)", row("pg1", "quorum", 2000)), cfg(), 0);
        // pg2 may have been the one to acknowledge the last commits under ANY 1 (pg1,pg2): the key
        // keeps it until the new value is in force
        assertThat(a).containsExactly(new Action.SetSynchronousStandbyNames("ANY 1 (pg1)"));
    }

    @Test
    void afterARemovalTheKeysQuorumDropsOnlyOnceAStandbyFlushedPastTheChange() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2\",\"quorum\":1}", "pg1", "pg2");
        // synchronous_standby_names changed at 2500; pg1 has flushed only 2000 so far: pg2 leaves the
        // voters, and the quorum stays high enough that pg1 cannot win the race alone
        assertThat(QuorumCommit.plan("pg0", c, primary(2500, "ANY 1 (pg1)", row("pg1", "quorum", 2000)), cfg(), 2500))
                .containsExactly(new Action.WriteSync(new SyncState("pg0", List.of("pg1"), 1, 77), 77));
        // once pg1 flushed past 2500 it holds every commit acknowledged before: quorum 0
        ClusterState after = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\",\"quorum\":1}", "pg1", "pg2");
        assertThat(QuorumCommit.plan(
                        "pg0", after, primary(2600, "ANY 1 (pg1)", row("pg1", "quorum", 2600)), cfg(), 2500))
                .containsExactly(new Action.WriteSync(new SyncState("pg0", List.of("pg1"), 0, 77), 77));
    }

    @Test
    void priorityModesValueIsRewrittenAsAny() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\",\"quorum\":0}", "pg1");
        assertThat(QuorumCommit.plan("pg0", c, primary(2000, "pg1", row("pg1", "sync", 2000)), cfg(), 0))
                .containsExactly(new Action.SetSynchronousStandbyNames("ANY 1 (pg1)"));
    }

    @Test
    void strictWithNobodyToWaitFor_keepsWaitingForTheVoters() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2\",\"quorum\":1}", "pg1", "pg2");
        assertThat(QuorumCommit.plan(
                        "pg0", c, primary(2000, "ANY 1 (pg1,pg2)"), cfg("synchronous_mode_strict", true), 0))
                .isEmpty();
        ClusterState empty = cluster("{\"leader\":\"pg0\",\"sync_standby\":null,\"quorum\":0}", "pg1");
        assertThat(QuorumCommit.plan("pg0", empty, primary(2000, ""), cfg("synchronous_mode_strict", true), 0))
                .containsExactly(new Action.SetSynchronousStandbyNames("*"));
    }

    @Test
    void beforePromotion_waitsForEnoughOfTheFormerQuorum() {
        // pg0 led with quorum 1 of pg1,pg2,pg3 (ANY 2): pg1 promotes waiting for 2 of pg0,pg2,pg3
        ClusterState c =
                cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2,pg3\",\"quorum\":1}", "pg1", "pg2", "pg3");
        assertThat(QuorumCommit.beforePromote("pg1", c, cfg())).isEqualTo("ANY 2 (pg0,pg2,pg3)");
        // a member outside the voters that gathered its votes waits for one more
        assertThat(QuorumCommit.beforePromote("pg4", c, cfg())).isEqualTo("ANY 3 (pg0,pg1,pg2,pg3)");
    }

    @Test
    void theRace_aCandidateNeedsQuorumVotesFromMembersNotAheadOfIt() {
        ClusterState c =
                cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2,pg3\",\"quorum\":1}", "pg1", "pg2", "pg3");
        PeerStatus pg1 = peer("pg1", 1, 900);
        PeerStatus pg2 = peer("pg2", 1, 1000);
        PeerStatus pg3 = peer("pg3", 1, 800);
        // pg2 is ahead of pg1, pg3 is behind: one vote, enough
        assertThat(QuorumCommit.whyNoQuorum(pg1, false, c, List.of(pg2, pg3))).isNull();
        // pg3 alone: nobody behind it
        assertThat(QuorumCommit.whyNoQuorum(pg3, false, c, List.of(pg1, pg2)))
                .contains("pg3 has 0 of the 1 votes needed");
        // a voter on a later timeline is ahead whatever its position
        assertThat(QuorumCommit.whyNoQuorum(pg1, false, c, List.of(peer("pg2", 2, 500), peer("pg3", 2, 500))))
                .contains("0 of the 1");
        // a member outside the voters needs quorum votes of its own
        assertThat(QuorumCommit.whyNoQuorum(peer("pg4", 1, 1000), false, c, List.of(pg1, pg2, pg3)))
                .isNull();
        assertThat(QuorumCommit.whyNoQuorum(peer("pg4", 1, 1000), false, c, List.of(pg1)))
                .contains("0 of the 1");
    }

    @Test
    void theRace_theKeysLeaderNeedsNoVoteWhileItIsStillAPrimaryAndNobodyIsAhead() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1,pg2\",\"quorum\":1}", "pg1", "pg2");
        PeerStatus pg0 = peer("pg0", 1, 1000);
        assertThat(QuorumCommit.whyNoQuorum(pg0, true, c, List.of())).isNull();
        // a replica since (another member was promoted and had not moved the key yet): votes needed
        assertThat(QuorumCommit.whyNoQuorum(pg0, false, c, List.of())).contains("0 of the 1");
        assertThat(QuorumCommit.whyNoQuorum(pg0, true, c, List.of(peer("pg1", 1, 2000))))
                .contains("0 of the 1");
    }

    /**
     * Issue 16 (seed 114582670 before the fix): pg0 led timeline 1 with quorum 1 of pg2,pg3 (ANY 1);
     * pg2 won the lock, promoted to timeline 2 with ANY 1 (pg0,pg3), took writes pg3 acknowledged and
     * left before moving the key. pg3, which holds those writes, is out of sight (its member key
     * lapsed while it was cut off from the DCS). pg0 comes back: still a primary's data directory,
     * still the key's leader, nobody ahead in sight, but it no longer has every acknowledged commit.
     */
    @Test
    void theRace_theKeysLeaderNeedsVotesOnceTheHistoryRecordsALaterTimeline() {
        String key = "{\"leader\":\"pg0\",\"sync_standby\":\"pg2,pg3\",\"quorum\":1}";
        HaEngineTest.C promotedSince = new HaEngineTest.C().member("pg0").history(1);
        promotedSince.b.sync(key, 77);
        PeerStatus formerPrimary = peer("pg0", 1, 1000);
        assertThat(QuorumCommit.whyNoQuorum(formerPrimary, true, promotedSince.build(), List.of()))
                .contains("pg0 has 0 of the 1 votes needed");
        // entries for timelines before its own are its own past: pg0 was promoted to timeline 2 itself
        HaEngineTest.C itsOwnPromotion = new HaEngineTest.C().member("pg0").history(1);
        itsOwnPromotion.b.sync(key, 77);
        assertThat(QuorumCommit.whyNoQuorum(peer("pg0", 2, 1000), true, itsOwnPromotion.build(), List.of()))
                .isNull();
    }

    private static PeerStatus peer(String name, long timeline, long lsn) {
        return new PeerStatus(name, "replica", "running", lsn, timeline, false, 1);
    }
}
