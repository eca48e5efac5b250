package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.InMemoryDcs;
import io.pgha.postgres.PostgresController;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Issue 19 item 15: an Error in the HA loop (here a StackOverflowError from PostgreSQL's status) is
 * not swallowed and does not end the loop silently: the node's fatal-error handler gets it, which
 * {@code pgha run} turns into the process's exit. The node's own loop, real threads.
 */
class HaNodeFatalErrorTest {

    @Test
    void anErrorInTheLoopReachesTheFatalErrorHandler() throws Exception {
        InMemoryDcs.Store store = new InMemoryDcs.Store(Clock.systemUTC());
        SimulatedPostgres pg = new SimulatedPostgres.Network().node("pg0");
        AtomicBoolean broken = new AtomicBoolean();
        PostgresController failing = (PostgresController) Proxy.newProxyInstance(
                PostgresController.class.getClassLoader(), new Class<?>[] {PostgresController.class}, (p, m, a) -> {
                    if (broken.get() && m.getName().equals("status")) {
                        throw new StackOverflowError("simulated");
                    }
                    try {
                        return m.invoke(pg, a);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        NodeConfig cfg = NodeConfig.builder("fatal", "pg0")
                .apiUrl("http://pg0:8008/patroni")
                .connUrl("postgres://pg0:5432/postgres")
                .bootstrapDcs(Map.of("ttl", 10, "loop_wait", 1, "retry_timeout", 3))
                .build();
        Dcs dcs = store.connect(null, "fatal", "pg0", Duration.ofSeconds(10));
        CompletableFuture<Throwable> fatal = new CompletableFuture<>();
        HaNode node = HaNode.builder()
                .config(cfg)
                .dcs(dcs)
                .postgres(failing)
                .peerProbe(PeerProbe.NONE)
                .onFatalError(fatal::complete)
                .build();
        try {
            node.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!(pg.status().isPrimary() && pg.status().isRunning()) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(pg.status().isPrimary()).as("bootstrapped").isTrue();
            assertThat(fatal).isNotDone();
            broken.set(true);
            assertThat(fatal.get(15, TimeUnit.SECONDS))
                    .isInstanceOf(StackOverflowError.class)
                    .hasMessage("simulated");
        } finally {
            broken.set(false);
            node.close();
        }
    }
}
