package io.pgha.ha;

import static io.pgha.ha.HaEngineTest.bare;
import static io.pgha.ha.HaEngineTest.in;
import static io.pgha.ha.HaEngineTest.noData;
import static io.pgha.ha.HaEngineTest.peer;
import static io.pgha.ha.HaEngineTest.primary;
import static io.pgha.ha.HaEngineTest.replica;
import static io.pgha.ha.HaEngineTest.stopped;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.ha.HaEngineTest.C;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code watchdog.mode: required} with a watchdog that is not usable ({@link HaInput#watchdogFailed()},
 * from {@link Fence#isHealthy}): Patroni's rules. The member never races for the lock ("Watchdog
 * device is not usable"), never bootstraps, releases a lock it won without promoting ("Not promoting
 * self because watchdog could not be activated") and demotes a primary it leads ("Demoting self
 * because watchdog could not be activated"). With a usable watchdog nothing changes.
 */
class HaEngineWatchdogTest {
    private final HaEngine engine = new HaEngine();

    private static List<Class<?>> types(Decision d) {
        List<Class<?>> t = new ArrayList<>();
        d.actions().forEach(a -> t.add(a.getClass()));
        return t;
    }

    @Test
    void aMemberWithoutAUsableWatchdogDoesNotRace() {
        Decision d = engine.decide(in("pg1")
                .cluster(new C().member("pg1").build())
                .postgres(replica(1000))
                .watchdogFailed(true)
                .build());
        assertThat(d.reason()).contains("not the healthiest node").contains("watchdog device is not usable");
        assertThat(d.actions()).isEmpty();
        Decision ok = engine.decide(in("pg1")
                .cluster(new C().member("pg1").build())
                .postgres(replica(1000))
                .build());
        assertThat(types(ok)).containsExactly(Action.AcquireLock.class);
    }

    @Test
    void aPrimaryWithoutALeaderAndWithoutAUsableWatchdogDemotesInsteadOfTakingTheLock() {
        Decision d = engine.decide(in("pg0")
                .cluster(new C().member("pg0").build())
                .postgres(primary(5000))
                .watchdogFailed(true)
                .build());
        assertThat(d.reason()).contains("watchdog device is not usable");
        assertThat(types(d)).containsExactly(Action.Demote.class);
    }

    @Test
    void theNamedCandidateOfAFailoverDoesNotTakeTheLockEither() {
        Decision d = engine.decide(in("pg2")
                .cluster(new C()
                        .member("pg1")
                        .member("pg2")
                        .failover("pg0", "pg2", null)
                        .build())
                .postgres(replica(1000))
                .peers(Map.of("pg1", peer("pg1", "replica", 900)))
                .watchdogFailed(true)
                .build());
        assertThat(d.reason()).contains("watchdog device is not usable");
        assertThat(d.actions()).isEmpty();
    }

    @Test
    void aStoppedMemberDoesNotTakeTheLockToStartAsPrimary() {
        Decision d = engine.decide(in("pg0")
                .cluster(new C().member("pg0").build())
                .postgres(stopped(PostgresStatus.Role.PRIMARY))
                .watchdogFailed(true)
                .build());
        // as Patroni: it starts read-only, as a secondary, and does not race
        assertThat(d.reason())
                .contains("starting as a secondary with no leader to follow")
                .contains("watchdog device is not usable");
        assertThat(d.actions()).singleElement().isInstanceOf(Action.StartStandby.class);
    }

    @Test
    void aMemberWithoutAUsableWatchdogDoesNotBootstrap() {
        Decision d = engine.decide(in("pg0")
                .cluster(bare())
                .postgres(noData())
                .dataDirectoryEmpty(true)
                .watchdogFailed(true)
                .build());
        assertThat(d.reason())
                .isEqualTo("waiting for a member to bootstrap the cluster (watchdog device is not usable)");
        assertThat(d.actions()).isEmpty();
    }

    @Test
    void aReplicaThatWonTheLockButCouldNotActivateTheWatchdogReleasesItWithoutPromoting() {
        Decision d = engine.decide(in("pg1")
                .cluster(new C().leader("pg1").member("pg1").build())
                .postgres(replica(5))
                .watchdogFailed(true)
                .build());
        assertThat(d.reason()).isEqualTo("Not promoting self because watchdog could not be activated");
        assertThat(types(d)).containsExactly(Action.ReleaseLock.class);
    }

    @Test
    void aLeadingPrimaryWhoseWatchdogCouldNotBeActivatedDemotesAndReleasesTheLock() {
        Decision d = engine.decide(in("pg0")
                .cluster(new C().leader("pg0").member("pg0").member("pg1").build())
                .postgres(primary(5000))
                .watchdogFailed(true)
                .build());
        assertThat(d.reason()).isEqualTo("Demoting self because watchdog could not be activated");
        assertThat(d.actions()).containsExactly(new Action.Demote(StopMode.IMMEDIATE, false, true));
    }

    @Test
    void aPausedLeaderIsLeftAlone() {
        // Patroni disables the watchdog in pause and does not enforce it
        Decision d = engine.decide(in("pg0")
                .cluster(new C().leader("pg0").member("pg0").build())
                .config(io.pgha.config.DynamicConfig.from(Map.of("pause", true)))
                .postgres(primary(5000))
                .watchdogFailed(true)
                .build());
        assertThat(d.reason()).startsWith("PAUSE");
    }
}
