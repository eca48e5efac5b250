package io.pgha.dcs.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.PatroniDcs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What only etcd can show: the raw key layout, leases dying behind the adapter's back, compaction, restarts. */
class EtcdDcsIT {
    private static final Duration TTL = Duration.ofSeconds(4);
    private static final Duration RETRY = Duration.ofSeconds(3);

    private static EtcdServer etcd;
    private static Client raw;
    private final List<Dcs> opened = new ArrayList<>();

    @BeforeAll
    static void startEtcd() throws Exception {
        EtcdServer.assumeInstalled();
        etcd = EtcdServer.start();
        raw = Client.builder().endpoints(etcd.endpoint()).build();
        // warm up gRPC and netty in this JVM, so that class loading on a busy machine does not eat the
        // short retry_timeout of the first test
        raw.getKVClient().get(EtcdStore.bytes("/")).get(60, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (raw != null) {
            raw.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        etcd.resume();
        opened.forEach(Dcs::close);
    }

    @Test
    void keysAreLaidOutAsPatroniWritesThemOnOneLease() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "pg0");
        a.touchMember(Map.of("state", "running", "role", "primary"));
        assertThat(a.acquireLeader()).isTrue();
        assertThat(a.writeInitialize("7301234567890123456", Dcs.ABSENT)).isTrue();
        assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();

        KeyValue leader = rawGet("/service/" + scope + "/leader");
        KeyValue member = rawGet("/service/" + scope + "/members/pg0");
        assertThat(EtcdStore.text(leader.getValue()))
                .as("the leader key holds the bare name")
                .isEqualTo("pg0");
        assertThat(io.pgha.dcs.DcsJson.readObject(EtcdStore.text(member.getValue())))
                .isEqualTo(Map.of("state", "running", "role", "primary"));
        assertThat(leader.getLease()).as("leader key on a lease").isNotZero();
        assertThat(member.getLease())
                .as("leader and member key on the same lease")
                .isEqualTo(leader.getLease());
        assertThat(EtcdStore.text(rawGet("/service/" + scope + "/initialize").getValue()))
                .isEqualTo("7301234567890123456");
        assertThat(rawGet("/service/" + scope + "/config").getLease())
                .as("config is persistent")
                .isZero();
        long ttl = raw.getLeaseClient()
                .timeToLive(leader.getLease(), LeaseOption.DEFAULT)
                .get(10, TimeUnit.SECONDS)
                .getGrantedTTL();
        assertThat(ttl).isEqualTo(TTL.toSeconds());
        assertThat(a.read().config().version())
                .as("version is the mod_revision")
                .isEqualTo(rawGet("/service/" + scope + "/config").getModRevision());
    }

    @Test
    void leaseRevokedBehindTheAdaptersBackMakesRenewalFail() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        long lease = rawGet("/service/" + scope + "/leader").getLease();
        raw.getLeaseClient().revoke(lease).get(10, TimeUnit.SECONDS);

