package io.pgha.dcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Dcs} adapter must show, as JUnit 5 tests that an adapter's test class
 * inherits:
 *
 * <pre>
 * class ZooKeeperDcsContractIT extends DcsContract {
 *     protected Dcs connect(String scope, String member, Duration ttl) { ... }
 *     protected void putRaw(String scope, String key, String value) { ... }
 *     protected void stopStore() { server.stop(); }      // optional
 *     protected void startStore() { server.restart(); }  // optional
 *     protected void crash(Dcs dcs) { ... }              // if abandoning the object is no crash
 * }
 * </pre>
 *
 * Each test works in a fresh cluster (a unique scope), so the tests of one class may share one
 * store. Every {@link Dcs} the suite connects is closed after the test. Timing assertions are
 * generous (a slow, shared machine), but a lock that lapses before {@code ttl / 2} or outlives
 * {@code ttl + expirySlack()} fails.
 */
public abstract class DcsContract {

    /** How long a single call may take while the store is down before the suite calls it a hang. */
    private static final Duration CALL_BOUND = Duration.ofSeconds(30);
    /** How long the store may take to be usable again after {@link #startStore()}. */
    private static final Duration RECOVERY_BOUND = Duration.ofSeconds(60);
    /** Extra time, on top of ttl + slack, for the polling and a slow machine. */
    private static final Duration MARGIN = Duration.ofSeconds(3);

    private final List<Dcs> opened = Collections.synchronizedList(new ArrayList<>());

    /** A new Dcs for `member` of cluster `scope` (namespace "/service/"), with this ttl. The suite closes it. */
    protected abstract Dcs connect(String scope, String member, Duration ttl) throws Exception;

    /**
     * Writes a raw value at a key relative to the cluster prefix ("config", "members/x",
     * "optime/leader", ...) with the store's own client, bypassing the adapter: the way a Patroni
     * node (or a broken tool) would have written it. A persistent key, bound to no session.
     */
    protected abstract void putRaw(String scope, String key, String value) throws Exception;

    /** Makes the store unreachable; the default aborts the test (Assumptions) for stores that cannot. */
    protected void stopStore() throws Exception {
        org.junit.jupiter.api.Assumptions.abort("this store cannot be stopped in tests");
    }

    /** Brings the store back after stopStore(). */
    protected void startStore() throws Exception {}

    /**
     * Makes {@code dcs} behave as the client of a process killed with {@code kill -9}: it makes no
     * more calls and does not close, so its session/lease is not ended but lapses on its own, one
     * ttl (plus the store's slack) after the last renewal. The suite never calls {@code dcs} again
     * (it still closes it after the test).
     *
     * <p>The default just abandons the object: right for a client whose session lives only by the
     * calls the {@link Dcs} makes (an etcd lease refreshed with each renewal, a Consul session
     * renewed by the adapter, {@link InMemoryDcs}). A client that keeps its session alive on its own
     * (ZooKeeper heartbeats) must override this to stop those heartbeats without closing the session.
     */
    protected void crash(Dcs dcs) throws Exception {
        // abandoned: no more renewals, no close
    }

    /** The ttl the suite uses; keep it short. Default 4 s. */
    protected Duration ttl() {
        return Duration.ofSeconds(4);
    }

    /** Extra time a store may take past ttl to expire a session (lease granularity, session timeouts). Default 4 s. */
    protected Duration expirySlack() {
        return Duration.ofSeconds(4);
    }

    @AfterEach
    void closeEveryDcs() {
        synchronized (opened) {
            for (Dcs dcs : opened) {
                try {
                    dcs.close();
                } catch (RuntimeException e) {
                    // a failing close must not hide the test's own result
                }
            }
            opened.clear();
        }
    }

    // ---------------------------------------------------------------- the leader lock

