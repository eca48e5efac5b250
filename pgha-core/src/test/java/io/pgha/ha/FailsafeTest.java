package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Failsafe mode's rows in the engine's table (docs/engine.md, "Failsafe mode") and {@link Failsafe}. */
class FailsafeTest {
    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final DynamicConfig ON =
            DynamicConfig.from(Map.of("ttl", 30, "loop_wait", 10, "failsafe_mode", true));
    private static final DynamicConfig OFF = DynamicConfig.from(Map.of("ttl", 30, "loop_wait", 10));
    private final HaEngine engine = new HaEngine();

    private static ClusterState cluster(String failsafeJson) {
        HaEngineTest.C c = new HaEngineTest.C().leader("pg0").member("pg0").member("pg1");
        if (failsafeJson != null) {
            c.b.failsafe(failsafeJson);
        }
        return c.build();
    }

    @Test
    void theLeaderKeepsTheKeyCurrentWhileFailsafeModeIsOn() {
        Decision d = engine.decide(HaInput.builder("pg0")
                .now(NOW)
                .cluster(cluster(null))
                .config(ON)
                .postgres(HaEngineTest.primary(100))
                .build());
        assertThat(d.actions())
                .contains(new Action.WriteFailsafe(
                        Map.of("pg0", "http://127.0.0.1:8008/patroni", "pg1", "http://127.0.0.1:8008/patroni")));
        String current = "{\"pg0\":\"http://127.0.0.1:8008/patroni\",\"pg1\":\"http://127.0.0.1:8008/patroni\"}";
        assertThat(engine.decide(HaInput.builder("pg0")
                                .now(NOW)
                                .cluster(cluster(current))
                                .config(ON)
                                .postgres(HaEngineTest.primary(100))
                                .build())
                        .actions())
                .noneMatch(a -> a instanceof Action.WriteFailsafe);
    }

    @Test
    void theLeaderDeletesTheKeyWhenFailsafeModeIsOff() {
        Decision d = engine.decide(HaInput.builder("pg0")
                .now(NOW)
                .cluster(cluster("{\"pg0\":\"http://x\"}"))
                .config(OFF)
                .postgres(HaEngineTest.primary(100))
                .build());
        assertThat(d.actions()).contains(new Action.WriteFailsafe(null));
    }

    @Test
    void aPrimaryEveryMemberAgreedWithKeepsRunningWithoutTheDcs() {
        Decision d = engine.decide(HaInput.builder("pg0")
                .now(NOW)
                .dcsError("timeout")
                .config(ON)
                .postgres(HaEngineTest.primary(100))
                .failsafeConfirmed(true)
                .build());
        assertThat(d.actions()).isEmpty();
        assertThat(d.reason()).contains("continue to run as a leader because failsafe mode is enabled");
    }

    @Test
    void aPrimaryNotEveryMemberAgreedWithDemotesOnceItsLockMayExpire() {
        Decision d = engine.decide(HaInput.builder("pg0")
                .now(NOW)
                .dcsError("timeout")
                .config(ON)
                .postgres(HaEngineTest.primary(100))
                .lockValidUntil(NOW.plusSeconds(2))
                .build());
        assertThat(d.actions()).hasSize(1).first().isInstanceOf(Action.Demote.class);
    }

    @Test
    void aReplicaThatPromisedDoesNotRaceForTheLockUntilThePromiseLapses() {
        ClusterState noLeader = new HaEngineTest.C().member("pg0").member("pg1").build();
        HaInput.Builder b = HaInput.builder("pg1")
                .now(NOW)
                .cluster(noLeader)
                .config(ON)
                .postgres(HaEngineTest.replica(100))
                .failsafeLeaderUntil(NOW.plusSeconds(12));
        Decision d = engine.decide(b.build());
        assertThat(d.actions()).isEmpty();
        assertThat(d.reason()).contains("failsafe mode: the primary called me");
        assertThat(engine.decide(b.now(NOW.plusSeconds(13)).build()).actions())
                .containsExactly(new Action.AcquireLock());
    }

    @Test
    void aMemberMissingFromTheFailsafeKeyDoesNotRace() {
        // it was never asked by a primary cut off from the DCS, which may still run on the others' word
        HaEngineTest.C c = new HaEngineTest.C().member("pg1").member("pg2");
        c.b.failsafe("{\"pg0\":\"http://pg0:8008/patroni\",\"pg1\":\"http://pg1:8008/patroni\"}");
        Decision d = engine.decide(HaInput.builder("pg2")
                .now(NOW)
                .cluster(c.build())
                .config(ON)
                .postgres(HaEngineTest.replica(100))
                .build());
        assertThat(d.actions()).isEmpty();
        assertThat(d.reason()).contains("failsafe mode: I am not in the failsafe key");
    }

    @Test
    void aMemberOutsideTheFailsafeKeyBlocksNobody() {
        // pg2 is ahead, but may not lead: pg1 races rather than wait for it forever
        HaEngineTest.C c = new HaEngineTest.C().member("pg1").member("pg2");
        c.b.failsafe("{\"pg1\":\"http://pg1:8008/patroni\"}");
        Decision d = engine.decide(HaInput.builder("pg1")
                .now(NOW)
                .cluster(c.build())
                .config(ON)
                .postgres(HaEngineTest.replica(100))
                .peers(Map.of("pg2", new PeerStatus("pg2", "replica", "running", 200, 1, false, 1)))
                .build());
        assertThat(d.actions()).containsExactly(new Action.AcquireLock());
    }

    @Test
    void whoMustBeReached() {
        assertThat(Failsafe.toReach("pg0", null)).isNull();
        assertThat(Failsafe.toReach("pg0", Map.of("pg1", "u1"))).isNull();
        assertThat(Failsafe.toReach("pg0", Map.of("pg0", "u0"))).isEmpty();
        assertThat(Failsafe.toReach("pg0", Map.of("pg0", "u0", "pg1", "u1"))).containsOnlyKeys("pg1");
    }

    @Test
    void theKeyLeavesOutMembersWithoutAnApiUrl() {
        HaEngineTest.C c = new HaEngineTest.C().leader("pg0").member("pg0");
        c.b.member("pg9", "{\"state\":\"running\"}", 99);
        assertThat(Failsafe.wantedKey(c.build())).containsOnlyKeys("pg0");
    }
}
