package io.pgha.dcs.consul;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.Failover;
import io.pgha.dcs.spi.PatroniDcs;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The adapter against {@link ConsulDouble}: Consul-specific behaviour the generic contract does not see. */
class ConsulDcsTest {
    private static final String SCOPE = "c1";
    private static final String PREFIX = "service/c1/";

    private ConsulDouble consul;
    private final List<Dcs> opened = new ArrayList<>();

    @BeforeEach
    void startDouble() throws IOException {
        consul = ConsulDouble.create().sessionTtlMin(Duration.ofMillis(500));
    }

    @AfterEach
    void stopAll() {
        opened.forEach(Dcs::close);
        consul.close();
    }

    private Dcs connect(String name, Duration ttl, Map<String, Object> extra) throws DcsException {
        Map<String, Object> options = new HashMap<>(extra);
        options.putIfAbsent("host", consul.hostPort());
        Dcs dcs = DcsProvider.find("consul")
                .create(new DcsSettings(null, SCOPE, name, ttl, Duration.ofSeconds(3), options));
        opened.add(dcs);
        return dcs;
    }

    /** The member's current Consul session, from the adapter's storage primitives under the Dcs. */
    private static String sessionId(Dcs dcs) {
        return ((ConsulStore) ((PatroniDcs) dcs).store()).sessionId();
    }

    private Dcs connect(String name) throws DcsException {
        return connect(name, Duration.ofSeconds(4), Map.of());
    }

    @Test
    void aChangedRetryTimeoutBoundsTheNextRequestsWithoutARestart() throws Exception {
        // an agent that accepts connections and never answers (the kernel completes the handshake)
        try (java.net.ServerSocket silent =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Dcs d = DcsProvider.find("consul")
                    .create(new DcsSettings(
                            null,
                            SCOPE,
                            "a",
                            Duration.ofSeconds(30),
                            Duration.ofSeconds(20),
                            Map.of("host", "127.0.0.1:" + silent.getLocalPort())));
            opened.add(d);
            d.setRetryTimeout(Duration.ofSeconds(2)); // what a patronictl edit-config -s retry_timeout=2 leads to
            long t0 = System.nanoTime();
            org.assertj.core.api.Assertions.assertThatThrownBy(d::read).isInstanceOf(DcsException.class);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            // the client was built to wait 10 s for an answer (half of 20 s): a bound, not a speed goal
            assertThat(took).isLessThan(Duration.ofSeconds(8));
            System.out.println(
                    "Consul read with retry_timeout 20 s changed to 2 s failed after " + took.toMillis() + " ms");
        }
    }

