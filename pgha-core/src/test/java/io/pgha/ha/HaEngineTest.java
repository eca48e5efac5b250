package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The engine decision by decision: each test is one row of docs/engine.md's table (situation,
 * expected actions, reason).
 */
class HaEngineTest {
    static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    static final String SYSID = "7000000000000000001";
    private final HaEngine engine = new HaEngine();

    // ---- fixtures ---------------------------------------------------------------------------------

    static PostgresStatus primary(long lsn) {
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
                List.of(),
                List.of(),
                false,
                null);
    }

    static PostgresStatus replica(long lsn) {
        return new PostgresStatus(
                "running",
                PostgresStatus.Role.REPLICA,
                2,
                0,
                lsn,
                lsn,
                null,
                false,
                "streaming",
                SYSID,
                150000,
                null,
                List.of(),
                List.of(),
                false,
                null);
    }

    static PostgresStatus stopped(PostgresStatus.Role role) {
        return PostgresStatus.stopped(role, SYSID, 2, 1000);
    }

    static PostgresStatus noData() {
        return new PostgresStatus(
                "stopped", null, 0, 0, 0, 0, null, false, null, null, 0, null, List.of(), List.of(), false, null);
    }

    /** A cluster builder with Patroni's JSON. */
    static final class C {
        final ClusterState.Builder b = ClusterState.builder("demo");
        private long v = 10;

        C() {
            b.initialize(SYSID, 1);
            b.config("{\"ttl\":30,\"loop_wait\":10}", 2);
        }

        C leader(String name) {
            b.leader(name, v++);
            return this;
        }

        C member(String name, String state, long lsn, Map<String, Object> tags) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("conn_url", "postgres://127.0.0.1:5432/postgres");
            m.put("api_url", "http://127.0.0.1:8008/patroni");
            m.put("state", state);
            m.put("role", "replica");
            m.put("xlog_location", lsn);
            if (tags != null) {
                m.put("tags", tags);
            }
            b.member(name, DcsJson.write(m), v++);
            return this;
        }

        C member(String name) {
            return member(name, "running", 1000, null);
        }

        /** A member whose record says it runs as a primary (a leader whose promotion is done). */
        C primaryMember(String name) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("conn_url", "postgres://127.0.0.1:5432/postgres");
            m.put("api_url", "http://127.0.0.1:8008/patroni");
            m.put("state", "running");
            m.put("role", "primary");
            m.put("xlog_location", 1000);
            b.member(name, DcsJson.write(m), v++);
            return this;
        }

        C optime(long lsn) {
            b.status("{\"optime\":" + lsn + "}");
            return this;
        }

        C failover(String leader, String member, Instant at) {
            Map<String, Object> f = new LinkedHashMap<>();
            if (leader != null) {
                f.put("leader", leader);
            }
            if (member != null) {
                f.put("member", member);
            }
            if (at != null) {
                f.put("scheduled_at", DcsJson.formatTimestamp(at));
            }
            b.failover(DcsJson.write(f), v++);
            return this;
        }

        C history(long... timelines) {
            List<io.pgha.dcs.HistoryEntry> h = new ArrayList<>();
            for (long t : timelines) {
                h.add(new io.pgha.dcs.HistoryEntry(t, 1000 * t, "no recovery target specified", null, "pg0"));
            }
            b.history(h, v++);
            return this;
        }

        C noInitialize() {
            b.initialize(null, -1);
            return this;
        }

        C initialize(String value) {
            b.initialize(value, 1);
            return this;
        }

        C sync(String leader, String standbys) {
            b.sync("{\"leader\":\"" + leader + "\",\"sync_standby\":\"" + standbys + "\"}", v++);
            return this;
        }

        ClusterState build() {
            return b.build();
        }
    }

    static ClusterState bare() {
        return ClusterState.builder("demo").build();
    }

    static PeerStatus peer(String name, String role, long lsn) {
        return new PeerStatus(name, role, "running", lsn, 2, false, 1);
    }

    static HaInput.Builder in(String me) {
        return HaInput.builder(me).now(NOW);
    }

    private Decision decide(HaInput.Builder b) {
        return engine.decide(b.build());
    }

    private static List<Class<?>> types(Decision d) {
        List<Class<?>> t = new ArrayList<>();
        d.actions().forEach(a -> t.add(a.getClass()));
        return t;
    }

    private static void expect(Decision d, String reasonFragment, Class<?>... actions) {
        assertThat(d.reason()).contains(reasonFragment);
        assertThat(types(d)).containsExactly(actions);
    }

    // ---- the table ------------------------------------------------------------------------------------

    @Nested
    class DcsUnavailable {
        @Test
        void replicaDoesNothing() {
            expect(
                    decide(in("pg1").postgres(replica(100)).dcsError("connection refused")),
                    "DCS is not accessible (connection refused); no action as a secondary");
        }

        @Test
        void primaryKeepsRunningWhileItsLockIsProvenValid() {
            Decision d =
                    decide(in("pg0").postgres(primary(100)).dcsError("timeout").lockValidUntil(NOW.plusSeconds(20)));
            expect(d, "keeping the primary running");
            // wakes before the lock's safety margin is reached
            assertThat(d.wakeWithin()).isLessThanOrEqualTo(Duration.ofSeconds(10));
        }

        @Test
        void primaryDemotesBeforeItsLockCanExpire() {
            Decision d =
                    decide(in("pg0").postgres(primary(100)).dcsError("timeout").lockValidUntil(NOW.plusSeconds(3)));
            expect(d, "demoting self because DCS is not accessible and I was a leader", Action.Demote.class);
            assertThat(((Action.Demote) d.actions().get(0)).mode()).isEqualTo(StopMode.IMMEDIATE);
        }

        /** As Patroni (its feature "check primary is demoted when one replica is shut down and DCS is down"). */
        @Test
        void inFailsafeModeAMemberOfTheKeyNotAgreeingDemotesAtOnceThoughTheLockIsValid() {
            Decision d = decide(in("pg0")
                    .config(DynamicConfig.from(Map.of("failsafe_mode", true)))
                    .postgres(primary(100))
                    .dcsError("timeout")
                    .lockValidUntil(NOW.plusSeconds(20))
                    .failsafeConfirmed(false));
            expect(d, "not every member of the failsafe key agreed", Action.Demote.class);
            assertThat(((Action.Demote) d.actions().get(0)).mode()).isEqualTo(StopMode.IMMEDIATE);
        }

        @Test
        void primaryWithoutAProvenLockDemotes() {
            expect(
                    decide(in("pg0").postgres(primary(100)).dcsError("timeout")),
                    "DCS is not accessible",
                    Action.Demote.class);
        }
    }

    @Test
    void aRefusedRenewalDemotesAPrimaryAtOnce() {
        expect(
                decide(in("pg0")
                        .cluster(new C()
                                .leader("pg1")
                                .member("pg0")
                                .member("pg1")
                                .build())
                        .postgres(primary(100))
                        .lockRenewFailed(true)),
                "failed to update leader lock",
                Action.Demote.class);
    }

    @Test
    void aLeaderKeepsItsLockDuringALongAction() {
        expect(
                decide(in("pg0")
                        .cluster(new C().leader("pg0").member("pg0").build())
                        .postgres(stopped(PostgresStatus.Role.PRIMARY))
                        .actionInProgress("start primary")),
                "updated leader lock during start primary",
                Action.RenewLock.class);
    }

    @Test
    void aReplicaWaitsForItsLongAction() {
        expect(
                decide(in("pg1")
                        .cluster(new C().leader("pg0").member("pg0").build())
                        .postgres(noData())
                        .dataDirectoryEmpty(true)
                        .actionInProgress("clone from")),
                "clone from in progress");
    }

    @Test
    void aForeignSystemIdentifierStopsTheAgent() {
        ClusterState c = new C().initialize("6999").leader("pg0").member("pg0").build();
        expect(decide(in("pg1").cluster(c).postgres(replica(10))), "system ID mismatch", Action.Shutdown.class);
    }

    @Nested
    class EmptyDataDirectory {
        @Test
        void noClusterYetRacesToBootstrap() {
            expect(
                    decide(in("pg0").cluster(bare()).postgres(noData()).dataDirectoryEmpty(true)),
                    "trying to bootstrap a new cluster",
                    Action.ClaimInitialize.class,
                    Action.Bootstrap.class);
        }

        @Test
        void aNofailoverMemberNeverBootstraps() {
            expect(
                    decide(in("pg0")
                            .cluster(bare())
                            .postgres(noData())
                            .dataDirectoryEmpty(true)
                            .tags(Map.of("nofailover", true))),
                    "waiting for a member to bootstrap");
        }

        @Test
        void clonesFromTheLeader() {
            Decision d = decide(in("pg1")
                    .cluster(new C().leader("pg0").member("pg0").build())
                    .postgres(noData())
                    .dataDirectoryEmpty(true));
            expect(d, "trying to bootstrap from leader 'pg0'", Action.CloneFrom.class);
        }

        @Test
        void prefersAReplicaTaggedClonefrom() {
            ClusterState c = new C()
                    .leader("pg0")
                    .member("pg0")
                    .member("pg2", "running", 10, Map.of("clonefrom", true))
                    .build();
            expect(
                    decide(in("pg1").cluster(c).postgres(noData()).dataDirectoryEmpty(true)),
                    "trying to bootstrap from replica 'pg2'",
                    Action.CloneFrom.class);
        }

        @Test
        void waitsWhileAnotherMemberBootstraps() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().initialize("").build())
                            .postgres(noData())
                            .dataDirectoryEmpty(true)),
                    "waiting for leader to bootstrap");
        }

        @Test
        void withNoLeaderAReplicaMethodThatNeedsNoneRestoresFromTheBackup() {
            // Patroni's create_replica_methods entry with no_leader
            Decision d = decide(in("pg1")
                    .cluster(new C().member("pg0", "stopped", 1000, null).build())
                    .postgres(noData())
                    .dataDirectoryEmpty(true)
                    .canCloneWithoutLeader(true));
            expect(d, "trying to bootstrap (without leader)", Action.CloneFrom.class);
            assertThat(((Action.CloneFrom) d.actions().get(0)).source()).isNull();
            expect(
                    decide(in("pg1")
                            .cluster(new C().initialize("").build())
                            .postgres(noData())
                            .dataDirectoryEmpty(true)
                            .canCloneWithoutLeader(true)),
                    "waiting for leader to bootstrap");
        }

        @Test
        void aLockHolderWithNoDataReleasesTheLock() {
            expect(
                    decide(in("pg0")
                            .cluster(new C().leader("pg0").member("pg0").build())
                            .postgres(noData())
                            .dataDirectoryEmpty(true)),
                    "data directory is empty",
                    Action.ReleaseLock.class);
        }
    }

    @Nested
    class Pause {
        final DynamicConfig paused = DynamicConfig.from(Map.of("pause", true));

        @Test
        void theLeaderKeepsItsLockAndStillManagesSlots() {
            // as Patroni: in pause a restarted replica still finds its slot on the primary
            expect(
                    decide(in("pg0")
                            .config(paused)
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .member("pg1")
                                    .build())
                            .postgres(primary(5))),
                    "PAUSE: no action. I am (pg0), the leader with the lock",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class);
        }

        @Test
        void aReinitializeRequestIsCarriedOutAsInPatroni() {
            HaInput.Builder b = in("pg1")
                    .config(paused)
                    .cluster(new C()
                            .leader("pg0")
                            .primaryMember("pg0")
                            .member("pg1")
                            .build())
                    .reinitializeRequested(true);
            expect(
                    decide(b.postgres(replica(5))),
                    "PAUSE: reinitializing from leader 'pg0' as requested",
                    Action.Reinitialize.class);
            expect(
                    decide(b.postgres(stopped(PostgresStatus.Role.REPLICA))),
                    "PAUSE: reinitializing from leader 'pg0'",
                    Action.Reinitialize.class);
        }

        @Test
        void aRunningPrimaryTakesAFreeLock() {
            expect(
                    decide(in("pg0")
                            .config(paused)
                            .cluster(new C().member("pg0").build())
                            .postgres(primary(5))),
                    "PAUSE: acquiring session lock",
                    Action.AcquireLock.class);
        }

        @Test
        void aReplicaDoesNotFailOver() {
            expect(
                    decide(in("pg1")
                            .config(paused)
                            .cluster(new C().member("pg1").build())
                            .postgres(replica(5))),
                    "PAUSE: no action. I am (pg1), a secondary");
        }

        @Test
        void aSwitchoverToANamedCandidateDemotesAndRejoinsAsItsReplica() {
            // Patroni's graceful demote in pause restarts the old primary as a replica itself
            Decision d = decide(in("pg0")
                    .config(paused)
                    .cluster(new C()
                            .leader("pg0")
                            .member("pg0")
                            .member("pg1")
                            .failover("pg0", "pg1", null)
                            .build())
                    .postgres(primary(1000))
                    .peers(Map.of("pg1", peer("pg1", "replica", 1000))));
            expect(
                    d,
                    "PAUSE: manual failover: demoting myself in favour of pg1",
                    Action.RenewLock.class,
                    Action.Demote.class);
            Action.Demote demote = (Action.Demote) d.actions().get(1);
            assertThat(demote.releaseLock()).isTrue();
            assertThat(demote.rejoin().name()).isEqualTo("pg1");
        }

        @Test
        void aSwitchoverWithoutACandidateIsCleared() {
            expect(
                    decide(in("pg0")
                            .config(paused)
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .member("pg1")
                                    .failover("pg0", null, null)
                                    .build())
                            .postgres(primary(1000))
                            .peers(Map.of("pg1", peer("pg1", "replica", 1000)))),
                    "Failover is possible only to a specific candidate in a paused state",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class,
                    Action.ClearFailover.class);
        }

        @Test
        void theCandidateTakesTheFreeLockThenPromotes() {
            expect(
                    decide(in("pg1")
                            .config(paused)
                            .cluster(new C()
                                    .member("pg0")
                                    .member("pg1")
                                    .failover("pg0", "pg1", null)
                                    .build())
                            .postgres(replica(1000))),
                    "PAUSE: manual failover: acquiring the leader lock as its candidate",
                    Action.AcquireLock.class);
            expect(
                    decide(in("pg1")
                            .config(paused)
                            .cluster(new C()
                                    .leader("pg1")
                                    .member("pg0")
                                    .member("pg1")
                                    .failover("pg0", "pg1", null)
                                    .build())
                            .postgres(replica(1000))),
                    "PAUSE: manual failover: promoting self as the candidate",
                    Action.RenewLock.class,
                    Action.ClearFailover.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        @Test
        void anotherReplicaDoesNotRaceForTheCandidate() {
            expect(
                    decide(in("pg2")
                            .config(paused)
                            .cluster(new C()
                                    .member("pg1")
                                    .member("pg2")
                                    .failover("pg0", "pg1", null)
                                    .build())
                            .postgres(replica(1000))),
                    "PAUSE: no action. I am (pg2), a secondary");
        }

        @Test
        void aRunningReplicaFollowsANewLeaderButIsNotRewound() {
            HaInput.Builder base = in("pg0")
                    .config(paused)
                    .cluster(new C()
                            .leader("pg1")
                            .primaryMember("pg1")
                            .member("pg0")
                            .build())
                    .postgres(replica(1000));
            expect(decide(base), "PAUSE: checking whether my history diverged", Action.CheckDivergence.class);
            expect(
                    decide(base.divergence(new HaInput.Divergence("pg1", false))),
                    "PAUSE: following the leader (pg1)",
                    Action.Follow.class);
            expect(decide(base.divergence(new HaInput.Divergence("pg1", true))), "not rewinding in pause");
            expect(decide(base.following("pg1")), "PAUSE: no action. I am (pg0), a secondary");
        }

        @Test
        void aPrimaryWhoseRenewalIsRefusedKeepsRunning() {
            expect(
                    decide(in("pg0")
                            .config(paused)
                            .cluster(new C().leader("pg1").member("pg0").build())
                            .postgres(primary(100))
                            .lockRenewFailed(true)),
                    "PAUSE: continue to run as primary after failing to update leader lock");
        }

        @Test
        void aPrimaryCutOffFromTheDcsKeepsRunning() {
            expect(
                    decide(in("pg0").config(paused).postgres(primary(100)).dcsError("timeout")),
                    "PAUSE: DCS is not accessible (timeout); continue to run as primary");
        }

        @Test
        void aStoppedPostgresIsNotStarted() {
            expect(
                    decide(in("pg0")
                            .config(paused)
                            .cluster(new C().leader("pg1").member("pg1").build())
                            .postgres(stopped(PostgresStatus.Role.REPLICA))),
                    "PAUSE: postgres is not running");
        }
    }

    @Nested
    class PostgresNotRunning {
        @Test
        void withNoLeaderAMemberThatMayNotLeadStartsAsAStandby() {
            expect(
                    decide(in("pg1")
                            .tags(Map.of("nofailover", true))
                            .cluster(new C().member("pg1").build())
                            .postgres(stopped(PostgresStatus.Role.REPLICA))),
                    "starting as a secondary with no leader to follow: I am tagged nofailover",
                    Action.StartStandby.class);
        }

        @Test
        void theLeaderRestartsItsPrimary() {
            expect(
                    decide(in("pg0")
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .member("pg1")
                                    .build())
                            .postgres(stopped(PostgresStatus.Role.PRIMARY))
                            .primaryDownSince(NOW.minusSeconds(5))),
                    "starting primary after failure",
                    Action.RenewLock.class,
                    Action.StartPrimary.class);
        }

        @Test
        void theLeaderGivesUpAfterPrimaryStartTimeout() {
            DynamicConfig cfg = DynamicConfig.from(Map.of("primary_start_timeout", 0));
            expect(
                    decide(in("pg0")
                            .config(cfg)
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .member("pg1")
                                    .build())
                            .postgres(stopped(PostgresStatus.Role.PRIMARY))),
                    "primary_start_timeout",
                    Action.ReleaseLock.class);
        }

        @Test
        void theLeaderKeepsTryingWhenNoFailoverIsPossible() {
            DynamicConfig cfg = DynamicConfig.from(Map.of("primary_start_timeout", 0));
            ClusterState c = new C()
                    .leader("pg0")
                    .member("pg0")
                    .member("pg1", "running", 5, Map.of("nofailover", true))
                    .build();
            expect(
                    decide(in("pg0").config(cfg).cluster(c).postgres(stopped(PostgresStatus.Role.PRIMARY))),
                    "starting primary after failure",
                    Action.RenewLock.class,
                    Action.StartPrimary.class);
        }

        @Test
        void aReplicaStartsFollowingTheLeader() {
            Decision d = decide(in("pg1")
                    .cluster(new C().leader("pg0").member("pg0").build())
                    .postgres(stopped(PostgresStatus.Role.REPLICA)));
            expect(d, "starting as a secondary of the leader (pg0)", Action.StartReplica.class);
        }

        @Test
        void aFormerPrimaryRejoinsThroughTheDivergenceCheck() {
            // the leader is still being promoted (its record says replica): started unchecked; the
            // check follows once it is a primary (RejoinTest has the rows with a primary leader)
            Decision d = decide(in("pg0")
                    .cluster(new C().leader("pg1").member("pg1").build())
                    .postgres(stopped(PostgresStatus.Role.PRIMARY)));
            expect(d, "starting former primary as a replica of the leader (pg1)", Action.StartReplica.class);
            assertThat(((Action.StartReplica) d.actions().get(0)).preparation()).isEqualTo(Action.Preparation.NONE);
        }

        @Test
        void withNoLeaderTheHealthiestStoppedNodeTakesTheLock() {
            expect(
                    decide(in("pg0")
                            .cluster(new C().member("pg0").build())
                            .postgres(stopped(PostgresStatus.Role.PRIMARY))),
                    "I am the healthiest node",
                    Action.AcquireLock.class,
                    Action.StartPrimary.class);
        }

        @Test
        void reinitializeOnRequest() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().leader("pg0").member("pg0").build())
                            .postgres(stopped(PostgresStatus.Role.REPLICA))
                            .reinitializeRequested(true)),
                    "reinitializing from leader 'pg0'",
                    Action.Reinitialize.class);
        }
    }

    @Nested
    class PrimaryRaceBackoff {
        final DynamicConfig backoff30 =
                DynamicConfig.from(Map.of("primary_race_backoff", 30, "loop_wait", 10, "ttl", 30));

        HaInput.Builder lapsed(long lsnNow, long lsnBefore, Duration sinceUnlocked) {
            return in("pg1")
                    .cluster(new C().member("pg1", "running", lsnNow, null).build())
                    .config(backoff30)
                    .postgres(replica(lsnNow))
                    .unlockedSince(NOW.minus(sinceUnlocked))
                    .previousLsn(lsnBefore);
        }

        @Test
        void aReplicaStillReceivingWalWaitsUpToTheBackoffThenRaces() {
            Decision waiting = decide(lapsed(2000, 1000, Duration.ofSeconds(15)));
            expect(waiting, "wal position moved since last heart beat loop, 15.0 s until leader race");
            assertThat(waiting.wakeWithin()).isEqualTo(Duration.ofSeconds(10));
            // the backoff is bounded: WAL still arriving after it does not hold the race off
            expect(
                    decide(lapsed(3000, 2000, Duration.ofSeconds(30))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void aReplicaWhoseWalStoppedRacesOnceTheFirstLoopWaitIsOver() {
            // within loop_wait of the key's lapse: wait in any case (the last cycle may have seen WAL just before)
            expect(decide(lapsed(1000, 1000, Duration.ofSeconds(4))), "until leader race (primary_race_backoff)");
            expect(
                    decide(lapsed(1000, 1000, Duration.ofSeconds(11))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void offByDefaultWithoutAPreviousLsnForTheNamedCandidateAndForARunningPrimary() {
            expect(
                    decide(lapsed(2000, 1000, Duration.ofSeconds(1)).config(DynamicConfig.DEFAULTS)),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
            expect(
                    decide(lapsed(2000, -1, Duration.ofSeconds(1))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
            expect(
                    decide(lapsed(2000, 1000, Duration.ofSeconds(1))
                            .cluster(new C()
                                    .member("pg1", "running", 2000, null)
                                    .failover(null, "pg1", null)
                                    .build())),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
            expect(
                    decide(lapsed(2000, 1000, Duration.ofSeconds(1)).postgres(primary(2000))),
                    "acquiring session lock as a leader",
                    Action.AcquireLock.class);
        }
    }

    @Nested
    class CheckTimeline {
        final DynamicConfig checking = DynamicConfig.from(Map.of("check_timeline", true));

        @Test
        void aReplicaBehindTheClustersTimelineDoesNotRaceWhenCheckTimelineIsOn() {
            // the cluster is on timeline 3 (history ends with 2); replica(...) is on timeline 2
            HaInput.Builder b = in("pg1")
                    .cluster(new C().member("pg1").history(1, 2).build())
                    .postgres(replica(1000));
            expect(decide(b), "I am the healthiest node", Action.AcquireLock.class);
            expect(decide(b.config(checking)), "my timeline 2 is behind the last known cluster timeline 3");
        }

        @Test
        void inSynchronousModeTheGracefulStopIsBoundedByPrimaryStopTimeout() {
            Map<String, Object> cfg = Map.of("synchronous_mode", true, "primary_stop_timeout", 7);
            Decision d = engine.decideShutdown(in("pg0")
                    .config(DynamicConfig.from(cfg))
                    .postgres(primary(5))
                    .lockValidUntil(NOW.plusSeconds(20))
                    .build());
            assertThat(((Action.Demote) d.actions().get(0)).stopTimeout()).isEqualTo(Duration.ofSeconds(7));
            Decision async = engine.decideShutdown(in("pg0")
                    .config(DynamicConfig.from(Map.of("primary_stop_timeout", 7)))
                    .postgres(primary(5))
                    .lockValidUntil(NOW.plusSeconds(20))
                    .build());
            assertThat(((Action.Demote) async.actions().get(0)).stopTimeout()).isNull();
        }

        @Test
        void theNewLeaderKeepsOnlyMaxTimelinesHistoryEntries() {
            Decision d = decide(in("pg1")
                    .config(DynamicConfig.from(Map.of("max_timelines_history", 1)))
                    .cluster(new C().leader("pg1").member("pg1").history(1).build())
                    .postgres(replica(5))); // on timeline 2
            Action.WriteHistory h =
                    (Action.WriteHistory) d.actions().get(d.actions().size() - 2);
            assertThat(h.history())
                    .extracting(io.pgha.dcs.HistoryEntry::timeline)
                    .containsExactly(2L);
        }

        /**
         * Seed 1366440224 (strict quorum with the fence): the new leader's promotion took seconds, the
         * DCS went down meanwhile, and the history entry written after {@code pg_ctl promote} never
         * got there. Its commits were acknowledged by a voter whose member key then lapsed, and the
         * key's former leader, seeing no later timeline anywhere, took the lock without votes. The
         * entry is now written first, as its own action: when that write fails the decision ends
         * before {@code Promote}.
         */
        @Test
        void theNewLeaderRecordsTheTimelineItLeavesBeforePromoting() {
            Decision d = decide(in("pg1")
                    .cluster(new C().leader("pg1").member("pg1").history(1).build())
                    .postgres(replica(5)));
            List<Action> a = d.actions();
            assertThat(a.get(a.size() - 1)).isEqualTo(new Action.Promote());
            Action.WriteHistory h = (Action.WriteHistory) a.get(a.size() - 2);
            io.pgha.dcs.HistoryEntry left = h.history().get(h.history().size() - 1);
            assertThat(h.history()).hasSize(2);
            assertThat(h.history().get(0).timeline()).isEqualTo(1L);
            assertThat(left.timeline()).isEqualTo(replica(5).timeline());
            assertThat(left.lsn()).isEqualTo(replica(5).lastLsn());
            assertThat(left.newLeader()).isEqualTo("pg1");
            // a second attempt at the same promotion replaces its entry instead of adding another
            Decision again = decide(in("pg1")
                    .cluster(new C()
                            .leader("pg1")
                            .member("pg1")
                            .history(1, replica(5).timeline())
                            .build())
                    .postgres(replica(5)));
            Action.WriteHistory h2 =
                    (Action.WriteHistory) again.actions().get(again.actions().size() - 2);
            assertThat(h2.history())
                    .extracting(io.pgha.dcs.HistoryEntry::timeline)
                    .containsExactly(1L, replica(5).timeline());
        }
    }

    @Nested
    class LeaderRace {
        @Test
        void theHealthiestReplicaTakesTheLock() {
            expect(
                    decide(in("pg1")
                            .cluster(new C()
                                    .member("pg1")
                                    .member("pg2")
                                    .optime(1000)
                                    .build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg2", peer("pg2", "replica", 900)))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void aReplicaTooFarBehindDoesNot() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().member("pg1").optime(10_000_000).build())
                            .postgres(replica(1000))),
                    "maximum_lag_on_failover");
        }

        @Test
        void aReplicaBehindAPeerDoesNot() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().member("pg1").member("pg2").build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg2", peer("pg2", "replica", 2000)))),
                    "pg2 is ahead of me");
        }

        @Test
        void anEqualPeerWithHigherFailoverPriorityWins() {
            PeerStatus p = new PeerStatus("pg2", "replica", "running", 1000, 2, false, 5);
            expect(
                    decide(in("pg1")
                            .cluster(new C().member("pg1").member("pg2").build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg2", p))),
                    "higher failover_priority");
        }

        @Test
        void aPeerThatIsStillPrimaryBlocksTheRace() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().member("pg1").member("pg0").build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg0", peer("pg0", "primary", 1000)))),
                    "primary (pg0) is still alive");
        }

        @Test
        void aNofailoverPeerIsNotCompared() {
            PeerStatus p = new PeerStatus("pg2", "replica", "running", 5000, 2, true, 0);
            expect(
                    decide(in("pg1")
                            .cluster(new C().member("pg1").member("pg2").build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg2", p))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void aNofailoverMemberNeverLeads() {
            expect(
                    decide(in("pg1")
                            .tags(Map.of("nofailover", true))
                            .cluster(new C().member("pg1").build())
                            .postgres(replica(1000))),
                    "I am tagged nofailover");
        }

        @Test
        void failoverPriorityZeroMeansNofailover() {
            expect(
                    decide(in("pg1")
                            .tags(Map.of("failover_priority", 0))
                            .cluster(new C().member("pg1").build())
                            .postgres(replica(1000))),
                    "I am tagged nofailover");
        }

        @Test
        void theNamedCandidateWinsEvenWhenBehind() {
            expect(
                    decide(in("pg2")
                            .cluster(new C()
                                    .member("pg1")
                                    .member("pg2")
                                    .failover("pg0", "pg2", null)
                                    .build())
                            .postgres(replica(900))
                            .peers(Map.of("pg1", peer("pg1", "replica", 1000)))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void othersLeaveTheRaceToAHealthyCandidate() {
            expect(
                    decide(in("pg1")
                            .cluster(new C()
                                    .member("pg1")
                                    .member("pg2")
                                    .failover("pg0", "pg2", null)
                                    .build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg2", peer("pg2", "replica", 900)))),
                    "the failover candidate (pg2) is healthy");
        }

        @Test
        void theFormerLeaderOfASwitchoverDoesNotRace() {
            expect(
                    decide(in("pg0")
                            .cluster(new C()
                                    .member("pg0")
                                    .member("pg1")
                                    .failover("pg0", null, null)
                                    .build())
                            .postgres(replica(1000))),
                    "former leader of a switchover");
        }

        @Test
        void theFormerLeaderOfASwitchoverRacesWhenNoOtherMemberCanTakeOver() {
            // simulation seed 24085: the candidate left, the only other member has no data yet
            expect(
                    decide(in("pg0")
                            .cluster(new C()
                                    .member("pg0")
                                    .member("pg3", "stopped", 0, null)
                                    .failover("pg0", null, null)
                                    .build())
                            .postgres(stopped(PostgresStatus.Role.PRIMARY))),
                    "I am the healthiest node",
                    Action.AcquireLock.class,
                    Action.StartPrimary.class);
        }

        @Test
        void inSynchronousModeAMemberTheSyncKeyDoesNotNameIsNoRival() {
            // simulation seed 2074573013: pg2, a former primary with diverged WAL past everyone's,
            // could not race (not a synchronous standby) and pg3, the only one that could, deferred
            // to it for good; Patroni compares only with the members of the sync key
            expect(
                    decide(in("pg3")
                            .config(DynamicConfig.from(Map.of("synchronous_mode", true)))
                            .cluster(new C()
                                    .member("pg1")
                                    .member("pg2")
                                    .member("pg3")
                                    .sync("pg1", "pg3")
                                    .build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg1", peer("pg1", "replica", 900), "pg2", peer("pg2", "replica", 2000)))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void theFormerLeaderOfASwitchoverRacesWhenTheOthersAreOutsideTheFailsafeKey() {
            // simulation seed 2586808329: the others were missing from the failsafe key, so none of
            // them could race, while the former leader stood aside for them
            HaEngineTest.C c = new C().member("pg1").member("pg2").member("pg3").failover("pg1", null, null);
            c.b.failsafe("{\"pg1\":\"http://pg1:8008/patroni\"}");
            expect(
                    decide(in("pg1")
                            .config(DynamicConfig.from(Map.of("failsafe_mode", true)))
                            .cluster(c.build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg2", peer("pg2", "replica", 900), "pg3", peer("pg3", "replica", 900)))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void aFormerLeaderAheadOfEveryoneDoesNotBlockTheSwitchoverRace() {
            // simulation seed 110: the former leader declines the race and must not be the rival
            // that makes every other member decline too
            expect(
                    decide(in("pg1")
                            .cluster(new C()
                                    .member("pg0")
                                    .member("pg1")
                                    .member("pg2")
                                    .failover("pg0", null, null)
                                    .build())
                            .postgres(replica(1000))
                            .peers(Map.of("pg0", peer("pg0", "replica", 2000), "pg2", peer("pg2", "replica", 900)))),
                    "I am the healthiest node",
                    Action.AcquireLock.class);
        }

        @Test
        void inSynchronousModeOnlyASyncStandbyRaces() {
            DynamicConfig sync = DynamicConfig.from(Map.of("synchronous_mode", true));
            expect(
                    decide(in("pg2")
                            .config(sync)
                            .cluster(new C().member("pg2").sync("pg0", "pg1").build())
                            .postgres(replica(1000))),
                    "not a synchronous standby");
        }

        @Test
        void aPrimaryWithoutTheLockRetakesItWhenHealthiest() {
            expect(
                    decide(in("pg0").cluster(new C().member("pg0").build()).postgres(primary(1000))),
                    "acquiring session lock as a leader",
                    Action.AcquireLock.class);
        }

        @Test
        void aPrimaryThatIsNotHealthiestDemotes() {
            expect(
                    decide(in("pg0")
                            .cluster(new C().member("pg0").member("pg1").build())
                            .postgres(primary(1000))
                            .peers(Map.of("pg1", peer("pg1", "primary", 1000)))),
                    "not the healthiest node",
                    Action.Demote.class);
        }
    }

    /** Rows 26a–26b: the candidate-side fence before a promotion that follows a lapsed lock. */
    @Nested
    class FencingTheFormerPrimary {
        private final io.pgha.dcs.Member formerPrimary = new io.pgha.dcs.Member(
                "pg0",
                5,
                Map.of("conn_url", "postgres://10.0.0.1:5432/postgres", "api_url", "http://10.0.0.1:8008/patroni"));

        /** pg1 won the free lock after pg0's lapsed; pg0's member key lapsed with it. */
        private HaInput.Builder winnerAfterALapsedLock() {
            return in("pg1")
                    .cluster(new C().leader("pg1").member("pg1").build())
                    .postgres(replica(5))
                    .following("pg0")
                    .formerLeader(formerPrimary);
        }

        @Test
        void theFormerPrimaryIsFencedBeforeThePromotion() {
            Decision d = decide(winnerAfterALapsedLock());
            expect(
                    d,
                    "promoted self to leader because I had the session lock",
                    Action.RenewLock.class,
                    Action.FenceFormerPrimary.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
            assertThat(d.actions().get(1)).isEqualTo(new Action.FenceFormerPrimary(formerPrimary));
        }

        @Test
        void inSynchronousModeTheFenceComesBeforeTheSyncKeyMoves() {
            expect(
                    decide(winnerAfterALapsedLock().config(DynamicConfig.from(Map.of("synchronous_mode", true)))),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.FenceFormerPrimary.class,
                    Action.WriteSync.class,
                    Action.SetSynchronousStandbyNames.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        @Test
        void aSwitchoverOrManualFailoverFencesTooSinceItsLeaderMayHaveFrozenInstead() {
            // a leader that stepped down is stopped or in recovery: the controller leaves it alone
            expect(
                    decide(winnerAfterALapsedLock()
                            .cluster(new C()
                                    .leader("pg1")
                                    .member("pg1")
                                    .failover("pg0", "pg1", null)
                                    .build())),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.ClearFailover.class,
                    Action.FenceFormerPrimary.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
            expect(
                    decide(winnerAfterALapsedLock()
                            .cluster(new C()
                                    .leader("pg1")
                                    .member("pg1")
                                    .failover(null, "pg1", null)
                                    .build())),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.ClearFailover.class,
                    Action.FenceFormerPrimary.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        @Test
        void inPauseTheCandidateFencesNobody() {
            expect(
                    decide(winnerAfterALapsedLock()
                            .config(DynamicConfig.from(Map.of("pause", true)))
                            .cluster(new C()
                                    .leader("pg1")
                                    .member("pg1")
                                    .failover("pg0", "pg1", null)
                                    .build())),
                    "PAUSE: manual failover: promoting self as the candidate",
                    Action.RenewLock.class,
                    Action.ClearFailover.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        /**
         * Patroni's acceptance scenario "check rejoin of the former primary with pg_rewind": the
         * leader's agent was stopped in pause (its PostgreSQL left running on purpose), the cluster
         * resumed, and its last record still says pause: the operator's server, not fenced.
         */
        @Test
        void aFormerLeaderLastSeenInPauseIsTheOperatorsAndNotFenced() {
            io.pgha.dcs.Member leftInPause = new io.pgha.dcs.Member(
                    "pg0",
                    5,
                    Map.of(
                            "conn_url", "postgres://10.0.0.1:5432/postgres",
                            "api_url", "http://10.0.0.1:8008/patroni",
                            "pause", true));
            expect(
                    decide(winnerAfterALapsedLock().formerLeader(leftInPause)),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        @Test
        void noFormerLeaderKnownOrItWasThisNodeFencesNobody() {
            expect(
                    decide(winnerAfterALapsedLock().formerLeader(null)),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
            expect(
                    decide(winnerAfterALapsedLock()
                            .formerLeader(new io.pgha.dcs.Member(
                                    "pg1", 5, Map.of("conn_url", "postgres://10.0.0.2:5432/postgres")))),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
            expect(
                    decide(winnerAfterALapsedLock().formerLeader(new io.pgha.dcs.Member("pg0", 5, Map.of()))),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }
    }

    @Nested
    class TheLeader {
        @Test
        void renewsPublishesStatusAndSlots() {
            Decision d = decide(in("pg0")
                    .cluster(new C().leader("pg0").member("pg0").member("pg1").build())
                    .postgres(primary(5000)));
            expect(
                    d,
                    "no action. I am (pg0), the leader with the lock",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class);
            assertThat(((Action.ChangeSlots) d.actions().get(2)).changes().create())
                    .containsExactly(io.pgha.postgres.SlotChanges.NewSlot.physical("pg1"));
            assertThat(((Action.WriteStatus) d.actions().get(1)).optime()).isEqualTo(5000);
        }

        @Test
        void writesInitializeAndConfigWhenMissing() {
            ClusterState c = ClusterState.builder("demo")
                    .leader("pg0", 1)
                    .member("pg0", "{}", 2)
                    .build();
            expect(
                    decide(in("pg0").cluster(c).postgres(primary(5))),
                    "the leader with the lock",
                    Action.RenewLock.class,
                    Action.WriteInitialize.class,
                    Action.WriteBootstrapConfig.class,
                    Action.WriteStatus.class);
        }

        @Test
        void promotesItsReplicaWhenItHoldsTheLock() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().leader("pg1").member("pg1").build())
                            .postgres(replica(5))),
                    "promoted self to leader because I had the session lock",
                    Action.RenewLock.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        @Test
        void theWinnerOfAManualFailoverClearsTheRequest() {
            expect(
                    decide(in("pg1")
                            .cluster(new C()
                                    .leader("pg1")
                                    .member("pg1")
                                    .failover("pg0", "pg1", null)
                                    .build())
                            .postgres(replica(5))),
                    "promoted self",
                    Action.RenewLock.class,
                    Action.ClearFailover.class,
                    Action.WriteHistory.class,
                    Action.Promote.class);
        }

        @Test
        void switchoverToAHealthyCandidateDemotesGracefully() {
            Decision d = decide(in("pg0")
                    .cluster(new C()
                            .leader("pg0")
                            .member("pg0")
                            .member("pg1")
                            .failover("pg0", "pg1", null)
                            .build())
                    .postgres(primary(1000))
                    .peers(Map.of("pg1", peer("pg1", "replica", 1000))));
            expect(d, "manual failover: demoting myself in favour of pg1", Action.RenewLock.class, Action.Demote.class);
            Action.Demote demote = (Action.Demote) d.actions().get(1);
            assertThat(demote.mode()).isEqualTo(StopMode.FAST);
            assertThat(demote.checkpointFirst()).isTrue();
            assertThat(demote.releaseLock()).isTrue();
        }

        @Test
        void switchoverToAnUnknownMemberIsCleared() {
            expect(
                    decide(in("pg0")
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .failover("pg0", "ghost", null)
                                    .build())
                            .postgres(primary(1000))),
                    "candidate ghost does not exist",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ClearFailover.class);
        }

        @Test
        void switchoverToAnUnreachableCandidateIsCleared() {
            expect(
                    decide(in("pg0")
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .member("pg1")
                                    .failover("pg0", "pg1", null)
                                    .build())
                            .postgres(primary(1000))),
                    "candidate pg1 is not healthy",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class,
                    Action.ClearFailover.class);
        }

        @Test
        void aScheduledSwitchoverWaitsForItsTime() {
            Decision d = decide(in("pg0")
                    .cluster(new C()
                            .leader("pg0")
                            .member("pg0")
                            .member("pg1")
                            .failover("pg0", "pg1", NOW.plusSeconds(60))
                            .build())
                    .postgres(primary(1000))
                    .peers(Map.of("pg1", peer("pg1", "replica", 1000))));
            expect(
                    d,
                    "Awaiting failover at",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class);
        }

        @Test
        void aFailoverNamingAnotherLeaderIsCleared() {
            expect(
                    decide(in("pg0")
                            .cluster(new C()
                                    .leader("pg0")
                                    .member("pg0")
                                    .member("pg1")
                                    .failover("pg9", "pg1", null)
                                    .build())
                            .postgres(primary(1000))),
                    "leader name does not match",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class,
                    Action.ClearFailover.class);
        }

        @Test
        void aFailoverKeyNamingNobodyIsNoRequest() {
            // Patroni clears the key by writing "{}"
            ClusterState c = new C().leader("pg0").member("pg0").member("pg1").build();
            ClusterState withEmpty = ClusterState.builder("demo")
                    .initialize(SYSID, 1)
                    .config("{}", 2)
                    .leader("pg0", 3)
                    .member("pg0", "{}", 4)
                    .member("pg1", "{}", 5)
                    .failover("{}", 6)
                    .build();
            expect(
                    decide(in("pg0").cluster(withEmpty).postgres(primary(1000))),
                    "the leader with the lock",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.ChangeSlots.class);
            assertThat(c.failover()).isNull();
        }

        @Test
        void restartOnRequest() {
            expect(
                    decide(in("pg0")
                            .cluster(new C().leader("pg0").member("pg0").build())
                            .postgres(primary(1000))
                            .restartRequested(true)),
                    "restarting postgresql as requested",
                    Action.RenewLock.class,
                    Action.WriteStatus.class,
                    Action.Restart.class);
        }
    }

    @Nested
    class AReplicaOfAnotherLeader {
        @Test
        void followsANewLeader() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().leader("pg0").member("pg0").build())
                            .postgres(replica(5))),
                    "following new leader (pg0)",
                    Action.Follow.class);
        }

        @Test
        void followsAgainWhenTheSameLeaderIsOnAnotherTimelineAndItDoesNotStream() {
            // simulation seed 13614: the leader lost and regained the lock while this replica was cut off
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("conn_url", "postgres://127.0.0.1:5432/postgres");
            m.put("api_url", "http://127.0.0.1:8008/patroni");
            m.put("state", "running");
            m.put("role", "primary");
            m.put("timeline", 3);
            C c = new C().leader("pg0");
            c.b.member("pg0", DcsJson.write(m), 99);
            PostgresStatus notStreaming = new PostgresStatus(
                    "running",
                    PostgresStatus.Role.REPLICA,
                    2,
                    0,
                    1000,
                    1000,
                    null,
                    false,
                    "in archive recovery",
                    SYSID,
                    150000,
                    null,
                    List.of(),
                    List.of(),
                    false,
                    null);
            expect(
                    decide(in("pg1")
                            .cluster(c.build())
                            .postgres(notStreaming)
                            .following("pg0")
                            .divergence(new HaInput.Divergence("pg0", false))),
                    "following it again",
                    Action.Follow.class);
            // streaming, or on the leader's timeline: nothing to do
            expect(
                    decide(in("pg1").cluster(c.build()).postgres(replica(1000)).following("pg0")),
                    "no action",
                    Action.ChangeSlots.class);
        }

        @Test
        void doesNothingWhenAlreadyFollowing() {
            expect(
                    decide(in("pg1")
                            .cluster(new C().leader("pg0").member("pg0").build())
                            .postgres(replica(5))
                            .following("pg0")),
                    "no action. I am (pg1), a secondary, and following a leader (pg0)",
                    Action.ChangeSlots.class);
        }

        @Test
        void aPrimaryWithoutTheLockDemotesImmediately() {
            Decision d = decide(in("pg0")
                    .cluster(new C().leader("pg1").member("pg1").build())
                    .postgres(primary(5)));
            expect(d, "demoting self because I do not have the lock", Action.Demote.class);
            assertThat(((Action.Demote) d.actions().get(0)).mode()).isEqualTo(StopMode.IMMEDIATE);
        }
    }

    @Test
    void dynamicConfigEnforcesLoopWaitPlusTwiceRetryTimeoutWithinTtl() {
        DynamicConfig c = DynamicConfig.from(Map.of("ttl", 10, "loop_wait", 5, "retry_timeout", 10));
        assertThat(c.loopWait().toSeconds() + 2 * c.retryTimeout().toSeconds()).isLessThanOrEqualTo(10);
        assertThat(DynamicConfig.DEFAULTS.ttl()).isEqualTo(Duration.ofSeconds(30));
        assertThat(DynamicConfig.DEFAULTS.loopWait()).isEqualTo(Duration.ofSeconds(10));
        assertThat(DynamicConfig.DEFAULTS.retryTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(DynamicConfig.DEFAULTS.maximumLagOnFailover()).isEqualTo(1048576L);
        assertThat(DynamicConfig.DEFAULTS.primaryStartTimeout()).isEqualTo(Duration.ofMinutes(5));
    }

    /** Rows 36a–36c: the leader's agent and PostgreSQL gone from a live host (connections refused). */
    @Nested
    class LeaderGoneFromALiveHost {
        private final ClusterState cluster = new C()
                .leader("pg0")
                .primaryMember("pg0")
                .member("pg1")
                .member("pg2")
                .build();
        private final long lockVersion = cluster.leader().version();

        private HaInput.Builder replicaOf(HaInput.LeaderGone gone) {
            return in("pg1")
                    .cluster(cluster)
                    .postgres(replica(1000))
                    .following("pg0")
                    .leaderGone(gone);
        }

        @Test
        void aSuspicionIsCheckedAgainFirst() {
            Decision d = decide(replicaOf(new HaInput.LeaderGone("pg0", lockVersion, false)));
            assertThat(d.inquiry()).isInstanceOf(Action.ConfirmLeaderGone.class);
            assertThat(d.reason()).contains("refuses connections").contains("checking again");
        }

        @Test
        void confirmedTheOthersAreAskedThenTheHealthiestTakesTheLockOverAsRead() {
            HaInput.LeaderGone gone = new HaInput.LeaderGone("pg0", lockVersion, true);
            Decision ask = decide(replicaOf(gone).peersAsked(false));
            assertThat(ask.inquiry()).isInstanceOf(Action.ProbePeers.class);
            Decision d = decide(replicaOf(gone).peers(Map.of("pg2", peer("pg2", "replica", 900))));
            expect(d, "taking over its lock", Action.TakeOverLock.class);
            assertThat(d.actions().get(0)).isEqualTo(new Action.TakeOverLock("pg0", lockVersion));
        }

        @Test
        void aReplicaThatIsNotTheHealthiestLeavesItToTheOther() {
            Decision d = decide(replicaOf(new HaInput.LeaderGone("pg0", lockVersion, true))
                    .peers(Map.of("pg2", peer("pg2", "replica", 2000))));
            expect(d, "but I am not the healthiest node: pg2 is ahead of me");
        }

        @Test
        void aReplicaTaggedNofailoverNeverTakesOver() {
            Decision d = decide(
                    replicaOf(new HaInput.LeaderGone("pg0", lockVersion, true)).tags(Map.of("nofailover", true)));
            expect(d, "but I am not the healthiest node: I am tagged nofailover");
        }

        @Test
        void aSuspicionAboutAnotherLockIsIgnored() {
            // the lock was renewed or taken since the watch saw the ports refuse
            expect(
                    decide(replicaOf(new HaInput.LeaderGone("pg0", lockVersion - 1, true))),
                    "no action. I am (pg1), a secondary, and following a leader (pg0)",
                    Action.ChangeSlots.class);
            expect(
                    decide(replicaOf(new HaInput.LeaderGone("pg9", lockVersion, true))),
                    "no action. I am (pg1), a secondary, and following a leader (pg0)",
                    Action.ChangeSlots.class);
        }

        @Test
        void inPauseNothingHappens() {
            Decision d = decide(replicaOf(new HaInput.LeaderGone("pg0", lockVersion, true))
                    .config(DynamicConfig.from(Map.of("pause", true))));
            assertThat(d.reason()).startsWith("PAUSE");
            assertThat(d.actions()).isEmpty();
        }
    }
}