        assertThat(a.renewLeader()).as("renewal after the lease was revoked").isFalse();
        ClusterState s = connect(scope, "b").read();
        assertThat(s.hasLeader()).isFalse();
        // the member key came back on the new lease, the lock did not
        assertThat(s.member("a")).isPresent();
        assertThat(store(a).leaseId()).isNotEqualTo(lease);
        assertThat(a.acquireLeader()).isTrue();
    }

    @Test
    void aMemberFrozenPastItsTtlDoesNotTrustItsOldLease() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        Dcs b = connect(scope, "b");
        assertThat(a.acquireLeader()).isTrue();
        long oldLease = store(a).leaseId();
        // "a" makes no call for longer than the ttl, as if its JVM were paused; etcd expires the lease
        Thread.sleep(TTL.plusSeconds(2).toMillis());
        awaitTrue(Duration.ofSeconds(10), () -> !b.read().hasLeader());
        assertThat(b.acquireLeader()).isTrue();

        assertThat(a.renewLeader()).as("a thawed old leader must not renew").isFalse();
        assertThat(store(a).leaseId()).as("a new lease was granted").isNotEqualTo(oldLease);
        assertThat(b.read().isLeader("b")).isTrue();
        assertThat(b.renewLeader()).isTrue();
    }

    @Test
    void aPausedEtcdNeverYieldsASuccessfulRenewal() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        assertThat(a.acquireLeader()).isTrue();
        etcd.pause();
        try {
            long t0 = System.nanoTime();
            while (System.nanoTime() - t0 < TTL.plusSeconds(1).toNanos()) {
                Boolean renewed = within(Duration.ofSeconds(20), () -> {
                    try {
                        return a.renewLeader();
                    } catch (DcsException e) {
                        return null;
                    }
                });
                assertThat(renewed).as("renewLeader while etcd is frozen").isNotEqualTo(true);
            }
        } finally {
            etcd.resume();
        }
        // after the thaw the answer matches what etcd says, whichever way the race went
        Dcs b = connect(scope, "b");
        awaitTrue(Duration.ofSeconds(30), () -> {
            boolean renewed = a.renewLeader();
            return renewed == b.read().isLeader("a");
        });
    }

    @Test
    void compactionCancelsTheWatchAndTheAdapterWatchesAgain() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        Dcs b = connect(scope, "b");
        for (int i = 0; i < 5; i++) {
            assertThat(b.writeConfig(Map.of("n", (long) i), Dcs.ANY)).isTrue();
        }
        long rev = raw.getKVClient()
                .get(
                        EtcdStore.bytes("/"),
                        GetOption.builder().withCountOnly(true).build())
                .get(10, TimeUnit.SECONDS)
                .getHeader()
                .getRevision();
        raw.getKVClient().compact(rev).get(10, TimeUnit.SECONDS);
        a.read();
        drain(a);
        long restarts = store(a).watcher().restarts();
        // resume the watch from a compacted revision, as after a disconnect during which etcd compacted
        store(a).watcher().restartFrom(1);
        assertThat(a.awaitChange(Duration.ofSeconds(20)))
                .as("woken: events may have been lost")
                .isTrue();
        awaitTrue(Duration.ofSeconds(20), () -> store(a).watcher().restarts() >= restarts + 2);
        a.read();
        drain(a);
        assertWokenBy(a, () -> assertThat(b.acquireLeader()).isTrue());
    }

    @Test
    void theAdapterRecoversAfterAnEtcdRestartWatchIncluded() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        Dcs b = connect(scope, "b");
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        etcd.stop();
        try {
            assertThatThrownBy(a::read).isInstanceOf(DcsException.class).hasMessageContaining(etcd.endpoint());
        } finally {
            etcd.startAgain();
        }
        awaitTrue(Duration.ofSeconds(60), () -> {
            a.read();
            return true;
        });
        awaitTrue(Duration.ofSeconds(30), a::renewLeader);
        a.read();
        drain(a);
        assertWokenBy(
                a, () -> assertThat(b.writeConfig(Map.of("ttl", 30L), Dcs.ANY)).isTrue());
    }

    @Test
    void ownWritesDoNotWakeTheWriter() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        a.read();
        drain(a);
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        a.writeStatus(new io.pgha.dcs.ClusterStatus(5, Map.of(), List.of()));
        assertThat(a.awaitChange(Duration.ofSeconds(2)))
                .as("woken by its own writes")
                .isFalse();
    }

    @Test
    void memberTouchesAndStatusWritesOfOthersDoNotWake() throws Exception {
        // every member touches its key each cycle: waking on that would make members wake each other forever
        String scope = scope();
        Dcs a = connect(scope, "a");
        Dcs b = connect(scope, "b");
        // b's first touch creates its key: a member coming is news (as on every store), its rewrites are not
        b.touchMember(Map.of("state", "starting"));
        a.read();
        drain(a);
        b.touchMember(Map.of("state", "running"));
        b.writeStatus(new io.pgha.dcs.ClusterStatus(5, Map.of(), List.of()));
        assertThat(a.awaitChange(Duration.ofSeconds(2)))
                .as("woken by a member touch or a status write")
                .isFalse();
        assertWokenBy(
                a,
                () -> assertThat(b.writeFailover(io.pgha.dcs.Failover.of(null, "a", null), Dcs.ABSENT))
                        .isTrue());
    }

    @Test
    void setTtlGrantsANewLeaseAndMovesBothKeys() throws Exception {
        String scope = scope();
        Dcs a = connect(scope, "a");
        a.touchMember(Map.of("state", "running"));
        assertThat(a.acquireLeader()).isTrue();
        a.setTtl(Duration.ofSeconds(9));
        assertThat(a.renewLeader()).isTrue();
        KeyValue leader = rawGet("/service/" + scope + "/leader");
        assertThat(rawGet("/service/" + scope + "/members/a").getLease()).isEqualTo(leader.getLease());
        assertThat(raw.getLeaseClient()
                        .timeToLive(leader.getLease(), LeaseOption.DEFAULT)
                        .get(10, TimeUnit.SECONDS)
                        .getGrantedTTL())
                .isEqualTo(9);
    }

    @Test
    void unreachableEtcdFailsWithinTheRetryTimeoutNamingTheEndpoint() throws Exception {
        Dcs d = new EtcdDcsProvider()
                .create(new DcsSettings("/service/", scope(), "a", TTL, RETRY, Map.of("host", "127.0.0.1:1")));
        opened.add(d);
        long t0 = System.nanoTime();
        assertThatThrownBy(d::read).isInstanceOf(DcsException.class).hasMessageContaining("http://127.0.0.1:1");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(RETRY.plusSeconds(5));
    }

    // ---------------------------------------------------------------- helpers

    private Dcs connect(String scope, String name) throws DcsException {
        Dcs d = new EtcdDcsProvider()
                .create(new DcsSettings(
                        "/service/", scope, name, TTL, RETRY, Map.of("hosts", List.of(etcd.hostPort()))));
        opened.add(d);
        return d;
    }

    /** The adapter's storage primitives under the Dcs, for what only they show (the lease, the watch). */
    private static EtcdStore store(Dcs d) {
        return (EtcdStore) ((PatroniDcs) d).store();
    }

    private static String scope() {
        return "it-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static KeyValue rawGet(String key) throws Exception {
        List<KeyValue> kvs = raw.getKVClient()
                .get(ByteSequence.from(key.getBytes(UTF_8)))
                .get(10, TimeUnit.SECONDS)
                .getKvs();
        assertThat(kvs).as(key).hasSize(1);
        return kvs.get(0);
    }

    private static void drain(Dcs d) throws InterruptedException {
        for (int i = 0; i < 50 && d.awaitChange(Duration.ofMillis(300)); i++) {
            // keep draining
        }
    }

    private static void assertWokenBy(Dcs waiter, Callable<?> action) throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Boolean> woken = pool.submit(() -> waiter.awaitChange(Duration.ofSeconds(30)));
            Thread.sleep(500);
            assertThat(woken.isDone())
                    .as("awaitChange returned before anything changed")
                    .isFalse();
            action.call();
            assertThat(woken.get(40, TimeUnit.SECONDS)).as("awaitChange woken").isTrue();
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T within(Duration bound, Callable<T> call) throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            return pool.submit(call).get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void awaitTrue(Duration bound, Callable<Boolean> condition) throws Exception {
        long t0 = System.nanoTime();
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
                throw new AssertionError("condition not met within " + bound, last);
            }
            Thread.sleep(200);
        }
    }
}
