package io.pgha.ha;

import static io.pgha.ha.HaEngineTest.in;
import static io.pgha.ha.HaEngineTest.peer;
import static io.pgha.ha.HaEngineTest.primary;
import static io.pgha.ha.HaEngineTest.replica;
import static io.pgha.ha.HaEngineTest.stopped;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The decisions that used to be made by the node and are now the engine's (docs/engine.md, rows
 * 20a–20f, 35a–35c, 37–40 and the inquiries): whether a stopped member starts as it is, is rewound,
 * re-cloned or left alone; whether a running replica stops to be rewound; whom to ask before
 * deciding; what a shutdown does; whether a restart request applies.
 */
class RejoinTest {
    private final HaEngine engine = new HaEngine();
    private static final ClusterState LED_BY_PG1 =
            new HaEngineTest.C().leader("pg1").primaryMember("pg1").build();

    private static DynamicConfig rejoin(boolean usePgRewind, boolean removeOnRewindFailure, boolean removeOnDiverged) {
        return DynamicConfig.from(Map.of(
                "postgresql",
                Map.of(
                        "use_pg_rewind", usePgRewind,
                        "remove_data_directory_on_rewind_failure", removeOnRewindFailure,
                        "remove_data_directory_on_diverged_timelines", removeOnDiverged)));
    }

    private static HaInput.Builder stoppedFormerPrimary() {
        return in("pg0").cluster(LED_BY_PG1).postgres(stopped(PostgresStatus.Role.PRIMARY));
    }

    private static Action.StartReplica startReplica(Decision d) {
        assertThat(d.actions()).hasSize(1).first().isInstanceOf(Action.StartReplica.class);
        return (Action.StartReplica) d.actions().get(0);
    }

    @Nested
    class AStoppedMemberRejoinsTheLeader {
        @Test
        void firstChecksWhetherItsHistoryDivergedFromAPrimaryLeader() {
            Decision d = engine.decide(stoppedFormerPrimary().build());
            assertThat(d.actions())
                    .containsExactly(
                            new Action.CheckDivergence(LED_BY_PG1.leaderMember().get()));
            assertThat(d.reason()).contains("checking whether my history diverged from the leader (pg1)");
        }

        @Test
        void startsAsItIsWhenItDidNotDiverge() {
            Decision d = engine.decide(stoppedFormerPrimary()
                    .divergence(new HaInput.Divergence("pg1", false))
                    .build());
            assertThat(d.reason()).contains("starting former primary as a replica of the leader (pg1)");
            Action.StartReplica s = startReplica(d);
            assertThat(s.preparation()).isEqualTo(Action.Preparation.NONE);
            assertThat(s.leaderIsPrimary()).isTrue();
        }

        @Test
        void aCheckAgainstAnotherLeaderDoesNotCount() {
            Decision d = engine.decide(stoppedFormerPrimary()
                    .divergence(new HaInput.Divergence("pg2", false))
                    .build());
            assertThat(d.actions()).singleElement().isInstanceOf(Action.CheckDivergence.class);
        }

        @Test
        void isRewoundWhenDivergedAndUsePgRewindIsOn() {
            Decision d = engine.decide(stoppedFormerPrimary()
                    .divergence(new HaInput.Divergence("pg1", true))
                    .build());
            assertThat(startReplica(d).preparation()).isEqualTo(Action.Preparation.REWIND);
            assertThat(d.reason()).contains("my history diverged from it, rewinding");
        }

        @Test
        void aFailedRewindIsTriedAgainUnlessReCloningIsAllowed() {
            HaInput.Builder b = stoppedFormerPrimary()
                    .divergence(new HaInput.Divergence("pg1", true))
                    .rewindFailedFrom("pg1");
            assertThat(startReplica(engine.decide(
                                    b.memberConfig(rejoin(true, false, false)).build()))
                            .preparation())
                    .isEqualTo(Action.Preparation.REWIND);
            Decision reclone =
                    engine.decide(b.memberConfig(rejoin(true, true, false)).build());
            assertThat(startReplica(reclone).preparation()).isEqualTo(Action.Preparation.RECLONE);
            assertThat(reclone.reason()).contains("pg_rewind failed, removing the data directory and cloning again");
        }

