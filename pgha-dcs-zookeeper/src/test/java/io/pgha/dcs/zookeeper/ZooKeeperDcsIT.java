package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.curator.test.KillSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What is particular to ZooKeeper: sessions, their expiry and clamping, the watch filter. */
class ZooKeeperDcsIT {
    private static final Duration TTL = Duration.ofSeconds(4);
    private static ZooKeeperTestServer server;
    private final List<Dcs> opened = new ArrayList<>();
    private final String scope = "zk-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    static void startServer() throws Exception {
        server = new ZooKeeperTestServer();
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void closeAll() {
        opened.forEach(Dcs::close);
    }

    private Dcs member(String name, Duration ttl) throws DcsException {
        Dcs dcs = server.connect(scope, name, ttl);
        opened.add(dcs);
        return dcs;
    }

    @Test
    void aChangedRetryTimeoutBoundsTheNextCallsWithoutARestart() throws Exception {
        // an ensemble nobody listens on: every call waits for a connection until retry_timeout is spent
        Dcs d = new ZooKeeperDcsProvider()
                .create(new io.pgha.dcs.DcsSettings(
                        null, scope, "a", TTL, Duration.ofSeconds(30), Map.of("hosts", "127.0.0.1:1")));
        opened.add(d);
        d.setRetryTimeout(Duration.ofSeconds(3)); // what a patronictl edit-config -s retry_timeout=3 leads to
        long t0 = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(d::read).isInstanceOf(DcsException.class);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        // well within the 30 s the client was built with (a bound, not a speed goal)
        assertThat(took).isLessThan(Duration.ofSeconds(15));
        System.out.println(
                "ZooKeeper read with retry_timeout 30 s changed to 3 s failed after " + took.toMillis() + " ms");
    }

    @Test
    void anExpiredSessionLosesTheLockForGood() throws Exception {
        Dcs a = member("a", TTL);
        Dcs b = member("b", TTL);
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();

        KillSession.kill(ZooKeeperTestServer.curator(a).getZookeeperClient().getZooKeeper());

        // KillSession expires the session on the client side: the server lets it time out, and the
        // ephemeral leader znode goes with it (until then a renewal by a's new session would take
        // the znode over, as a restarted process does: see the contract suite)
        awaitTrue(
                "the old session's leader znode to go",
                TTL.multipliedBy(3),
                () -> !b.read().hasLeader());
        assertThat(b.acquireLeader()).isTrue();
        // until Curator has a new session the renewal may throw; it must never say true again
        awaitTrue("renewLeader to answer false after the session expired", Duration.ofSeconds(30), () -> {
            try {
                return !a.renewLeader();
            } catch (DcsException e) {
                return false;
            }
        });
        assertThat(a.renewLeader()).isFalse();
        assertThat(a.acquireLeader()).isFalse();
        // the adapter lives on with its new session
        a.touchMember(Map.of("state", "running"));
        assertThat(b.read().member("a")).isPresent();
        assertThat(b.releaseLeader()).isTrue();
        assertThat(a.acquireLeader()).isTrue();
        assertThat(a.renewLeader()).isTrue();
    }

    @Test
    void aSuspendedConnectionDoesNotCarryTheLockPastItsDeadline() throws Exception {
        // the session (8 s) outlives a 3 s outage, but the lock's own deadline (2 s) does not
        Dcs a = member("a", Duration.ofSeconds(8));
        Dcs b = member("b", TTL);
        a.setTtl(Duration.ofSeconds(2));
        assertThat(a.acquireLeader()).isTrue();
        long sessionBefore = ZooKeeperTestServer.curator(a)
                .getZookeeperClient()
                .getZooKeeper()
                .getSessionId();
        server.stop();
        try {
            Thread.sleep(3000);
        } finally {
            server.restart();
        }
        awaitTrue("a renewal after the outage to answer", Duration.ofSeconds(30), () -> {
            try {
                assertThat(a.renewLeader()).as("renewal past the deadline").isFalse();
                return true;
            } catch (DcsException e) {
                return false;
            }
        });
        assertThat(ZooKeeperTestServer.curator(a)
                        .getZookeeperClient()
                        .getZooKeeper()
                        .getSessionId())
                .as("the session survived the outage, so only the deadline took the lock")
                .isEqualTo(sessionBefore);
        awaitTrue(
                "the lapsed leader znode to be removed",
                Duration.ofSeconds(30),
                () -> !b.read().hasLeader());
    }