    @Test
    void exactlyOneOfConcurrentAcquirersWinsTheLock() throws Exception {
        String scope = newScope();
        int n = 5;
        List<Dcs> members = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            members.add(member(scope, "m" + i));
        }
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (Dcs m : members) {
                results.add(pool.submit(() -> {
                    start.await(30, TimeUnit.SECONDS);
                    return m.acquireLeader();
                }));
            }
            List<String> winners = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (results.get(i).get(60, TimeUnit.SECONDS)) {
                    winners.add(members.get(i).memberName());
                }
            }
            assertThat(winners).as("members that acquired the lock").hasSize(1);
            assertThat(members.get(0).read().leader().name()).isEqualTo(winners.get(0));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void acquireFailsWhileAnotherMemberHoldsTheLock() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.acquireLeader()).isTrue();
        assertThat(b.acquireLeader()).isFalse();
        assertThat(b.read().leader().name()).isEqualTo("a");
    }

    @Test
    void lockExpiresAfterTtlWithoutRenewalButNotBefore() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        long t0 = System.nanoTime();
        assertThat(a.acquireLeader()).isTrue();

        sleepUntil(t0, ttl().dividedBy(2));
        assertThat(b.read().isLeader("a"))
                .as("lock held at ttl/2 without renewal")
                .isTrue();
        assertThat(b.acquireLeader()).isFalse();

        awaitTrue(
                "the leader key of a member that stopped renewing to expire",
                t0,
                expiryBound(),
                () -> !b.read().hasLeader());
        assertThat(b.acquireLeader()).isTrue();
        assertThat(a.renewLeader()).as("renewal by the old holder after expiry").isFalse();
        assertThat(b.read().leader().name()).isEqualTo("b");
    }

    @Test
    void renewalKeepsTheLockPastTtl() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.acquireLeader()).isTrue();
        long t0 = System.nanoTime();
        Duration span = ttl().plus(ttl().dividedBy(2)).plus(expirySlack());
        while (System.nanoTime() - t0 < span.toNanos()) {
            assertThat(a.renewLeader()).as("renewal").isTrue();
            Thread.sleep(ttl().dividedBy(4).toMillis());
        }
        assertThat(a.renewLeader()).isTrue();
        assertThat(b.read().isLeader("a")).as("lock held past ttl by renewing").isTrue();
        assertThat(b.acquireLeader()).isFalse();
    }

    @Test
    void renewFailsOnceAnotherMemberHoldsTheLock() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.acquireLeader()).isTrue();
        assertThat(b.renewLeader())
                .as("renewal by a member that never held the lock")
                .isFalse();
        assertThat(a.releaseLeader()).isTrue();
        assertThat(a.renewLeader()).as("renewal of a released lock").isFalse();
        assertThat(b.acquireLeader()).isTrue();
        assertThat(a.renewLeader())
                .as("renewal while another member holds the lock")
                .isFalse();
        assertThat(a.read().leader().name()).isEqualTo("b");
    }

    /**
     * A replica takes over the lock of a leader whose agent is gone before the ttl ends, by
     * compare-and-set on the key as read: the old holder's renewal then fails, and a takeover with a
     * stale version, or naming another holder, changes nothing.
     */
    @Test
    void takeOverReplacesTheLockAsReadAndTheOldHolderCannotRenewIt() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        Dcs c = member(scope, "c");
        assertThat(a.acquireLeader()).isTrue();
        io.pgha.dcs.Leader held = b.read().leader();
        assertThat(b.takeOverLeader("c", held.version()))
                .as("naming another holder")
                .isFalse();
        assertThat(b.takeOverLeader("a", held.version() + 1000))
                .as("a version never read")
                .isFalse();
        assertThat(b.read().isLeader("a")).isTrue();

        assertThat(b.takeOverLeader("a", held.version())).isTrue();
        assertThat(c.read().leader().name()).isEqualTo("b");
        assertThat(a.renewLeader()).as("the old holder's renewal").isFalse();
        assertThat(c.read().leader().name()).isEqualTo("b");
        assertThat(c.takeOverLeader("a", held.version()))
                .as("a second takeover of the same old lock")
                .isFalse();
        assertThat(b.renewLeader()).as("the new holder renews").isTrue();
        assertThat(c.read().leader().name()).isEqualTo("b");
    }

    /**
     * The agent of the leader is killed and started again while its PostgreSQL runs on as primary:
     * the new process (a new {@link Dcs} for the same member name) finds the leader key still
     * holding its name, under the dead client's session/lease. Like Patroni, it takes the key over
     * with its first renewal (etcd: a put onto its own lease while the value is its name; ZooKeeper:
     * the znode re-created under its session; Consul: the key deleted with cas and acquired with
     * its session), rather than lose the lock and cost the cluster a failover. From then on the
     * lock lives by the new session: it does not lapse with the dead one, and lapses a ttl after
     * the new client's last renewal. No other member can take it meanwhile, and a client of another
     * name cannot renew it.
     */
    @Test
    void aRestartedMemberReclaimsTheLockItsKilledPredecessorHeld() throws Exception {
        String scope = newScope();
        Dcs killed = member(scope, "a");
        Dcs b = member(scope, "b");
        killed.touchMember(Map.of("state", "running", "role", "primary"));
        assertThat(killed.acquireLeader()).isTrue();
        long crashedAt = System.nanoTime();
        crash(killed);

        Dcs other = member(scope, "c");
        assertThat(other.renewLeader())
                .as("renewal by a new client of another member")
                .isFalse();
        assertThat(b.renewLeader())
                .as("renewal by a member that never held the lock")
                .isFalse();
        if (!b.read().isLeader("a")) {
            // the store ended the dead client's session at once (with ZooKeeper, the client library
            // closing the dead handle can race the emulated crash): nothing is left to reclaim, and
            // the restarted member must not get a lock out of it
            assertThat(b.read().hasLeader()).as("no other leader appeared").isFalse();
            assertThat(member(scope, "a").renewLeader())
                    .as("renewal of a lock that lapsed with its session")
                    .isFalse();
            System.out.println("DcsContract: the killed client's session ended at once; the reclaim of a live"
                    + " lock was not exercised in this run");
            return;
        }

        Dcs restarted = member(scope, "a");
        assertThat(restarted.renewLeader())
                .as("the first renewal of the restarted member")
                .isTrue();
        assertThat(b.acquireLeader()).isFalse();
        assertThat(b.read().isLeader("a")).isTrue();

        // renew until the killed client's session has certainly lapsed (its member key, which the
        // restarted member never rewrites, shows it): the lock must not lapse with it
        boolean oldSessionGone = false;
        while (!oldSessionGone) {
            Thread.sleep(ttl().dividedBy(4).toMillis());
            assertThat(restarted.renewLeader())
                    .as("renewal of the reclaimed lock")
                    .isTrue();
            ClusterState s = b.read();
            assertThat(s.isLeader("a"))
                    .as("the reclaimed lock, while the killed client's session ages")
                    .isTrue();
            assertThat(b.acquireLeader()).isFalse();
            oldSessionGone = s.member("a").isEmpty();
            if (!oldSessionGone && System.nanoTime() - crashedAt > expiryBound().toNanos()) {
                fail("the member key of the killed client did not lapse within " + expiryBound()
                        + ": crash(Dcs) does not stop its session (override it for this store)");
            }
        }
        assertThat(restarted.renewLeader()).isTrue();
        assertThat(b.read().isLeader("a"))
                .as("the reclaimed lock after the killed client's session lapsed")
                .isTrue();

        // the lock now lives by the restarted member's session: held for ttl/2 without renewal, then it lapses
        long lastRenewal = System.nanoTime();
        assertThat(restarted.renewLeader()).isTrue();
        sleepUntil(lastRenewal, ttl().dividedBy(2));
        assertThat(b.read().isLeader("a"))
                .as("the reclaimed lock at ttl/2 without renewal")
                .isTrue();
        assertThat(b.acquireLeader()).isFalse();
        awaitTrue(
                "the reclaimed lock to expire once its new holder stops renewing",
                lastRenewal,
                expiryBound(),
                () -> !b.read().hasLeader());
        assertThat(b.acquireLeader()).isTrue();
        assertThat(restarted.renewLeader())
                .as("renewal after the reclaimed lock lapsed and another member took it")
                .isFalse();
        assertThat(b.read().leader().name()).isEqualTo("b");
    }

    /** The restart case must not open a back door: a name that is not the key's never renews it. */
    @Test
    void aNewClientCannotRenewALockHeldUnderAnotherName() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        assertThat(a.acquireLeader()).isTrue();
        Dcs b = member(scope, "b");
        b.touchMember(Map.of("state", "running"));
        assertThat(b.renewLeader())
                .as("renewal by a new client of another member")
                .isFalse();
        assertThat(b.read().leader().name()).isEqualTo("a");
        assertThat(a.renewLeader())
                .as("the holder's renewal after the failed attempt")
                .isTrue();
    }

    @Test
    void onlyTheHolderReleasesTheLock() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(b.releaseLeader()).as("release with no leader key").isFalse();
        assertThat(a.acquireLeader()).isTrue();
        assertThat(b.releaseLeader())
                .as("release by a member that does not hold the lock")
                .isFalse();
        assertThat(b.read().isLeader("a")).isTrue();
        assertThat(a.releaseLeader()).isTrue();
        assertThat(b.read().hasLeader()).isFalse();
        assertThat(b.acquireLeader()).isTrue();
    }

    @Test
    void closeReleasesTheLockAndTheMemberKeyAtOnce() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        long t0 = System.nanoTime();
        a.close();
        // gone well before the ttl could have run out: the close ended the session
        awaitTrue(
                "the leader and member keys to go when their owner closes",
                t0,
                ttl().multipliedBy(3).dividedBy(4),
                () -> {
                    ClusterState s = b.read();
                    return !s.hasLeader() && s.member("a").isEmpty();
                });
        assertThat(b.acquireLeader()).isTrue();
    }

    @Test
    void setTtlChangesTheExpiry() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a", ttl().multipliedBy(4));
        Dcs b = member(scope, "b");
        a.setTtl(ttl());
        long t0 = System.nanoTime();
        assertThat(a.acquireLeader()).isTrue();
        a.touchMember(Map.of("state", "running"));
        awaitTrue("the keys to expire on the ttl given by setTtl", t0, expiryBound(), () -> {
            ClusterState s = b.read();
            return !s.hasLeader() && s.member("a").isEmpty();
        });
    }

    // ---------------------------------------------------------------- member keys

    @Test
    void memberKeyExpiresWithItsOwnerButNotBefore() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        long t0 = System.nanoTime();
        a.touchMember(Map.of("state", "running", "role", "replica"));
        b.touchMember(Map.of("state", "running"));
        sleepUntil(t0, ttl().dividedBy(2));
        assertThat(b.read().member("a"))
                .as("member key at ttl/2 without a touch")
                .isPresent();
        awaitTrue(
                "the member key of a member that stopped touching it to expire",
                t0,
                expiryBound(),
                () -> b.read().member("a").isEmpty());
    }

    @Test
    void touchMemberReplacesTheRecord() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        a.touchMember(Map.of("state", "starting"));
        a.touchMember(Map.of("state", "running", "role", "primary"));
        Member m = a.read().member("a").orElseThrow();
        assertThat(m.data()).isEqualTo(Map.of("state", "running", "role", "primary"));
    }

    @Test
    void anUnchangedMemberRecordIsNotWrittenAgainAndLivesOnItsSession() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        Map<String, Object> record = Map.of("state", "running", "role", "replica", "xlog_location", 50332000L);
        a.touchMember(record);
        long written = a.read().member("a").orElseThrow().version();
        long t0 = System.nanoTime();
        Duration span = ttl().plus(ttl().dividedBy(2)).plus(expirySlack());
        while (System.nanoTime() - t0 < span.toNanos()) {
            a.read(); // as each HA cycle: read, then publish the record
            a.touchMember(record);
            Thread.sleep(ttl().dividedBy(4).toMillis());
        }
        Member m = b.read().member("a").orElseThrow(() -> new AssertionError("the unchanged record lapsed"));
        assertThat(m.version())
                .as("version of a member record touched unchanged past the ttl (no write)")
                .isEqualTo(written);
        assertThat(m.data()).isEqualTo(record);

        a.read();
        a.touchMember(Map.of("state", "running", "role", "replica", "xlog_location", 50332100L));
        assertThat(b.read().member("a").orElseThrow().version())
                .as("a changed field is written")
                .isNotEqualTo(written);
    }

    @Test
    void aMemberRecordRemovedByAnotherIsWrittenAgainThoughUnchanged() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Map<String, Object> record = Map.of("state", "running", "role", "replica");
        a.touchMember(record);
        a.read();
        putRaw(scope, "members/a", "{\"state\":\"stopped\"}"); // another hand (patronictl, a predecessor)
        a.read();
        a.touchMember(record);
        assertThat(member(scope, "b").read().member("a").orElseThrow().data()).isEqualTo(record);
    }

    @Test
    void anUnchangedHistoryIsNotWrittenAgain() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        List<HistoryEntry> history =
                List.of(new HistoryEntry(1, 25165984L, "no recovery target specified", null, null));
        a.writeHistory(history);
        long written = a.read().historyVersion();
        a.writeHistory(history);
        a.read();
        a.writeHistory(history);
        assertThat(member(scope, "b").read().historyVersion())
                .as("version of a history written again unchanged")
                .isEqualTo(written);
    }

    // ---------------------------------------------------------------- compare-and-set

    @Test
    void configCompareAndSet() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT))
                .as("create if absent")
                .isTrue();
        assertThat(b.writeConfig(Map.of("ttl", 31L), Dcs.ABSENT))
                .as("second create if absent")
                .isFalse();
        ClusterConfig c1 = b.read().config();
        assertThat(c1.data()).isEqualTo(Map.of("ttl", 30L));

        assertThat(b.writeConfig(Map.of("ttl", 32L), c1.version()))
                .as("write with the current version")
                .isTrue();
        assertThat(a.writeConfig(Map.of("ttl", 33L), c1.version()))
                .as("write with a stale version")
                .isFalse();
        ClusterConfig c2 = a.read().config();
        assertThat(c2.data()).isEqualTo(Map.of("ttl", 32L));
        assertThat(c2.version()).isNotEqualTo(c1.version());

        assertThat(a.writeConfig(Map.of("ttl", 34L), Dcs.ANY))
                .as("unconditional write")
                .isTrue();
        assertThat(b.read().config().data()).isEqualTo(Map.of("ttl", 34L));
    }

    @Test
    void failoverCompareAndSetAndDelete() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.writeFailover(Failover.of("a", "b", null), Dcs.ABSENT)).isTrue();
        assertThat(b.writeFailover(Failover.of("a", "c", null), Dcs.ABSENT)).isFalse();
        Failover f1 = b.read().failover();
        assertThat(f1.member()).isEqualTo("b");

        assertThat(b.writeFailover(Failover.of(null, "c", null), f1.version())).isTrue();
        assertThat(a.writeFailover(Failover.of(null, "d", null), f1.version()))
                .as("stale version")
                .isFalse();
        Failover f2 = a.read().failover();
        assertThat(f2.member()).isEqualTo("c");
        assertThat(f2.leader()).isNull();

        assertThat(a.writeFailover(null, f1.version()))
                .as("delete with a stale version")
                .isFalse();
        assertThat(a.read().failover()).isNotNull();
        assertThat(a.writeFailover(null, f2.version()))
                .as("delete with the current version")
                .isTrue();
        assertThat(a.read().failover()).isNull();

        assertThat(a.writeFailover(Failover.of("a", null, null), Dcs.ANY)).isTrue();
        assertThat(b.writeFailover(Failover.of("b", null, null), Dcs.ANY)).isTrue();
        assertThat(a.read().failover().leader()).isEqualTo("b");
    }

    @Test
    void syncCompareAndSetAndDelete() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.writeSync(new SyncState("a", List.of("b"), null, Dcs.ABSENT), Dcs.ABSENT))
                .isTrue();
        assertThat(b.writeSync(new SyncState("b", List.of("a"), null, Dcs.ABSENT), Dcs.ABSENT))
                .isFalse();
        SyncState s1 = b.read().sync();
        assertThat(s1.leader()).isEqualTo("a");

        assertThat(a.writeSync(new SyncState("a", List.of("c"), null, Dcs.ABSENT), s1.version()))
                .isTrue();
        assertThat(b.writeSync(new SyncState("b", List.of(), null, Dcs.ABSENT), s1.version()))
                .as("stale")
                .isFalse();
        SyncState s2 = b.read().sync();
        assertThat(s2.syncStandbys()).containsExactly("c");

        assertThat(b.writeSync(null, s1.version()))
                .as("delete with a stale version")
                .isFalse();
        assertThat(b.writeSync(null, s2.version()))
                .as("delete with the current version")
                .isTrue();
        assertThat(a.read().sync()).isNull();

        assertThat(b.writeSync(new SyncState("b", List.of("a"), null, Dcs.ABSENT), Dcs.ANY))
                .isTrue();
        assertThat(a.writeSync(new SyncState("a", List.of("b"), null, Dcs.ABSENT), Dcs.ANY))
                .isTrue();
        assertThat(b.read().sync().leader()).isEqualTo("a");
    }

    @Test
    void aVersionFromBeforeADeleteDoesNotMatchTheKeyCreatedAgain() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        assertThat(a.writeFailover(Failover.of("a", "b", null), Dcs.ABSENT)).isTrue();
        long old = a.read().failover().version();
        assertThat(a.writeFailover(null, old)).isTrue();
        assertThat(a.writeFailover(Failover.of("a", "c", null), Dcs.ABSENT)).isTrue();
        assertThat(a.writeFailover(Failover.of("a", "d", null), old))
                .as("a write with the version of the deleted key")
                .isFalse();
        assertThat(a.writeFailover(null, old))
                .as("a delete with the version of the deleted key")
                .isFalse();
        assertThat(a.read().failover().member()).isEqualTo("c");
    }

    @Test
    void initializeIsCreatedOnceAndCanBeCancelled() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        assertThat(a.read().initialize()).isNull();
        assertThat(a.writeInitialize("", Dcs.ABSENT))
                .as("the bootstrap race winner")
                .isTrue();
        assertThat(b.writeInitialize("", Dcs.ABSENT))
                .as("the bootstrap race loser")
                .isFalse();
        ClusterState s = b.read();
        assertThat(s.initialize()).isEmpty();

        assertThat(a.writeInitialize("7301234567890123456", s.initializeVersion()))
                .isTrue();
        assertThat(b.writeInitialize("1", s.initializeVersion()))
                .as("stale version")
                .isFalse();
        assertThat(b.read().initialize()).isEqualTo("7301234567890123456");

        assertThat(a.cancelInitialize()).isTrue();
        assertThat(b.read().initialize()).isNull();
        assertThat(b.writeInitialize("", Dcs.ABSENT))
                .as("the race is open again after cancel")
                .isTrue();
    }

    // ---------------------------------------------------------------- values read back

    @Test
    void memberRecordReadsBackAsWritten() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Map<String, Object> tags = new LinkedHashMap<>();
        tags.put("nofailover", false);
        tags.put("failover_priority", 2L);
        tags.put("clonefrom", true);
        tags.put("zone", "eu-1");
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("conn_url", "postgres://10.0.0.1:5432/postgres");
        data.put("api_url", "http://10.0.0.1:8008/patroni");
        data.put("state", "running");
        data.put("role", "replica");
        data.put("version", "4.0.4");
        data.put("xlog_location", 67393608L);
        data.put("timeline", 3L);
        data.put("pending_restart", true);
        data.put("tags", tags);
        a.touchMember(data);
        Member m = member(scope, "b").read().member("a").orElseThrow();
        assertThat(m.data()).isEqualTo(data);
        assertThat(m.failoverPriority()).isEqualTo(2);
        assertThat(m.xlogLocation()).isEqualTo(67393608L);
    }

    @Test
    void configReadsBackAsWritten() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("max_connections", 200L);
        parameters.put("wal_level", "replica");
        parameters.put("hot_standby", "on");
        Map<String, Object> postgresql = new LinkedHashMap<>();
        postgresql.put("use_pg_rewind", true);
        postgresql.put("parameters", parameters);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("ttl", 30L);
        config.put("loop_wait", 10L);
        config.put("maximum_lag_on_failover", 1048576L);
        config.put("synchronous_mode", false);
        config.put("postgresql", postgresql);
        config.put("slots", Map.of("keep", Map.of("type", "physical")));
        assertThat(a.writeConfig(config, Dcs.ABSENT)).isTrue();
        assertThat(member(scope, "b").read().config().data()).isEqualTo(config);
    }

    @Test
    void statusHistoryFailsafeFailoverAndSyncReadBackAsWritten() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        ClusterStatus status =
                new ClusterStatus(67393608L, Map.of("pg1", 67393000L, "keep", 67000000L), List.of("pg1"));
        List<HistoryEntry> history = List.of(
                new HistoryEntry(1, 25165984L, "no recovery target specified", null, null),
                new HistoryEntry(
                        2, 50331808L, "no recovery target specified", "2026-01-02T10:00:00.123456+00:00", "pg1"));
        Map<String, String> failsafe = new LinkedHashMap<>();
        failsafe.put("pg0", "http://10.0.0.1:8008/patroni");
        failsafe.put("pg1", "http://10.0.0.2:8008/patroni");
        Instant at = Instant.parse("2026-03-04T05:06:07.123456Z").truncatedTo(ChronoUnit.MICROS);
        a.writeStatus(status);
        a.writeHistory(history);
        a.writeFailsafe(failsafe);
        assertThat(a.writeFailover(Failover.of("pg0", "pg1", at), Dcs.ABSENT)).isTrue();
        assertThat(a.writeSync(new SyncState("pg0", List.of("pg1", "pg2"), null, Dcs.ABSENT), Dcs.ABSENT))
                .isTrue();

        ClusterState s = b.read();
        assertThat(s.problems()).isEmpty();
        assertThat(s.status()).isEqualTo(status);
        assertThat(s.history()).isEqualTo(history);
        assertThat(s.failsafe()).isEqualTo(failsafe);
        assertThat(s.failover().leader()).isEqualTo("pg0");
        assertThat(s.failover().member()).isEqualTo("pg1");
        assertThat(s.failover().scheduledAt()).isEqualTo(at);
        assertThat(s.sync().leader()).isEqualTo("pg0");
        assertThat(s.sync().syncStandbys()).containsExactly("pg1", "pg2");
        assertThat(s.sync().quorum()).isNull();

        a.writeFailsafe(null);
        a.writeStatus(new ClusterStatus(67393700L, Map.of(), List.of()));
        ClusterState s2 = b.read();
        assertThat(s2.failsafe()).as("failsafe after writing null").isNull();
        assertThat(s2.status().optime()).isEqualTo(67393700L);
    }

    @Test
    void malformedValuesAreReportedNotThrown() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        a.touchMember(Map.of("state", "running", "role", "primary"));
        assertThat(a.acquireLeader()).isTrue();
        assertThat(a.writeInitialize("7301234567890123456", Dcs.ABSENT)).isTrue();
        putRaw(scope, "config", "{not json");
        putRaw(scope, "members/x", "garbage");
        putRaw(scope, "failover", "[1,2]");

        ClusterState s = member(scope, "b").read();
        assertThat(s.problems()).anySatisfy(p -> assertThat(p).startsWith("config"));
        assertThat(s.problems()).anySatisfy(p -> assertThat(p).startsWith("members/x"));
        assertThat(s.problems()).anySatisfy(p -> assertThat(p).startsWith("failover"));
        assertThat(s.problems()).hasSize(3);
        // the rest is intact
        assertThat(s.isLeader("a")).isTrue();
        assertThat(s.initialize()).isEqualTo("7301234567890123456");
        assertThat(s.member("a").orElseThrow().role()).isEqualTo("primary");
        assertThat(s.member("x"))
                .as("a member with a malformed value still exists")
                .isPresent();
        assertThat(s.member("x").orElseThrow().data()).isEmpty();
        // and a CAS write with the version read repairs it
        assertThat(s.config()).isNotNull();
        assertThat(a.writeConfig(Map.of("ttl", 30L), s.config().version())).isTrue();
        assertThat(a.writeFailover(null, s.failover().version())).isTrue();
        ClusterState repaired = a.read();
        assertThat(repaired.config().data()).isEqualTo(Map.of("ttl", 30L));
        assertThat(repaired.failover()).isNull();
    }

    // ---------------------------------------------------------------- keys as Patroni writes them
    // Each value is planted with the store's own client, byte for byte as a Patroni node (of the
    // version named) writes it, and must read back through the adapter as Patroni reads it.

    /** Patroni before 2.1 wrote the leader's optime as a bare number at optime/leader, and no status. */
    @Test
    void theLegacyOptimeKeyStandsInForAMissingStatus() throws Exception {
        String scope = newScope();
        putRaw(scope, "optime/leader", "67393608");
        ClusterState s = member(scope, "a").read();
        assertThat(s.status()).isEqualTo(new ClusterStatus(67393608L, Map.of(), List.of()));
        assertThat(s.problems()).isEmpty();
    }

    @Test
    void theLegacyOptimeKeyIsIgnoredOnceStatusExists() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        putRaw(scope, "optime/leader", "99999999");
        putRaw(scope, "status", "{\"optime\": 67393608}");
        assertThat(a.read().status().optime()).as("status as JSON").isEqualTo(67393608L);
        putRaw(scope, "status", "67393700");
        assertThat(a.read().status().optime()).as("status as a bare number").isEqualTo(67393700L);
        assertThat(a.read().problems()).isEmpty();
    }

    @Test
    void aMalformedLegacyOptimeIsReportedUnderItsOwnKey() throws Exception {
        String scope = newScope();
        putRaw(scope, "optime/leader", "garbage");
        ClusterState s = member(scope, "a").read();
        assertThat(s.problems()).singleElement().satisfies(p -> assertThat(p).startsWith("optime/leader"));
        assertThat(s.status()).isEqualTo(ClusterStatus.EMPTY);
    }

    @Test
    void statusAsPatroniWritesItWithSlotsAndAsABareNumber() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        putRaw(
                scope,
                "status",
                "{\"optime\": 50331808, \"slots\": {\"pg1\": 50331000, \"keep\": 40000000},"
                        + " \"retain_slots\": [\"pg1\", \"pg2\"]}");
        assertThat(a.read().status())
                .isEqualTo(new ClusterStatus(
                        50331808L, Map.of("pg1", 50331000L, "keep", 40000000L), List.of("pg1", "pg2")));
        putRaw(scope, "status", "50332000");
        ClusterState s = a.read();
        assertThat(s.status()).isEqualTo(new ClusterStatus(50332000L, Map.of(), List.of()));
        assertThat(s.problems()).isEmpty();
    }

    @Test
    void syncWithAndWithoutQuorumAsPatroniWritesIt() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        putRaw(scope, "sync", "{\"leader\": \"pg0\", \"sync_standby\": \"pg1\"}");
        SyncState plain = a.read().sync();
        assertThat(plain.leader()).isEqualTo("pg0");
        assertThat(plain.syncStandbys()).containsExactly("pg1");
        assertThat(plain.quorum()).isNull();

        putRaw(scope, "sync", "{\"leader\": \"pg0\", \"sync_standby\": \"pg1,pg2\", \"quorum\": 1}");
        SyncState quorum = a.read().sync();
        assertThat(quorum.syncStandbys()).containsExactly("pg1", "pg2");
        assertThat(quorum.quorum()).isEqualTo(1);

        putRaw(scope, "sync", "{\"leader\": \"pg0\", \"sync_standby\": null}");
        SyncState none = a.read().sync();
        assertThat(none.leader()).isEqualTo("pg0");
        assertThat(none.syncStandbys()).isEmpty();
        assertThat(a.read().problems()).isEmpty();
        assertThat(a.writeSync(new SyncState("pg0", List.of("pg2"), null, Dcs.ABSENT), none.version()))
                .as("compare-and-set on the version of a key Patroni wrote")
                .isTrue();
        assertThat(a.read().sync().syncStandbys()).containsExactly("pg2");
    }

    @Test
    void failoverWithScheduledAtAsPatroniWritesIt() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        putRaw(
                scope,
                "failover",
                "{\"leader\": \"pg0\", \"member\": \"pg1\", \"scheduled_at\": \"2026-03-04T05:06:07.123456+00:00\"}");
        Failover scheduled = a.read().failover();
        assertThat(scheduled.leader()).isEqualTo("pg0");
        assertThat(scheduled.member()).isEqualTo("pg1");
        assertThat(scheduled.scheduledAt()).isEqualTo(Instant.parse("2026-03-04T05:06:07.123456Z"));

        putRaw(scope, "failover", "{\"member\": \"pg2\"}");
        Failover now = a.read().failover();
        assertThat(now.leader()).isNull();
        assertThat(now.member()).isEqualTo("pg2");
        assertThat(now.scheduledAt()).isNull();
        assertThat(a.read().problems()).isEmpty();
        assertThat(a.writeFailover(null, now.version()))
                .as("the key Patroni wrote deleted on its version")
                .isTrue();
        assertThat(a.read().failover()).isNull();
    }

    @Test
    void historyRowsOfThreeToFiveFieldsAsPatroniWritesThem() throws Exception {
        String scope = newScope();
        putRaw(
                scope,
                "history",
                "[[1, 25165984, \"no recovery target specified\"],"
                        + " [2, 50331808, \"no recovery target specified\", \"2026-01-02T10:00:00.123456+00:00\"],"
                        + " [3, 67108992, \"no recovery target specified\", \"2026-01-03T11:00:00.654321+00:00\","
                        + " \"pg1\"]]");
        ClusterState s = member(scope, "a").read();
        assertThat(s.history())
                .containsExactly(
                        new HistoryEntry(1, 25165984L, "no recovery target specified", null, null),
                        new HistoryEntry(
                                2, 50331808L, "no recovery target specified", "2026-01-02T10:00:00.123456+00:00", null),
                        new HistoryEntry(
                                3,
                                67108992L,
                                "no recovery target specified",
                                "2026-01-03T11:00:00.654321+00:00",
                                "pg1"));
        assertThat(s.historyVersion()).isNotEqualTo(Dcs.ABSENT);
        assertThat(s.problems()).isEmpty();
    }

    @Test
    void failsafeAsPatroniWritesIt() throws Exception {
        String scope = newScope();
        putRaw(
                scope,
                "failsafe",
                "{\"pg0\": \"http://10.0.0.1:8008/patroni\", \"pg1\": \"http://10.0.0.2:8008/patroni\"}");
        ClusterState s = member(scope, "a").read();
        assertThat(s.failsafe())
                .containsExactly(
                        Map.entry("pg0", "http://10.0.0.1:8008/patroni"),
                        Map.entry("pg1", "http://10.0.0.2:8008/patroni"));
        assertThat(s.problems()).isEmpty();
    }

    /** A Patroni node that won the bootstrap race writes "" and the system identifier once initdb ran. */
    @Test
    void anEmptyInitializeWhileAPatroniNodeBootstraps() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        putRaw(scope, "initialize", "");
        ClusterState s = a.read();
        assertThat(s.initialize()).as("bootstrapping, not absent").isEqualTo("");
        assertThat(a.writeInitialize("", Dcs.ABSENT)).as("the race is taken").isFalse();
        putRaw(scope, "initialize", "7301234567890123456");
        assertThat(a.read().initialize()).isEqualTo("7301234567890123456");
        assertThat(a.read().problems()).isEmpty();
    }

    /** Patroni 3.0.2 says "master"; a newer Patroni may add fields pgha does not know: all are kept. */
    @Test
    void aMemberRecordWithFieldsPghaDoesNotKnowIsKeptWhole() throws Exception {
        String scope = newScope();
        putRaw(
                scope,
                "members/pg1",
                "{\"conn_url\": \"postgres://10.0.0.2:5432/postgres\", \"api_url\": \"http://10.0.0.2:8008/patroni\","
                        + " \"state\": \"running\", \"role\": \"master\", \"version\": \"3.0.2\","
                        + " \"xlog_location\": 50331808, \"timeline\": 2, \"replication_state\": \"streaming\","
                        + " \"tags\": {\"clonefrom\": true, \"failover_priority\": 3},"
                        + " \"a_future_field\": {\"nested\": [1, \"two\", null]}}");
        ClusterState s = member(scope, "a").read();
        Member m = s.member("pg1").orElseThrow();
        assertThat(m.role()).isEqualTo("master");
        assertThat(m.apiUrl()).isEqualTo("http://10.0.0.2:8008/patroni");
        assertThat(m.xlogLocation()).isEqualTo(50331808L);
        assertThat(m.timeline()).isEqualTo(2L);
        assertThat(m.failoverPriority()).isEqualTo(3);
        assertThat(m.data())
                .containsEntry("replication_state", "streaming")
                .containsEntry("a_future_field", Map.of("nested", java.util.Arrays.asList(1L, "two", null)));
        assertThat(s.problems()).isEmpty();
    }

    @Test
    void everyMalformedValueIsReportedAndTheRestOfTheTreeIsRead() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        a.touchMember(Map.of("state", "running", "role", "primary"));
        assertThat(a.acquireLeader()).isTrue();
        assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();
        putRaw(scope, "status", "{\"optime\": \"soon\"}");
        putRaw(scope, "sync", "nope");
        putRaw(scope, "history", "{\"not\": \"a list\"}");
        putRaw(scope, "failsafe", "[1, 2]");
        putRaw(scope, "failover", "{\"member\": \"pg1\", \"scheduled_at\": \"tomorrow\"}");
        putRaw(scope, "members/y", "");

        ClusterState s = member(scope, "b").read();
        assertThat(s.problems())
                .as("one problem per malformed key, naming it")
                .hasSize(6)
                .anySatisfy(p -> assertThat(p).startsWith("status"))
                .anySatisfy(p -> assertThat(p).startsWith("sync"))
                .anySatisfy(p -> assertThat(p).startsWith("history"))
                .anySatisfy(p -> assertThat(p).startsWith("failsafe"))
                .anySatisfy(p -> assertThat(p).startsWith("failover"))
                .anySatisfy(p -> assertThat(p).startsWith("members/y"));
        assertThat(s.status()).isEqualTo(ClusterStatus.EMPTY);
        assertThat(s.sync().leader()).isNull();
        assertThat(s.sync().syncStandbys()).isEmpty();
        assertThat(s.history()).isEmpty();
        assertThat(s.failsafe()).isNull();
        assertThat(s.failover().member())
                .as("a malformed failover names nobody")
                .isNull();
        assertThat(s.member("y"))
                .as("a member with an empty value still exists")
                .isPresent();
        // the rest is intact
        assertThat(s.isLeader("a")).isTrue();
        assertThat(s.member("a").orElseThrow().role()).isEqualTo("primary");
        assertThat(s.config().data()).isEqualTo(Map.of("ttl", 30L));
        // and the malformed keys can be repaired on their versions
        assertThat(a.writeSync(
                        new SyncState("a", List.of(), null, Dcs.ABSENT),
                        s.sync().version()))
                .isTrue();
        assertThat(a.writeFailover(null, s.failover().version())).isTrue();
        a.writeStatus(new ClusterStatus(5, Map.of(), List.of()));
        a.writeHistory(List.of());
        a.writeFailsafe(null);
        putRaw(scope, "members/y", "{}");
        assertThat(a.read().problems()).isEmpty();
    }

    @Test
    void deleteClusterRemovesEverything() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        String other = newScope();
        Dcs c = member(other, "c");
        a.touchMember(Map.of("state", "running"));
        b.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        assertThat(a.writeInitialize("1", Dcs.ABSENT)).isTrue();
        assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();
        assertThat(a.writeFailover(Failover.of("a", "b", null), Dcs.ABSENT)).isTrue();
        assertThat(a.writeSync(new SyncState("a", List.of("b"), null, Dcs.ABSENT), Dcs.ABSENT))
                .isTrue();
        a.writeStatus(new ClusterStatus(5, Map.of(), List.of()));
        a.writeHistory(List.of(new HistoryEntry(1, 5, "x", null, null)));
        a.writeFailsafe(Map.of("a", "http://a"));
        assertThat(c.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();

        b.deleteCluster();
        ClusterState s = b.read();
        assertThat(s.hasLeader()).isFalse();
        assertThat(s.members()).isEmpty();
        assertThat(s.initialize()).isNull();
        assertThat(s.config()).isNull();
        assertThat(s.failover()).isNull();
        assertThat(s.sync()).isNull();
        assertThat(s.history()).isEmpty();
        assertThat(s.failsafe()).isNull();
        assertThat(s.status()).isEqualTo(ClusterStatus.EMPTY);
        assertThat(s.problems()).isEmpty();
        assertThat(c.read().config()).as("another cluster's keys").isNotNull();
    }

    // ---------------------------------------------------------------- the watch

    @Test
    void awaitChangeWakesWhenAnotherMemberTakesOrReleasesTheLock() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        a.read();
        b.read();

        drain(a);
        assertWokenBy(a, () -> assertThat(b.acquireLeader()).isTrue());
        drain(a);
        assertWokenBy(a, () -> assertThat(b.releaseLeader()).isTrue());
    }

    /**
     * Every member rewrites its record (and the leader the status) each cycle: if that woke the
     * other members, their loops would wake each other in turn without end.
     */
    @Test
    void awaitChangeIgnoresTheRoutineRewritesOfOtherMembers() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        Dcs b = member(scope, "b");
        a.touchMember(Map.of("state", "running", "xlog_location", 1L));
        b.touchMember(Map.of("state", "running", "xlog_location", 1L));
        assertThat(b.acquireLeader()).isTrue();
        a.read();
        drain(a);
        b.touchMember(Map.of("state", "running", "xlog_location", 2L));
        b.writeStatus(new ClusterStatus(2, Map.of(), List.of()));
        assertThat(b.renewLeader()).isTrue();
        assertThat(a.awaitChange(Duration.ofMillis(1500)))
                .as("woken by another member's routine writes")
                .isFalse();
    }

    @Test
    void awaitChangeWakesOnWakeUp() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        a.read();
        drain(a);
        assertWokenBy(a, a::wakeUp);
    }

    @Test
    void awaitChangeTimesOutWhenNothingChanges() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        a.read();
        drain(a);
        long t0 = System.nanoTime();
        assertThat(a.awaitChange(Duration.ofMillis(700))).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(600));
    }

    // ---------------------------------------------------------------- the store down

    @Test
    void callsFailWhileTheStoreIsDownAndRecoverAfter() throws Exception {
        String scope = newScope();
        Dcs a = member(scope, "a");
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        stopStore();
        try {
            assertFailsPromptly("read", a::read);
            assertFailsPromptly("writeConfig", () -> a.writeConfig(Map.of("ttl", 30L), Dcs.ANY));
            assertFailsPromptly("touchMember", () -> {
                a.touchMember(Map.of("state", "running"));
                return null;
            });
            Boolean renewed = callWithin("renewLeader", () -> {
                try {
                    return a.renewLeader();
                } catch (DcsException e) {
                    return null;
                }
            });
            assertThat(renewed)
                    .as("renewLeader while the store is down: DcsException or false, never true")
                    .isNotEqualTo(true);
        } finally {
            startStore();
        }
        // the same instance recovers without being recreated
        long t0 = System.nanoTime();
        awaitTrue("the adapter to read again after the store restarted", t0, RECOVERY_BOUND, () -> {
            a.read();
            return true;
        });
        awaitTrue(
                "the adapter to hold the lock again after the store restarted",
                t0,
                RECOVERY_BOUND.plus(expiryBound()),
                () -> a.renewLeader() || a.acquireLeader());
        a.touchMember(Map.of("state", "running", "role", "primary"));
        ClusterState s = member(scope, "b").read();
        assertThat(s.isLeader("a")).isTrue();
        assertThat(s.member("a")).isPresent();
    }

    // ---------------------------------------------------------------- helpers

    /** A member of the cluster with the suite's ttl, closed after the test. */
    protected final Dcs member(String scope, String name) throws Exception {
        return member(scope, name, ttl());
    }

    private Dcs member(String scope, String name, Duration ttl) throws Exception {
        Dcs dcs = connect(scope, name, ttl);
        opened.add(dcs);
        return dcs;
    }

    private static String newScope() {
        return "contract-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private Duration expiryBound() {
        return ttl().plus(expirySlack()).plus(MARGIN);
    }

    /** Returns pending wake-ups and changes so that the next awaitChange starts clean. */
    private static void drain(Dcs dcs) throws InterruptedException {
        for (int i = 0; i < 50 && dcs.awaitChange(Duration.ofMillis(300)); i++) {
            // keep draining
        }
    }

    /** The action, done while `waiter` sits in awaitChange(long timeout), must wake it well before the timeout. */
    private static void assertWokenBy(Dcs waiter, ThrowingRunnable action) throws Exception {
        Duration timeout = Duration.ofSeconds(60);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            long t0 = System.nanoTime();
            Future<Boolean> woken = pool.submit(() -> waiter.awaitChange(timeout));
            Thread.sleep(1000); // let the waiter get into its wait
            assertThat(woken.isDone())
                    .as("awaitChange returned before anything changed")
                    .isFalse();
            action.run();
            assertThat(woken.get(timeout.toSeconds() + 10, TimeUnit.SECONDS))
                    .as("awaitChange woken")
                    .isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0))
                    .as("time to wake")
                    .isLessThan(Duration.ofSeconds(20));
        } finally {
            pool.shutdownNow();
        }
    }

    private static void assertFailsPromptly(String what, Callable<?> call) throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<?> f = pool.submit(call);
            try {
                f.get(CALL_BOUND.toMillis(), TimeUnit.MILLISECONDS);
                fail(what + " succeeded while the store was down");
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).as(what + " while the store is down").isInstanceOf(DcsException.class);
            } catch (TimeoutException e) {
                fail(what + " hung for more than " + CALL_BOUND + " while the store was down");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T callWithin(String what, Callable<T> call) throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            return pool.submit(call).get(CALL_BOUND.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(what + " hung for more than " + CALL_BOUND + " while the store was down");
        } finally {
            pool.shutdownNow();
        }
    }

    private static void sleepUntil(long t0, Duration offset) throws InterruptedException {
        long left = t0 + offset.toNanos() - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    /** Polls the condition (a DcsException counts as "not yet") until it holds, or fails after bound from t0. */
    private static void awaitTrue(String what, long t0, Duration bound, Callable<Boolean> condition) throws Exception {
        Exception last = null;
        while (true) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (DcsException e) {
                last = e;
            }
            if (System.nanoTime() - t0 > bound.toNanos()) {
                throw new AssertionError(
                        "timed out after " + bound + " waiting for " + what
                                + (last == null ? "" : " (last error: " + last + ")"),
                        last);
            }
            Thread.sleep(100);
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }
}