        @Test
        void withoutPgRewindItIsReClonedWhereAllowedElseLeftAlone() {
            HaInput.Builder b = stoppedFormerPrimary().divergence(new HaInput.Divergence("pg1", true));
            assertThat(startReplica(engine.decide(
                                    b.memberConfig(rejoin(false, false, true)).build()))
                            .preparation())
                    .isEqualTo(Action.Preparation.RECLONE);
            Decision alone =
                    engine.decide(b.memberConfig(rejoin(false, false, false)).build());
            assertThat(alone.actions()).isEmpty();
            assertThat(alone.reason())
                    .contains("has diverged from the leader pg1 and use_pg_rewind is off")
                    .contains("remove_data_directory_on_diverged_timelines");
        }

        @Test
        void theMembersOwnSettingsDecideNotOnlyTheClusters() {
            // the dynamic config allows nothing; the member's own postgresql section allows a re-clone
            Decision d = engine.decide(stoppedFormerPrimary()
                    .config(rejoin(false, false, false))
                    .memberConfig(rejoin(false, false, true))
                    .divergence(new HaInput.Divergence("pg1", true))
                    .build());
            assertThat(startReplica(d).preparation()).isEqualTo(Action.Preparation.RECLONE);
        }
    }

    @Nested
    class ARunningReplicaFollowsANewLeader {
        @Test
        void checksBeforeFollowingAPrimaryLeader() {
            Decision d = engine.decide(
                    in("pg2").cluster(LED_BY_PG1).postgres(replica(5)).build());
            assertThat(d.actions()).singleElement().isInstanceOf(Action.CheckDivergence.class);
        }

        @Test
        void followsAndRemembersWhenItDidNotDiverge() {
            Decision d = engine.decide(in("pg2")
                    .cluster(LED_BY_PG1)
                    .postgres(replica(5))
                    .divergence(new HaInput.Divergence("pg1", false))
                    .build());
            assertThat(d.actions())
                    .containsExactly(new Action.Follow(LED_BY_PG1.leaderMember().get(), true));
        }

        @Test
        void stopsToBeRewoundWhenItDiverged() {
            Decision d = engine.decide(in("pg2")
                    .cluster(LED_BY_PG1)
                    .postgres(replica(5))
                    .divergence(new HaInput.Divergence("pg1", true))
                    .build());
            assertThat(d.actions())
                    .containsExactly(
                            new Action.StopToRewind(LED_BY_PG1.leaderMember().get()));
            assertThat(d.reason()).contains("diverged from the new leader (pg1): stopping to rewind");
        }

        @Test
        void followsALeaderStillBeingPromotedWithoutRememberingIt() {
            ClusterState promoting =
                    new HaEngineTest.C().leader("pg1").member("pg1").build();
            Decision d = engine.decide(
                    in("pg2").cluster(promoting).postgres(replica(5)).build());
            assertThat(d.actions())
                    .containsExactly(new Action.Follow(promoting.leaderMember().get(), false));
        }
    }

    @Nested
    class Inquiries {
        @Test
        void theRaceAsksThePeersFirst() {
            ClusterState noLeader =
                    new HaEngineTest.C().member("pg0").member("pg1").build();
            Decision d = engine.decide(in("pg1")
                    .cluster(noLeader)
                    .postgres(replica(1000))
                    .peersAsked(false)
                    .build());
            assertThat(d.actions())
                    .singleElement()
                    .isInstanceOfSatisfying(
                            Action.ProbePeers.class,
                            p -> assertThat(p.members())
                                    .extracting(m -> m.name())
                                    .containsExactly("pg0"));
            // answered: the race itself
            Decision raced = engine.decide(in("pg1")
                    .cluster(noLeader)
                    .postgres(replica(1000))
                    .peers(Map.of("pg0", peer("pg0", "replica", 900)))
                    .build());
            assertThat(raced.actions()).containsExactly(new Action.AcquireLock());
        }

        @Test
        void failsafeModeAsksTheMembersOfTheFailsafeKeyToo() {
            ClusterState withKey = ClusterState.builder("demo")
                    .initialize("7000000000000000001", 1)
                    .member("pg1", "{\"api_url\":\"http://pg1/patroni\",\"state\":\"running\",\"role\":\"replica\"}", 3)
                    .failsafe("{\"pg0\":\"http://pg0/patroni\",\"pg1\":\"http://pg1/patroni\"}")
                    .build();
            Decision d = engine.decide(in("pg1")
                    .cluster(withKey)
                    .config(DynamicConfig.from(Map.of("failsafe_mode", true)))
                    .postgres(replica(1000))
                    .peersAsked(false)
                    .build());
            assertThat(d.actions())
                    .singleElement()
                    .isInstanceOfSatisfying(
                            Action.ProbePeers.class,
                            p -> assertThat(p.members())
                                    .extracting(m -> m.name())
                                    .containsExactly("pg0"));
        }

