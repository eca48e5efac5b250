package io.pgha.dcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the contract suite cannot see: a simulated clock, fault injection, the provider. */
class InMemoryDcsTest {
    private static final Duration TTL = Duration.ofSeconds(30);

    private final ManualClock clock = new ManualClock();
    private final InMemoryDcs.Store store = new InMemoryDcs.Store(clock);
    private final Dcs a = store.connect(null, "c", "a", TTL);
    private final Dcs b = store.connect(null, "c", "b", TTL);

    @Test
    void sessionsLapseOnTheInjectedClockWithoutAnyThread() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        a.touchMember(Map.of("state", "running"));
        clock.advance(TTL.minusMillis(1));
        assertThat(b.read().isLeader("a")).isTrue();
        clock.advance(Duration.ofMillis(1));
        ClusterState s = b.read();
        assertThat(s.hasLeader()).isFalse();
        assertThat(s.members()).isEmpty();
        assertThat(a.renewLeader()).isFalse();
    }

    @Test
    void renewalAndTouchExtendTheSessionByAFullTtl() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        clock.advance(Duration.ofSeconds(20));
        assertThat(a.renewLeader()).isTrue();
        clock.advance(Duration.ofSeconds(20));
        a.touchMember(Map.of());
        clock.advance(Duration.ofSeconds(29));
        assertThat(b.read().isLeader("a")).isTrue();
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.read().hasLeader()).isFalse();
    }

    @Test
    void whileTheStoreIsDownEveryCallFailsAndSessionsKeepAgeing() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        store.setAvailable(false);
        assertThatThrownBy(a::read).isInstanceOf(DcsException.class).hasMessageContaining("unavailable");
        assertThatThrownBy(a::renewLeader).isInstanceOf(DcsException.class);
        assertThatThrownBy(() -> b.writeConfig(Map.of(), Dcs.ANY)).isInstanceOf(DcsException.class);
        clock.advance(TTL);
        store.setAvailable(true);
        assertThat(a.renewLeader())
                .as("the session lapsed while the store was down")
                .isFalse();
        assertThat(b.acquireLeader()).isTrue();
    }

    @Test
    void aPartitionedMemberFailsWhileTheOthersWork() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        store.partition("a", true);
        assertThatThrownBy(a::renewLeader).isInstanceOf(DcsException.class).hasMessageContaining("'a'");
        assertThat(b.read().isLeader("a")).isTrue();
        clock.advance(TTL);
        assertThat(b.acquireLeader()).isTrue();
        store.partition("a", false);
        assertThat(a.renewLeader()).isFalse();
        assertThat(a.read().isLeader("b")).isTrue();
    }

    @Test
    void closeWhileCutOffLeavesTheKeysToExpire() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        store.partition("a", true);
        a.close();
        store.partition("a", false);
        assertThat(b.read().isLeader("a")).isTrue();
        clock.advance(TTL);
        assertThat(b.read().hasLeader()).isFalse();
        assertThatThrownBy(a::read).isInstanceOf(DcsException.class).hasMessageContaining("closed");
    }

    @Test
    void aRestartedMemberTakesItsLockOverFromTheSessionOfItsKilledPredecessor() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        long before = b.read().leader().version();
        clock.advance(Duration.ofSeconds(20)); // a is killed: no more renewals, no close
        Dcs restarted = store.connect(null, "c", "a", TTL);
        assertThat(restarted.renewLeader()).isTrue();
        assertThat(b.read().leader().version())
                .as("re-bound to the new session")
                .isGreaterThan(before);
        clock.advance(Duration.ofSeconds(10)); // the killed process's session lapses
        assertThat(b.read().isLeader("a")).isTrue();
        assertThat(b.acquireLeader()).isFalse();
        clock.advance(Duration.ofSeconds(19));
        assertThat(b.read().isLeader("a")).as("a full ttl from the takeover").isTrue();
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.read().hasLeader()).isFalse();
        assertThat(b.acquireLeader()).isTrue();
        assertThat(restarted.renewLeader()).isFalse();
        assertThat(a.renewLeader()).isFalse();
    }

    @Test
    void aPersistentKeyHoldingOurNameIsTakenOverAndThenLapsesWithOurSession() throws Exception {
        store.putRaw("c", "leader", "a");
        assertThat(b.renewLeader()).isFalse();
        assertThat(a.renewLeader()).isTrue();
        clock.advance(TTL);
        assertThat(b.read().hasLeader()).isFalse();
    }

    @Test
    void versionsComeFromTheStoreRevision() throws Exception {
        long before = store.revision();
        assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();
        assertThat(store.revision()).isEqualTo(before + 1);
        assertThat(a.read().config().version()).isEqualTo(before + 1);
        assertThat(a.renewLeader()).isFalse();
        assertThat(store.revision()).as("a failed write changes nothing").isEqualTo(before + 1);
    }

    @Test
    void renewalDoesNotChangeTheLeaderKeyVersion() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        long version = b.read().leader().version();
        assertThat(a.renewLeader()).isTrue();
        assertThat(b.read().leader().version()).isEqualTo(version);
    }

    @Test
    void clustersAndNamespacesAreSeparate() throws Exception {
        Dcs other = store.connect("/other", "c", "x", TTL);
        Dcs otherScope = store.connect(null, "d", "y", TTL);
        assertThat(a.acquireLeader()).isTrue();
        assertThat(other.acquireLeader()).isTrue();
        assertThat(otherScope.acquireLeader()).isTrue();
        store.putRaw("d", "config", "{\"ttl\": 10}");
        assertThat(a.read().config()).isNull();
        assertThat(otherScope.read().config().data()).isEqualTo(Map.of("ttl", 10L));
    }

    @Test
    void badArgumentsAreRejectedNamingTheValue() {
        assertThatThrownBy(() -> store.connect(null, "c", "a/b", TTL)).hasMessageContaining("'a/b'");
        assertThatThrownBy(() -> store.connect(null, "", "a", TTL)).hasMessageContaining("scope");
        assertThatThrownBy(() -> store.connect(null, "c", "a", Duration.ZERO)).hasMessageContaining("ttl");
        assertThatThrownBy(() -> a.setTtl(Duration.ofSeconds(-1))).hasMessageContaining("ttl");
        assertThatThrownBy(() -> store.putRaw("c", "/service/c/config", "x")).hasMessageContaining("relative");
    }

    @Test
    void aWakeUpBeforeAwaitChangeIsNotLost() throws Exception {
        a.wakeUp();
        assertThat(a.awaitChange(Duration.ofSeconds(30))).isTrue();
        assertThat(a.awaitChange(Duration.ofMillis(10))).isFalse();
    }

    @Test
    void awaitChangeSeesAChangeMadeByAnotherMemberAfterItBegan() throws Exception {
        Thread writer = new Thread(() -> {
            try {
                Thread.sleep(200);
                b.writeConfig(Map.of(), Dcs.ANY);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        writer.start();
        assertThat(a.awaitChange(Duration.ofSeconds(30))).isTrue();
        writer.join();
    }

    @Test
    void aChangeBetweenReadAndAwaitChangeIsNotLost() throws Exception {
        a.read();
        assertThat(b.acquireLeader()).isTrue();
        assertThat(a.awaitChange(Duration.ofSeconds(30))).isTrue();
        assertThat(a.awaitChange(Duration.ofMillis(10)))
                .as("the change was consumed")
                .isFalse();
    }

    @Test
    void ownWritesDoNotWakeOwnAwaitChange() throws Exception {
        a.read();
        assertThat(a.acquireLeader()).isTrue();
        a.touchMember(Map.of("state", "running"));
        a.writeStatus(new ClusterStatus(1, Map.of(), java.util.List.of()));
        assertThat(a.awaitChange(Duration.ofMillis(50))).isFalse();
        assertThat(b.awaitChange(Duration.ofMillis(50)))
                .as("another member sees them")
                .isTrue();
    }

    @Test
    void memberRecordRewritesDoNotWakeOtherMembersButNewMembersDo() throws Exception {
        a.touchMember(Map.of("state", "running", "xlog_location", 1L));
        b.read();
        a.touchMember(Map.of("state", "running", "xlog_location", 2L));
        a.writeStatus(new ClusterStatus(2, Map.of(), java.util.List.of()));
        assertThat(b.awaitChange(Duration.ofMillis(50)))
                .as("a rewritten member record and status")
                .isFalse();
        store.connect(null, "c", "c", TTL).touchMember(Map.of("state", "starting"));
        assertThat(b.awaitChange(Duration.ofSeconds(30))).as("a new member").isTrue();
    }

    @Test
    void aSessionLapseWakesAwaitChange() throws Exception {
        assertThat(a.acquireLeader()).isTrue();
        b.read();
        clock.advance(TTL);
        assertThat(b.awaitChange(Duration.ofSeconds(30))).isTrue();
        assertThat(b.read().hasLeader()).isFalse();
    }

    @Test
    void theMemoryProviderSharesANamedStore() throws Exception {
        DcsProvider provider = DcsProvider.find("memory");
        String name = "provider-test-" + System.nanoTime();
        try (Dcs x = provider.create(new DcsSettings(null, "p", "x", TTL, null, Map.of("store", name)));
                Dcs y = provider.create(new DcsSettings(null, "p", "y", TTL, null, Map.of("store", name)));
                Dcs z = provider.create(new DcsSettings(null, "p", "z", TTL, null, Map.of("store", name + "-other")))) {
            assertThat(x.acquireLeader()).isTrue();
            assertThat(y.read().isLeader("x")).isTrue();
            assertThat(z.read().hasLeader()).isFalse();
            InMemoryDcsProvider.store(name).partition("y", true);
            assertThatThrownBy(y::read).isInstanceOf(DcsException.class);
        }
        assertThatThrownBy(() -> provider.create(new DcsSettings(null, "p", "x", TTL, null, Map.of("hosts", "h"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'hosts'");
    }

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
