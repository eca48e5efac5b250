package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.SyncState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Synchronous replication on the leader ({@link SyncStandbys}) and its rows in the engine's table
 * (docs/engine.md, "Synchronous replication"): who is picked, and that the sync key is shrunk before
 * and grown after {@code synchronous_standby_names}.
 */
class SyncReplicationTest {
    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final String SYSID = "7000000000000000001";
    private final HaEngine engine = new HaEngine();

    private static DynamicConfig cfg(String extra) {
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("ttl", 30);
        raw.put("loop_wait", 10);
        raw.put("synchronous_mode", true);
        if (extra != null) {
            for (String kv : extra.split(",", -1)) {
                String[] p = kv.split("=", 2);
                raw.put(p[0], p[1].matches("-?\\d+") ? (Object) Long.parseLong(p[1]) : p[1]);
            }
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

    private static ClusterState cluster(String syncJson, String... membersWithTags) {
        HaEngineTest.C c = new HaEngineTest.C().leader("pg0").member("pg0");
        for (String m : membersWithTags) {
            String[] p = m.split(":", 2);
            Map<String, Object> tags =
                    p.length > 1 ? Map.of(p[1].split("=", 2)[0], (Object) p[1].split("=", 2)[1]) : null;
            c.member(p[0], "running", 1000, tags);
        }
        if (syncJson != null) {
            c.b.sync(syncJson, 77);
        }
        return c.build();
    }

    private static List<Action> plan(ClusterState c, PostgresStatus pg, DynamicConfig cfg) {
        return SyncStandbys.plan("pg0", c, pg, cfg, 0);
    }

    // ---- picking ------------------------------------------------------------------------------------

    @Test
    void picksByPriorityThenAlreadySyncThenLeastLag() {
        ClusterState c = cluster(null, "pg1", "pg2:sync_priority=5", "pg3", "pg4:nosync=true", "pg5:sync_priority=0");
        PostgresStatus pg = primary(
                1000,
                "",
                row("pg1", "async", 900),
                row("pg2", "async", 100),
                row("pg3", "async", 990),
                row("pg4", "async", 1000),
                row("pg5", "async", 1000),
                row("stranger", "async", 1000));
        assertThat(SyncStandbys.pick("pg0", c, pg, cfg("synchronous_node_count=2")))
                .containsExactly("pg2", "pg3");
        PostgresStatus pg1Sync = primary(1000, "pg1", row("pg1", "sync", 900), row("pg3", "async", 990));
        assertThat(SyncStandbys.pick("pg0", c, pg1Sync, cfg(null))).containsExactly("pg1");
    }

    @Test
    void aStandbyLaggingMoreThanMaximumLagOnSyncnodeIsNotPicked() {
        ClusterState c = cluster(null, "pg1", "pg2");
        PostgresStatus pg = primary(10_000, "pg1", row("pg1", "sync", 1_000), row("pg2", "async", 9_990));
        assertThat(SyncStandbys.pick("pg0", c, pg, cfg("maximum_lag_on_syncnode=100")))
                .containsExactly("pg2");
        assertThat(SyncStandbys.pick("pg0", c, pg, cfg(null))).containsExactly("pg1");
    }

    @Test
    void formatsAsPatroniDoes() {
        assertThat(SyncStandbys.format(List.of(), false)).isEmpty();
        assertThat(SyncStandbys.format(List.of(), true)).isEqualTo("*");
        assertThat(SyncStandbys.format(List.of("pg1"), false)).isEqualTo("pg1");
        assertThat(SyncStandbys.format(List.of("pg2", "Pg-1"), false)).isEqualTo("2 (\"Pg-1\",pg2)");
        assertThat(SyncStandbys.names("2 (\"Pg-1\",pg2)")).containsExactly("pg-1", "pg2");
    }

    // ---- the order of the writes ----------------------------------------------------------------------

    @Test
    void aLeaderWithoutTheKeyClaimsItEmptyBeforeWaitingForAStandby() {
        List<Action> a = plan(cluster(null, "pg1"), primary(1000, "", row("pg1", "async", 1000)), cfg(null));
        assertThat(a)
                .containsExactly(
                        new Action.WriteSync(new SyncState("pg0", List.of(), null, Dcs.ABSENT), Dcs.ABSENT),
                        new Action.SetSynchronousStandbyNames("pg1"));
    }

    @Test
    void addingAStandbyWritesSynchronousStandbyNamesFirstAndTheKeyOnlyOncePostgresShowsItSync() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":null}", "pg1");
        // not yet applied: only synchronous_standby_names
        assertThat(plan(c, primary(1000, "", row("pg1", "async", 1000)), cfg(null)))
                .containsExactly(new Action.SetSynchronousStandbyNames("pg1"));
        // applied, but PostgreSQL does not wait for it yet: nothing
        assertThat(plan(c, primary(1000, "pg1", row("pg1", "async", 1000)), cfg(null)))
                .isEmpty();
        // shown sync: now the key
        assertThat(plan(c, primary(1000, "pg1", row("pg1", "sync", 1000)), cfg(null)))
                .containsExactly(new Action.WriteSync(new SyncState("pg0", List.of("pg1"), null, 77), 77));
        // settled
        ClusterState settled = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\"}", "pg1");
        assertThat(plan(settled, primary(1000, "pg1", row("pg1", "sync", 1000)), cfg(null)))
                .isEmpty();
    }

    @Test
    void removingAStandbyWritesTheKeyFirstAndSynchronousStandbyNamesSecond() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\"}", "pg1", "pg2");
        // pg1 stopped streaming: pg2 replaces it
        List<Action> a = plan(c, primary(1000, "pg1", row("pg2", "async", 1000)), cfg(null));
        assertThat(a)
                .containsExactly(
                        new Action.WriteSync(new SyncState("pg0", List.of(), null, 77), 77),
                        new Action.SetSynchronousStandbyNames("pg2"));
    }

    @Test
    void aLaggingSyncStandbyIsReplacedKeyFirst() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\"}", "pg1", "pg2");
        List<Action> a = plan(
                c,
                primary(10_000, "pg1", row("pg1", "sync", 10), row("pg2", "async", 9_999)),
                cfg("maximum_lag_on_syncnode=1000"));
        assertThat(a)
                .containsExactly(
                        new Action.WriteSync(new SyncState("pg0", List.of(), null, 77), 77),
                        new Action.SetSynchronousStandbyNames("pg2"));
    }

    @Test
    void strictModeWithNoStandbyWaitsForAnyRatherThanGoingAsync() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\"}", "pg1");
        List<Action> a = plan(c, primary(1000, "pg1"), cfg("synchronous_mode_strict=true"));
        assertThat(a)
                .containsExactly(
                        new Action.WriteSync(new SyncState("pg0", List.of(), null, 77), 77),
                        new Action.SetSynchronousStandbyNames("*"));
        // non-strict goes async
        assertThat(plan(c, primary(1000, "pg1"), cfg(null))).endsWith(new Action.SetSynchronousStandbyNames(""));
    }

    @Test
    void turningSynchronousModeOffStopsWaitingThenDeletesTheKey() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\"}", "pg1");
        DynamicConfig off = DynamicConfig.from(Map.of("ttl", 30, "loop_wait", 10));
        assertThat(plan(c, primary(1000, "pg1", row("pg1", "sync", 1000)), off))
                .containsExactly(new Action.SetSynchronousStandbyNames(""), new Action.WriteSync(null, 77));
        assertThat(plan(cluster(null, "pg1"), primary(1000, ""), off)).isEmpty();
    }

    @Test
    void aKeyOfAnotherLeaderIsTakenOver() {
        ClusterState c = cluster("{\"leader\":\"old\",\"sync_standby\":\"pg0\"}", "pg1");
        assertThat(plan(c, primary(1000, "pg1", row("pg1", "sync", 1000)), cfg(null)))
                .containsExactly(new Action.WriteSync(new SyncState("pg0", List.of(), null, 77), 77));
    }

    @Test
    void twoSyncStandbysUseTheCountedForm() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":null}", "pg1", "pg2", "pg3");
        PostgresStatus pg =
                primary(1000, "", row("pg1", "async", 1000), row("pg2", "async", 999), row("pg3", "async", 10));
        assertThat(plan(c, pg, cfg("synchronous_node_count=2")))
                .containsExactly(new Action.SetSynchronousStandbyNames("2 (pg1,pg2)"));
        PostgresStatus applied = primary(
                1000, "2 (pg1,pg2)", row("pg1", "sync", 1000), row("pg2", "sync", 999), row("pg3", "async", 10));
        assertThat(plan(c, applied, cfg("synchronous_node_count=2")))
                .containsExactly(new Action.WriteSync(new SyncState("pg0", List.of("pg1", "pg2"), null, 77), 77));
    }

    // ---- engine rows ----------------------------------------------------------------------------------

    @Test
    void theLeaderCycleRunsThePlanAndLooksAgainSoonAfterAddingAStandby() {
        ClusterState c = cluster("{\"leader\":\"pg0\",\"sync_standby\":null}", "pg1");
        Decision d = engine.decide(HaInput.builder("pg0")
                .now(NOW)
                .cluster(c)
                .config(cfg(null))
                .postgres(primary(1000, "", row("pg1", "async", 1000)))
                .build());
        assertThat(d.actions()).contains(new Action.SetSynchronousStandbyNames("pg1"));
        assertThat(d.wakeWithin()).isLessThanOrEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aPromotingReplicaFirstOwnsTheKeyWithNoStandby() {
        ClusterState c = cluster("{\"leader\":\"old\",\"sync_standby\":\"pg0\"}", "pg1");
        PostgresStatus replica = HaEngineTest.replica(1000);
        Decision d = engine.decide(HaInput.builder("pg0")
                .now(NOW)
                .cluster(c)
                .config(cfg("synchronous_mode_strict=true"))
                .postgres(replica)
                .build());
        List<Class<?>> types = new ArrayList<>();
        d.actions().forEach(x -> types.add(x.getClass()));
        assertThat(types)
                .containsExactly(
                        Action.RenewLock.class,
                        Action.WriteSync.class,
                        Action.SetSynchronousStandbyNames.class,
                        Action.WriteHistory.class,
                        Action.Promote.class);
        assertThat(d.actions().get(1)).isEqualTo(new Action.WriteSync(new SyncState("pg0", List.of(), null, 0), 77));
        assertThat(d.actions().get(2)).isEqualTo(new Action.SetSynchronousStandbyNames("*"));
    }

    @Test
    void onlyAMemberNamedInTheKeyRacesForTheLock() {
        HaEngineTest.C c = new HaEngineTest.C().member("pg0").member("pg1").member("pg2");
        c.b.sync("{\"leader\":\"old\",\"sync_standby\":\"pg1\"}", 5);
        HaInput.Builder b = HaInput.builder("pg2")
                .now(NOW)
                .cluster(c.build())
                .config(cfg(null))
                .postgres(HaEngineTest.replica(2000));
        assertThat(engine.decide(b.build()).reason()).contains("I am not a synchronous standby");
        assertThat(engine.decide(HaInput.builder("pg1")
                                .now(NOW)
                                .cluster(c.build())
                                .config(cfg(null))
                                .postgres(HaEngineTest.replica(1000))
                                .build())
                        .actions())
                .containsExactly(new Action.AcquireLock());
    }

    @Test
    void withoutASyncKeyNobodyRacesInSynchronousMode() {
        HaEngineTest.C c = new HaEngineTest.C().member("pg0").member("pg1");
        Decision d = engine.decide(HaInput.builder("pg1")
                .now(NOW)
                .cluster(c.build())
                .config(cfg(null))
                .postgres(HaEngineTest.replica(1000))
                .build());
        assertThat(d.actions()).isEmpty();
        assertThat(d.reason()).contains("no sync key names a standby yet");
    }

    @Test
    void aFailoverRequestNamingAnAsynchronousStandbyDoesNotPromoteItNorHoldBackTheSyncOne() {
        HaEngineTest.C c = new HaEngineTest.C().member("pg1").member("pg2").failover(null, "pg2", null);
        c.b.sync("{\"leader\":\"pg0\",\"sync_standby\":\"pg1\"}", 5);
        ClusterState cluster = c.build();
        Map<String, PeerStatus> peers = Map.of(
                "pg2", HaEngineTest.peer("pg2", "replica", 1000), "pg1", HaEngineTest.peer("pg1", "replica", 1000));
        Decision candidate = engine.decide(HaInput.builder("pg2")
                .now(NOW)
                .cluster(cluster)
                .config(cfg(null))
                .postgres(HaEngineTest.replica(1000))
                .peers(peers)
                .build());
        assertThat(candidate.actions()).isEmpty();
        assertThat(candidate.reason()).contains("I am not a synchronous standby");
        Decision sync = engine.decide(HaInput.builder("pg1")
                .now(NOW)
                .cluster(cluster)
                .config(cfg(null))
                .postgres(HaEngineTest.replica(1000))
                .peers(peers)
                .build());
        assertThat(sync.actions()).containsExactly(new Action.AcquireLock());
    }
}