        @Test
        void aFollowingReplicaAsksNobody() {
            Decision d = engine.decide(in("pg2")
                    .cluster(LED_BY_PG1)
                    .postgres(replica(5))
                    .following("pg1")
                    .peersAsked(false)
                    .build());
            assertThat(d.inquiry()).isNull();
            assertThat(d.actions()).allMatch(a -> a instanceof Action.ChangeSlots);
        }

        @Test
        void aPrimaryCutOffFromTheDcsCallsTheFailsafeMembersOnce() {
            HaInput.Builder b = in("pg0")
                    .dcsError("timeout")
                    .config(DynamicConfig.from(Map.of("failsafe_mode", true)))
                    .postgres(primary(100))
                    .lockValidUntil(HaEngineTest.NOW.plusSeconds(2))
                    .lastFailsafeKey(Map.of("pg0", "http://pg0/patroni", "pg1", "http://pg1/patroni"));
            assertThat(engine.decide(b.build()).actions())
                    .containsExactly(new Action.CallFailsafe(Map.of("pg1", "http://pg1/patroni")));
            // refused: as without failsafe mode (the lock is about to expire: demote)
            assertThat(engine.decide(b.failsafeConfirmed(false).build()).actions())
                    .singleElement()
                    .isInstanceOf(Action.Demote.class);
        }

        @Test
        void aPrimaryTheFailsafeKeyDoesNotNameCallsNobody() {
            Decision d = engine.decide(in("pg0")
                    .dcsError("timeout")
                    .config(DynamicConfig.from(Map.of("failsafe_mode", true)))
                    .postgres(primary(100))
                    .lastFailsafeKey(Map.of("pg1", "http://pg1/patroni"))
                    .build());
            assertThat(d.actions()).singleElement().isInstanceOf(Action.Demote.class);
            assertThat(d.reason()).contains("the last failsafe key read does not name me");
        }
    }

    @Nested
    class Shutdown {
        private final Instant now = HaEngineTest.NOW;

        @Test
        void aLeaderStopsGracefullyAndReleasesTheLock() {
            Decision d = engine.decideShutdown(in("pg0")
                    .postgres(primary(100))
                    .lockValidUntil(now.plusSeconds(20))
                    .build());
            assertThat(d.actions())
                    .containsExactly(new Action.Demote(StopMode.FAST, true, true, Action.DemoteCause.SHUTDOWN));
        }

        @Test
        void aLeaderWhosePostgresIsDownRecordsItsLastPositionAndReleases() {
            Decision d = engine.decideShutdown(in("pg0")
                    .postgres(stopped(PostgresStatus.Role.PRIMARY))
                    .lockValidUntil(now.plusSeconds(20))
                    .build());
            assertThat(d.actions()).containsExactly(new Action.WriteStatus(1000), new Action.ReleaseLock());
        }

        @Test
        void inPauseNothingIsStoppedOrReleased() {
            io.pgha.config.DynamicConfig paused = io.pgha.config.DynamicConfig.from(Map.of("pause", true));
            assertThat(engine.decideShutdown(in("pg0")
                                    .config(paused)
                                    .postgres(primary(100))
                                    .lockValidUntil(now.plusSeconds(20))
                                    .build())
                            .actions())
                    .isEmpty();
            assertThat(engine.decideShutdown(in("pg1")
                                    .config(paused)
                                    .postgres(replica(5))
                                    .build())
                            .actions())
                    .isEmpty();
        }

        @Test
        void aReplicaStopsAndAStoppedOneDoesNothing() {
            assertThat(engine.decideShutdown(in("pg1").postgres(replica(5)).build())
                            .actions())
                    .containsExactly(new Action.Stop());
            assertThat(engine.decideShutdown(in("pg1")
                                    .postgres(stopped(PostgresStatus.Role.REPLICA))
                                    .build())
                            .actions())
                    .isEmpty();
        }
    }

    @Test
    void aRestartRequestAppliesByRoleAndPendingRestart() {
        assertThat(HaEngine.restartApplies(new RestartRequest(null, "master", null, false, null), primary(1)))
                .isTrue();
        assertThat(HaEngine.restartApplies(new RestartRequest(null, "replica", null, false, null), primary(1)))
                .isFalse();
        assertThat(HaEngine.restartApplies(new RestartRequest(null, null, null, true, null), replica(1)))
                .isFalse();
        assertThat(HaEngine.restartApplies(
                        new RestartRequest(null, "primary", null, false, null), stopped(PostgresStatus.Role.PRIMARY)))
                .isTrue();
    }
}