    private static void await(Duration max, BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + max + " waiting for " + what);
            }
            Thread.sleep(25);
        }
    }

    private String value(String key) {
        return consul.entry(key)
                .map(e -> e.get("Value") == null
                        ? ""
                        : new String(
                                java.util.Base64.getDecoder()
                                        .decode(e.get("Value").toString()),
                                UTF_8))
                .orElse(null);
    }

    private Object session(String key) {
        return consul.entry(key).map(e -> e.get("Session")).orElse(null);
    }

    @Test
    void keysAndSessionAreLaidOutAsPatroniDoes() throws Exception {
        Dcs a = connect("a");
        a.touchMember(Map.of("conn_url", "postgres://h:5432/postgres", "state", "running"));
        assertThat(a.acquireLeader()).isTrue();

        String sid = sessionId(a);
        assertThat(session(PREFIX + "leader")).isEqualTo(sid);
        assertThat(value(PREFIX + "leader")).isEqualTo("a");
        assertThat(session(PREFIX + "members/a")).isEqualTo(sid);
        assertThat(value(PREFIX + "members/a")).contains("\"conn_url\":\"postgres://h:5432/postgres\"");

        Map<String, Object> info = consul.sessionInfo(sid).orElseThrow();
        assertThat(info)
                .containsEntry("Name", "c1-a")
                .containsEntry("Behavior", "delete")
                .containsEntry("TTL", "2s");
        assertThat(((Number) info.get("LockDelay")).longValue()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(1));
        assertThat(info.get("Checks")).isEqualTo(List.of());
    }

    @Test
    void namespaceLosesItsLeadingSlash() throws Exception {
        Dcs dcs = DcsProvider.find("consul")
                .create(new DcsSettings(
                        "/pg/",
                        "c9",
                        "x",
                        Duration.ofSeconds(4),
                        Duration.ofSeconds(3),
                        Map.of("host", consul.hostPort())));
        opened.add(dcs);
        dcs.writeStatus(new io.pgha.dcs.ClusterStatus(42, Map.of(), List.of()));
        assertThat(value("pg/c9/status")).startsWith("{\"optime\":42");
        assertThat(dcs.read().status().optime()).isEqualTo(42);
    }

    @Test
    void aHeldLockIsRefusedToOthersAndFreedWhenTheHolderCloses() throws Exception {
        Dcs a = connect("a");
        Dcs b = connect("b");
        a.touchMember(Map.of());
        assertThat(a.acquireLeader()).isTrue();
        assertThat(b.acquireLeader()).isFalse();
        assertThat(b.read().leader().name()).isEqualTo("a");

        a.close();
        a.close(); // idempotent
        assertThat(consul.entry(PREFIX + "leader")).isEmpty();
        assertThat(consul.entry(PREFIX + "members/a")).isEmpty();
        assertThat(b.acquireLeader()).isTrue();
        assertThatThrownBy(a::read).isInstanceOf(DcsException.class).hasMessageContaining("closed");
    }

    @Test
    void anInvalidatedSessionIsALostLockAndIsNeverReused() throws Exception {
        Dcs a = connect("a");
        assertThat(a.acquireLeader()).isTrue();
        assertThat(a.renewLeader()).isTrue();
        String old = sessionId(a);

        consul.invalidateSession(old); // Consul's view: the session is gone, and its keys with it
        assertThat(consul.entry(PREFIX + "leader")).isEmpty();
        assertThat(a.renewLeader()).isFalse();
        assertThat(sessionId(a)).isNotEqualTo(old);
        assertThat(consul.entry(PREFIX + "leader")).isEmpty();

        // the member can race again, with its new session only
        assertThat(a.acquireLeader()).isTrue();
        assertThat(session(PREFIX + "leader")).isEqualTo(sessionId(a)).isNotEqualTo(old);
        assertThat(a.renewLeader()).isTrue();
    }

    @Test
    void aSessionThatVanishesBeforeTheWriteIsReplacedOnce() throws Exception {
        Dcs a = connect("a");
        a.touchMember(Map.of());
        String old = sessionId(a);
        // the session goes between the renewal and the write: the renewal succeeds, the acquire says "Invalid session"
        consul.invalidateSession(old);
        a.touchMember(Map.of("state", "running"));
        assertThat(sessionId(a)).isNotEqualTo(old);
        assertThat(session(PREFIX + "members/a")).isEqualTo(sessionId(a));
    }

    @Test
    void renewLeaderIsFalseWhenTheKeyNamesAnotherMemberOrIsHeldByAnotherSession() throws Exception {
        Dcs a = connect("a");
        Dcs b = connect("b");
        assertThat(a.renewLeader()).isFalse(); // no session yet: nothing to renew
        assertThat(a.acquireLeader()).isTrue();
        a.close();
        assertThat(b.acquireLeader()).isTrue();
        Dcs a2 = connect("a");
        a2.touchMember(Map.of());
        assertThat(a2.renewLeader()).isFalse();
        assertThat(a2.releaseLeader()).isFalse();
        assertThat(value(PREFIX + "leader")).isEqualTo("b");
    }

    /**
     * The agent is killed (no close: its session lives until Consul invalidates it) and started
     * again: the new process takes its member and leader keys over under its own session, and they
     * outlive the dead session.
     */
    @Test
    void aRestartedMemberTakesItsKeysOverFromItsKilledPredecessorsSession() throws Exception {
        Dcs killed = connect("a");
        Dcs b = connect("b");
        killed.touchMember(Map.of("state", "running", "role", "primary"));
        assertThat(killed.acquireLeader()).isTrue();
        String old = sessionId(killed);
        long oldIndex = b.read().leader().version();

        Dcs restarted = connect("a");
        restarted.touchMember(Map.of("state", "running", "role", "primary", "restarted", true));
        assertThat(sessionId(restarted)).isNotEqualTo(old);
        assertThat(session(PREFIX + "members/a")).isEqualTo(sessionId(restarted));
        assertThat(b.read().member("a").orElseThrow().data()).containsEntry("restarted", true);

        assertThat(restarted.renewLeader()).isTrue();
        assertThat(session(PREFIX + "leader")).isEqualTo(sessionId(restarted));
        assertThat(value(PREFIX + "leader")).isEqualTo("a");
        assertThat(b.read().leader().version()).isGreaterThan(oldIndex);
        assertThat(b.acquireLeader()).isFalse();

        consul.invalidateSession(old); // the dead process's session lapses: nothing of ours goes with it
        assertThat(restarted.renewLeader()).isTrue();
        assertThat(b.read().isLeader("a")).isTrue();
        assertThat(b.read().member("a")).isPresent();
    }

    @Test
    void aRenewalByANewClientTakesNothingThatDoesNotNameIt() throws Exception {
        Dcs a = connect("a");
        assertThat(a.acquireLeader()).isTrue();
        Dcs b = connect("b");
        assertThat(b.renewLeader()).isFalse();
        assertThat(sessionId(b))
                .as("no session is created for a key that names another member")
                .isNull();
        b.touchMember(Map.of());
        assertThat(b.renewLeader()).isFalse();
        assertThat(session(PREFIX + "leader")).isEqualTo(sessionId(a));
    }

    @Test
    void releaseLeaderReleasesThenDeletesOnlyItsOwnKey() throws Exception {
        Dcs a = connect("a");
        Dcs b = connect("b");
        a.touchMember(Map.of());
        assertThat(a.acquireLeader()).isTrue();
        assertThat(b.releaseLeader()).isFalse();
        assertThat(a.releaseLeader()).isTrue();
        assertThat(consul.entry(PREFIX + "leader")).isEmpty();
        assertThat(consul.entry(PREFIX + "members/a")).isPresent(); // the member stays
        assertThat(a.releaseLeader()).isFalse();
        assertThat(b.acquireLeader()).isTrue(); // lock-delay does not apply to a release
    }

    @Test
    void keysVanishWithinTtlWhenTheMemberStopsRenewing() throws Exception {
        assertExpiry(2.0);
    }

    @Test
    void keysVanishWithinTtlAlsoWhenTheStoreInvalidatesAtTheTtlItself() throws Exception {
        assertExpiry(1.0);
    }

    private void assertExpiry(double multiplier) throws Exception {
        consul.ttlMultiplier(multiplier);
        Duration ttl = Duration.ofSeconds(2);
        Dcs a = connect("a", ttl, Map.of());
        Dcs b = connect("b", ttl, Map.of());
        a.touchMember(Map.of());
        assertThat(a.acquireLeader()).isTrue();
        long start = System.nanoTime();
        // a stops renewing (frozen); within ttl both keys are gone and b may take the lock
        await(ttl.plusSeconds(2), () -> consul.entry(PREFIX + "leader").isEmpty(), "the leader key to expire");
        long took = System.nanoTime() - start;
        assertThat(Duration.ofNanos(took))
                .as("expiry after the last renewal")
                .isLessThanOrEqualTo(ttl.plusSeconds(3)); // slack for a loaded machine
        assertThat(consul.entry(PREFIX + "members/a")).isEmpty();
        assertThat(b.acquireLeader()).isTrue(); // lock-delay of 1 ms is long over
        assertThat(a.renewLeader()).isFalse();
    }

    @Test
    void compareAndSetOnModifyIndex() throws Exception {
        Dcs a = connect("a");
        assertThat(a.writeConfig(Map.of("ttl", 30), Dcs.ABSENT)).isTrue();
        assertThat(a.writeConfig(Map.of("ttl", 31), Dcs.ABSENT)).isFalse();
        long v = a.read().config().version();
        assertThat(a.writeConfig(Map.of("ttl", 32), v + 1000)).isFalse();
        assertThat(a.writeConfig(Map.of("ttl", 32), v)).isTrue();
        assertThat(a.writeConfig(Map.of("ttl", 33), v)).isFalse();
        assertThat(a.writeConfig(Map.of("ttl", 34), Dcs.ANY)).isTrue();
        assertThat(a.read().config().data()).containsEntry("ttl", 34L);

        assertThat(a.writeFailover(Failover.of("a", "b", null), Dcs.ABSENT)).isTrue();
        long fv = a.read().failover().version();
        assertThat(a.writeFailover(null, fv + 1000)).isFalse();
        assertThat(a.read().failover()).isNotNull();
        assertThat(a.writeFailover(null, fv)).isTrue();
        assertThat(a.read().failover()).isNull();

        assertThat(a.writeInitialize("", Dcs.ABSENT)).isTrue();
        ClusterState s = a.read();
        assertThat(s.initialize()).isEqualTo(""); // an empty value is Value null in Consul's JSON
        assertThat(connect("b").writeInitialize("", Dcs.ABSENT)).isFalse();
        assertThat(a.writeInitialize("7000000000000000001", s.initializeVersion()))
                .isTrue();
        assertThat(a.read().initialize()).isEqualTo("7000000000000000001");
        assertThat(a.cancelInitialize()).isTrue();
        assertThat(a.read().initialize()).isNull();
    }

    @Test
    void malformedValuesDoNotStopTheRead() throws Exception {
        Dcs a = connect("a");
        putRaw(PREFIX + "config", "{not json");
        putRaw(PREFIX + "members/x", "][");
        putRaw(PREFIX + "history", "nope");
        putRaw(PREFIX + "unrelated/deeper/key", "whatever");
        ClusterState s = a.read();
        assertThat(s.problems()).isNotEmpty();
        assertThat(s.member("x")).isPresent();
        assertThat(a.writeConfig(Map.of("ttl", 30), s.config().version())).isTrue(); // repairable by CAS
    }

    @Test
    void awaitChangeWakesOnOthersWritesNotOnItsOwn() throws Exception {
        Dcs a = connect("a");
        Dcs b = connect("b");
        a.read();
        a.touchMember(Map.of("state", "running"));
        a.writeStatus(new io.pgha.dcs.ClusterStatus(1, Map.of(), List.of()));
        assertThat(a.awaitChange(Duration.ofMillis(700))).isFalse();

        CompletableFuture<Boolean> woke = CompletableFuture.supplyAsync(() -> {
            try {
                return a.awaitChange(Duration.ofSeconds(20));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300);
        long t0 = System.nanoTime();
        assertThat(b.acquireLeader()).isTrue();
        assertThat(woke.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));

        // a change made between the read and the wait is not missed
        a.read();
        b.writeConfig(Map.of("loop_wait", 5), Dcs.ANY);
        assertThat(a.awaitChange(Duration.ofSeconds(10))).isTrue();

        a.read();
        CompletableFuture<Boolean> woken = CompletableFuture.supplyAsync(() -> {
            try {
                return a.awaitChange(Duration.ofSeconds(20));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(200);
        a.wakeUp();
        assertThat(woken.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void anUnreachableAgentIsADcsExceptionNamingItsUrlAndTheAgentComesBack() throws Exception {
        Dcs a = connect("a");
        a.touchMember(Map.of());
        consul.stop();
        assertThatThrownBy(a::read)
                .isInstanceOf(DcsException.class)
                .hasMessageContaining("http://127.0.0.1:" + consul.port());
        assertThatThrownBy(a::renewLeader)
                .isInstanceOf(DcsException.class)
                .hasMessageContaining("127.0.0.1:" + consul.port());
        assertThatThrownBy(() -> a.writeConfig(Map.of(), Dcs.ANY)).isInstanceOf(DcsException.class);
        consul.start();
        assertThat(a.read().member("a")).isPresent();
        assertThat(a.acquireLeader()).isTrue();
    }

    @Test
    void callsAreBoundedByRetryTimeout() throws Exception {
        Dcs a = connect("a");
        a.touchMember(Map.of());
        // a listener that accepts and never answers
        try (java.net.ServerSocket silent =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Dcs slow = DcsProvider.find("consul")
                    .create(new DcsSettings(
                            null,
                            SCOPE,
                            "s",
                            Duration.ofSeconds(4),
                            Duration.ofSeconds(1),
                            Map.of("host", "127.0.0.1:" + silent.getLocalPort())));
            opened.add(slow);
            long t0 = System.nanoTime();
            assertThatThrownBy(slow::read)
                    .isInstanceOf(DcsException.class)
                    .hasMessageContaining("127.0.0.1:" + silent.getLocalPort());
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
        }
    }

    @Test
    void aTtlBelowTheAgentsSessionTtlMinIsExplained() throws Exception {
        consul.sessionTtlMin(Duration.ofSeconds(10)); // Consul's default
        Dcs a = connect("a", Duration.ofSeconds(4), Map.of());
        assertThatThrownBy(a::acquireLeader)
                .isInstanceOf(DcsException.class)
                .hasMessageContaining("session_ttl_min")
                .hasMessageContaining("2s");
        assertThat(consul.entry(PREFIX + "leader")).isEmpty();
    }

    @Test
    void aNewTtlMovesTheKeysToANewSessionWithoutLosingTheLock() throws Exception {
        Dcs a = connect("a");
        a.touchMember(Map.of());
        assertThat(a.acquireLeader()).isTrue();
        String old = sessionId(a);
        a.setTtl(Duration.ofSeconds(6));
        assertThat(a.renewLeader()).isTrue();
        String fresh = sessionId(a);
        assertThat(fresh).isNotEqualTo(old);
        assertThat(consul.sessionInfo(fresh).orElseThrow()).containsEntry("TTL", "3s");
        assertThat(consul.sessionInfo(old)).isEmpty();
        assertThat(session(PREFIX + "leader")).isEqualTo(fresh);
        assertThat(session(PREFIX + "members/a")).isEqualTo(fresh);
    }

    @Test
    void theAclTokenIsSent() throws Exception {
        consul.requireToken("s3cret");
        Dcs without = connect("a");
        assertThatThrownBy(without::read).isInstanceOf(DcsException.class).hasMessageContaining("403");
        Dcs with = connect("b", Duration.ofSeconds(4), Map.of("token", "s3cret"));
        with.touchMember(Map.of());
        assertThat(with.acquireLeader()).isTrue();
        assertThat(with.releaseLeader()).isTrue(); // the raw DELETE ?cas carries it too
        assertThat(with.read().member("b")).isPresent();
    }

    @Test
    void deleteClusterRemovesEveryKeyOfTheScopeOnly() throws Exception {
        Dcs a = connect("a");
        a.touchMember(Map.of());
        a.writeConfig(Map.of(), Dcs.ANY);
        putRaw("service/c10/config", "{}");
        a.deleteCluster();
        assertThat(a.read().members()).isEmpty();
        assertThat(consul.entry("service/c10/config")).isPresent();
    }

    @Test
    void registerServiceRegistersTheMemberAsPatroniDoesAndFollowsItsRole() throws Exception {
        Dcs a = connect(
                "a",
                Duration.ofSeconds(4),
                Map.of(
                        "register_service",
                        true,
                        "service_tags",
                        java.util.List.of("dc1"),
                        "service_check_interval",
                        "3s"));
        Map<String, Object> data = new java.util.LinkedHashMap<>();
        data.put("conn_url", "postgres://10.0.0.5:5432/postgres");
        data.put("api_url", "http://10.0.0.5:8008/patroni");
        data.put("state", "running");
        data.put("role", "master");
        a.touchMember(data);
        Map<String, Object> s = consul.services().get(SCOPE + "/a");
        assertThat(s).isNotNull();
        assertThat(s.get("Name")).isEqualTo(ConsulService.serviceName(SCOPE));
        assertThat(s.get("Address")).isEqualTo("10.0.0.5");
        assertThat(s.get("Port")).isEqualTo(5432);
        assertThat(s.get("Tags")).isEqualTo(java.util.List.of("dc1", "master", "primary"));
        assertThat(s.get("Check").toString())
                .contains("http://10.0.0.5:8008/master")
                .contains("3s")
                .contains("40s");
        data.put("role", "replica");
        a.touchMember(data);
        assertThat(consul.services().get(SCOPE + "/a").get("Tags")).isEqualTo(java.util.List.of("dc1", "replica"));
        data.put("state", "stopped");
        a.touchMember(data);
        assertThat(consul.services()).doesNotContainKey(SCOPE + "/a");
        assertThat(ConsulService.serviceName("My_Cluster.1")).isEqualTo("my-cluster-1");
    }

    @Test
    void badOptionsNameTheirKey() {
        assertThatThrownBy(() -> connect("a", Duration.ofSeconds(4), Map.of("service_check_interval", "soon")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("service_check_interval");
        assertThatThrownBy(() -> connect("a", Duration.ofSeconds(4), Map.of("hots", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hots");
    }

    private void putRaw(String key, String value) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://" + consul.hostPort() + "/v1/kv/" + key))
                                .PUT(HttpRequest.BodyPublishers.ofString(value))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).isEqualTo("true");
    }
}