    @Test
    void aTtlAboveTheServersMaximumSessionTimeoutIsCappedByIt() throws Exception {
        // the test server grants at most 20 ticks = 10 s; the lock must not be believed for 20 s
        Dcs a = member("a", Duration.ofSeconds(20));
        Dcs b = member("b", TTL);
        long t0 = System.nanoTime();
        assertThat(a.acquireLeader()).isTrue();
        awaitTrue(
                "the lock to lapse at the negotiated session timeout",
                Duration.ofSeconds(16),
                () -> !b.read().hasLeader());
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThan(Duration.ofSeconds(8));
    }

    @Test
    void ownPeriodicWritesAndMemberDataChangesDoNotWakeTheLoop() throws Exception {
        Dcs a = member("a", TTL);
        Dcs b = member("b", TTL);
        a.touchMember(Map.of("state", "running"));
        b.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        a.read();
        drain(a);
        a.touchMember(Map.of("state", "running", "xlog_location", 5L));
        a.writeStatus(new ClusterStatus(5, Map.of(), List.of()));
        assertThat(a.renewLeader()).isTrue();
        b.touchMember(Map.of("state", "running", "xlog_location", 4L));
        assertThat(a.awaitChange(Duration.ofSeconds(1))).isFalse();

        Dcs c = member("c", TTL);
        c.touchMember(Map.of("state", "starting"));
        assertThat(a.awaitChange(Duration.ofSeconds(20)))
                .as("a new member wakes the loop")
                .isTrue();
    }

    @Test
    void aChangeBetweenReadAndAwaitChangeIsNotLost() throws Exception {
        Dcs a = member("a", TTL);
        Dcs b = member("b", TTL);
        a.read();
        drain(a);
        a.read();
        assertThat(b.acquireLeader()).isTrue();
        Thread.sleep(500); // the event is on its way before the wait starts
        assertThat(a.awaitChange(Duration.ofSeconds(20))).isTrue();
    }

    @Test
    void whileTheServerIsDownCallsGiveUpAfterTheRetryTimeoutAndCloseDoesNotHang() throws Exception {
        Dcs a = member("a", TTL);
        a.touchMember(Map.of("state", "running"));
        server.stop();
        try {
            long t0 = System.nanoTime();
            try {
                a.read();
                throw new AssertionError("read succeeded while the server was down");
            } catch (DcsException expected) {
                assertThat(Duration.ofNanos(System.nanoTime() - t0))
                        .as("time to give up")
                        .isLessThan(ZooKeeperTestServer.RETRY_TIMEOUT.plusSeconds(5));
            }
            t0 = System.nanoTime();
            a.close();
            assertThat(Duration.ofNanos(System.nanoTime() - t0))
                    .as("time to close")
                    .isLessThan(Duration.ofSeconds(10));
        } finally {
            server.restart();
        }
    }

    @Test
    void callsAfterCloseThrow() throws Exception {
        Dcs a = member("a", TTL);
        a.close();
        a.close();
        try {
            a.read();
            throw new AssertionError("read after close succeeded");
        } catch (DcsException expected) {
            assertThat(expected).hasMessageContaining("closed");
        }
    }

    private static void drain(Dcs dcs) throws InterruptedException {
        for (int i = 0; i < 50 && dcs.awaitChange(Duration.ofMillis(500)); i++) {
            // consume pending events
        }
    }

    private static void awaitTrue(String what, Duration bound, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (DcsException e) {
                // not yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + bound + " waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
