package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.InMemoryDcs;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The node's wiring of {@link Fence#isHealthy} (a required watchdog), over InMemoryDcs and
 * simulated PostgreSQL in simulated time, cycle by cycle: the fence is asked every cycle with the
 * dynamic configuration in force, its answer reaches the engine and {@link HaNode#watchdogFailed()}.
 */
class HaNodeWatchdogTest {
    private final SimClock clock = new SimClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final InMemoryDcs.Store store = new InMemoryDcs.Store(clock);
    private final SimulatedPostgres.Network net = new SimulatedPostgres.Network();
    private final List<HaNode> nodes = new ArrayList<>();

    /** A fence whose watchdog is required: unhealthy from the start, or from its first arm (activation failed). */
    static final class RequiredWatchdogFence implements Fence {
        final boolean failsAtActivation;
        boolean activationFailed;
        final List<DynamicConfig> asked = new ArrayList<>();
        int arms;

        RequiredWatchdogFence(boolean failsAtActivation) {
            this.failsAtActivation = failsAtActivation;
        }

        @Override
        public void arm(Duration within) {
            arms++;
            activationFailed = true;
        }

        @Override
        public void disarm() {}

        @Override
        public void close() {}

        @Override
        public boolean isHealthy(DynamicConfig config) {
            asked.add(config);
            return failsAtActivation && !activationFailed;
        }
    }

    private HaNode node(String name, Fence fence) {
        Map<String, Object> dynamic = Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3);
        NodeConfig cfg = NodeConfig.builder("demo", name)
                .apiUrl("http://" + name + ":8008/patroni")
                .connUrl("postgres://" + name + ":5432/postgres")
                .bootstrapDcs(dynamic)
                .build();
        HaNode node = HaNode.builder()
                .config(cfg)
                .dcs(store.connect("/service/", "demo", name, Duration.ofSeconds(10)))
                .postgres(net.node(name))
                .clock(clock)
                .peerProbe((members, timeout) -> Map.of())
                .actionExecutor(Runnable::run)
                .eventExecutor(Runnable::run)
                .lockGuard(false)
                .fence(fence)
                .build();
        nodes.add(node);
        return node;
    }

    private void cycles(HaNode node, int n) {
        for (int i = 0; i < n; i++) {
            node.runCycle();
            clock.advance(Duration.ofSeconds(2));
        }
    }

    @Test
    void aMemberWhoseRequiredWatchdogIsNotUsableNeverBootstrapsNorLeads() {
        RequiredWatchdogFence fence = new RequiredWatchdogFence(false);
        HaNode pg0 = node("pg0", fence);
        cycles(pg0, 5);
        assertThat(pg0.watchdogFailed()).isTrue();
        assertThat(pg0.state().lastReason()).contains("watchdog device is not usable");
        assertThat(net.node("pg0").hasData()).isFalse();
        assertThat(fence.arms).isZero();
        assertThat(fence.asked).isNotEmpty().allSatisfy(c -> assertThat(c).isNotNull());
    }

    @Test
    void aLeaderWhoseWatchdogFailsToActivateStepsDown() throws Exception {
        RequiredWatchdogFence fence = new RequiredWatchdogFence(true);
        HaNode pg0 = node("pg0", fence);
        assertThat(pg0.watchdogFailed()).isFalse();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            pg0.runCycle();
            reasons.add(pg0.state().lastReason());
            clock.advance(Duration.ofSeconds(2));
        }
        assertThat(fence.arms).isPositive();
        assertThat(pg0.watchdogFailed()).isTrue();
        assertThat(reasons).anySatisfy(r -> assertThat(r).contains("watchdog could not be activated"));
        assertThat(net.node("pg0").isRunningPrimary()).isFalse();
        assertThat(store.connect("/service/", "demo", "observer", Duration.ofDays(1))
                        .read()
                        .leader())
                .isNull();
    }
}
