package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.InMemoryDcs;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A long action that fails is tried again on the next cycle, not back to back: the node's own loop
 * (real threads, the system clock) with a PostgreSQL that keeps failing to start. The simulation
 * cannot show this (it schedules cycles itself), so this runs for real, for about four seconds.
 */
class FailingActionTest {

    @Test
    void aPrimaryThatKeepsFailingToStartIsRetriedOnceALoopWait() throws Exception {
        InMemoryDcs.Store store = new InMemoryDcs.Store(Clock.systemUTC());
        SimulatedPostgres.Network net = new SimulatedPostgres.Network();
        SimulatedPostgres pg = net.node("pg0");
        NodeConfig cfg = NodeConfig.builder("failing", "pg0")
                .apiUrl("http://pg0:8008/patroni")
                .connUrl("postgres://pg0:5432/postgres")
                .bootstrapDcs(Map.of("ttl", 10, "loop_wait", 1, "retry_timeout", 3))
                .build();
        Dcs dcs = store.connect(null, "failing", "pg0", Duration.ofSeconds(10));
        HaNode node = HaNode.builder()
                .config(cfg)
                .dcs(dcs)
                .postgres(pg)
                .peerProbe(PeerProbe.NONE)
                .build();
        try {
            node.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!(pg.status().isPrimary() && pg.status().isRunning()) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(pg.status().isPrimary()).as("bootstrapped").isTrue();

            pg.failStarts(Integer.MAX_VALUE);
            pg.crash();
            int before = pg.startAttempts();
            Thread.sleep(3500);
            int attempts = pg.startAttempts() - before;
            // loop_wait 1 s: about three or four tries; back to back it was hundreds
            assertThat(attempts).as("start attempts in 3.5 s").isBetween(1, 8);
        } finally {
            node.close();
        }
    }
}
